package memberd_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/fieldmaskpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	iamv1 "github.com/huiyuan-dev/huiyuan/gen/huiyuan/iam/v1"
	memberv1 "github.com/huiyuan-dev/huiyuan/gen/huiyuan/member/v1"
)

// catalogReads are the methods a member may call that name no member: the catalogue a member
// app shows.
var catalogReads = map[string]bool{
	memberv1.TierService_GetTier_FullMethodName:         true,
	memberv1.TierService_ListTiers_FullMethodName:       true,
	memberv1.BenefitService_GetBenefit_FullMethodName:   true,
	memberv1.BenefitService_ListBenefits_FullMethodName: true,
	memberv1.PlanService_GetPlan_FullMethodName:         true,
	memberv1.PlanService_ListPlans_FullMethodName:       true,
}

// membershipCalls are one call per method of TierService, BenefitService and PlanService, for
// TestRoles: each succeeds when the role may make it. The catalogue they use (the entry tier
// bronze granting the unlimited benefit wifi, the plan vip) is made first, so every member
// registered after holds bronze.
func membershipCalls(t *testing.T, h *harness, seq *atomic.Int32) map[string]func(ctx context.Context, m *memberv1.Member) error {
	admin := h.as(iamv1.Role_ADMIN)
	must := func(_ any, err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(h.tiers.CreateTier(admin, &memberv1.CreateTierRequest{Tier: &memberv1.Tier{Id: "bronze", DisplayName: "Bronze"}}))
	must(h.benefits.CreateBenefit(admin, &memberv1.CreateBenefitRequest{Benefit: &memberv1.Benefit{Id: "wifi", DisplayName: "Wi-Fi",
		Kind: memberv1.Benefit_FACILITY_ACCESS, Tiers: []string{"bronze"}}}))
	must(h.plans.CreatePlan(admin, &memberv1.CreatePlanRequest{Plan: &memberv1.Plan{Id: "vip", DisplayName: "VIP", PriceMinor: 10_000,
		Currency: "CNY", TermDays: 30, Renewal: memberv1.Plan_MANUAL, Refundable: true}}))
	next := func(prefix string) string { return fmt.Sprintf("%s%d", prefix, seq.Add(1)) }
	ref := func() *memberv1.Payment { return &memberv1.Payment{Reference: next("pay-")} }
	purchase := func(m *memberv1.Member) (string, error) {
		resp, err := h.plans.PurchasePlan(admin, &memberv1.PurchasePlanRequest{MemberId: m.GetId(), PlanId: "vip", Payment: ref()})
		return resp.GetSubscription().GetId(), err
	}
	complaint := func(m *memberv1.Member) (string, error) {
		resp, err := h.benefits.CreateBenefitComplaint(admin, &memberv1.CreateBenefitComplaintRequest{MemberId: m.GetId(),
			Complaint: &memberv1.BenefitComplaint{BenefitId: "wifi", Description: "no signal"}})
		return resp.GetComplaint().GetId(), err
	}
	return map[string]func(ctx context.Context, m *memberv1.Member) error{
		memberv1.TierService_CreateTier_FullMethodName: func(ctx context.Context, _ *memberv1.Member) error {
			_, err := h.tiers.CreateTier(ctx, &memberv1.CreateTierRequest{Tier: &memberv1.Tier{Id: next("t"), DisplayName: "T",
				Rank: 100 + seq.Add(1), MinSpendMinor: 1}})
			return err
		},
		memberv1.TierService_GetTier_FullMethodName: func(ctx context.Context, _ *memberv1.Member) error {
			_, err := h.tiers.GetTier(ctx, &memberv1.GetTierRequest{TierId: "bronze"})
			return err
		},
		memberv1.TierService_ListTiers_FullMethodName: func(ctx context.Context, _ *memberv1.Member) error {
			_, err := h.tiers.ListTiers(ctx, &memberv1.ListTiersRequest{})
			return err
		},
		memberv1.TierService_UpdateTier_FullMethodName: func(ctx context.Context, _ *memberv1.Member) error {
			_, err := h.tiers.UpdateTier(ctx, &memberv1.UpdateTierRequest{Tier: &memberv1.Tier{Id: "bronze", DisplayName: next("Bronze ")}})
			return err
		},
		memberv1.TierService_DeleteTier_FullMethodName: func(ctx context.Context, _ *memberv1.Member) error {
			id := next("gone")
			must(h.tiers.CreateTier(admin, &memberv1.CreateTierRequest{Tier: &memberv1.Tier{Id: id, DisplayName: "G", Rank: 500 + seq.Add(1), MinOrders: 1}}))
			_, err := h.tiers.DeleteTier(ctx, &memberv1.DeleteTierRequest{TierId: id})
			return err
		},
		memberv1.TierService_GetTierSettings_FullMethodName: func(ctx context.Context, _ *memberv1.Member) error {
			_, err := h.tiers.GetTierSettings(ctx, &memberv1.GetTierSettingsRequest{})
			return err
		},
		memberv1.TierService_UpdateTierSettings_FullMethodName: func(ctx context.Context, _ *memberv1.Member) error {
			_, err := h.tiers.UpdateTierSettings(ctx, &memberv1.UpdateTierSettingsRequest{Settings: &memberv1.TierSettings{NoticeDays: 30},
				UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"notice_days"}}})
			return err
		},
		memberv1.TierService_GetMemberTier_FullMethodName: func(ctx context.Context, m *memberv1.Member) error {
			_, err := h.tiers.GetMemberTier(ctx, &memberv1.GetMemberTierRequest{MemberId: m.GetId()})
			return err
		},
		memberv1.TierService_OverrideMemberTier_FullMethodName: func(ctx context.Context, m *memberv1.Member) error {
			_, err := h.tiers.OverrideMemberTier(ctx, &memberv1.OverrideMemberTierRequest{MemberId: m.GetId(), TierId: "bronze",
				Reason: "goodwill", ExpireTime: timestamppb.New(time.Now().Add(time.Hour))})
			return err
		},
		memberv1.TierService_ClearMemberTierOverride_FullMethodName: func(ctx context.Context, m *memberv1.Member) error {
			_, err := h.tiers.ClearMemberTierOverride(ctx, &memberv1.ClearMemberTierOverrideRequest{MemberId: m.GetId()})
			return err
		},
		memberv1.TierService_EvaluateMemberTier_FullMethodName: func(ctx context.Context, m *memberv1.Member) error {
			_, err := h.tiers.EvaluateMemberTier(ctx, &memberv1.EvaluateMemberTierRequest{MemberId: m.GetId()})
			return err
		},
		memberv1.BenefitService_CreateBenefit_FullMethodName: func(ctx context.Context, _ *memberv1.Member) error {
			_, err := h.benefits.CreateBenefit(ctx, &memberv1.CreateBenefitRequest{Benefit: &memberv1.Benefit{Id: next("b"), DisplayName: "B",
				Kind: memberv1.Benefit_CUSTOM}})
			return err
		},
		memberv1.BenefitService_GetBenefit_FullMethodName: func(ctx context.Context, _ *memberv1.Member) error {
			_, err := h.benefits.GetBenefit(ctx, &memberv1.GetBenefitRequest{BenefitId: "wifi"})
			return err
		},
		memberv1.BenefitService_ListBenefits_FullMethodName: func(ctx context.Context, _ *memberv1.Member) error {
			_, err := h.benefits.ListBenefits(ctx, &memberv1.ListBenefitsRequest{})
			return err
		},
		memberv1.BenefitService_UpdateBenefit_FullMethodName: func(ctx context.Context, _ *memberv1.Member) error {
			_, err := h.benefits.UpdateBenefit(ctx, &memberv1.UpdateBenefitRequest{Benefit: &memberv1.Benefit{Id: "wifi", Description: next("d")}})
			return err
		},
		memberv1.BenefitService_DeleteBenefit_FullMethodName: func(ctx context.Context, _ *memberv1.Member) error {
			id := next("del")
			must(h.benefits.CreateBenefit(admin, &memberv1.CreateBenefitRequest{Benefit: &memberv1.Benefit{Id: id, DisplayName: "D", Kind: memberv1.Benefit_CUSTOM}}))
			_, err := h.benefits.DeleteBenefit(ctx, &memberv1.DeleteBenefitRequest{BenefitId: id})
			return err
		},
		memberv1.BenefitService_ListMemberBenefits_FullMethodName: func(ctx context.Context, m *memberv1.Member) error {
			_, err := h.benefits.ListMemberBenefits(ctx, &memberv1.ListMemberBenefitsRequest{MemberId: m.GetId()})
			return err
		},
		memberv1.BenefitService_UseBenefit_FullMethodName: func(ctx context.Context, m *memberv1.Member) error {
			_, err := h.benefits.UseBenefit(ctx, &memberv1.UseBenefitRequest{MemberId: m.GetId(), BenefitId: "wifi", StoreId: "s1"})
			return err
		},
		memberv1.BenefitService_CreateBenefitComplaint_FullMethodName: func(ctx context.Context, m *memberv1.Member) error {
			_, err := h.benefits.CreateBenefitComplaint(ctx, &memberv1.CreateBenefitComplaintRequest{MemberId: m.GetId(),
				Complaint: &memberv1.BenefitComplaint{BenefitId: "wifi", Description: "refused at the door"}})
			return err
		},
		memberv1.BenefitService_GetBenefitComplaint_FullMethodName: func(ctx context.Context, m *memberv1.Member) error {
			id, err := complaint(m)
			if err != nil {
				return err
			}
			_, err = h.benefits.GetBenefitComplaint(ctx, &memberv1.GetBenefitComplaintRequest{ComplaintId: id})
			return err
		},
		memberv1.BenefitService_ListBenefitComplaints_FullMethodName: func(ctx context.Context, _ *memberv1.Member) error {
			_, err := h.benefits.ListBenefitComplaints(ctx, &memberv1.ListBenefitComplaintsRequest{BenefitId: "wifi"})
			return err
		},
		memberv1.BenefitService_ResolveBenefitComplaint_FullMethodName: func(ctx context.Context, m *memberv1.Member) error {
			id, err := complaint(m)
			if err != nil {
				return err
			}
			_, err = h.benefits.ResolveBenefitComplaint(ctx, &memberv1.ResolveBenefitComplaintRequest{ComplaintId: id, Note: "apologised"})
			return err
		},
		memberv1.PlanService_CreatePlan_FullMethodName: func(ctx context.Context, _ *memberv1.Member) error {
			_, err := h.plans.CreatePlan(ctx, &memberv1.CreatePlanRequest{Plan: &memberv1.Plan{Id: next("p"), DisplayName: "P",
				Currency: "CNY", TermMonths: 1, Renewal: memberv1.Plan_MANUAL}})
			return err
		},
		memberv1.PlanService_GetPlan_FullMethodName: func(ctx context.Context, _ *memberv1.Member) error {
			_, err := h.plans.GetPlan(ctx, &memberv1.GetPlanRequest{PlanId: "vip"})
			return err
		},
		memberv1.PlanService_ListPlans_FullMethodName: func(ctx context.Context, _ *memberv1.Member) error {
			_, err := h.plans.ListPlans(ctx, &memberv1.ListPlansRequest{})
			return err
		},
		memberv1.PlanService_UpdatePlan_FullMethodName: func(ctx context.Context, _ *memberv1.Member) error {
			_, err := h.plans.UpdatePlan(ctx, &memberv1.UpdatePlanRequest{Plan: &memberv1.Plan{Id: "vip", DisplayName: next("VIP ")}})
			return err
		},
		memberv1.PlanService_DeletePlan_FullMethodName: func(ctx context.Context, _ *memberv1.Member) error {
			id := next("old")
			must(h.plans.CreatePlan(admin, &memberv1.CreatePlanRequest{Plan: &memberv1.Plan{Id: id, DisplayName: "O", Currency: "CNY",
				TermDays: 1, Renewal: memberv1.Plan_MANUAL}}))
			_, err := h.plans.DeletePlan(ctx, &memberv1.DeletePlanRequest{PlanId: id})
			return err
		},
		memberv1.PlanService_PurchasePlan_FullMethodName: func(ctx context.Context, m *memberv1.Member) error {
			_, err := h.plans.PurchasePlan(ctx, &memberv1.PurchasePlanRequest{MemberId: m.GetId(), PlanId: "vip", Payment: ref()})
			return err
		},
		memberv1.PlanService_RenewSubscription_FullMethodName: func(ctx context.Context, m *memberv1.Member) error {
			id, err := purchase(m)
			if err != nil {
				return err
			}
			_, err = h.plans.RenewSubscription(ctx, &memberv1.RenewSubscriptionRequest{MemberId: m.GetId(), SubscriptionId: id, Payment: ref()})
			return err
		},
		memberv1.PlanService_CancelSubscription_FullMethodName: func(ctx context.Context, m *memberv1.Member) error {
			id, err := purchase(m)
			if err != nil {
				return err
			}
			_, err = h.plans.CancelSubscription(ctx, &memberv1.CancelSubscriptionRequest{MemberId: m.GetId(), SubscriptionId: id})
			return err
		},
		memberv1.PlanService_ListSubscriptions_FullMethodName: func(ctx context.Context, m *memberv1.Member) error {
			_, err := h.plans.ListSubscriptions(ctx, &memberv1.ListSubscriptionsRequest{MemberId: m.GetId()})
			return err
		},
		memberv1.PlanService_ListPlanReports_FullMethodName: func(ctx context.Context, _ *memberv1.Member) error {
			_, err := h.plans.ListPlanReports(ctx, &memberv1.ListPlanReportsRequest{})
			return err
		},
	}
}
