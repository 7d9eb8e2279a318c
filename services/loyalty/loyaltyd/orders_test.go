package loyaltyd_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/huiyuan-dev/huiyuan/pkg/kittest"

	iamv1 "github.com/huiyuan-dev/huiyuan/gen/huiyuan/iam/v1"
	loyaltyv1 "github.com/huiyuan-dev/huiyuan/gen/huiyuan/loyalty/v1"
)

func TestOrderLifecycle(t *testing.T) {
	h := start(t, kittest.Options{})
	m1 := h.NewMember(t)
	svc := h.As(iamv1.Role_SERVICE)
	in := &loyaltyv1.Order{Id: "POS-1001", MemberId: m1, AmountMinor: 12_345, Currency: "CNY", StoreId: "sh-001",
		Items: []*loyaltyv1.OrderItem{{Sku: "tea", Category: "drinks", Quantity: 3, UnitPriceMinor: 4115}}}
	first, err := h.points().RecordOrder(svc, &loyaltyv1.RecordOrderRequest{RequestId: "o-1", Order: in})
	if err != nil {
		t.Fatal(err)
	}
	// 12345 minor units: 123 points (1 per 100, rounded down); items add up to the total.
	if first.GetPointsEarned() != 123 || first.GetOrder().GetPointsEarned() != 123 || !first.GetOrder().GetCreateTime().AsTime().Equal(t0) {
		t.Fatalf("first answer %v", first)
	}
	h.Clock.Advance(time.Minute)
	for _, req := range []*loyaltyv1.RecordOrderRequest{
		{RequestId: "o-1", Order: in}, // the same request_id
		{Order: in},                   // the same order id and content
		{RequestId: "o-2", Order: in}, // another request_id, same order
	} {
		again, err := h.points().RecordOrder(svc, req)
		if err != nil || !proto.Equal(again, first) {
			t.Fatalf("retry %v: %v\n%v\nwant\n%v", req.GetRequestId(), err, again, first)
		}
	}
	changed := proto.Clone(in).(*loyaltyv1.Order)
	changed.AmountMinor++
	_, err = h.points().RecordOrder(svc, &loyaltyv1.RecordOrderRequest{Order: changed})
	kittest.WantErr(t, err, codes.AlreadyExists, "ORDER_EXISTS", "order.id")
	_, err = h.points().RecordOrder(svc, &loyaltyv1.RecordOrderRequest{RequestId: "o-1", Order: changed})
	kittest.WantErr(t, err, codes.InvalidArgument, "REQUEST_ID_REUSED", "request_id")
	if b := h.balance(t, m1); b.GetAvailable() != 123 || b.GetLifetimeEarned() != 123 {
		t.Fatalf("balance %v", b)
	}

	// A non-member order is recorded and earns nothing.
	guest, err := h.points().RecordOrder(svc, &loyaltyv1.RecordOrderRequest{Order: &loyaltyv1.Order{Id: "POS-1002", AmountMinor: 5000, Currency: "CNY"}})
	if err != nil || guest.GetPointsEarned() != 0 || guest.GetOrder().GetMemberId() != "" {
		t.Fatalf("guest order: %v %v", err, guest)
	}
	got, err := h.points().GetOrder(h.As(iamv1.Role_OPERATOR), &loyaltyv1.GetOrderRequest{Id: "POS-1002"})
	if err != nil || got.GetOrder().GetAmountMinor() != 5000 {
		t.Fatalf("GetOrder: %v %v", err, got)
	}
	if _, err := h.points().RefundOrder(svc, &loyaltyv1.RefundOrderRequest{Id: "POS-1002", AmountMinor: 5000}); err != nil {
		t.Fatalf("guest refund: %v", err)
	}

	// Partial refunds reverse proportional points; together they reverse what the order earned.
	r1, err := h.points().RefundOrder(svc, &loyaltyv1.RefundOrderRequest{Id: "POS-1001", RequestId: "r-1", AmountMinor: 4115})
	if err != nil || r1.GetPointsReversed() != 41 || r1.GetOrder().GetRefundedMinor() != 4115 {
		t.Fatalf("refund 1: %v %v", err, r1)
	}
	again, err := h.points().RefundOrder(svc, &loyaltyv1.RefundOrderRequest{Id: "POS-1001", RequestId: "r-1", AmountMinor: 4115})
	if err != nil || !proto.Equal(again, r1) {
		t.Fatalf("refund retry: %v %v", err, again)
	}
	_, err = h.points().RefundOrder(svc, &loyaltyv1.RefundOrderRequest{Id: "POS-1001", AmountMinor: 8231})
	kittest.WantErr(t, err, codes.InvalidArgument, "REFUND_EXCEEDS_ORDER", "amount_minor")
	r2, err := h.points().RefundOrder(svc, &loyaltyv1.RefundOrderRequest{Id: "POS-1001", AmountMinor: 8230})
	if err != nil || r2.GetPointsReversed() != 82 || r2.GetOrder().GetPointsReversed() != 123 || r2.GetOrder().GetRefundedMinor() != 12_345 {
		t.Fatalf("refund 2: %v %v", err, r2)
	}
	if b := h.balance(t, m1); b.GetAvailable() != 0 || b.GetLifetimeEarned() != 0 {
		t.Fatalf("balance after refunds %v", b)
	}
	_, err = h.points().RefundOrder(svc, &loyaltyv1.RefundOrderRequest{Id: "nope", AmountMinor: 1})
	kittest.WantErr(t, err, codes.NotFound, "ORDER_NOT_FOUND")
	_, err = h.points().GetOrder(h.asOther(), &loyaltyv1.GetOrderRequest{Id: "POS-1001"})
	kittest.WantErr(t, err, codes.NotFound, "ORDER_NOT_FOUND")

	// One event per fact: an order's earning rides on order_recorded, a refund's reversal on
	// order_refunded.
	want := []string{"order_recorded", "order_recorded", "order_refunded", "order_refunded", "order_refunded"}
	if got := h.events(t); !slices.Equal(got, want) {
		t.Fatalf("events %v, want %v", got, want)
	}
	h.verify(t)
}

