package loyaltyd_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc/codes"

	"github.com/huiyuan-dev/huiyuan/pkg/kittest"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/fieldmaskpb"

	iamv1 "github.com/huiyuan-dev/huiyuan/gen/huiyuan/iam/v1"
	loyaltyv1 "github.com/huiyuan-dev/huiyuan/gen/huiyuan/loyalty/v1"
)

// defaultPolicy is what GetLoyaltyPolicy shows for a tenant that never set its own.
func defaultPolicy() *loyaltyv1.LoyaltyPolicy {
	return &loyaltyv1.LoyaltyPolicy{BaseRatePercent: 100, ExpiryKind: loyaltyv1.LoyaltyPolicy_END_OF_MONTH, ExpiryN: 12,
		RefundPolicy: loyaltyv1.LoyaltyPolicy_WITHIN_AVAILABLE, TimeZone: "Asia/Shanghai", ExpiringSoonDays: 30, TransferLimitPoints: 10_000,
		TransferWindowDays: 30, CheckinPoints: 5, CheckinStreakBonuses: []*loyaltyv1.StreakBonus{{Day: 7, Points: 50}},
		PointValueMinor: 1, PointValueCurrency: "CNY", HoldTimeoutMinutes: 15, MaxHoldTimeoutMinutes: 7 * 24 * 60,
		ClosedHoldRetentionDays: 7, AcceptedCurrencies: []string{"CNY"}, MaxOrderAgeDays: 90}
}

func TestLoyaltyPolicyGetAndUpdate(t *testing.T) {
	h := start(t, kittest.Options{})
	got, err := h.progs().GetLoyaltyPolicy(h.As(iamv1.Role_ANALYST), &loyaltyv1.GetLoyaltyPolicyRequest{})
	if err != nil || !proto.Equal(got.GetPolicy(), defaultPolicy()) {
		t.Fatalf("defaults: %v %v", err, got)
	}
	// An empty mask changes the fields the request sets; JSON names work in a mask.
	want := defaultPolicy()
	want.BaseRatePercent, want.PendingDays = 200, 3
	if p := h.setPolicy(t, &loyaltyv1.LoyaltyPolicy{BaseRatePercent: 200, PendingDays: 3}); !proto.Equal(p, want) {
		t.Fatalf("after update %v, want %v", p, want)
	}
	want.PendingDays, want.CheckinStreakBonuses = 0, nil
	if p := h.setPolicy(t, &loyaltyv1.LoyaltyPolicy{}, "pendingDays", "checkin_streak_bonuses"); !proto.Equal(p, want) {
		t.Fatalf("after masked update %v, want %v", p, want)
	}
	got, err = h.progs().GetLoyaltyPolicy(h.As(iamv1.Role_OPERATOR), &loyaltyv1.GetLoyaltyPolicyRequest{})
	if err != nil || !proto.Equal(got.GetPolicy(), want) {
		t.Fatalf("stored: %v %v", err, got)
	}
	// The other tenant still has the defaults.
	got, err = h.progs().GetLoyaltyPolicy(h.asOther(), &loyaltyv1.GetLoyaltyPolicyRequest{})
	if err != nil || !proto.Equal(got.GetPolicy(), defaultPolicy()) {
		t.Fatalf("other tenant: %v %v", err, got)
	}
	if n := count(h.events(t), "loyalty_policy_updated"); n != 2 {
		t.Fatalf("loyalty_policy_updated events = %d, want 2", n)
	}
}

