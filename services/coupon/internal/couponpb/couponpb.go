// Package couponpb maps the coupon domain to the huiyuan.coupon.v1 messages and back, for the
// API and for the events, which carry the same messages. It holds no rules: enums convert by
// number (a test keeps the names equal) and the domain validates what comes in.
package couponpb

import (
	"fmt"
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/huiyuan-dev/huiyuan/services/coupon/internal/coupon"

	couponv1 "github.com/huiyuan-dev/huiyuan/gen/huiyuan/coupon/v1"
)

// TS converts a time, zero to nil.
func TS(t time.Time) *timestamppb.Timestamp {
	if t.IsZero() {
		return nil
	}
	return timestamppb.New(t)
}

// Time converts a timestamp, nil to the zero time.
func Time(ts *timestamppb.Timestamp) time.Time {
	if ts == nil {
		return time.Time{}
	}
	return ts.AsTime()
}

// Types converts a list of types.
func Types(ts []coupon.Type) []couponv1.CouponTemplate_Type {
	if len(ts) == 0 {
		return nil
	}
	out := make([]couponv1.CouponTemplate_Type, len(ts))
	for i, t := range ts {
		out[i] = couponv1.CouponTemplate_Type(t)
	}
	return out
}

// DomainTypes converts a list of API types.
func DomainTypes(ts []couponv1.CouponTemplate_Type) []coupon.Type {
	if len(ts) == 0 {
		return nil
	}
	out := make([]coupon.Type, len(ts))
	for i, t := range ts {
		out[i] = coupon.Type(t)
	}
	return out
}

// Template returns the API resource of t with issued coupons.
func Template(t *coupon.Template, issued int64) *couponv1.CouponTemplate {
	p := &couponv1.CouponTemplate{
		Id: t.ID, Name: "couponTemplates/" + t.ID, Title: t.Title, Description: t.Description,
		Type: couponv1.CouponTemplate_Type(t.Type), Currency: t.Currency, ThresholdMinor: t.ThresholdMinor,
		DiscountMinor: t.DiscountMinor, PercentOff: t.PercentOff, MaxDiscountMinor: t.MaxDiscountMinor,
		FreeItemSku: t.FreeItemSKU, FreeItemQuantity: t.FreeItemQuantity,
		ValidFrom: TS(t.ValidFrom), ValidUntil: TS(t.ValidUntil), ValidDays: t.ValidDays,
		TotalStock: t.TotalStock, PerMemberLimit: t.PerMemberLimit, Claimable: t.Claimable, PointsPrice: t.PointsPrice,
		RefundPolicy: couponv1.CouponTemplate_RefundPolicy(t.RefundPolicy), Status: couponv1.CouponTemplate_Status(t.Status),
		Issued: issued, CreateTime: TS(t.CreateTime), UpdateTime: TS(t.UpdateTime),
		Stacking: &couponv1.Stacking{Mode: couponv1.Stacking_Mode(t.Stacking.Mode), StackableWith: Types(t.Stacking.With), Priority: t.Stacking.Priority},
	}
	if s := t.Scope; len(s.IncludeStores)+len(s.ExcludeStores)+len(s.IncludeCategories)+len(s.ExcludeCategories)+len(s.IncludeSKUs)+len(s.ExcludeSKUs) > 0 {
		p.Scope = &couponv1.Scope{IncludeStoreIds: s.IncludeStores, ExcludeStoreIds: s.ExcludeStores,
			IncludeCategories: s.IncludeCategories, ExcludeCategories: s.ExcludeCategories, IncludeSkus: s.IncludeSKUs, ExcludeSkus: s.ExcludeSKUs}
	}
	if t.PeriodLimit > 0 || t.Period != coupon.PeriodUnspecified {
		p.PeriodLimit = &couponv1.PeriodLimit{Limit: t.PeriodLimit, Period: couponv1.PeriodLimit_Period(t.Period)}
	}
	return p
}

