package boltstore

import (
	"github.com/huiyuan-dev/huiyuan/services/loyalty/internal/ledger"
	"github.com/huiyuan-dev/huiyuan/services/loyalty/internal/loyalty"

	storagev1 "github.com/huiyuan-dev/huiyuan/gen/huiyuan/loyalty/storage/v1"
)

// Policy, reward and redemption records. Enum values the domain does not know map to the
// records' *_UNSPECIFIED and back to a value the domain's validation refuses, so a damaged
// record can never pass for a valid one.

func expiryEnum(k ledger.ExpiryKind) storagev1.ExpiryKind {
	switch k {
	case ledger.ExpireAfterDays:
		return storagev1.ExpiryKind_EXPIRY_AFTER_DAYS
	case ledger.ExpireEndOfMonth:
		return storagev1.ExpiryKind_EXPIRY_END_OF_MONTH
	case ledger.ExpireNever:
		return storagev1.ExpiryKind_EXPIRY_NEVER
	}
	return storagev1.ExpiryKind_EXPIRY_KIND_UNSPECIFIED
}

func expiryKind(e storagev1.ExpiryKind) ledger.ExpiryKind {
	switch e {
	case storagev1.ExpiryKind_EXPIRY_AFTER_DAYS:
		return ledger.ExpireAfterDays
	case storagev1.ExpiryKind_EXPIRY_END_OF_MONTH:
		return ledger.ExpireEndOfMonth
	case storagev1.ExpiryKind_EXPIRY_NEVER:
		return ledger.ExpireNever
	}
	return ledger.ExpiryKind(e.String())
}

func refundEnum(r ledger.RefundPolicy) storagev1.RefundPolicy {
	switch r {
	case ledger.RefundOnlyPending:
		return storagev1.RefundPolicy_REFUND_ONLY_PENDING
	case ledger.RefundWithinAvailable:
		return storagev1.RefundPolicy_REFUND_WITHIN_AVAILABLE
	case ledger.RefundFullWithDebt:
		return storagev1.RefundPolicy_REFUND_FULL_WITH_DEBT
	}
	return storagev1.RefundPolicy_REFUND_POLICY_UNSPECIFIED
}

func refundPolicy(e storagev1.RefundPolicy) ledger.RefundPolicy {
	switch e {
	case storagev1.RefundPolicy_REFUND_ONLY_PENDING:
		return ledger.RefundOnlyPending
	case storagev1.RefundPolicy_REFUND_WITHIN_AVAILABLE:
		return ledger.RefundWithinAvailable
	case storagev1.RefundPolicy_REFUND_FULL_WITH_DEBT:
		return ledger.RefundFullWithDebt
	}
	return ledger.RefundPolicy(e.String())
}

func toPolicyRecord(p *loyalty.Policy) *storagev1.PolicyRecord {
	r := &storagev1.PolicyRecord{
		BaseRatePercent: p.BaseRatePercent, CurrencyRatePercent: p.CurrencyRatePercent, MinOrderMinor: p.MinOrderMinor,
		ExcludedCategories: p.ExcludedCategories, ExcludedSkus: p.ExcludedSKUs,
		CategoryRatePercent: p.CategoryRatePercent, SkuRatePercent: p.SKURatePercent,
		TierMultiplierPercent: p.TierMultiplierPercent,
		ExpiryKind:            expiryEnum(p.Expiry.Kind), ExpiryN: int32(p.Expiry.N), PendingDays: int32(p.PendingDays),
		RefundPolicy: refundEnum(p.Refund), TimeZone: p.TimeZone, ExpiringSoonDays: int32(p.ExpiringSoonDays),
		TransferLimitPoints: p.TransferLimitPoints, TransferWindowDays: int32(p.TransferWindowDays),
		TransferResetsExpiry: p.TransferResetsExpiry, CheckinPoints: p.CheckInPoints, CheckinCycleDays: int32(p.CheckInCycleDays),
		PointValueMinor: p.PointValueMinor, PointValueCurrency: p.PointValueCurrency,
		HoldTimeoutMinutes: int32(p.HoldTimeoutMinutes), MaxHoldTimeoutMinutes: int32(p.MaxHoldTimeoutMinutes),
		ClosedHoldRetentionDays: int32(p.ClosedHoldRetentionDays),
		AcceptedCurrencies:      p.AcceptedCurrencies, MaxOrderAgeDays: int32(p.MaxOrderAgeDays),
	}
	for _, b := range p.CheckInBonuses {
		r.CheckinStreakBonuses = append(r.CheckinStreakBonuses, &storagev1.StreakBonusRecord{Day: int32(b.Day), Points: b.Points})
	}
	return r
}

