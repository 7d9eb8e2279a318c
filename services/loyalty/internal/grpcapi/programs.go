package grpcapi

import (
	"context"
	"errors"

	"github.com/huiyuan-dev/huiyuan/pkg/apperr"
	"github.com/huiyuan-dev/huiyuan/pkg/ids"
	"github.com/huiyuan-dev/huiyuan/services/loyalty/internal/loyalty"
	"github.com/huiyuan-dev/huiyuan/services/loyalty/internal/loyaltypb"

	loyaltyv1 "github.com/huiyuan-dev/huiyuan/gen/huiyuan/loyalty/v1"
)

// ProgramServer implements loyaltyv1.LoyaltyProgramServiceServer: transfers, check-in, the
// rewards catalogue, the tenant's policy and the points liability.
type ProgramServer struct {
	loyaltyv1.UnimplementedLoyaltyProgramServiceServer
	svc *loyalty.Service
}

var _ loyaltyv1.LoyaltyProgramServiceServer = (*ProgramServer)(nil)

// NewProgramServer returns a ProgramServer over svc. It fails on a nil svc.
func NewProgramServer(svc *loyalty.Service) (*ProgramServer, error) {
	if svc == nil {
		return nil, errors.New("grpcapi.NewProgramServer: nil service")
	}
	return &ProgramServer{svc: svc}, nil
}

// TransferPoints implements LoyaltyProgramServiceServer. A member may send only its own points.
func (s *ProgramServer) TransferPoints(ctx context.Context, req *loyaltyv1.TransferPointsRequest) (*loyaltyv1.TransferPointsResponse, error) {
	tenant, member, actor, err := onMember(ctx, req.GetMemberId())
	if err != nil {
		return nil, err
	}
	r, err := s.svc.Transfer(ctx, tenant, actor, member, ids.Canonical(req.GetToMemberId()), req.GetPoints(), req.GetReason())
	if err != nil {
		return nil, err
	}
	return &loyaltyv1.TransferPointsResponse{SenderTransaction: loyaltypb.Txn(r.Sent), ReceiverTransaction: loyaltypb.Txn(r.Received)}, nil
}

// CheckIn implements LoyaltyProgramServiceServer.
func (s *ProgramServer) CheckIn(ctx context.Context, req *loyaltyv1.CheckInRequest) (*loyaltyv1.CheckInResponse, error) {
	tenant, member, actor, err := onMember(ctx, req.GetMemberId())
	if err != nil {
		return nil, err
	}
	r, err := s.svc.CheckIn(ctx, tenant, actor, member)
	if err != nil {
		return nil, err
	}
	out := &loyaltyv1.CheckInResponse{PointsAwarded: r.Points, Streak: int32(min(r.Streak, 1<<31-1))}
	if r.Txn != nil {
		out.Transaction = loyaltypb.Txn(r.Txn)
	}
	return out, nil
}

// GetPointsLiability implements LoyaltyProgramServiceServer.
func (s *ProgramServer) GetPointsLiability(ctx context.Context, _ *loyaltyv1.GetPointsLiabilityRequest) (*loyaltyv1.GetPointsLiabilityResponse, error) {
	tenant, _, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	l, err := s.svc.Liability(ctx, tenant)
	if err != nil {
		return nil, err
	}
	return loyaltypb.Liability(l), nil
}

// CreateReward implements LoyaltyProgramServiceServer.
func (s *ProgramServer) CreateReward(ctx context.Context, req *loyaltyv1.CreateRewardRequest) (*loyaltyv1.CreateRewardResponse, error) {
	tenant, _, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	r := req.GetReward()
	out, err := s.svc.CreateReward(ctx, tenant, loyalty.Reward{Title: r.GetTitle(), Kind: loyaltypb.RewardKindFrom(r.GetKind()),
		CostPoints: r.GetCostPoints(), Stock: r.GetStock(), Active: r.GetActive()})
	if err != nil {
		return nil, err
	}
	return &loyaltyv1.CreateRewardResponse{Reward: loyaltypb.Reward(out)}, nil
}

// ListRewards implements LoyaltyProgramServiceServer.
func (s *ProgramServer) ListRewards(ctx context.Context, _ *loyaltyv1.ListRewardsRequest) (*loyaltyv1.ListRewardsResponse, error) {
	tenant, _, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	rs, err := s.svc.ListRewards(ctx, tenant)
	if err != nil {
		return nil, err
	}
	out := &loyaltyv1.ListRewardsResponse{Rewards: make([]*loyaltyv1.Reward, len(rs))}
	for i, r := range rs {
		out.Rewards[i] = loyaltypb.Reward(r)
	}
	return out, nil
}

