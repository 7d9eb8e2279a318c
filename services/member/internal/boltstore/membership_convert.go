package boltstore

import (
	"fmt"
	"time"

	"github.com/huiyuan-dev/huiyuan/services/member/internal/membership"

	storagev1 "github.com/huiyuan-dev/huiyuan/gen/huiyuan/member/storage/v1"
)

func tm(t interface{ AsTime() time.Time }) time.Time {
	if t == nil {
		return time.Time{}
	}
	return t.AsTime()
}

func toTierRecord(t *membership.Tier) *storagev1.TierRecord {
	return &storagev1.TierRecord{Id: t.ID, DisplayName: t.DisplayName, Rank: int32(t.Rank), Basis: storagev1.TierRecord_StoredBasis(t.Basis),
		MinSpendMinor: t.MinSpend, MinOrders: int32(t.MinOrders), MinTenureMonths: int32(t.MinTenureMonths),
		MultiplierPercent: int32(t.MultiplierPercent), CreateTime: ts(t.CreateTime), UpdateTime: ts(t.UpdateTime)}
}

func fromTierRecord(r *storagev1.TierRecord) *membership.Tier {
	return &membership.Tier{ID: r.GetId(), DisplayName: r.GetDisplayName(), Rank: int(r.GetRank()), Basis: membership.Basis(r.GetBasis()),
		MinSpend: r.GetMinSpendMinor(), MinOrders: int(r.GetMinOrders()), MinTenureMonths: int(r.GetMinTenureMonths()),
		MultiplierPercent: int(r.GetMultiplierPercent()), CreateTime: tm(r.GetCreateTime()), UpdateTime: tm(r.GetUpdateTime())}
}

func toSettingsRecord(s *membership.Settings) *storagev1.TierSettingsRecord {
	return &storagev1.TierSettingsRecord{WindowMonths: int32(s.WindowMonths), DropRule: storagev1.TierSettingsRecord_StoredDropRule(s.DropRule),
		NoticeDays: int32(s.NoticeDays), Currency: s.Currency, TimeZone: s.TimeZone, UpdateTime: ts(s.UpdateTime)}
}

func fromSettingsRecord(r *storagev1.TierSettingsRecord) membership.Settings {
	s := membership.Settings{WindowMonths: int(r.GetWindowMonths()), DropRule: membership.DropRule(r.GetDropRule()),
		NoticeDays: int(r.GetNoticeDays()), Currency: r.GetCurrency(), TimeZone: r.GetTimeZone(), UpdateTime: tm(r.GetUpdateTime())}
	s.Resolve()
	return s
}

func toBenefitRecord(b *membership.Benefit) *storagev1.BenefitRecord {
	return &storagev1.BenefitRecord{Id: b.ID, DisplayName: b.DisplayName, Kind: storagev1.BenefitRecord_StoredKind(b.Kind),
		DiscountPercent: int32(b.DiscountPercent), LimitPerPeriod: int32(b.Limit), Period: storagev1.BenefitRecord_StoredPeriod(b.Period),
		Description: b.Description, Tiers: b.Tiers, Plans: b.Plans, CreateTime: ts(b.CreateTime), UpdateTime: ts(b.UpdateTime)}
}

func fromBenefitRecord(r *storagev1.BenefitRecord) *membership.Benefit {
	return &membership.Benefit{ID: r.GetId(), DisplayName: r.GetDisplayName(), Kind: membership.Kind(r.GetKind()),
		DiscountPercent: int(r.GetDiscountPercent()), Limit: int(r.GetLimitPerPeriod()), Period: membership.Period(r.GetPeriod()),
		Description: r.GetDescription(), Tiers: r.GetTiers(), Plans: r.GetPlans(), CreateTime: tm(r.GetCreateTime()), UpdateTime: tm(r.GetUpdateTime())}
}

