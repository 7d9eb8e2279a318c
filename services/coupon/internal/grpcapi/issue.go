package grpcapi

import (
	"context"
	"strconv"
	"strings"

	"google.golang.org/grpc/status"

	"github.com/huiyuan-dev/huiyuan/pkg/grpcx"
	"github.com/huiyuan-dev/huiyuan/services/coupon/internal/coupon"
	"github.com/huiyuan-dev/huiyuan/services/coupon/internal/couponpb"

	couponv1 "github.com/huiyuan-dev/huiyuan/gen/huiyuan/coupon/v1"
)

// ClaimCoupon implements CouponServiceServer.
func (s *Server) ClaimCoupon(ctx context.Context, req *couponv1.ClaimCouponRequest) (*couponv1.ClaimCouponResponse, error) {
	tenant, id, err := byTemplate(ctx, "template_id", req.GetTemplateId())
	if err != nil {
		return nil, err
	}
	member, err := memberID(ctx, "member_id", req.GetMemberId())
	if err != nil {
		return nil, err
	}
	c, t, err := s.svc.Claim(ctx, tenant, id, member)
	if err != nil {
		return nil, err
	}
	if t != nil {
		return &couponv1.ClaimCouponResponse{Coupon: couponpb.Coupon(c, t)}, nil
	}
	return &couponv1.ClaimCouponResponse{Coupon: s.coupon(ctx, tenant, c)}, nil
}

// coupon maps c with its template's title and type, reading the template.
func (s *Server) coupon(ctx context.Context, tenant string, c *coupon.Coupon) *couponv1.Coupon {
	tv, err := s.svc.GetTemplate(ctx, tenant, c.TemplateID)
	if err != nil {
		return couponpb.Coupon(c, nil)
	}
	return couponpb.Coupon(c, tv.Template)
}

// GrantCoupons implements CouponServiceServer.
func (s *Server) GrantCoupons(ctx context.Context, req *couponv1.GrantCouponsRequest) (*couponv1.GrantCouponsResponse, error) {
	tenant, id, err := byTemplate(ctx, "template_id", req.GetTemplateId())
	if err != nil {
		return nil, err
	}
	members := make([]string, len(req.GetMemberIds()))
	for i, m := range req.GetMemberIds() {
		if members[i], err = memberID(ctx, "member_ids["+strconv.Itoa(i)+"]", m); err != nil {
			return nil, err
		}
	}
	outs, err := s.svc.Grant(ctx, tenant, id, members)
	if err != nil {
		return nil, err
	}
	tv, err := s.svc.GetTemplate(ctx, tenant, id)
	if err != nil {
		return nil, err
	}
	resp := &couponv1.GrantCouponsResponse{Results: make([]*couponv1.GrantResult, len(outs))}
	for i, o := range outs {
		r := &couponv1.GrantResult{MemberId: o.Member}
		if o.Err != nil {
			st := status.Convert(grpcx.ToStatus(o.Err, s.domain))
			r.Error = &couponv1.GrantError{Code: upperSnake(st.Code().String()), Reason: reasonOf(st), Message: st.Message()}
		} else {
			r.Coupon = couponpb.Coupon(o.Coupon, tv.Template)
		}
		resp.Results[i] = r
	}
	return resp, nil
}

func reasonOf(st *status.Status) string {
	for _, d := range st.Details() {
		if ei, ok := d.(interface{ GetReason() string }); ok {
			return ei.GetReason()
		}
	}
	return ""
}

// upperSnake writes a gRPC code name as the JSON edge spells codes: FailedPrecondition is
// FAILED_PRECONDITION.
func upperSnake(s string) string {
	var b strings.Builder
	for i, r := range s {
		if r >= 'A' && r <= 'Z' && i > 0 {
			b.WriteByte('_')
		}
		b.WriteString(strings.ToUpper(string(r)))
	}
	return b.String()
}

// ExchangeCoupon implements CouponServiceServer.
func (s *Server) ExchangeCoupon(ctx context.Context, req *couponv1.ExchangeCouponRequest) (*couponv1.ExchangeCouponResponse, error) {
	tenant, id, err := byTemplate(ctx, "template_id", req.GetTemplateId())
	if err != nil {
		return nil, err
	}
	member, err := memberID(ctx, "member_id", req.GetMemberId())
	if err != nil {
		return nil, err
	}
	x, c, err := s.svc.Exchange(ctx, tenant, id, member)
	if err != nil {
		return nil, err
	}
	return &couponv1.ExchangeCouponResponse{Exchange: exchangeOut(x), Coupon: s.coupon(ctx, tenant, c)}, nil
}

func exchangeOut(x *coupon.Exchange) *couponv1.Exchange {
	return &couponv1.Exchange{Id: x.ID, TemplateId: x.TemplateID, MemberId: x.MemberID, Points: x.Points,
		State: couponv1.Exchange_State(x.State), CouponCode: coupon.FormatCode(x.CouponCode), HoldId: x.HoldID,
		FailureReason: x.FailureReason, CreateTime: couponpb.TS(x.CreateTime), UpdateTime: couponpb.TS(x.UpdateTime)}
}

// GetCouponExchange implements CouponServiceServer.
func (s *Server) GetCouponExchange(ctx context.Context, req *couponv1.GetCouponExchangeRequest) (*couponv1.GetCouponExchangeResponse, error) {
	tenant, actor, _, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	id, err := parseID("id", req.GetId(), coupon.ExchangeNotFound)
	if err != nil {
		return nil, err
	}
	x, _, err := s.svc.GetExchange(ctx, tenant, id, actor)
	if err != nil {
		return nil, err
	}
	return &couponv1.GetCouponExchangeResponse{Exchange: exchangeOut(x)}, nil
}

// ClaimCouponCode implements CouponServiceServer.
func (s *Server) ClaimCouponCode(ctx context.Context, req *couponv1.ClaimCouponCodeRequest) (*couponv1.ClaimCouponCodeResponse, error) {
	tenant, _, cd, err := byCode(ctx, req.GetCode())
	if err != nil {
		return nil, err
	}
	member, err := memberID(ctx, "member_id", req.GetMemberId())
	if err != nil {
		return nil, err
	}
	c, err := s.svc.ClaimCode(ctx, tenant, cd, member)
	if err != nil {
		return nil, err
	}
	return &couponv1.ClaimCouponCodeResponse{Coupon: s.coupon(ctx, tenant, c)}, nil
}