// RedeemReward implements LoyaltyProgramServiceServer.
func (s *ProgramServer) RedeemReward(ctx context.Context, req *loyaltyv1.RedeemRewardRequest) (*loyaltyv1.RedeemRewardResponse, error) {
	tenant, member, actor, err := onMember(ctx, req.GetMemberId())
	if err != nil {
		return nil, err
	}
	r, err := s.svc.RedeemReward(ctx, tenant, actor, member, req.GetId(), req.GetQuantity())
	if err != nil {
		return nil, err
	}
	return &loyaltyv1.RedeemRewardResponse{Redemption: loyaltypb.Redemption(r)}, nil
}

// UpdateRewardRedemption implements LoyaltyProgramServiceServer.
func (s *ProgramServer) UpdateRewardRedemption(ctx context.Context, req *loyaltyv1.UpdateRewardRedemptionRequest) (*loyaltyv1.UpdateRewardRedemptionResponse, error) {
	tenant, actor, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	r, err := s.svc.UpdateRedemption(ctx, tenant, actor, req.GetId(), loyaltypb.RedemptionStatusFrom(req.GetStatus()))
	if err != nil {
		return nil, err
	}
	return &loyaltyv1.UpdateRewardRedemptionResponse{Redemption: loyaltypb.Redemption(r)}, nil
}

// ListRewardRedemptions implements LoyaltyProgramServiceServer.
func (s *ProgramServer) ListRewardRedemptions(ctx context.Context, req *loyaltyv1.ListRewardRedemptionsRequest) (*loyaltyv1.ListRewardRedemptionsResponse, error) {
	tenant, member, _, err := onMember(ctx, req.GetMemberId())
	if err != nil {
		return nil, err
	}
	rs, err := s.svc.ListRedemptions(ctx, tenant, member)
	if err != nil {
		return nil, err
	}
	out := &loyaltyv1.ListRewardRedemptionsResponse{Redemptions: make([]*loyaltyv1.RewardRedemption, len(rs))}
	for i, r := range rs {
		out.Redemptions[i] = loyaltypb.Redemption(r)
	}
	return out, nil
}

// GetLoyaltyPolicy implements LoyaltyProgramServiceServer: the caller's tenant's policy, every
// field filled (DefaultPolicy for a tenant that never set one).
func (s *ProgramServer) GetLoyaltyPolicy(ctx context.Context, _ *loyaltyv1.GetLoyaltyPolicyRequest) (*loyaltyv1.GetLoyaltyPolicyResponse, error) {
	tenant, _, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	p, err := s.svc.GetPolicy(ctx, tenant)
	if err != nil {
		return nil, err
	}
	return &loyaltyv1.GetLoyaltyPolicyResponse{Policy: loyaltypb.Policy(p)}, nil
}

// UpdateLoyaltyPolicy implements LoyaltyProgramServiceServer: it sets the fields update_mask
// names (proto or JSON names; an empty mask names the fields the request sets) to the
// request's values and answers with the whole new policy. Errors: Invalid on "update_mask" (an
// unknown field), "policy" (nothing to change) or "policy.<field>"; the use case's.
func (s *ProgramServer) UpdateLoyaltyPolicy(ctx context.Context, req *loyaltyv1.UpdateLoyaltyPolicyRequest) (*loyaltyv1.UpdateLoyaltyPolicyResponse, error) {
	tenant, _, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	fields, err := maskFields(req.GetPolicy(), req.GetUpdateMask())
	if err != nil {
		return nil, err
	}
	if len(fields) == 0 {
		return nil, apperr.InvalidField("policy", "must set a field to change")
	}
	p, err := s.svc.UpdatePolicy(ctx, tenant, func(cur loyalty.Policy) (loyalty.Policy, error) {
		return loyaltypb.PolicyFrom(applyMask(loyaltypb.Policy(&cur), req.GetPolicy(), fields)), nil
	})
	if err != nil {
		return nil, err
	}
	return &loyaltyv1.UpdateLoyaltyPolicyResponse{Policy: loyaltypb.Policy(p)}, nil
}
