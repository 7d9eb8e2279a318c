package grpcapi

import (
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/huiyuan-dev/huiyuan/pkg/apperr"
	"github.com/huiyuan-dev/huiyuan/services/member/internal/membership"

	memberv1 "github.com/huiyuan-dev/huiyuan/gen/huiyuan/member/v1"
)

// defaultMultiplier is a tier's points multiplier when a request does not set one: ×1.
const defaultMultiplier = 100

func tierToProto(v *membership.TierView) *memberv1.Tier {
	t := v.Tier
	pct := int32(t.MultiplierPercent)
	return &memberv1.Tier{Id: t.ID, Name: "tiers/" + t.ID, DisplayName: t.DisplayName, Rank: int32(t.Rank),
		Basis: memberv1.Tier_Basis(t.Basis), MinSpendMinor: t.MinSpend, MinOrders: int32(t.MinOrders),
		MinTenureMonths: int32(t.MinTenureMonths), PointsMultiplierPercent: &pct, Benefits: v.Benefits, MemberCount: v.Holders,
		CreateTime: ts(t.CreateTime), UpdateTime: ts(t.UpdateTime)}
}

func tierFromProto(p *memberv1.Tier) (*membership.Tier, []string) {
	pct := defaultMultiplier
	if p.PointsMultiplierPercent != nil {
		pct = int(p.GetPointsMultiplierPercent())
	}
	return &membership.Tier{ID: p.GetId(), DisplayName: p.GetDisplayName(), Rank: int(p.GetRank()), Basis: membership.Basis(p.GetBasis()),
		MinSpend: p.GetMinSpendMinor(), MinOrders: int(p.GetMinOrders()), MinTenureMonths: int(p.GetMinTenureMonths()),
		MultiplierPercent: pct}, p.GetBenefits()
}

func settingsToProto(s membership.Settings) *memberv1.TierSettings {
	return &memberv1.TierSettings{WindowMonths: int32(s.WindowMonths), DropRule: memberv1.TierSettings_DropRule(s.DropRule),
		NoticeDays: int32(s.NoticeDays), Currency: s.Currency, TimeZone: s.TimeZone, UpdateTime: ts(s.UpdateTime)}
}

func settingsFromProto(p *memberv1.TierSettings) membership.Settings {
	return membership.Settings{WindowMonths: int(p.GetWindowMonths()), DropRule: membership.DropRule(p.GetDropRule()),
		NoticeDays: int(p.GetNoticeDays()), Currency: p.GetCurrency(), TimeZone: p.GetTimeZone()}
}

func benefitToProto(v *membership.BenefitView) *memberv1.Benefit {
	b := v.Benefit
	return &memberv1.Benefit{Id: b.ID, Name: "benefits/" + b.ID, DisplayName: b.DisplayName, Kind: memberv1.Benefit_Kind(b.Kind),
		DiscountPercent: int32(b.DiscountPercent), LimitPerPeriod: int32(b.Limit), Period: memberv1.Benefit_Period(b.Period),
		Description: b.Description, Tiers: b.Tiers, Plans: b.Plans, OpenComplaints: v.Open,
		CreateTime: ts(b.CreateTime), UpdateTime: ts(b.UpdateTime)}
}

func benefitFromProto(p *memberv1.Benefit) *membership.Benefit {
	return &membership.Benefit{ID: p.GetId(), DisplayName: p.GetDisplayName(), Kind: membership.Kind(p.GetKind()),
		DiscountPercent: int(p.GetDiscountPercent()), Limit: int(p.GetLimitPerPeriod()), Period: membership.Period(p.GetPeriod()),
		Description: p.GetDescription(), Tiers: p.GetTiers(), Plans: p.GetPlans()}
}

func planToProto(v *membership.PlanView) *memberv1.Plan {
	p := v.Plan
	rd := int32(p.ReminderDays)
	return &memberv1.Plan{Id: p.ID, Name: "plans/" + p.ID, DisplayName: p.DisplayName, PriceMinor: p.PriceMinor, Currency: p.Currency,
		TermMonths: int32(p.TermMonths), TermDays: int32(p.TermDays), TierId: p.TierID, Benefits: v.Benefits,
		Renewal: memberv1.Plan_Renewal(p.Renewal), GraceDays: int32(p.GraceDays), TrialDays: int32(p.TrialDays),
		Refundable: p.Refundable, ReminderDays: &rd, CreateTime: ts(p.CreateTime), UpdateTime: ts(p.UpdateTime)}
}

func planFromProto(p *memberv1.Plan) (*membership.Plan, []string) {
	rd := membership.DefaultReminderDays
	if p.ReminderDays != nil {
		rd = int(p.GetReminderDays())
	}
	return &membership.Plan{ID: p.GetId(), DisplayName: p.GetDisplayName(), PriceMinor: p.GetPriceMinor(), Currency: p.GetCurrency(),
		TermMonths: int(p.GetTermMonths()), TermDays: int(p.GetTermDays()), TierID: p.GetTierId(), Renewal: membership.Renewal(p.GetRenewal()),
		GraceDays: int(p.GetGraceDays()), TrialDays: int(p.GetTrialDays()), Refundable: p.GetRefundable(), ReminderDays: rd}, p.GetBenefits()
}