func toPlanRecord(p *membership.Plan) *storagev1.PlanRecord {
	return &storagev1.PlanRecord{Id: p.ID, DisplayName: p.DisplayName, PriceMinor: p.PriceMinor, Currency: p.Currency,
		TermMonths: int32(p.TermMonths), TermDays: int32(p.TermDays), TierId: p.TierID, Renewal: storagev1.PlanRecord_StoredRenewal(p.Renewal),
		GraceDays: int32(p.GraceDays), TrialDays: int32(p.TrialDays), Refundable: p.Refundable, ReminderDays: int32(p.ReminderDays),
		CreateTime: ts(p.CreateTime), UpdateTime: ts(p.UpdateTime)}
}

func fromPlanRecord(r *storagev1.PlanRecord) *membership.Plan {
	return &membership.Plan{ID: r.GetId(), DisplayName: r.GetDisplayName(), PriceMinor: r.GetPriceMinor(), Currency: r.GetCurrency(),
		TermMonths: int(r.GetTermMonths()), TermDays: int(r.GetTermDays()), TierID: r.GetTierId(), Renewal: membership.Renewal(r.GetRenewal()),
		GraceDays: int(r.GetGraceDays()), TrialDays: int(r.GetTrialDays()), Refundable: r.GetRefundable(), ReminderDays: int(r.GetReminderDays()),
		CreateTime: tm(r.GetCreateTime()), UpdateTime: tm(r.GetUpdateTime())}
}

func toSubscriptionRecord(member string, s *membership.Subscription) *storagev1.SubscriptionRecord {
	r := &storagev1.SubscriptionRecord{Id: s.ID, MemberId: member, PlanId: s.PlanID, State: storagev1.SubscriptionRecord_StoredState(s.State),
		StartTime: ts(s.Start), TermEndTime: ts(s.TermEnd), GraceEndTime: ts(s.GraceEnd), AutoRenew: s.AutoRenew,
		RemindedTime: ts(s.Reminded), EndTime: ts(s.End), Currency: s.Currency, CancelReason: s.Reason}
	for _, t := range s.Terms {
		r.Periods = append(r.Periods, &storagev1.PeriodRecord{StartTime: ts(t.Start), EndTime: ts(t.End), PaidMinor: t.Paid})
	}
	for _, p := range s.Payments {
		r.Payments = append(r.Payments, &storagev1.PaymentRecord{Reference: p.Reference, AmountMinor: p.Amount, Currency: p.Currency, Time: ts(p.Time)})
	}
	return r
}

func fromSubscriptionRecord(r *storagev1.SubscriptionRecord) *membership.Subscription {
	s := &membership.Subscription{ID: r.GetId(), PlanID: r.GetPlanId(), State: membership.SubState(r.GetState()),
		Start: tm(r.GetStartTime()), TermEnd: tm(r.GetTermEndTime()), GraceEnd: tm(r.GetGraceEndTime()), AutoRenew: r.GetAutoRenew(),
		Reminded: tm(r.GetRemindedTime()), End: tm(r.GetEndTime()), Currency: r.GetCurrency(), Reason: r.GetCancelReason()}
	for _, t := range r.GetPeriods() {
		s.Terms = append(s.Terms, membership.Term{Start: tm(t.GetStartTime()), End: tm(t.GetEndTime()), Paid: t.GetPaidMinor()})
	}
	for _, p := range r.GetPayments() {
		s.Payments = append(s.Payments, membership.Payment{Reference: p.GetReference(), Amount: p.GetAmountMinor(), Currency: p.GetCurrency(), Time: tm(p.GetTime())})
	}
	return s
}

func nanos(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

func fromNanos(n int64) time.Time {
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, n).UTC()
}

