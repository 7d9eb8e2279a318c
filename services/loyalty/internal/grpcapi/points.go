package grpcapi

import (
	"context"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/huiyuan-dev/huiyuan/pkg/apperr"
	"github.com/huiyuan-dev/huiyuan/services/loyalty/internal/ledger"
	"github.com/huiyuan-dev/huiyuan/services/loyalty/internal/loyalty"
	"github.com/huiyuan-dev/huiyuan/services/loyalty/internal/loyaltypb"

	loyaltyv1 "github.com/huiyuan-dev/huiyuan/gen/huiyuan/loyalty/v1"
)

// GetPointsBalance implements LoyaltyServiceServer.
func (s *Server) GetPointsBalance(ctx context.Context, req *loyaltyv1.GetPointsBalanceRequest) (*loyaltyv1.GetPointsBalanceResponse, error) {
	tenant, _, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	var v apperr.Violations
	if err := member(ctx, &v, req.GetMemberId()); err != nil {
		return nil, err
	}
	b, err := s.store.Balance(ctx, tenant, req.GetMemberId())
	if err != nil {
		return nil, err
	}
	return &loyaltyv1.GetPointsBalanceResponse{Balance: loyaltypb.Balance(&b)}, nil
}

// ListPointsTransactions implements LoyaltyServiceServer.
func (s *Server) ListPointsTransactions(ctx context.Context, req *loyaltyv1.ListPointsTransactionsRequest) (*loyaltyv1.ListPointsTransactionsResponse, error) {
	tenant, _, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	var v apperr.Violations
	size := int(req.GetPageSize())
	switch {
	case size < 0:
		v.Add("page_size", "must not be negative")
	case size == 0:
		size = DefaultPageSize
	case size > MaxPageSize:
		size = MaxPageSize
	}
	if err := member(ctx, &v, req.GetMemberId()); err != nil {
		return nil, err
	}
	txns, next, err := s.store.ListTransactions(ctx, tenant, req.GetMemberId(), size, req.GetPageToken())
	if err != nil {
		return nil, err
	}
	resp := &loyaltyv1.ListPointsTransactionsResponse{Transactions: make([]*loyaltyv1.PointsTransaction, len(txns)), NextPageToken: next}
	for i := range txns {
		resp.Transactions[i] = loyaltypb.Txn(&txns[i])
	}
	return resp, nil
}

// RedeemPoints implements LoyaltyServiceServer.
func (s *Server) RedeemPoints(ctx context.Context, req *loyaltyv1.RedeemPointsRequest) (*loyaltyv1.RedeemPointsResponse, error) {
	tenant, actor, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	var v apperr.Violations
	loyalty.CheckPoints(&v, "points", req.GetPoints())
	loyalty.CheckText(&v, "reason", req.GetReason(), ledger.MaxReasonLen)
	if err := member(ctx, &v, req.GetMemberId()); err != nil {
		return nil, err
	}
	t, err := s.store.Redeem(ctx, tenant, req.GetMemberId(), req.GetPoints(), req.GetReason(), actor)
	if err != nil {
		return nil, err
	}
	return &loyaltyv1.RedeemPointsResponse{Transaction: loyaltypb.Txn(&t)}, nil
}

// AdjustPoints implements LoyaltyServiceServer.
func (s *Server) AdjustPoints(ctx context.Context, req *loyaltyv1.AdjustPointsRequest) (*loyaltyv1.AdjustPointsResponse, error) {
	tenant, actor, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	var v apperr.Violations
	if p := req.GetPoints(); p == 0 || p > ledger.MaxPoints || p < -ledger.MaxPoints {
		v.Add("points", "must be non-zero and at most %d either way", ledger.MaxPoints)
	}
	if req.GetReason() == "" {
		v.Add("reason", "is required")
	}
	loyalty.CheckText(&v, "reason", req.GetReason(), ledger.MaxReasonLen)
	if err := member(ctx, &v, req.GetMemberId()); err != nil {
		return nil, err
	}
	t, err := s.store.Adjust(ctx, tenant, req.GetMemberId(), req.GetPoints(), req.GetReason(), actor)
	if err != nil {
		return nil, err
	}
	return &loyaltyv1.AdjustPointsResponse{Transaction: loyaltypb.Txn(&t)}, nil
}

// HoldPoints implements LoyaltyServiceServer.
func (s *Server) HoldPoints(ctx context.Context, req *loyaltyv1.HoldPointsRequest) (*loyaltyv1.HoldPointsResponse, error) {
	tenant, actor, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	var v apperr.Violations
	loyalty.CheckPoints(&v, "points", req.GetPoints())
	loyalty.CheckRef(&v, "reference", req.GetReference())
	var expires time.Time
	if et := req.GetExpireTime(); et != nil {
		if et.CheckValid() != nil {
			v.Add("expire_time", "must be a valid time")
		} else if expires = et.AsTime(); !expires.After(s.clock.Now()) {
			v.Add("expire_time", "must be in the future")
		}
	}
	if err := member(ctx, &v, req.GetMemberId()); err != nil {
		return nil, err
	}
	h, err := s.store.Hold(ctx, tenant, req.GetMemberId(), req.GetPoints(), expires, req.GetReference(), actor)
	if err != nil {
		return nil, err
	}
	return &loyaltyv1.HoldPointsResponse{Hold: loyaltypb.Hold(&h)}, nil
}

// CaptureHold implements LoyaltyServiceServer.
func (s *Server) CaptureHold(ctx context.Context, req *loyaltyv1.CaptureHoldRequest) (*loyaltyv1.CaptureHoldResponse, error) {
	tenant, _, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	var v apperr.Violations
	loyalty.CheckToken(&v, "hold_id", req.GetHoldId())
	if p := req.GetPoints(); p < 0 || p > ledger.MaxPoints {
		v.Add("points", "must be between 0 (all) and %d", ledger.MaxPoints)
	}
	if err := member(ctx, &v, req.GetMemberId()); err != nil {
		return nil, err
	}
	h, err := s.store.Capture(ctx, tenant, req.GetMemberId(), req.GetHoldId(), req.GetPoints())
	if err != nil {
		return nil, err
	}
	return &loyaltyv1.CaptureHoldResponse{Hold: loyaltypb.Hold(&h)}, nil
}

// ReleaseHold implements LoyaltyServiceServer.
func (s *Server) ReleaseHold(ctx context.Context, req *loyaltyv1.ReleaseHoldRequest) (*loyaltyv1.ReleaseHoldResponse, error) {
	tenant, actor, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	var v apperr.Violations
	loyalty.CheckToken(&v, "hold_id", req.GetHoldId())
	if err := member(ctx, &v, req.GetMemberId()); err != nil {
		return nil, err
	}
	h, err := s.store.Release(ctx, tenant, req.GetMemberId(), req.GetHoldId(), actor)
	if err != nil {
		return nil, err
	}
	return &loyaltyv1.ReleaseHoldResponse{Hold: loyaltypb.Hold(&h)}, nil
}

// VerifyLedger implements LoyaltyServiceServer.
func (s *Server) VerifyLedger(ctx context.Context, _ *loyaltyv1.VerifyLedgerRequest) (*loyaltyv1.VerifyLedgerResponse, error) {
	tenant, _, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	r, err := s.store.Verify(ctx, tenant)
	if err != nil {
		return nil, err
	}
	return &loyaltyv1.VerifyLedgerResponse{Ok: r.OK, Transactions: r.Transactions, Members: r.Members,
		Problems: r.Problems, VerifyTime: timestamppb.New(r.At)}, nil
}
