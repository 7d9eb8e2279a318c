package grpcapi

import (
	"context"
	"errors"
	"io"
	"strconv"

	"google.golang.org/grpc/status"

	"github.com/huiyuan-dev/huiyuan/pkg/apperr"
	"github.com/huiyuan-dev/huiyuan/pkg/grpcx"
	"github.com/huiyuan-dev/huiyuan/pkg/ids"
	"github.com/huiyuan-dev/huiyuan/services/loyalty/internal/loyalty"
	"github.com/huiyuan-dev/huiyuan/services/loyalty/internal/loyaltypb"

	loyaltyv1 "github.com/huiyuan-dev/huiyuan/gen/huiyuan/loyalty/v1"
)

// streamChunk is how many orders of a stream one transaction records; a till's backlog
// commits as it arrives rather than in one transaction at the end.
const streamChunk = 500

// RecordOrder implements LoyaltyServiceServer.
func (s *Server) RecordOrder(ctx context.Context, req *loyaltyv1.RecordOrderRequest) (*loyaltyv1.RecordOrderResponse, error) {
	tenant, actor, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	in, err := orderFrom("order.", req.GetOrder())
	if err != nil {
		return nil, err
	}
	o, err := s.svc.RecordOrder(ctx, tenant, actor, in)
	if err != nil {
		return nil, err
	}
	return &loyaltyv1.RecordOrderResponse{Order: loyaltypb.Order(o), PointsEarned: o.PointsEarned}, nil
}

// orderFrom returns the order m carries, named field in the request (a trailing dot).
func orderFrom(field string, m *loyaltyv1.Order) (loyalty.Order, error) {
	if m == nil {
		return loyalty.Order{}, apperr.InvalidField(field[:len(field)-1], "is required")
	}
	if ct := m.GetCreateTime(); ct != nil && ct.CheckValid() != nil {
		return loyalty.Order{}, apperr.InvalidField(field+"create_time", "must be a valid time")
	}
	o := loyaltypb.OrderFrom(m)
	o.MemberID = ids.Canonical(o.MemberID) // as onMember reads the member ids of other calls
	return o, nil
}

// BatchRecordOrders implements LoyaltyServiceServer: every order gets a result, an error of
// its own as a status like any call's.
func (s *Server) BatchRecordOrders(ctx context.Context, req *loyaltyv1.BatchRecordOrdersRequest) (*loyaltyv1.BatchRecordOrdersResponse, error) {
	tenant, actor, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	orders, bad := s.orders(req.GetOrders(), 0)
	res, err := s.svc.RecordOrders(ctx, tenant, actor, orders, 0)
	if err != nil {
		return nil, err
	}
	out := &loyaltyv1.BatchRecordOrdersResponse{Results: make([]*loyaltyv1.OrderResult, len(res.Outcomes))}
	for i, o := range res.Outcomes {
		if e := bad[i]; e != nil {
			o = loyalty.OrderOutcome{Err: e}
		}
		out.Results[i] = s.result(o)
	}
	return out, nil
}

// orders maps a batch's orders; an order that does not map (a malformed time) is kept as an
// empty order, which the use case refuses, and its own error returned by index.
func (s *Server) orders(ms []*loyaltyv1.Order, first int) ([]loyalty.Order, map[int]error) {
	out := make([]loyalty.Order, len(ms))
	var bad map[int]error
	for i, m := range ms {
		o, err := orderFrom(orderField(first+i), m)
		if err != nil {
			if bad == nil {
				bad = map[int]error{}
			}
			bad[i] = err
		}
		out[i] = o
	}
	return out, bad
}

// result maps one order's outcome.
func (s *Server) result(o loyalty.OrderOutcome) *loyaltyv1.OrderResult {
	if o.Err != nil {
		return &loyaltyv1.OrderResult{Result: &loyaltyv1.OrderResult_Error{Error: s.status(o.Err)}}
	}
	pts := o.Order.PointsEarned
	return &loyaltyv1.OrderResult{Result: &loyaltyv1.OrderResult_Order{Order: loyaltypb.Order(o.Order)}, PointsEarned: &pts}
}

// status maps an order's error as the interceptors map a call's (grpcx.ToStatus: code, message,
// ErrorInfo with the reason and this service's domain, BadRequest).
func (s *Server) status(err error) *loyaltyv1.Status {
	st := status.Convert(grpcx.ToStatus(err, s.domain)).Proto()
	return &loyaltyv1.Status{Code: st.GetCode(), Message: st.GetMessage(), Details: st.GetDetails()}
}

// StreamRecordOrders implements LoyaltyServiceServer: orders commit in chunks of streamChunk
// as they arrive; the answer counts what was recorded and lists what failed.
func (s *Server) StreamRecordOrders(stream loyaltyv1.LoyaltyService_StreamRecordOrdersServer) error {
	ctx := stream.Context()
	tenant, actor, err := caller(ctx)
	if err != nil {
		return err
	}
	out := &loyaltyv1.StreamRecordOrdersResponse{}
	var pending []*loyaltyv1.Order
	next := 0 // stream index of pending[0]
	flush := func() error {
		if len(pending) == 0 {
			return nil
		}
		orders, bad := s.orders(pending, next)
		res, err := s.svc.RecordOrders(ctx, tenant, actor, orders, next)
		if err != nil {
			return err
		}
		for i, o := range res.Outcomes {
			if e := bad[i]; e != nil {
				o = loyalty.OrderOutcome{Err: e}
			}
			if o.Err != nil {
				out.Failures = append(out.Failures, &loyaltyv1.OrderFailure{Index: int64(next + i), OrderId: pending[i].GetId(), Error: s.status(o.Err)})
				continue
			}
			out.Recorded++
			out.PointsEarned += o.Order.PointsEarned
		}
		next += len(pending)
		pending = pending[:0]
		return nil
	}
	for {
		req, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return err
		}
		for _, o := range req.GetOrders() {
			pending = append(pending, o)
			if len(pending) == streamChunk {
				if err := flush(); err != nil {
					return err
				}
			}
		}
	}
	if err := flush(); err != nil {
		return err
	}
	return stream.SendAndClose(out)
}

// orderField names order i of a batch or stream ("orders[3].").
func orderField(i int) string { return "orders[" + strconv.Itoa(i) + "]." }

// GetOrder implements LoyaltyServiceServer.
func (s *Server) GetOrder(ctx context.Context, req *loyaltyv1.GetOrderRequest) (*loyaltyv1.GetOrderResponse, error) {
	tenant, _, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	o, err := s.svc.GetOrder(ctx, tenant, req.GetId())
	if err != nil {
		return nil, err
	}
	return &loyaltyv1.GetOrderResponse{Order: loyaltypb.Order(o)}, nil
}

// RefundOrder implements LoyaltyServiceServer.
func (s *Server) RefundOrder(ctx context.Context, req *loyaltyv1.RefundOrderRequest) (*loyaltyv1.RefundOrderResponse, error) {
	tenant, actor, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	r, err := s.svc.RefundOrder(ctx, tenant, actor, req.GetId(), req.GetAmountMinor())
	if err != nil {
		return nil, err
	}
	return &loyaltyv1.RefundOrderResponse{PointsReversed: r.PointsReversed, PointsToDebt: r.PointsToDebt,
		Order: loyaltypb.Order(&r.Order)}, nil
}