func toAccountRecord(a *membership.Account) *storagev1.AccountRecord {
	r := &storagev1.AccountRecord{MemberId: a.MemberID, Tier: a.Tier, TierTime: ts(a.TierSince), EarnedTier: a.Earned.Tier,
		EarnedTime: ts(a.Earned.Since), ReviewTime: ts(a.Earned.ReviewAt), EarnedBaseDay: a.Earned.Base.Day,
		EarnedBaseSpendMinor: a.Earned.Base.Spend, EarnedBaseOrders: a.Earned.Base.Orders,
		LifetimeSpendMinor: a.Value.LifetimeSpend, LifetimeOrders: a.Value.LifetimeOrders, Referrals: a.Value.Referrals,
		NoticeCheckedTime: ts(a.NoticeChecked), NoticeSent: a.NoticeSent, Trials: a.Trials, Due: nanos(a.Due), JoinedTime: ts(a.Joined)}
	if n := len(a.Figures.Days); n > 0 {
		r.WindowDays, r.WindowSpendMinor, r.WindowOrders = make([]int32, n), make([]int64, n), make([]int32, n)
		for i, d := range a.Figures.Days {
			r.WindowDays[i], r.WindowSpendMinor[i], r.WindowOrders[i] = d.Day, d.Spend, d.Orders
		}
	}
	if o := a.Override; o != nil {
		r.Override = &storagev1.OverrideRecord{TierId: o.Tier, Reason: o.Reason, ExpireTime: ts(o.Expire), Actor: o.Actor, CreateTime: ts(o.CreateTime)}
	}
	for _, s := range a.Subscriptions {
		r.Subscriptions = append(r.Subscriptions, toSubscriptionRecord(a.MemberID, s))
	}
	for _, u := range a.Usage {
		r.Usage = append(r.Usage, &storagev1.UsageRecord{BenefitId: u.Benefit, Period: u.Period, Used: int32(u.Used)})
	}
	return r
}

func fromAccountRecord(r *storagev1.AccountRecord) *membership.Account {
	a := &membership.Account{MemberID: r.GetMemberId(), Exists: true, Tier: r.GetTier(), TierSince: tm(r.GetTierTime()),
		Earned: membership.Earned{Tier: r.GetEarnedTier(), Since: tm(r.GetEarnedTime()), ReviewAt: tm(r.GetReviewTime()),
			Base: membership.Day{Day: r.GetEarnedBaseDay(), Spend: r.GetEarnedBaseSpendMinor(), Orders: r.GetEarnedBaseOrders()}},
		Value:         membership.Value{LifetimeSpend: r.GetLifetimeSpendMinor(), LifetimeOrders: r.GetLifetimeOrders(), Referrals: r.GetReferrals()},
		NoticeChecked: tm(r.GetNoticeCheckedTime()), NoticeSent: r.GetNoticeSent(), Trials: r.GetTrials(), Due: fromNanos(r.GetDue()),
		Joined: tm(r.GetJoinedTime())}
	a.Figures.Days = windowDays(r)
	if o := r.GetOverride(); o != nil {
		a.Override = &membership.Override{Tier: o.GetTierId(), Reason: o.GetReason(), Expire: tm(o.GetExpireTime()), Actor: o.GetActor(), CreateTime: tm(o.GetCreateTime())}
	}
	for _, s := range r.GetSubscriptions() {
		a.Subscriptions = append(a.Subscriptions, fromSubscriptionRecord(s))
	}
	for _, u := range r.GetUsage() {
		a.Usage = append(a.Usage, membership.Usage{Benefit: u.GetBenefitId(), Period: u.GetPeriod(), Used: int(u.GetUsed())})
	}
	return a
}

func toContributionRecord(c *membership.Contribution) *storagev1.ContributionRecord {
	return &storagev1.ContributionRecord{MemberId: c.MemberID, Day: c.Day, SpendMinor: c.Spend, AmountMinor: c.Amount,
		RefundedSpendMinor: c.RefundedSpend, FullyRefunded: c.FullyRefunded, KeepUntil: nanos(c.KeepUntil), OrderTime: ts(c.Time)}
}

func fromContributionRecord(r *storagev1.ContributionRecord) *membership.Contribution {
	return &membership.Contribution{MemberID: r.GetMemberId(), Day: r.GetDay(), Spend: r.GetSpendMinor(), Amount: r.GetAmountMinor(),
		RefundedSpend: r.GetRefundedSpendMinor(), FullyRefunded: r.GetFullyRefunded(), KeepUntil: fromNanos(r.GetKeepUntil()), Time: tm(r.GetOrderTime())}
}