func TestOrderDefaultsAndItems(t *testing.T) {
	h := start(t, kittest.Options{})
	mem := h.NewMember(t)
	svc := h.As(iamv1.Role_SERVICE)
	past := t0.Add(-48 * time.Hour)
	cases := []struct {
		name   string
		order  *loyaltyv1.Order
		points int64
	}{
		{"totals only", &loyaltyv1.Order{Id: "a", MemberId: mem, AmountMinor: 199, Currency: "CNY"}, 1},
		{"below one point", &loyaltyv1.Order{Id: "b", MemberId: mem, AmountMinor: 99, Currency: "CNY"}, 0},
		{"items equal to the amount", &loyaltyv1.Order{Id: "c", MemberId: mem, AmountMinor: 1000, Currency: "CNY",
			Items: []*loyaltyv1.OrderItem{{Sku: "x", Quantity: 2, UnitPriceMinor: 500}}}, 10},
		{"shipping does not earn", &loyaltyv1.Order{Id: "d", MemberId: mem, AmountMinor: 5000, Currency: "CNY",
			Items: []*loyaltyv1.OrderItem{{Sku: "x", Quantity: 1, UnitPriceMinor: 4000}}}, 40},
		{"backdated", &loyaltyv1.Order{Id: "e", MemberId: mem, AmountMinor: 300, Currency: "CNY", CreateTime: timestamppb.New(past)}, 3},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			resp, err := h.points().RecordOrder(svc, &loyaltyv1.RecordOrderRequest{Order: tc.order})
			if err != nil || resp.GetPointsEarned() != tc.points {
				t.Fatalf("%v: points %d, want %d", err, resp.GetPointsEarned(), tc.points)
			}
			wantTime := t0
			if tc.order.GetCreateTime() != nil {
				wantTime = past
			}
			if !resp.GetOrder().GetCreateTime().AsTime().Equal(wantTime) {
				t.Fatalf("create_time %v", resp.GetOrder().GetCreateTime().AsTime())
			}
		})
	}
	if b := h.balance(t, mem); b.GetAvailable() != 54 {
		t.Fatalf("balance %v", b)
	}
	h.verify(t)
}