func TestLoyaltyPolicyEarning(t *testing.T) {
	h := start(t, kittest.Options{})
	m1 := h.NewMember(t)
	h.order(t, "o1", m1, 10_000) // 100 points at the default rate, expiring end of March 2027
	before := h.balance(t, m1).GetExpiring()[0].GetExpireTime()
	h.setPolicy(t, &loyaltyv1.LoyaltyPolicy{BaseRatePercent: 250, ExpiryKind: loyaltyv1.LoyaltyPolicy_AFTER_DAYS, ExpiryN: 10})
	if got := h.order(t, "o2", m1, 10_000).GetOrder().GetPointsEarned(); got != 250 {
		t.Fatalf("earned %d at 250%%, want 250", got)
	}
	b := h.balance(t, m1)
	if b.GetAvailable() != 350 || len(b.GetExpiring()) != 2 {
		t.Fatalf("balance %v", b)
	}
	// The earlier lot keeps its expiry; the new one follows the new policy.
	if !proto.Equal(b.GetExpiring()[1].GetExpireTime(), before) ||
		!b.GetExpiring()[0].GetExpireTime().AsTime().Before(t0.Add(12*24*time.Hour)) {
		t.Fatalf("expiries %v (before %v)", b.GetExpiring(), before)
	}
	// Tenant isolation: globex still earns at the default rate.
	resp, err := h.points().RecordOrder(h.asOther(), &loyaltyv1.RecordOrderRequest{
		Order: &loyaltyv1.Order{Id: "o1", MemberId: h.NewMemberOf(t, kittest.Other), AmountMinor: 10_000, Currency: "CNY"}})
	if err != nil || resp.GetOrder().GetPointsEarned() != 100 {
		t.Fatalf("globex order: %v %v", err, resp)
	}
	// Base rate 0 earns nothing (an explicit mask sets a zero).
	h.setPolicy(t, &loyaltyv1.LoyaltyPolicy{}, "base_rate_percent")
	if got := h.order(t, "o3", m1, 10_000).GetOrder().GetPointsEarned(); got != 0 {
		t.Fatalf("earned %d at rate 0", got)
	}
	h.verify(t)
}

func TestLoyaltyPolicyRefundAndTransfer(t *testing.T) {
	h := start(t, kittest.Options{})
	m1 := h.NewMember(t)
	m2 := h.NewMember(t)
	m3 := h.NewMember(t)
	svc := h.As(iamv1.Role_SERVICE)
	h.order(t, "o1", m1, 100_000) // 1000 points
	if _, err := h.points().RedeemPoints(svc, &loyaltyv1.RedeemPointsRequest{MemberId: m1, Points: 700}); err != nil {
		t.Fatal(err)
	}
	h.setPolicy(t, &loyaltyv1.LoyaltyPolicy{RefundPolicy: loyaltyv1.LoyaltyPolicy_FULL_WITH_DEBT})
	r, err := h.points().RefundOrder(svc, &loyaltyv1.RefundOrderRequest{Id: "o1", AmountMinor: 100_000})
	if err != nil || r.GetPointsReversed() != 300 || r.GetPointsToDebt() != 700 {
		t.Fatalf("refund under FULL_WITH_DEBT: %v %v", err, r)
	}

	h.adjust(t, m2, 1_000)
	h.setPolicy(t, &loyaltyv1.LoyaltyPolicy{TransferLimitPoints: 50})
	tr := func(points int64) error {
		_, err := h.progs().TransferPoints(svc, &loyaltyv1.TransferPointsRequest{MemberId: m2, ToMemberId: m3, Points: points})
		return err
	}
	if err := tr(40); err != nil {
		t.Fatal(err)
	}
	kittest.WantErr(t, tr(11), codes.FailedPrecondition, "TRANSFER_LIMIT_REACHED")
	h.setPolicy(t, &loyaltyv1.LoyaltyPolicy{}, "transfer_limit_points")
	kittest.WantErr(t, tr(1), codes.FailedPrecondition, "TRANSFER_DISABLED")
	h.verify(t)
}

func TestLoyaltyPolicyTimeZone(t *testing.T) {
	h := start(t, kittest.Options{})
	m1 := h.NewMember(t)
	svc := h.As(iamv1.Role_SERVICE)
	checkIn := func() error {
		_, err := h.progs().CheckIn(svc, &loyaltyv1.CheckInRequest{MemberId: m1})
		return err
	}
	// t0 is 10:00 on 1 March in Shanghai; in UTC it is 02:00.
	if err := checkIn(); err != nil {
		t.Fatal(err)
	}
	h.Clock.Advance(14 * time.Hour) // 00:00 on 2 March in Shanghai, 16:00 on 1 March in UTC
	h.setPolicy(t, &loyaltyv1.LoyaltyPolicy{TimeZone: "UTC"})
	kittest.WantErr(t, checkIn(), codes.FailedPrecondition, "ALREADY_CHECKED_IN")
	h.Clock.Advance(8 * time.Hour) // 00:00 on 2 March in UTC
	if err := checkIn(); err != nil {
		t.Fatalf("a new UTC day: %v", err)
	}
	h.verify(t)
}