func toUseRecord(u *membership.BenefitUse) *storagev1.BenefitUseRecord {
	return &storagev1.BenefitUseRecord{Id: u.ID, MemberId: u.MemberID, BenefitId: u.BenefitID, StoreId: u.StoreID, UseTime: ts(u.Time),
		Used: int32(u.Used), Remaining: int32(u.Remaining)}
}

func fromUseRecord(r *storagev1.BenefitUseRecord) *membership.BenefitUse {
	return &membership.BenefitUse{ID: r.GetId(), MemberID: r.GetMemberId(), BenefitID: r.GetBenefitId(), StoreID: r.GetStoreId(),
		Time: tm(r.GetUseTime()), Used: int(r.GetUsed()), Remaining: int(r.GetRemaining())}
}

func toComplaintRecord(c *membership.Complaint) *storagev1.ComplaintRecord {
	return &storagev1.ComplaintRecord{Id: c.ID, MemberId: c.MemberID, BenefitId: c.BenefitID, StoreId: c.StoreID, OccurTime: ts(c.OccurTime),
		Description: c.Description, State: storagev1.ComplaintRecord_StoredState(c.State), Reporter: c.Reporter, ResolutionNote: c.Note,
		Resolver: c.Resolver, CreateTime: ts(c.CreateTime), ResolveTime: ts(c.ResolveTime)}
}

func fromComplaintRecord(r *storagev1.ComplaintRecord) *membership.Complaint {
	return &membership.Complaint{ID: r.GetId(), MemberID: r.GetMemberId(), BenefitID: r.GetBenefitId(), StoreID: r.GetStoreId(),
		OccurTime: tm(r.GetOccurTime()), Description: r.GetDescription(), State: membership.ComplaintState(r.GetState()),
		Reporter: r.GetReporter(), Note: r.GetResolutionNote(), Resolver: r.GetResolver(), CreateTime: tm(r.GetCreateTime()),
		ResolveTime: tm(r.GetResolveTime())}
}

func toStatsRecord(s membership.PlanStats) *storagev1.PlanStatsRecord {
	return &storagev1.PlanStatsRecord{Active: s.Active, Trialing: s.Trialing, InGrace: s.InGrace, Purchases: s.Purchases,
		Renewals: s.Renewals, Cancellations: s.Cancellations, Lapses: s.Lapses, RevenueMinor: s.RevenueMinor, RefundedMinor: s.RefundedMinor}
}

func fromStatsRecord(r *storagev1.PlanStatsRecord) membership.PlanStats {
	return membership.PlanStats{Active: r.GetActive(), Trialing: r.GetTrialing(), InGrace: r.GetInGrace(), Purchases: r.GetPurchases(),
		Renewals: r.GetRenewals(), Cancellations: r.GetCancellations(), Lapses: r.GetLapses(), RevenueMinor: r.GetRevenueMinor(),
		RefundedMinor: r.GetRefundedMinor()}
}

