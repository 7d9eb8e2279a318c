package couponpb_test

import (
	"testing"
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/huiyuan-dev/huiyuan/services/coupon/internal/coupon"
	"github.com/huiyuan-dev/huiyuan/services/coupon/internal/couponpb"

	couponv1 "github.com/huiyuan-dev/huiyuan/gen/huiyuan/coupon/v1"
)

// TestEnumsMatchTheAPI keeps the domain's enums equal, number for number and name for name, to
// the API's, which is what lets the mapping convert by number.
func TestEnumsMatchTheAPI(t *testing.T) {
	api := map[string]protoreflect.EnumDescriptor{
		"CouponTemplate.Type":         couponv1.CouponTemplate_TYPE_UNSPECIFIED.Descriptor(),
		"CouponTemplate.Status":       couponv1.CouponTemplate_STATUS_UNSPECIFIED.Descriptor(),
		"CouponTemplate.RefundPolicy": couponv1.CouponTemplate_REFUND_POLICY_UNSPECIFIED.Descriptor(),
		"Stacking.Mode":               couponv1.Stacking_MODE_UNSPECIFIED.Descriptor(),
		"PeriodLimit.Period":          couponv1.PeriodLimit_PERIOD_UNSPECIFIED.Descriptor(),
		"Coupon.State":                couponv1.Coupon_STATE_UNSPECIFIED.Descriptor(),
		"Coupon.Source":               couponv1.Coupon_SOURCE_UNSPECIFIED.Descriptor(),
		"NotApplicable.Reason":        couponv1.NotApplicable_REASON_UNSPECIFIED.Descriptor(),
		"Exchange.State":              couponv1.Exchange_STATE_UNSPECIFIED.Descriptor(),
		"CodeBatch.State":             couponv1.CodeBatch_STATE_UNSPECIFIED.Descriptor(),
	}
	domain := coupon.EnumNames()
	if len(domain) != len(api) {
		t.Fatalf("%d domain enums, %d API enums", len(domain), len(api))
	}
	for name, d := range api {
		names := domain[name]
		if len(names) != d.Values().Len() {
			t.Fatalf("%s: %d names in the domain, %d in the API", name, len(names), d.Values().Len())
		}
		for i, n := range names {
			if v := d.Values().ByNumber(protoreflect.EnumNumber(i)); v == nil || string(v.Name()) != n {
				t.Fatalf("%s %d: domain %q, API %v", name, i, n, v)
			}
		}
	}
}

func TestTemplateRoundTrip(t *testing.T) {
	at := time.Date(2026, 3, 1, 2, 0, 0, 0, time.UTC)
	in := &couponv1.CouponTemplate{Title: "t", Description: "d", Type: couponv1.CouponTemplate_PERCENT, Currency: "CNY",
		ThresholdMinor: 1, DiscountMinor: 2, PercentOff: 3, MaxDiscountMinor: 4, FreeItemSku: "s", FreeItemQuantity: 5,
		Scope: &couponv1.Scope{IncludeStoreIds: []string{"a"}, ExcludeStoreIds: []string{"b"}, IncludeCategories: []string{"c"},
			ExcludeCategories: []string{"d"}, IncludeSkus: []string{"e"}, ExcludeSkus: []string{"f"}},
		Stacking:  &couponv1.Stacking{Mode: couponv1.Stacking_STACKABLE, StackableWith: []couponv1.CouponTemplate_Type{couponv1.CouponTemplate_FIXED}, Priority: 7},
		ValidFrom: couponpb.TS(at), ValidUntil: couponpb.TS(at.Add(time.Hour)), ValidDays: 8, TotalStock: 9, PerMemberLimit: 10,
		PeriodLimit: &couponv1.PeriodLimit{Limit: 11, Period: couponv1.PeriodLimit_WEEK}, PointsPrice: 12,
		RefundPolicy: couponv1.CouponTemplate_RESTORE}
	out := couponpb.Template(couponpb.TemplateFrom(in), 0)
	out.Id, out.Name, out.Status, out.CreateTime, out.UpdateTime = "", "", 0, nil, nil
	if !proto.Equal(in, out) {
		t.Fatalf("round trip lost fields:\n in %v\nout %v", in, out)
	}
}
