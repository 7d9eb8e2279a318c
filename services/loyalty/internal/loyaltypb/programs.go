package loyaltypb

import (
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/huiyuan-dev/huiyuan/services/loyalty/internal/ledger"
	"github.com/huiyuan-dev/huiyuan/services/loyalty/internal/loyalty"

	loyaltyv1 "github.com/huiyuan-dev/huiyuan/gen/huiyuan/loyalty/v1"
)

// ExpiryKind returns the message's kind of the ledger's expiry kind k; EXPIRY_KIND_UNSPECIFIED
// for a kind the ledger does not know.
func ExpiryKind(k ledger.ExpiryKind) loyaltyv1.LoyaltyPolicy_ExpiryKind {
	switch k {
	case ledger.ExpireAfterDays:
		return loyaltyv1.LoyaltyPolicy_AFTER_DAYS
	case ledger.ExpireEndOfMonth:
		return loyaltyv1.LoyaltyPolicy_END_OF_MONTH
	case ledger.ExpireNever:
		return loyaltyv1.LoyaltyPolicy_NEVER
	}
	return loyaltyv1.LoyaltyPolicy_EXPIRY_KIND_UNSPECIFIED
}

// ExpiryKindFrom returns the ledger's kind of e. The zero value and numbers outside the enum
// map to a kind the policy's validation refuses (on policy.expiry_kind), never to a default.
func ExpiryKindFrom(e loyaltyv1.LoyaltyPolicy_ExpiryKind) ledger.ExpiryKind {
	switch e {
	case loyaltyv1.LoyaltyPolicy_AFTER_DAYS:
		return ledger.ExpireAfterDays
	case loyaltyv1.LoyaltyPolicy_END_OF_MONTH:
		return ledger.ExpireEndOfMonth
	case loyaltyv1.LoyaltyPolicy_NEVER:
		return ledger.ExpireNever
	}
	return ledger.ExpiryKind(e.String())
}

// RefundPolicy returns the message's value of the ledger's refund policy r;
// REFUND_POLICY_UNSPECIFIED for one the ledger does not know.
func RefundPolicy(r ledger.RefundPolicy) loyaltyv1.LoyaltyPolicy_RefundPolicy {
	switch r {
	case ledger.RefundOnlyPending:
		return loyaltyv1.LoyaltyPolicy_ONLY_PENDING
	case ledger.RefundWithinAvailable:
		return loyaltyv1.LoyaltyPolicy_WITHIN_AVAILABLE
	case ledger.RefundFullWithDebt:
		return loyaltyv1.LoyaltyPolicy_FULL_WITH_DEBT
	}
	return loyaltyv1.LoyaltyPolicy_REFUND_POLICY_UNSPECIFIED
}

// RefundPolicyFrom returns the ledger's policy of e; the zero value and unknown numbers map to
// a value the policy's validation refuses (on policy.refund_policy).
func RefundPolicyFrom(e loyaltyv1.LoyaltyPolicy_RefundPolicy) ledger.RefundPolicy {
	switch e {
	case loyaltyv1.LoyaltyPolicy_ONLY_PENDING:
		return ledger.RefundOnlyPending
	case loyaltyv1.LoyaltyPolicy_WITHIN_AVAILABLE:
		return ledger.RefundWithinAvailable
	case loyaltyv1.LoyaltyPolicy_FULL_WITH_DEBT:
		return ledger.RefundFullWithDebt
	}
	return ledger.RefundPolicy(e.String())
}

func to32(m map[string]int64) map[string]int32 {
	if len(m) == 0 {
		return nil
	}
	out := make(map[string]int32, len(m))
	for k, v := range m {
		out[k] = int32(v)
	}
	return out
}

func to64(m map[string]int32) map[string]int64 {
	if len(m) == 0 {
		return nil
	}
	out := make(map[string]int64, len(m))
	for k, v := range m {
		out[k] = int64(v)
	}
	return out
}