// TestRefundPolicies refunds an order whose points were partly spent under each return
// policy: the reversal follows the policy and the books stay balanced.
func TestRefundPolicies(t *testing.T) {
	cases := []struct {
		policy      loyaltyv1.LoyaltyPolicy_RefundPolicy
		pendingDays int
		spend       int64 // redeemed before the refund (after maturing when pending)
		refund      int64 // of an order of 100000 (1000 points)
		reversed    int64
		debt        int64
		available   int64 // after the refund
	}{
		{loyaltyv1.LoyaltyPolicy_WITHIN_AVAILABLE, 0, 700, 100_000, 300, 0, 0},
		{loyaltyv1.LoyaltyPolicy_WITHIN_AVAILABLE, 0, 0, 40_000, 400, 0, 600},
		{loyaltyv1.LoyaltyPolicy_FULL_WITH_DEBT, 0, 700, 100_000, 300, 700, 0},
		{loyaltyv1.LoyaltyPolicy_FULL_WITH_DEBT, 0, 700, 50_000, 300, 200, 0},
		{loyaltyv1.LoyaltyPolicy_ONLY_PENDING, 7, 0, 50_000, 500, 0, 0}, // still pending: reversed
		{loyaltyv1.LoyaltyPolicy_ONLY_PENDING, 0, 0, 50_000, 0, 0, 1000},
	}
	for _, tc := range cases {
		t.Run(tc.policy.String(), func(t *testing.T) {
			h := start(t, kittest.Options{})
			m1 := h.NewMember(t)
			h.setPolicy(t, &loyaltyv1.LoyaltyPolicy{RefundPolicy: tc.policy, PendingDays: int32(tc.pendingDays)}, "refund_policy", "pending_days")
			svc := h.As(iamv1.Role_SERVICE)
			h.order(t, "o1", m1, 100_000)
			if tc.spend > 0 {
				if _, err := h.points().RedeemPoints(svc, &loyaltyv1.RedeemPointsRequest{MemberId: m1, Points: tc.spend}); err != nil {
					t.Fatal(err)
				}
			}
			r, err := h.points().RefundOrder(svc, &loyaltyv1.RefundOrderRequest{Id: "o1", AmountMinor: tc.refund})
			if err != nil {
				t.Fatal(err)
			}
			if r.GetPointsReversed() != tc.reversed || r.GetPointsToDebt() != tc.debt {
				t.Fatalf("reversed %d debt %d, want %d %d", r.GetPointsReversed(), r.GetPointsToDebt(), tc.reversed, tc.debt)
			}
			b := h.balance(t, m1)
			if b.GetAvailable() != tc.available || b.GetDebt() != -tc.debt {
				t.Fatalf("balance %v", b)
			}
			if tc.debt > 0 {
				// Later earnings repay the debt first.
				h.order(t, "o2", m1, tc.debt*100+500)
				if b := h.balance(t, m1); b.GetDebt() != 0 || b.GetAvailable() != 5 {
					t.Fatalf("after repayment %v", b)
				}
			}
			h.verify(t)
		})
	}
}

func TestGetOrderMissing(t *testing.T) {
	h := start(t, kittest.Options{})
	_, err := h.points().GetOrder(h.As(iamv1.Role_OPERATOR), &loyaltyv1.GetOrderRequest{Id: "missing"})
	kittest.WantErr(t, err, codes.NotFound, "ORDER_NOT_FOUND")
	_, err = h.points().GetOrder(context.Background(), &loyaltyv1.GetOrderRequest{Id: "missing"})
	kittest.WantErr(t, err, codes.Unauthenticated, "UNAUTHENTICATED")
}