// encodeResult is the stored answer of a mutation.
func encodeResult(member string, res membership.Result) (*storagev1.MembershipResult, error) {
	out := &storagev1.MembershipResult{}
	switch r := res.(type) {
	case *membership.TierView:
		out.Result = &storagev1.MembershipResult_TierView{TierView: &storagev1.TierView{Tier: toTierRecord(r.Tier), Benefits: r.Benefits, Holders: r.Holders}}
	case *membership.BenefitView:
		out.Result = &storagev1.MembershipResult_BenefitView{BenefitView: &storagev1.BenefitView{Benefit: toBenefitRecord(r.Benefit), OpenComplaints: r.Open}}
	case *membership.PlanView:
		out.Result = &storagev1.MembershipResult_PlanView{PlanView: &storagev1.PlanView{Plan: toPlanRecord(r.Plan), Benefits: r.Benefits}}
	case *membership.Settings:
		out.Result = &storagev1.MembershipResult_Settings{Settings: toSettingsRecord(r)}
	case *membership.Account:
		out.Result = &storagev1.MembershipResult_Account{Account: toAccountRecord(r)}
	case *membership.Subscription:
		out.Result = &storagev1.MembershipResult_Subscription{Subscription: toSubscriptionRecord(member, r)}
	case *membership.BenefitUse:
		out.Result = &storagev1.MembershipResult_Use{Use: toUseRecord(r)}
	case *membership.Complaint:
		out.Result = &storagev1.MembershipResult_Complaint{Complaint: toComplaintRecord(r)}
	case *membership.Cancellation:
		out.Result = &storagev1.MembershipResult_Cancel{Cancel: &storagev1.CancelResult{
			Subscription: toSubscriptionRecord(member, r.Subscription), RefundMinor: r.Refund, Currency: r.Currency}}
	case membership.Deleted:
		out.Result = &storagev1.MembershipResult_Deleted{Deleted: true}
	default:
		return nil, fmt.Errorf("boltstore: cannot store a %T answer", res)
	}
	return out, nil
}

// decodeResult is encodeResult's inverse.
func decodeResult(r *storagev1.MembershipResult) (membership.Result, error) {
	switch x := r.GetResult().(type) {
	case *storagev1.MembershipResult_TierView:
		return &membership.TierView{Tier: fromTierRecord(x.TierView.GetTier()), Benefits: x.TierView.GetBenefits(), Holders: x.TierView.GetHolders()}, nil
	case *storagev1.MembershipResult_BenefitView:
		return &membership.BenefitView{Benefit: fromBenefitRecord(x.BenefitView.GetBenefit()), Open: x.BenefitView.GetOpenComplaints()}, nil
	case *storagev1.MembershipResult_PlanView:
		return &membership.PlanView{Plan: fromPlanRecord(x.PlanView.GetPlan()), Benefits: x.PlanView.GetBenefits()}, nil
	case *storagev1.MembershipResult_Settings:
		s := fromSettingsRecord(x.Settings)
		return &s, nil
	case *storagev1.MembershipResult_Account:
		return fromAccountRecord(x.Account), nil
	case *storagev1.MembershipResult_Subscription:
		return fromSubscriptionRecord(x.Subscription), nil
	case *storagev1.MembershipResult_Use:
		return fromUseRecord(x.Use), nil
	case *storagev1.MembershipResult_Complaint:
		return fromComplaintRecord(x.Complaint), nil
	case *storagev1.MembershipResult_Cancel:
		return &membership.Cancellation{Subscription: fromSubscriptionRecord(x.Cancel.GetSubscription()),
			Refund: x.Cancel.GetRefundMinor(), Currency: x.Cancel.GetCurrency()}, nil
	case *storagev1.MembershipResult_Deleted:
		return membership.Deleted{}, nil
	}
	return nil, fmt.Errorf("boltstore: stored answer of unknown kind %T", r.GetResult())
}

// windowDays reads a record's window: its packed lists, or the messages of a record written
// before them. Lists of unequal length (a damaged record) are read as far as all three go.
func windowDays(r *storagev1.AccountRecord) []membership.Day {
	if old := r.GetDays(); len(old) > 0 {
		days := make([]membership.Day, len(old))
		for i, d := range old {
			days[i] = membership.Day{Day: d.GetDay(), Spend: d.GetSpendMinor(), Orders: d.GetOrders()}
		}
		return days
	}
	n := min(len(r.GetWindowDays()), len(r.GetWindowSpendMinor()), len(r.GetWindowOrders()))
	if n == 0 {
		return nil
	}
	days := make([]membership.Day, n)
	for i := range days {
		days[i] = membership.Day{Day: r.WindowDays[i], Spend: r.WindowSpendMinor[i], Orders: r.WindowOrders[i]}
	}
	return days
}
