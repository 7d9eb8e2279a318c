package boltstore

import (
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/huiyuan-dev/huiyuan/pkg/apperr"
	"github.com/huiyuan-dev/huiyuan/services/coupon/internal/coupon"
	"github.com/huiyuan-dev/huiyuan/services/coupon/internal/couponpb"

	storagev1 "github.com/huiyuan-dev/huiyuan/gen/huiyuan/coupon/storage/v1"
	couponv1 "github.com/huiyuan-dev/huiyuan/gen/huiyuan/coupon/v1"
)

func ts(t time.Time) *timestamppb.Timestamp { return couponpb.TS(t) }
func tm(t *timestamppb.Timestamp) time.Time { return couponpb.Time(t) }

func templateRecord(t *coupon.Template) *storagev1.TemplateRecord {
	s := t.Scope
	return &storagev1.TemplateRecord{
		Id: t.ID, Title: t.Title, Description: t.Description, Type: couponv1.CouponTemplate_Type(t.Type), Currency: t.Currency,
		ThresholdMinor: t.ThresholdMinor, DiscountMinor: t.DiscountMinor, PercentOff: t.PercentOff, MaxDiscountMinor: t.MaxDiscountMinor,
		FreeItemSku: t.FreeItemSKU, FreeItemQuantity: t.FreeItemQuantity,
		Scope: &storagev1.ScopeRecord{IncludeStoreIds: s.IncludeStores, ExcludeStoreIds: s.ExcludeStores, IncludeCategories: s.IncludeCategories,
			ExcludeCategories: s.ExcludeCategories, IncludeSkus: s.IncludeSKUs, ExcludeSkus: s.ExcludeSKUs},
		StackingMode: couponv1.Stacking_Mode(t.Stacking.Mode), StackableWith: couponpb.Types(t.Stacking.With), Priority: t.Stacking.Priority,
		ValidFrom: ts(t.ValidFrom), ValidUntil: ts(t.ValidUntil), ValidDays: t.ValidDays,
		TotalStock: t.TotalStock, PerMemberLimit: t.PerMemberLimit, PeriodLimit: t.PeriodLimit, Period: couponv1.PeriodLimit_Period(t.Period),
		Claimable: t.Claimable, PointsPrice: t.PointsPrice, RefundPolicy: couponv1.CouponTemplate_RefundPolicy(t.RefundPolicy),
		Status: couponv1.CouponTemplate_Status(t.Status), CreateTime: ts(t.CreateTime), UpdateTime: ts(t.UpdateTime),
	}
}

func fromTemplateRecord(r *storagev1.TemplateRecord) *coupon.Template {
	s := r.GetScope()
	return &coupon.Template{
		ID: r.GetId(), Title: r.GetTitle(), Description: r.GetDescription(), Type: coupon.Type(r.GetType()), Currency: r.GetCurrency(),
		ThresholdMinor: r.GetThresholdMinor(), DiscountMinor: r.GetDiscountMinor(), PercentOff: r.GetPercentOff(),
		MaxDiscountMinor: r.GetMaxDiscountMinor(), FreeItemSKU: r.GetFreeItemSku(), FreeItemQuantity: r.GetFreeItemQuantity(),
		Scope: coupon.Scope{IncludeStores: s.GetIncludeStoreIds(), ExcludeStores: s.GetExcludeStoreIds(),
			IncludeCategories: s.GetIncludeCategories(), ExcludeCategories: s.GetExcludeCategories(),
			IncludeSKUs: s.GetIncludeSkus(), ExcludeSKUs: s.GetExcludeSkus()},
		Stacking:  coupon.Stacking{Mode: coupon.StackMode(r.GetStackingMode()), With: couponpb.DomainTypes(r.GetStackableWith()), Priority: r.GetPriority()},
		ValidFrom: tm(r.GetValidFrom()), ValidUntil: tm(r.GetValidUntil()), ValidDays: r.GetValidDays(),
		TotalStock: r.GetTotalStock(), PerMemberLimit: r.GetPerMemberLimit(), PeriodLimit: r.GetPeriodLimit(), Period: coupon.Period(r.GetPeriod()),
		Claimable: r.GetClaimable(), PointsPrice: r.GetPointsPrice(), RefundPolicy: coupon.RefundPolicy(r.GetRefundPolicy()),
		Status: coupon.Status(r.GetStatus()), CreateTime: tm(r.GetCreateTime()), UpdateTime: tm(r.GetUpdateTime()),
	}
}