func TestLoyaltyPolicyValidation(t *testing.T) {
	h := start(t, kittest.Options{})
	cases := []struct {
		name   string
		policy *loyaltyv1.LoyaltyPolicy
		paths  []string
		fields []string
	}{
		{"unknown mask field", &loyaltyv1.LoyaltyPolicy{}, []string{"base_rate_percent", "nope"}, []string{"update_mask"}},
		{"nested mask path", &loyaltyv1.LoyaltyPolicy{}, []string{"checkin_streak_bonuses.day"}, []string{"update_mask"}},
		{"nothing set", &loyaltyv1.LoyaltyPolicy{}, nil, []string{"policy"}},
		{"expiry kind", &loyaltyv1.LoyaltyPolicy{ExpiryKind: 42}, nil, []string{"policy.expiry_kind"}},
		{"after days needs N", &loyaltyv1.LoyaltyPolicy{ExpiryKind: loyaltyv1.LoyaltyPolicy_AFTER_DAYS, ExpiryN: 0}, []string{"expiry_kind", "expiry_n"}, []string{"policy.expiry_n"}},
		{"refund policy", &loyaltyv1.LoyaltyPolicy{RefundPolicy: 42}, nil, []string{"policy.refund_policy"}},
		{"unspecified expiry kind", &loyaltyv1.LoyaltyPolicy{}, []string{"expiryKind"}, []string{"policy.expiry_kind"}},
		{"unspecified refund policy", &loyaltyv1.LoyaltyPolicy{}, []string{"refund_policy"}, []string{"policy.refund_policy"}},
		{"time zone", &loyaltyv1.LoyaltyPolicy{TimeZone: "Mars/Olympus"}, nil, []string{"policy.time_zone"}},
		{"empty time zone", &loyaltyv1.LoyaltyPolicy{}, []string{"time_zone"}, []string{"policy.time_zone"}},
		{"negatives", &loyaltyv1.LoyaltyPolicy{BaseRatePercent: -1, MinOrderMinor: -1, PendingDays: -1, ExpiringSoonDays: -1,
			TransferLimitPoints: -1, CheckinPoints: -1, PointValueMinor: -1}, nil,
			[]string{"policy.base_rate_percent", "policy.min_order_minor", "policy.checkin_points", "policy.pending_days",
				"policy.expiring_soon_days", "policy.transfer_limit_points", "policy.point_value_minor"}},
		{"earn rules", &loyaltyv1.LoyaltyPolicy{ExcludedSkus: []string{""}, SkuRatePercent: map[string]int32{"x": -1},
			CategoryRatePercent: map[string]int32{"wine": 100_001}, CurrencyRatePercent: map[string]int64{"usd": 100}}, nil,
			[]string{"policy.currency_rate_percent[usd]", "policy.excluded_skus[0]", "policy.category_rate_percent[wine]",
				"policy.sku_rate_percent[x]"}},
		{"holds", &loyaltyv1.LoyaltyPolicy{HoldTimeoutMinutes: 20, MaxHoldTimeoutMinutes: 10}, nil, []string{"policy.hold_timeout_minutes"}},
		{"transfer window", &loyaltyv1.LoyaltyPolicy{}, []string{"transferWindowDays"}, []string{"policy.transfer_window_days"}},
		{"streak bonus", &loyaltyv1.LoyaltyPolicy{CheckinStreakBonuses: []*loyaltyv1.StreakBonus{{Day: 0, Points: -1}}}, nil,
			[]string{"policy.checkin_streak_bonuses[0].day", "policy.checkin_streak_bonuses[0].points"}},
		{"currency", &loyaltyv1.LoyaltyPolicy{PointValueCurrency: "yuan"}, nil, []string{"policy.point_value_currency"}},
		{"lower-case currency", &loyaltyv1.LoyaltyPolicy{PointValueCurrency: "cny"}, nil, []string{"policy.point_value_currency"}},
		{"excluded category", &loyaltyv1.LoyaltyPolicy{ExcludedCategories: []string{""}}, nil, []string{"policy.excluded_categories[0]"}},
		{"no accepted currency", &loyaltyv1.LoyaltyPolicy{}, []string{"acceptedCurrencies"}, []string{"policy.accepted_currencies"}},
		{"bad accepted currencies", &loyaltyv1.LoyaltyPolicy{AcceptedCurrencies: []string{"CNY", "usd", "EURO", "CNY"}}, nil,
			[]string{"policy.accepted_currencies[1]", "policy.accepted_currencies[2]", "policy.accepted_currencies[3]"}},
		{"a rate of a currency not accepted", &loyaltyv1.LoyaltyPolicy{CurrencyRatePercent: map[string]int64{"USD": 700}}, nil,
			[]string{"policy.currency_rate_percent[USD]"}},
		{"order age unset", &loyaltyv1.LoyaltyPolicy{}, []string{"max_order_age_days"}, []string{"policy.max_order_age_days"}},
		{"order age too long", &loyaltyv1.LoyaltyPolicy{MaxOrderAgeDays: 3651}, nil, []string{"policy.max_order_age_days"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			req := &loyaltyv1.UpdateLoyaltyPolicyRequest{Policy: tc.policy}
			if tc.paths != nil {
				req.UpdateMask = &fieldmaskpb.FieldMask{Paths: tc.paths}
			}
			_, err := h.progs().UpdateLoyaltyPolicy(h.As(iamv1.Role_ADMIN), req)
			kittest.WantErr(t, err, codes.InvalidArgument, "", tc.fields...)
		})
	}
	got, err := h.progs().GetLoyaltyPolicy(h.As(iamv1.Role_ADMIN), &loyaltyv1.GetLoyaltyPolicyRequest{})
	if err != nil || !proto.Equal(got.GetPolicy(), defaultPolicy()) {
		t.Fatalf("a rejected update changed the policy: %v %v", err, got)
	}
	if n := count(h.events(t), "loyalty_policy_updated"); n != 0 {
		t.Fatalf("loyalty_policy_updated events = %d, want 0", n)
	}
}