// TemplateFrom returns the input fields of an API template (output-only ones left out).
func TemplateFrom(p *couponv1.CouponTemplate) *coupon.Template {
	t := &coupon.Template{
		Title: p.GetTitle(), Description: p.GetDescription(), Type: coupon.Type(p.GetType()), Currency: p.GetCurrency(),
		ThresholdMinor: p.GetThresholdMinor(), DiscountMinor: p.GetDiscountMinor(), PercentOff: p.GetPercentOff(),
		MaxDiscountMinor: p.GetMaxDiscountMinor(), FreeItemSKU: p.GetFreeItemSku(), FreeItemQuantity: p.GetFreeItemQuantity(),
		ValidFrom: Time(p.GetValidFrom()), ValidUntil: Time(p.GetValidUntil()), ValidDays: p.GetValidDays(),
		TotalStock: p.GetTotalStock(), PerMemberLimit: p.GetPerMemberLimit(),
		PeriodLimit: p.GetPeriodLimit().GetLimit(), Period: coupon.Period(p.GetPeriodLimit().GetPeriod()),
		Claimable: p.GetClaimable(), PointsPrice: p.GetPointsPrice(), RefundPolicy: coupon.RefundPolicy(p.GetRefundPolicy()),
		Stacking: coupon.Stacking{Mode: coupon.StackMode(p.GetStacking().GetMode()), With: DomainTypes(p.GetStacking().GetStackableWith()),
			Priority: p.GetStacking().GetPriority()},
	}
	if s := p.GetScope(); s != nil {
		t.Scope = coupon.Scope{IncludeStores: s.GetIncludeStoreIds(), ExcludeStores: s.GetExcludeStoreIds(),
			IncludeCategories: s.GetIncludeCategories(), ExcludeCategories: s.GetExcludeCategories(),
			IncludeSKUs: s.GetIncludeSkus(), ExcludeSKUs: s.GetExcludeSkus()}
	}
	return t
}

// Coupon returns the API resource of c; t (may be nil) gives its title and type.
func Coupon(c *coupon.Coupon, t *coupon.Template) *couponv1.Coupon {
	code := coupon.FormatCode(c.Code)
	p := &couponv1.Coupon{
		Code: code, Name: "coupons/" + code, Id: c.ID, TemplateId: c.TemplateID, MemberId: c.MemberID,
		State: couponv1.Coupon_State(c.State), Source: couponv1.Coupon_Source(c.Source),
		IssueTime: TS(c.IssueTime), StartTime: TS(c.StartTime), ExpireTime: TS(c.ExpireTime),
		BatchId: c.BatchID, ExchangeId: c.ExchangeID, VoidReason: c.VoidReason, UpdateTime: TS(c.UpdateTime),
	}
	if t != nil {
		p.Title, p.Type = t.Title, couponv1.CouponTemplate_Type(t.Type)
	}
	if c.State == coupon.StateLocked {
		p.Lock = &couponv1.Lock{OrderId: c.Lock.OrderID, LockTime: TS(c.Lock.Time), ExpireTime: TS(c.Lock.ExpireTime)}
	}
	if r := c.Redemption; r.OrderID != "" {
		p.Redemption = &couponv1.Redemption{OrderId: r.OrderID, StoreId: r.StoreID, StaffId: r.StaffID,
			DiscountMinor: r.DiscountMinor, Currency: r.Currency, RedeemTime: TS(r.Time)}
	}
	return p
}

// Event returns the event type, payload and time of ev. Errors: an event type it does not know.
func Event(ev coupon.Event) (string, proto.Message, time.Time, error) {
	switch e := ev.(type) {
	case coupon.CouponChanged:
		return e.Kind, &couponv1.CouponEvent{
			CouponId: e.CouponID, TemplateId: e.TemplateID, MemberId: e.MemberID,
			State: couponv1.Coupon_State(e.State), PreviousState: couponv1.Coupon_State(e.Previous),
			Source: couponv1.Coupon_Source(e.Source), OrderId: e.OrderID, StoreId: e.StoreID, StaffId: e.StaffID,
			DiscountMinor: e.DiscountMinor, Currency: e.Currency, Reason: e.Reason, ExpireTime: TS(e.ExpireTime), Time: TS(e.At),
		}, e.At, nil
	case coupon.TemplateChanged:
		return e.Kind, &couponv1.CouponTemplateEvent{Template: Template(e.Template, e.Issued), ChangedFields: e.ChangedFields, Time: TS(e.At)}, e.At, nil
	case coupon.BatchCompleted:
		return ev.Type(), &couponv1.CodeBatchEvent{BatchId: e.BatchID, TemplateId: e.TemplateID, Count: e.Count, Time: TS(e.At)}, e.At, nil
	}
	return "", nil, time.Time{}, fmt.Errorf("couponpb: unknown event %T", ev)
}
