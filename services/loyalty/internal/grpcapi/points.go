package grpcapi

import (
	"context"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/huiyuan-dev/huiyuan/pkg/apperr"
	"github.com/huiyuan-dev/huiyuan/services/loyalty/internal/loyaltypb"

	loyaltyv1 "github.com/huiyuan-dev/huiyuan/gen/huiyuan/loyalty/v1"
)

// GetPointsBalance implements LoyaltyServiceServer.
func (s *Server) GetPointsBalance(ctx context.Context, req *loyaltyv1.GetPointsBalanceRequest) (*loyaltyv1.GetPointsBalanceResponse, error) {
	tenant, member, _, err := onMember(ctx, req.GetMemberId())
	if err != nil {
		return nil, err
	}
	b, err := s.svc.Balance(ctx, tenant, member)
	if err != nil {
		return nil, err
	}
	return &loyaltyv1.GetPointsBalanceResponse{Balance: loyaltypb.Balance(b)}, nil
}

// ListPointsTransactions implements LoyaltyServiceServer.
func (s *Server) ListPointsTransactions(ctx context.Context, req *loyaltyv1.ListPointsTransactionsRequest) (*loyaltyv1.ListPointsTransactionsResponse, error) {
	tenant, member, _, err := onMember(ctx, req.GetMemberId())
	if err != nil {
		return nil, err
	}
	txns, next, err := s.svc.ListTransactions(ctx, tenant, member, int(req.GetPageSize()), req.GetPageToken())
	if err != nil {
		return nil, err
	}
	resp := &loyaltyv1.ListPointsTransactionsResponse{Transactions: make([]*loyaltyv1.PointsTransaction, len(txns)), NextPageToken: next}
	for i, t := range txns {
		resp.Transactions[i] = loyaltypb.Txn(t)
	}
	return resp, nil
}

// RedeemPoints implements LoyaltyServiceServer.
func (s *Server) RedeemPoints(ctx context.Context, req *loyaltyv1.RedeemPointsRequest) (*loyaltyv1.RedeemPointsResponse, error) {
	tenant, member, actor, err := onMember(ctx, req.GetMemberId())
	if err != nil {
		return nil, err
	}
	t, err := s.svc.Redeem(ctx, tenant, actor, member, req.GetPoints(), req.GetReason())
	if err != nil {
		return nil, err
	}
	return &loyaltyv1.RedeemPointsResponse{Transaction: loyaltypb.Txn(t)}, nil
}

// AdjustPoints implements LoyaltyServiceServer.
func (s *Server) AdjustPoints(ctx context.Context, req *loyaltyv1.AdjustPointsRequest) (*loyaltyv1.AdjustPointsResponse, error) {
	tenant, member, actor, err := onMember(ctx, req.GetMemberId())
	if err != nil {
		return nil, err
	}
	t, err := s.svc.Adjust(ctx, tenant, actor, member, req.GetPoints(), req.GetReason())
	if err != nil {
		return nil, err
	}
	return &loyaltyv1.AdjustPointsResponse{Transaction: loyaltypb.Txn(t)}, nil
}

// HoldPoints implements LoyaltyServiceServer.
func (s *Server) HoldPoints(ctx context.Context, req *loyaltyv1.HoldPointsRequest) (*loyaltyv1.HoldPointsResponse, error) {
	tenant, member, actor, err := onMember(ctx, req.GetMemberId())
	if err != nil {
		return nil, err
	}
	expires, err := optionalTime("expire_time", req.GetExpireTime())
	if err != nil {
		return nil, err
	}
	h, err := s.svc.Hold(ctx, tenant, actor, member, req.GetPoints(), expires, req.GetReference())
	if err != nil {
		return nil, err
	}
	return &loyaltyv1.HoldPointsResponse{Hold: loyaltypb.Hold(h)}, nil
}

// optionalTime returns ts as a time, zero when absent.
func optionalTime(field string, ts *timestamppb.Timestamp) (time.Time, error) {
	if ts == nil {
		return time.Time{}, nil
	}
	if ts.CheckValid() != nil {
		return time.Time{}, apperr.InvalidField(field, "must be a valid time")
	}
	return ts.AsTime(), nil
}

// CaptureHold implements LoyaltyServiceServer.
func (s *Server) CaptureHold(ctx context.Context, req *loyaltyv1.CaptureHoldRequest) (*loyaltyv1.CaptureHoldResponse, error) {
	tenant, member, _, err := onMember(ctx, req.GetMemberId())
	if err != nil {
		return nil, err
	}
	h, err := s.svc.Capture(ctx, tenant, member, req.GetHoldId(), req.GetPoints())
	if err != nil {
		return nil, err
	}
	return &loyaltyv1.CaptureHoldResponse{Hold: loyaltypb.Hold(h)}, nil
}

// ReleaseHold implements LoyaltyServiceServer.
func (s *Server) ReleaseHold(ctx context.Context, req *loyaltyv1.ReleaseHoldRequest) (*loyaltyv1.ReleaseHoldResponse, error) {
	tenant, member, actor, err := onMember(ctx, req.GetMemberId())
	if err != nil {
		return nil, err
	}
	h, err := s.svc.Release(ctx, tenant, actor, member, req.GetHoldId())
	if err != nil {
		return nil, err
	}
	return &loyaltyv1.ReleaseHoldResponse{Hold: loyaltypb.Hold(h)}, nil
}

// VerifyLedger implements LoyaltyServiceServer.
func (s *Server) VerifyLedger(ctx context.Context, _ *loyaltyv1.VerifyLedgerRequest) (*loyaltyv1.VerifyLedgerResponse, error) {
	tenant, _, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	r, err := s.svc.Verify(ctx, tenant)
	if err != nil {
		return nil, err
	}
	return &loyaltyv1.VerifyLedgerResponse{Ok: r.OK, Transactions: r.Transactions, Members: r.Members,
		Problems: r.Problems, VerifyTime: timestamppb.New(r.At)}, nil
}