func couponRecord(c *coupon.Coupon) *storagev1.CouponRecord {
	return &storagev1.CouponRecord{
		Id: c.ID, Code: c.Code, TemplateId: c.TemplateID, MemberId: c.MemberID,
		State: couponv1.Coupon_State(c.State), Source: couponv1.Coupon_Source(c.Source),
		IssueTime: ts(c.IssueTime), StartTime: ts(c.StartTime), ExpireTime: ts(c.ExpireTime), PeriodKey: c.PeriodKey,
		LockOrderId: c.Lock.OrderID, LockTime: ts(c.Lock.Time), LockExpireTime: ts(c.Lock.ExpireTime),
		RedeemOrderId: c.Redemption.OrderID, RedeemStoreId: c.Redemption.StoreID, RedeemStaffId: c.Redemption.StaffID,
		RedeemDiscountMinor: c.Redemption.DiscountMinor, RedeemCurrency: c.Redemption.Currency, RedeemTime: ts(c.Redemption.Time),
		BatchId: c.BatchID, ExchangeId: c.ExchangeID, VoidReason: c.VoidReason, UpdateTime: ts(c.UpdateTime), SharedCode: c.SharedCode,
	}
}

func fromCouponRecord(r *storagev1.CouponRecord) *coupon.Coupon {
	return &coupon.Coupon{
		ID: r.GetId(), Code: r.GetCode(), TemplateID: r.GetTemplateId(), MemberID: r.GetMemberId(),
		State: coupon.State(r.GetState()), Source: coupon.Source(r.GetSource()),
		IssueTime: tm(r.GetIssueTime()), StartTime: tm(r.GetStartTime()), ExpireTime: tm(r.GetExpireTime()), PeriodKey: r.GetPeriodKey(),
		Lock: coupon.Lock{OrderID: r.GetLockOrderId(), Time: tm(r.GetLockTime()), ExpireTime: tm(r.GetLockExpireTime())},
		Redemption: coupon.Redemption{OrderID: r.GetRedeemOrderId(), StoreID: r.GetRedeemStoreId(), StaffID: r.GetRedeemStaffId(),
			DiscountMinor: r.GetRedeemDiscountMinor(), Currency: r.GetRedeemCurrency(), Time: tm(r.GetRedeemTime())},
		BatchID: r.GetBatchId(), ExchangeID: r.GetExchangeId(), VoidReason: r.GetVoidReason(), UpdateTime: tm(r.GetUpdateTime()),
		SharedCode: r.GetSharedCode(),
	}
}

func exchangeRecord(x *coupon.Exchange) *storagev1.ExchangeRecord {
	return &storagev1.ExchangeRecord{Id: x.ID, TemplateId: x.TemplateID, MemberId: x.MemberID, Points: x.Points,
		State: couponv1.Exchange_State(x.State), CouponId: x.CouponID, CouponCode: x.CouponCode, HoldId: x.HoldID,
		FailureReason: x.FailureReason, FailureCode: string(x.FailureCode), CreateTime: ts(x.CreateTime), UpdateTime: ts(x.UpdateTime)}
}

func fromExchangeRecord(r *storagev1.ExchangeRecord) *coupon.Exchange {
	return &coupon.Exchange{ID: r.GetId(), TemplateID: r.GetTemplateId(), MemberID: r.GetMemberId(), Points: r.GetPoints(),
		State: coupon.ExchangeState(r.GetState()), CouponID: r.GetCouponId(), CouponCode: r.GetCouponCode(), HoldID: r.GetHoldId(),
		FailureReason: r.GetFailureReason(), FailureCode: apperr.Code(r.GetFailureCode()), CreateTime: tm(r.GetCreateTime()), UpdateTime: tm(r.GetUpdateTime())}
}

func batchRecord(b *coupon.Batch) *storagev1.CodeBatchRecord {
	return &storagev1.CodeBatchRecord{Id: b.ID, TemplateId: b.TemplateID, Count: b.Count, Generated: b.Generated,
		State: couponv1.CodeBatch_State(b.State), CreateTime: ts(b.CreateTime), DoneTime: ts(b.DoneTime)}
}

func fromBatchRecord(r *storagev1.CodeBatchRecord) *coupon.Batch {
	return &coupon.Batch{ID: r.GetId(), TemplateID: r.GetTemplateId(), Count: r.GetCount(), Generated: r.GetGenerated(),
		State: coupon.BatchState(r.GetState()), CreateTime: tm(r.GetCreateTime()), DoneTime: tm(r.GetDoneTime())}
}

func sharedRecord(sc *coupon.SharedCode) *storagev1.SharedCodeRecord {
	return &storagev1.SharedCodeRecord{Code: sc.Code, TemplateId: sc.TemplateID, MaxUses: sc.MaxUses, Uses: sc.Uses, CreateTime: ts(sc.CreateTime)}
}

func fromSharedRecord(r *storagev1.SharedCodeRecord) *coupon.SharedCode {
	return &coupon.SharedCode{Code: r.GetCode(), TemplateID: r.GetTemplateId(), MaxUses: r.GetMaxUses(), Uses: r.GetUses(), CreateTime: tm(r.GetCreateTime())}
}
