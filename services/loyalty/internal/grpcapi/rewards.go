package grpcapi

import (
	"context"

	"github.com/huiyuan-dev/huiyuan/pkg/apperr"
	"github.com/huiyuan-dev/huiyuan/services/loyalty/internal/ledger"
	"github.com/huiyuan-dev/huiyuan/services/loyalty/internal/loyalty"

	loyaltyv1 "github.com/huiyuan-dev/huiyuan/gen/huiyuan/loyalty/v1"
)

// MaxRewardTitle bounds a reward's title, in characters.
const MaxRewardTitle = 200

// CreateReward implements LoyaltyProgramServiceServer. Errors: Invalid on reward.title,
// reward.kind, reward.cost_points, reward.stock; the store's.
func (s *ProgramServer) CreateReward(ctx context.Context, req *loyaltyv1.CreateRewardRequest) (*loyaltyv1.CreateRewardResponse, error) {
	tenant, _, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	r := req.GetReward()
	var v apperr.Violations
	if r.GetTitle() == "" {
		v.Add("reward.title", "is required")
	}
	loyalty.CheckText(&v, "reward.title", r.GetTitle(), MaxRewardTitle)
	switch r.GetKind() {
	case loyaltyv1.Reward_GOODS:
		if r.GetStock() < 0 || r.GetStock() > ledger.MaxPoints {
			v.Add("reward.stock", "must be between 0 and %d", ledger.MaxPoints)
		}
	case loyaltyv1.Reward_EXTERNAL:
		if r.GetStock() != 0 {
			v.Add("reward.stock", "must be empty for an external reward")
		}
	default:
		v.Add("reward.kind", "must be GOODS or EXTERNAL")
	}
	loyalty.CheckPoints(&v, "reward.cost_points", r.GetCostPoints())
	if err := v.Err(); err != nil {
		return nil, err
	}
	out, err := s.store.CreateReward(ctx, tenant, &loyaltyv1.Reward{Title: r.GetTitle(), Kind: r.GetKind(),
		CostPoints: r.GetCostPoints(), Stock: r.GetStock(), Active: r.GetActive()})
	if err != nil {
		return nil, err
	}
	return &loyaltyv1.CreateRewardResponse{Reward: out}, nil
}

// ListRewards implements LoyaltyProgramServiceServer. Errors: the store's.
func (s *ProgramServer) ListRewards(ctx context.Context, _ *loyaltyv1.ListRewardsRequest) (*loyaltyv1.ListRewardsResponse, error) {
	tenant, _, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	out, err := s.store.ListRewards(ctx, tenant)
	if err != nil {
		return nil, err
	}
	return &loyaltyv1.ListRewardsResponse{Rewards: out}, nil
}

// RedeemReward implements LoyaltyProgramServiceServer. Errors: Invalid on id, member_id,
// quantity; PermissionDenied for another member; the store's (NotFound REWARD_NOT_FOUND;
// FailedPrecondition REWARD_INACTIVE, OUT_OF_STOCK, INSUFFICIENT_POINTS).
func (s *ProgramServer) RedeemReward(ctx context.Context, req *loyaltyv1.RedeemRewardRequest) (*loyaltyv1.RedeemRewardResponse, error) {
	tenant, actor, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	var v apperr.Violations
	loyalty.CheckToken(&v, "id", req.GetId())
	qty := req.GetQuantity()
	if qty == 0 {
		qty = 1
	}
	loyalty.CheckPoints(&v, "quantity", qty)
	if err := member(ctx, &v, req.GetMemberId()); err != nil {
		return nil, err
	}
	out, err := s.store.RedeemReward(ctx, tenant, req.GetMemberId(), req.GetId(), qty, actor)
	if err != nil {
		return nil, err
	}
	return &loyaltyv1.RedeemRewardResponse{Redemption: out}, nil
}

// UpdateRewardRedemption implements LoyaltyProgramServiceServer. Errors: Invalid on id,
// status; the store's (NotFound REDEMPTION_NOT_FOUND; FailedPrecondition
// INVALID_STATUS_TRANSITION, HOLD_EXPIRED).
func (s *ProgramServer) UpdateRewardRedemption(ctx context.Context, req *loyaltyv1.UpdateRewardRedemptionRequest) (*loyaltyv1.UpdateRewardRedemptionResponse, error) {
	tenant, actor, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	var v apperr.Violations
	loyalty.CheckToken(&v, "id", req.GetId())
	switch req.GetStatus() {
	case loyaltyv1.RewardRedemption_SHIPPED, loyaltyv1.RewardRedemption_DELIVERED,
		loyaltyv1.RewardRedemption_CANCELLED, loyaltyv1.RewardRedemption_FULFILLED,
		loyaltyv1.RewardRedemption_FAILED:
	default:
		v.Add("status", "must be SHIPPED, DELIVERED, CANCELLED, FULFILLED or FAILED")
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	out, err := s.store.UpdateRedemption(ctx, tenant, req.GetId(), req.GetStatus(), actor)
	if err != nil {
		return nil, err
	}
	return &loyaltyv1.UpdateRewardRedemptionResponse{Redemption: out}, nil
}

// ListRewardRedemptions implements LoyaltyProgramServiceServer. Errors: Invalid on
// member_id; PermissionDenied for another member; the store's.
func (s *ProgramServer) ListRewardRedemptions(ctx context.Context, req *loyaltyv1.ListRewardRedemptionsRequest) (*loyaltyv1.ListRewardRedemptionsResponse, error) {
	tenant, _, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	var v apperr.Violations
	if err := member(ctx, &v, req.GetMemberId()); err != nil {
		return nil, err
	}
	out, err := s.store.ListRedemptions(ctx, tenant, req.GetMemberId())
	if err != nil {
		return nil, err
	}
	return &loyaltyv1.ListRewardRedemptionsResponse{Redemptions: out}, nil
}