// Policy returns p as a message.
func Policy(p *loyalty.Policy) *loyaltyv1.LoyaltyPolicy {
	out := &loyaltyv1.LoyaltyPolicy{
		BaseRatePercent: p.BaseRatePercent, MinOrderMinor: p.MinOrderMinor, ExcludedCategories: p.ExcludedCategories,
		ExpiryKind: ExpiryKind(p.Expiry.Kind), ExpiryN: int32(p.Expiry.N), PendingDays: int32(p.PendingDays),
		RefundPolicy: RefundPolicy(p.Refund), TimeZone: p.TimeZone, ExpiringSoonDays: int32(p.ExpiringSoonDays),
		TransferLimitPoints: p.TransferLimitPoints, TransferWindowDays: int32(p.TransferWindowDays),
		TransferResetsExpiry: p.TransferResetsExpiry, CheckinPoints: p.CheckInPoints,
		PointValueMinor: p.PointValueMinor, PointValueCurrency: p.PointValueCurrency,
		TierMultiplierPercent: to32(p.TierMultiplierPercent), CurrencyRatePercent: p.CurrencyRatePercent,
		ExcludedSkus: p.ExcludedSKUs, CategoryRatePercent: to32(p.CategoryRatePercent), SkuRatePercent: to32(p.SKURatePercent),
		CheckinCycleDays: int32(p.CheckInCycleDays), HoldTimeoutMinutes: int32(p.HoldTimeoutMinutes),
		MaxHoldTimeoutMinutes: int32(p.MaxHoldTimeoutMinutes), ClosedHoldRetentionDays: int32(p.ClosedHoldRetentionDays),
		AcceptedCurrencies: p.AcceptedCurrencies, MaxOrderAgeDays: int32(p.MaxOrderAgeDays),
	}
	for _, b := range p.CheckInBonuses {
		out.CheckinStreakBonuses = append(out.CheckinStreakBonuses, &loyaltyv1.StreakBonus{Day: int32(b.Day), Points: b.Points})
	}
	return out
}

// PolicyFrom returns the policy m describes.
func PolicyFrom(m *loyaltyv1.LoyaltyPolicy) loyalty.Policy {
	p := loyalty.Policy{
		BaseRatePercent: m.GetBaseRatePercent(), MinOrderMinor: m.GetMinOrderMinor(), ExcludedCategories: m.GetExcludedCategories(),
		Expiry:      ledger.ExpiryPolicy{Kind: ExpiryKindFrom(m.GetExpiryKind()), N: int(m.GetExpiryN())},
		PendingDays: int(m.GetPendingDays()), Refund: RefundPolicyFrom(m.GetRefundPolicy()), TimeZone: m.GetTimeZone(),
		ExpiringSoonDays: int(m.GetExpiringSoonDays()), TransferLimitPoints: m.GetTransferLimitPoints(),
		TransferWindowDays: int(m.GetTransferWindowDays()), TransferResetsExpiry: m.GetTransferResetsExpiry(),
		CheckInPoints: m.GetCheckinPoints(), PointValueMinor: m.GetPointValueMinor(), PointValueCurrency: m.GetPointValueCurrency(),
		TierMultiplierPercent: to64(m.GetTierMultiplierPercent()), CurrencyRatePercent: m.GetCurrencyRatePercent(),
		ExcludedSKUs: m.GetExcludedSkus(), CategoryRatePercent: to64(m.GetCategoryRatePercent()),
		SKURatePercent: to64(m.GetSkuRatePercent()), CheckInCycleDays: int(m.GetCheckinCycleDays()),
		HoldTimeoutMinutes: int(m.GetHoldTimeoutMinutes()), MaxHoldTimeoutMinutes: int(m.GetMaxHoldTimeoutMinutes()),
		ClosedHoldRetentionDays: int(m.GetClosedHoldRetentionDays()),
		AcceptedCurrencies:      m.GetAcceptedCurrencies(), MaxOrderAgeDays: int(m.GetMaxOrderAgeDays()),
	}
	for _, b := range m.GetCheckinStreakBonuses() {
		p.CheckInBonuses = append(p.CheckInBonuses, ledger.StreakBonus{Day: int(b.GetDay()), Points: b.GetPoints()})
	}
	return p
}