func fromPolicyRecord(r *storagev1.PolicyRecord) loyalty.Policy {
	p := loyalty.Policy{
		BaseRatePercent: r.GetBaseRatePercent(), CurrencyRatePercent: r.GetCurrencyRatePercent(), MinOrderMinor: r.GetMinOrderMinor(),
		ExcludedCategories: r.GetExcludedCategories(), ExcludedSKUs: r.GetExcludedSkus(),
		CategoryRatePercent: r.GetCategoryRatePercent(), SKURatePercent: r.GetSkuRatePercent(),
		TierMultiplierPercent: r.GetTierMultiplierPercent(),
		Expiry:                ledger.ExpiryPolicy{Kind: expiryKind(r.GetExpiryKind()), N: int(r.GetExpiryN())},
		PendingDays:           int(r.GetPendingDays()), Refund: refundPolicy(r.GetRefundPolicy()), TimeZone: r.GetTimeZone(),
		ExpiringSoonDays: int(r.GetExpiringSoonDays()), TransferLimitPoints: r.GetTransferLimitPoints(),
		TransferWindowDays: int(r.GetTransferWindowDays()), TransferResetsExpiry: r.GetTransferResetsExpiry(),
		CheckInPoints: r.GetCheckinPoints(), CheckInCycleDays: int(r.GetCheckinCycleDays()),
		PointValueMinor: r.GetPointValueMinor(), PointValueCurrency: r.GetPointValueCurrency(),
		HoldTimeoutMinutes: int(r.GetHoldTimeoutMinutes()), MaxHoldTimeoutMinutes: int(r.GetMaxHoldTimeoutMinutes()),
		ClosedHoldRetentionDays: int(r.GetClosedHoldRetentionDays()),
		AcceptedCurrencies:      r.GetAcceptedCurrencies(), MaxOrderAgeDays: int(r.GetMaxOrderAgeDays()),
	}
	for _, b := range r.GetCheckinStreakBonuses() {
		p.CheckInBonuses = append(p.CheckInBonuses, ledger.StreakBonus{Day: int(b.GetDay()), Points: b.GetPoints()})
	}
	return p
}

func toRewardRecord(r *loyalty.Reward) *storagev1.RewardRecord {
	kind := storagev1.RewardKind_REWARD_KIND_UNSPECIFIED
	switch r.Kind {
	case loyalty.RewardGoods:
		kind = storagev1.RewardKind_REWARD_KIND_GOODS
	case loyalty.RewardExternal:
		kind = storagev1.RewardKind_REWARD_KIND_EXTERNAL
	}
	return &storagev1.RewardRecord{Title: r.Title, Kind: kind, CostPoints: r.CostPoints, Stock: r.Stock, Active: r.Active,
		CreateTimeUnixNano: nanos(r.CreateTime)}
}

func fromRewardRecord(id string, r *storagev1.RewardRecord) *loyalty.Reward {
	var kind loyalty.RewardKind
	switch r.GetKind() {
	case storagev1.RewardKind_REWARD_KIND_GOODS:
		kind = loyalty.RewardGoods
	case storagev1.RewardKind_REWARD_KIND_EXTERNAL:
		kind = loyalty.RewardExternal
	}
	return &loyalty.Reward{ID: id, Title: r.GetTitle(), Kind: kind, CostPoints: r.GetCostPoints(), Stock: r.GetStock(),
		Active: r.GetActive(), CreateTime: fromNanos(r.GetCreateTimeUnixNano())}
}

// Redemption statuses are the domain's numbers, which the record's enum follows one for one.
func toRedemptionRecord(r *loyalty.Redemption) *storagev1.RedemptionRecord {
	return &storagev1.RedemptionRecord{MemberId: r.MemberID, RewardId: r.RewardID, Quantity: r.Quantity, Points: r.Points,
		Status: storagev1.RedemptionStatus(r.Status), CreateTimeUnixNano: nanos(r.CreateTime), UpdateTimeUnixNano: nanos(r.UpdateTime)}
}

func fromRedemptionRecord(id string, r *storagev1.RedemptionRecord) *loyalty.Redemption {
	return &loyalty.Redemption{ID: id, MemberID: r.GetMemberId(), RewardID: r.GetRewardId(), Quantity: r.GetQuantity(),
		Points: r.GetPoints(), Status: loyalty.RedemptionStatus(r.GetStatus()), CreateTime: fromNanos(r.GetCreateTimeUnixNano()),
		UpdateTime: fromNanos(r.GetUpdateTimeUnixNano())}
}
