package loyaltyd_test

import (
	"context"
	"testing"

	"google.golang.org/protobuf/types/known/fieldmaskpb"

	iamv1 "github.com/huiyuan-dev/huiyuan/gen/huiyuan/iam/v1"
	loyaltyv1 "github.com/huiyuan-dev/huiyuan/gen/huiyuan/loyalty/v1"
)

// programCalls are TestRoles' calls of every LoyaltyProgramService method.
func programCalls(t *testing.T, h *lh) map[string]func(ctx context.Context, member, hold string) error {
	t.Helper()
	reward := h.createReward(t, loyaltyv1.Reward_GOODS, 1, 1_000_000)
	dest := h.NewMember(t)
	return map[string]func(ctx context.Context, member, hold string) error{
		loyaltyv1.LoyaltyProgramService_TransferPoints_FullMethodName: func(ctx context.Context, member, _ string) error {
			_, err := h.progs().TransferPoints(ctx, &loyaltyv1.TransferPointsRequest{MemberId: member, ToMemberId: dest, Points: 1})
			return err
		},
		loyaltyv1.LoyaltyProgramService_CheckIn_FullMethodName: func(ctx context.Context, member, _ string) error {
			_, err := h.progs().CheckIn(ctx, &loyaltyv1.CheckInRequest{MemberId: member})
			return err
		},
		loyaltyv1.LoyaltyProgramService_GetPointsLiability_FullMethodName: func(ctx context.Context, _, _ string) error {
			_, err := h.progs().GetPointsLiability(ctx, &loyaltyv1.GetPointsLiabilityRequest{})
			return err
		},
		loyaltyv1.LoyaltyProgramService_CreateReward_FullMethodName: func(ctx context.Context, _, _ string) error {
			_, err := h.progs().CreateReward(ctx, &loyaltyv1.CreateRewardRequest{Reward: &loyaltyv1.Reward{Title: "mug",
				Kind: loyaltyv1.Reward_GOODS, CostPoints: 10, Stock: 1, Active: true}})
			return err
		},
		loyaltyv1.LoyaltyProgramService_ListRewards_FullMethodName: func(ctx context.Context, _, _ string) error {
			_, err := h.progs().ListRewards(ctx, &loyaltyv1.ListRewardsRequest{})
			return err
		},
		loyaltyv1.LoyaltyProgramService_RedeemReward_FullMethodName: func(ctx context.Context, member, _ string) error {
			_, err := h.progs().RedeemReward(ctx, &loyaltyv1.RedeemRewardRequest{Id: reward.GetId(), MemberId: member})
			return err
		},
		loyaltyv1.LoyaltyProgramService_UpdateRewardRedemption_FullMethodName: func(ctx context.Context, member, _ string) error {
			red := h.redeemReward(t, reward.GetId(), member, 1)
			_, err := h.progs().UpdateRewardRedemption(ctx, &loyaltyv1.UpdateRewardRedemptionRequest{Id: red.GetId(),
				Status: loyaltyv1.RewardRedemption_SHIPPED})
			return err
		},
		loyaltyv1.LoyaltyProgramService_GetLoyaltyPolicy_FullMethodName: func(ctx context.Context, _, _ string) error {
			_, err := h.progs().GetLoyaltyPolicy(ctx, &loyaltyv1.GetLoyaltyPolicyRequest{})
			return err
		},
		loyaltyv1.LoyaltyProgramService_UpdateLoyaltyPolicy_FullMethodName: func(ctx context.Context, _, _ string) error {
			// Sets the default again, so the other calls are unaffected.
			_, err := h.progs().UpdateLoyaltyPolicy(ctx, &loyaltyv1.UpdateLoyaltyPolicyRequest{
				Policy: &loyaltyv1.LoyaltyPolicy{}, UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"pending_days"}}})
			return err
		},
		loyaltyv1.LoyaltyProgramService_ListRewardRedemptions_FullMethodName: func(ctx context.Context, member, _ string) error {
			_, err := h.progs().ListRewardRedemptions(ctx, &loyaltyv1.ListRewardRedemptionsRequest{MemberId: member})
			return err
		},
	}
}

// createReward adds an active reward to the catalogue as an operator.
func (h *lh) createReward(t testing.TB, kind loyaltyv1.Reward_Kind, cost, stock int64) *loyaltyv1.Reward {
	t.Helper()
	resp, err := h.progs().CreateReward(h.As(iamv1.Role_OPERATOR), &loyaltyv1.CreateRewardRequest{Reward: &loyaltyv1.Reward{
		Title: "reward", Kind: kind, CostPoints: cost, Stock: stock, Active: true}})
	if err != nil {
		t.Fatalf("CreateReward: %v", err)
	}
	return resp.GetReward()
}

// redeemReward redeems quantity of reward for member as the service.
func (h *lh) redeemReward(t testing.TB, reward, member string, quantity int64) *loyaltyv1.RewardRedemption {
	t.Helper()
	resp, err := h.progs().RedeemReward(h.As(iamv1.Role_SERVICE), &loyaltyv1.RedeemRewardRequest{Id: reward, MemberId: member, Quantity: quantity})
	if err != nil {
		t.Fatalf("RedeemReward: %v", err)
	}
	return resp.GetRedemption()
}