func TestLoyaltyPolicyIdempotent(t *testing.T) {
	h := start(t, kittest.Options{})
	admin := h.As(iamv1.Role_ADMIN)
	req := &loyaltyv1.UpdateLoyaltyPolicyRequest{RequestId: "pol-1", Policy: &loyaltyv1.LoyaltyPolicy{PendingDays: 7}}
	first, err := h.progs().UpdateLoyaltyPolicy(admin, req)
	if err != nil {
		t.Fatal(err)
	}
	h.setPolicy(t, &loyaltyv1.LoyaltyPolicy{PendingDays: 1})
	again, err := h.progs().UpdateLoyaltyPolicy(admin, req)
	if err != nil || !proto.Equal(again, first) {
		t.Fatalf("retry: %v %v, want %v", err, again, first)
	}
	// The retry replayed the answer without acting again.
	if got, _ := h.progs().GetLoyaltyPolicy(admin, &loyaltyv1.GetLoyaltyPolicyRequest{}); got.GetPolicy().GetPendingDays() != 1 {
		t.Fatalf("policy %v", got)
	}
	_, err = h.progs().UpdateLoyaltyPolicy(admin, &loyaltyv1.UpdateLoyaltyPolicyRequest{RequestId: "pol-1",
		Policy: &loyaltyv1.LoyaltyPolicy{PendingDays: 8}})
	kittest.WantErr(t, err, codes.InvalidArgument, "REQUEST_ID_REUSED")
	if n := count(h.events(t), "loyalty_policy_updated"); n != 2 {
		t.Fatalf("loyalty_policy_updated events = %d, want 2", n)
	}
}