func subscriptionToProto(member string, s *membership.Subscription, now time.Time) *memberv1.Subscription {
	out := &memberv1.Subscription{Id: s.ID, MemberId: member, PlanId: s.PlanID, State: memberv1.Subscription_State(s.State),
		StartTime: ts(s.Start), TermStartTime: ts(s.CurrentTerm(now).Start), TermEndTime: ts(s.TermEnd), GraceEndTime: ts(s.GraceEnd),
		AutoRenew: s.AutoRenew, EndTime: ts(s.End), CancelReason: s.Reason}
	for _, p := range s.Payments {
		out.Payments = append(out.Payments, &memberv1.Payment{Reference: p.Reference, AmountMinor: p.Amount, Currency: p.Currency})
	}
	return out
}

func valueToProto(v membership.MemberValue) *memberv1.MemberValue {
	return &memberv1.MemberValue{LifetimeSpendMinor: v.LifetimeSpend, Currency: v.Currency, LifetimeOrders: v.LifetimeOrders,
		Referrals: v.Referrals, TenureMonths: int32(v.TenureMonths), WindowSpendMinor: v.WindowSpend, WindowOrders: v.WindowOrders,
		MemberSince: ts(v.Joined)}
}

func standingToProto(s *membership.Standing) *memberv1.MemberTier {
	out := &memberv1.MemberTier{MemberId: s.MemberID, TierId: s.Tier, SinceTime: ts(s.TierSince), EarnedTierId: s.Earned.Tier,
		EarnedTime: ts(s.Earned.Since), ReviewTime: ts(s.Earned.ReviewAt), PlanTierId: s.PlanTier, PlanHoldEndTime: ts(s.PlanHoldEnd),
		Value: valueToProto(s.Value)}
	if o := s.Override; o != nil {
		out.Override = &memberv1.TierOverride{TierId: o.Tier, Reason: o.Reason, ExpireTime: ts(o.Expire), Actor: o.Actor, CreateTime: ts(o.CreateTime)}
	}
	return out
}

func entitlementToProto(e membership.Entitlement) *memberv1.BenefitEntitlement {
	return &memberv1.BenefitEntitlement{Benefit: benefitToProto(&membership.BenefitView{Benefit: e.Benefit}), Used: int32(e.Used),
		Remaining: int32(e.Remaining), Unlimited: e.Benefit.Unlimited(), PeriodEndTime: ts(e.PeriodEnd), GrantedBy: e.GrantedBy}
}

func useToProto(u *membership.BenefitUse) *memberv1.BenefitUse {
	return &memberv1.BenefitUse{Id: u.ID, MemberId: u.MemberID, BenefitId: u.BenefitID, StoreId: u.StoreID, UseTime: ts(u.Time),
		Used: int32(u.Used), Remaining: int32(u.Remaining)}
}

func complaintToProto(c *membership.Complaint) *memberv1.BenefitComplaint {
	return &memberv1.BenefitComplaint{Id: c.ID, MemberId: c.MemberID, BenefitId: c.BenefitID, StoreId: c.StoreID,
		OccurTime: ts(c.OccurTime), Description: c.Description, State: memberv1.BenefitComplaint_State(c.State),
		Reporter: c.Reporter, ResolutionNote: c.Note, Resolver: c.Resolver, CreateTime: ts(c.CreateTime), ResolveTime: ts(c.ResolveTime)}
}

func timeOf(t *timestamppb.Timestamp, field string) (time.Time, error) {
	if t == nil {
		return time.Time{}, nil
	}
	if err := t.CheckValid(); err != nil {
		return time.Time{}, apperr.InvalidField(field, "is not a valid time")
	}
	return t.AsTime(), nil
}

// updateMask returns the mask paths of an update in proto names: the request's (JSON names
// accepted), or, when it names none, the fields the resource sets (AIP-134), output-only ones
// left out.
func updateMask(resource proto.Message, paths []string, outputOnly ...string) []string {
	md := resource.ProtoReflect().Descriptor()
	if len(paths) > 0 {
		out := make([]string, len(paths))
		for i, p := range paths {
			out[i] = protoPath(md, p)
		}
		return out
	}
	var out []string
	resource.ProtoReflect().Range(func(fd protoreflect.FieldDescriptor, _ protoreflect.Value) bool {
		name := string(fd.Name())
		skip := name == "id" || name == "name"
		for _, o := range outputOnly {
			skip = skip || name == o
		}
		if !skip {
			out = append(out, name)
		}
		return true
	})
	return out
}
