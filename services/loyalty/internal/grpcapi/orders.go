package grpcapi

import (
	"context"

	"github.com/huiyuan-dev/huiyuan/pkg/apperr"
	"github.com/huiyuan-dev/huiyuan/services/loyalty/internal/ledger"
	"github.com/huiyuan-dev/huiyuan/services/loyalty/internal/loyalty"
	"github.com/huiyuan-dev/huiyuan/services/loyalty/internal/loyaltypb"

	loyaltyv1 "github.com/huiyuan-dev/huiyuan/gen/huiyuan/loyalty/v1"
)

// RecordOrder implements LoyaltyServiceServer.
func (s *Server) RecordOrder(ctx context.Context, req *loyaltyv1.RecordOrderRequest) (*loyaltyv1.RecordOrderResponse, error) {
	tenant, actor, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	if req.GetOrder() == nil {
		return nil, apperr.InvalidField("order", "is required")
	}
	var v apperr.Violations
	if ct := req.GetOrder().GetCreateTime(); ct != nil && ct.CheckValid() != nil {
		v.Add("order.create_time", "must be a valid time")
	}
	in := loyaltypb.OrderFrom(req.GetOrder())
	loyalty.CheckOrder(&v, "order.", &in, s.clock.Now())
	if err := v.Err(); err != nil {
		return nil, err
	}
	o, err := s.store.RecordOrder(ctx, tenant, in, actor)
	if err != nil {
		return nil, err
	}
	return &loyaltyv1.RecordOrderResponse{Order: loyaltypb.Order(&o), PointsEarned: o.PointsEarned}, nil
}

// GetOrder implements LoyaltyServiceServer.
func (s *Server) GetOrder(ctx context.Context, req *loyaltyv1.GetOrderRequest) (*loyaltyv1.GetOrderResponse, error) {
	tenant, _, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	var v apperr.Violations
	loyalty.CheckToken(&v, "id", req.GetId())
	if err := v.Err(); err != nil {
		return nil, err
	}
	o, err := s.store.GetOrder(ctx, tenant, req.GetId())
	if err != nil {
		return nil, err
	}
	return &loyaltyv1.GetOrderResponse{Order: loyaltypb.Order(&o)}, nil
}

// RefundOrder implements LoyaltyServiceServer.
func (s *Server) RefundOrder(ctx context.Context, req *loyaltyv1.RefundOrderRequest) (*loyaltyv1.RefundOrderResponse, error) {
	tenant, actor, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	var v apperr.Violations
	loyalty.CheckToken(&v, "id", req.GetId())
	if a := req.GetAmountMinor(); a <= 0 || a > ledger.MaxAmountMinor {
		v.Add("amount_minor", "must be between 1 and %d", int64(ledger.MaxAmountMinor))
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	r, err := s.store.RefundOrder(ctx, tenant, req.GetId(), req.GetAmountMinor(), actor)
	if err != nil {
		return nil, err
	}
	return &loyaltyv1.RefundOrderResponse{PointsReversed: r.PointsReversed, PointsToDebt: r.PointsToDebt,
		Order: loyaltypb.Order(&r.Order)}, nil
}