// RewardKind returns the message's kind of k.
func RewardKind(k loyalty.RewardKind) loyaltyv1.Reward_Kind {
	switch k {
	case loyalty.RewardGoods:
		return loyaltyv1.Reward_GOODS
	case loyalty.RewardExternal:
		return loyaltyv1.Reward_EXTERNAL
	}
	return loyaltyv1.Reward_KIND_UNSPECIFIED
}

// RewardKindFrom returns the domain's kind of k; 0 (refused) for the zero value and unknown
// numbers.
func RewardKindFrom(k loyaltyv1.Reward_Kind) loyalty.RewardKind {
	switch k {
	case loyaltyv1.Reward_GOODS:
		return loyalty.RewardGoods
	case loyaltyv1.Reward_EXTERNAL:
		return loyalty.RewardExternal
	}
	return 0
}

// Reward returns r as a message.
func Reward(r *loyalty.Reward) *loyaltyv1.Reward {
	return &loyaltyv1.Reward{Id: r.ID, Title: r.Title, Kind: RewardKind(r.Kind), CostPoints: r.CostPoints, Stock: r.Stock,
		Active: r.Active, CreateTime: ts(r.CreateTime)}
}

// RedemptionStatus returns the message's status of s.
func RedemptionStatus(s loyalty.RedemptionStatus) loyaltyv1.RewardRedemption_Status {
	switch s {
	case loyalty.RedemptionPending:
		return loyaltyv1.RewardRedemption_PENDING
	case loyalty.RedemptionOrdered:
		return loyaltyv1.RewardRedemption_ORDERED
	case loyalty.RedemptionShipped:
		return loyaltyv1.RewardRedemption_SHIPPED
	case loyalty.RedemptionDelivered:
		return loyaltyv1.RewardRedemption_DELIVERED
	case loyalty.RedemptionFulfilled:
		return loyaltyv1.RewardRedemption_FULFILLED
	case loyalty.RedemptionCancelled:
		return loyaltyv1.RewardRedemption_CANCELLED
	case loyalty.RedemptionFailed:
		return loyaltyv1.RewardRedemption_FAILED
	}
	return loyaltyv1.RewardRedemption_STATUS_UNSPECIFIED
}

// RedemptionStatusFrom returns the domain's status of s; 0 (refused) when it has none.
func RedemptionStatusFrom(s loyaltyv1.RewardRedemption_Status) loyalty.RedemptionStatus {
	for d := loyalty.RedemptionPending; d <= loyalty.RedemptionFailed; d++ {
		if RedemptionStatus(d) == s {
			return d
		}
	}
	return 0
}

// Redemption returns r as a message.
func Redemption(r *loyalty.Redemption) *loyaltyv1.RewardRedemption {
	return &loyaltyv1.RewardRedemption{Id: r.ID, MemberId: r.MemberID, RewardId: r.RewardID, Quantity: r.Quantity,
		Points: r.Points, Status: RedemptionStatus(r.Status), CreateTime: ts(r.CreateTime), UpdateTime: ts(r.UpdateTime)}
}

// Liability returns l as GetPointsLiability's answer.
func Liability(l *loyalty.Liability) *loyaltyv1.GetPointsLiabilityResponse {
	out := &loyaltyv1.GetPointsLiabilityResponse{OutstandingPoints: l.OutstandingPoints, OutstandingValueMinor: l.ValueMinor,
		Currency: l.Currency, IssuedPoints: l.IssuedPoints, ExpiredPoints: l.ExpiredPoints, BreakageBasisPoints: l.BreakageBasisPoints,
		ExpiringByMonth: make([]*loyaltyv1.MonthlyExpiry, len(l.ExpiringByMonth))}
	for i, m := range l.ExpiringByMonth {
		out.ExpiringByMonth[i] = &loyaltyv1.MonthlyExpiry{Month: m.Month, Points: m.Points}
	}
	return out
}

// Timestamp returns t as a message; nil for the zero time.
func Timestamp(t time.Time) *timestamppb.Timestamp { return ts(t) }