// TestLoyaltyPolicyConcurrent changes the rate while orders are recorded: every order earns
// at one of the two rates, and after the update commits every order earns at the new one.
func TestLoyaltyPolicyConcurrent(t *testing.T) {
	h := start(t, kittest.Options{})
	m1 := h.NewMember(t)
	svc := h.As(iamv1.Role_SERVICE)
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for g := range 16 {
		wg.Go(func() {
			for i := range 4 {
				resp, err := h.points().RecordOrder(svc, &loyaltyv1.RecordOrderRequest{Order: &loyaltyv1.Order{
					Id: "c" + string(rune('a'+g)) + string(rune('a'+i)), MemberId: m1, AmountMinor: 10_000, Currency: "CNY"}})
				if err == nil && resp.GetOrder().GetPointsEarned() != 100 && resp.GetOrder().GetPointsEarned() != 300 {
					err = context.Canceled // marks a wrong earning
				}
				if err != nil {
					errs <- err
				}
			}
		})
	}
	h.setPolicy(t, &loyaltyv1.LoyaltyPolicy{BaseRatePercent: 300})
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if got := h.order(t, "after", m1, 10_000).GetOrder().GetPointsEarned(); got != 300 {
		t.Fatalf("after the update earned %d, want 300", got)
	}
	h.verify(t)
}

// TestLoyaltyPolicyLiability: the liability's point value is the tenant's.
func TestLoyaltyPolicyLiability(t *testing.T) {
	h := start(t, kittest.Options{})
	m1 := h.NewMember(t)
	h.setPolicy(t, &loyaltyv1.LoyaltyPolicy{PointValueMinor: 3, PointValueCurrency: "EUR"})
	h.order(t, "o1", m1, 10_000)
	l, err := h.progs().GetPointsLiability(h.As(iamv1.Role_ANALYST), &loyaltyv1.GetPointsLiabilityRequest{})
	if err != nil || l.GetOutstandingPoints() != 100 || l.GetOutstandingValueMinor() != 300 || l.GetCurrency() != "EUR" {
		t.Fatalf("liability %v %v", err, l)
	}
	h.verify(t)
}

// TestLoyaltyPolicyEarnRules: every earn rule the ledger knows is set through the policy API
// and applies to the next order.
func TestLoyaltyPolicyEarnRules(t *testing.T) {
	h := start(t, kittest.Options{})
	m1 := h.NewMember(t)
	h.setPolicy(t, &loyaltyv1.LoyaltyPolicy{ExcludedSkus: []string{"gift-card"}, CategoryRatePercent: map[string]int32{"wine": 50},
		SkuRatePercent: map[string]int32{"wine-special": 200}, CurrencyRatePercent: map[string]int64{"JPY": 1},
		AcceptedCurrencies: []string{"CNY", "JPY"}})
	item := func(sku, cat string) *loyaltyv1.OrderItem {
		return &loyaltyv1.OrderItem{Sku: sku, Category: cat, Quantity: 1, UnitPriceMinor: 10_000}
	}
	cases := []struct {
		name     string
		currency string
		items    []*loyaltyv1.OrderItem
		want     int64
	}{
		{"plain", "CNY", nil, 100},
		{"excluded sku", "CNY", []*loyaltyv1.OrderItem{item("gift-card", "")}, 0},
		{"category at half", "CNY", []*loyaltyv1.OrderItem{item("w1", "wine")}, 50},
		{"sku override beats the category", "CNY", []*loyaltyv1.OrderItem{item("wine-special", "wine")}, 200},
		{"a currency's own rate", "JPY", nil, 1},
	}
	for i, tc := range cases {
		resp, err := h.points().RecordOrder(h.As(iamv1.Role_SERVICE), &loyaltyv1.RecordOrderRequest{Order: &loyaltyv1.Order{
			Id: fmt.Sprintf("e%d", i), MemberId: m1, AmountMinor: 10_000, Currency: tc.currency, Items: tc.items}})
		if err != nil || resp.GetPointsEarned() != tc.want {
			t.Fatalf("%s: %v earned %d, want %d", tc.name, err, resp.GetPointsEarned(), tc.want)
		}
	}
}
