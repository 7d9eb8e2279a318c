package memberd_test

import (
	"slices"
	"testing"
	"time"

	"google.golang.org/grpc/codes"

	"github.com/huiyuan-dev/huiyuan/pkg/kittest"

	iamv1 "github.com/huiyuan-dev/huiyuan/gen/huiyuan/iam/v1"
	memberv1 "github.com/huiyuan-dev/huiyuan/gen/huiyuan/member/v1"
)

func definePlan(t *testing.T, h *kittest.Harness, c clients) {
	t.Helper()
	if _, err := c.plans.CreatePlan(h.As(iamv1.Role_ADMIN), &memberv1.CreatePlanRequest{Plan: &memberv1.Plan{Id: "gold-pass",
		DisplayName: "Gold pass", PriceMinor: 29_900, Currency: "CNY", TermMonths: 1, TierId: "gold", Renewal: memberv1.Plan_AUTOMATIC,
		GraceDays: 3, TrialDays: 7, Refundable: true}}); err != nil {
		t.Fatal(err)
	}
}

// TestPlanPurchaseRenewalLapse: a paid plan holds its tier for the term; a renewal retried with
// its request id is answered once, a second renewal (another request id) does not extend the term
// again, a payment reference pays once; at the end of term and grace the subscription lapses and
// the member returns to their figures; the reports count it all.
func TestPlanPurchaseRenewalLapse(t *testing.T) {
	h, c := startKit(t)
	defineTiers(t, h, c)
	definePlan(t, h, c)
	svc := h.As(iamv1.Role_SERVICE)
	m := register(t, h, c, "13800138301")
	_, err := c.plans.PurchasePlan(svc, &memberv1.PurchasePlanRequest{MemberId: m, PlanId: "gold-pass"})
	kittest.WantErr(t, err, codes.InvalidArgument, "PAYMENT_INVALID", "payment.reference")
	_, err = c.plans.PurchasePlan(svc, &memberv1.PurchasePlanRequest{MemberId: m, PlanId: "gold-pass",
		Payment: &memberv1.Payment{Reference: "wx-1", Currency: "USD"}})
	kittest.WantErr(t, err, codes.InvalidArgument, "PAYMENT_INVALID", "payment.currency")
	buy, err := c.plans.PurchasePlan(svc, &memberv1.PurchasePlanRequest{RequestId: "buy-1", MemberId: m, PlanId: "gold-pass",
		Payment: &memberv1.Payment{Reference: "wx-1"}})
	if err != nil {
		t.Fatal(err)
	}
	sub := buy.GetSubscription()
	start := h.Clock.Now()
	if sub.GetState() != memberv1.Subscription_ACTIVE || !sub.GetAutoRenew() || sub.GetTermEndTime().AsTime() != start.AddDate(0, 1, 0).UTC() {
		t.Fatalf("subscription %v", sub)
	}
	if got := tierOf(t, h, c, m); got != "gold" {
		t.Fatalf("tier on the plan %q, want gold", got)
	}
	other := register(t, h, c, "13800138302")
	_, err = c.plans.PurchasePlan(svc, &memberv1.PurchasePlanRequest{MemberId: other, PlanId: "gold-pass", Payment: &memberv1.Payment{Reference: "wx-1"}})
	kittest.WantErr(t, err, codes.AlreadyExists, "PAYMENT_REFERENCE_USED", "payment.reference")

	renew := &memberv1.RenewSubscriptionRequest{RequestId: "renew-1", MemberId: m, SubscriptionId: sub.GetId(), Payment: &memberv1.Payment{Reference: "wx-2"}}
	r1, err := c.plans.RenewSubscription(svc, renew)
	if err != nil {
		t.Fatal(err)
	}
	r2, err := c.plans.RenewSubscription(svc, renew) // the till retries
	if err != nil || r2.GetSubscription().GetTermEndTime().AsTime() != r1.GetSubscription().GetTermEndTime().AsTime() ||
		r1.GetSubscription().GetTermEndTime().AsTime() != start.AddDate(0, 2, 0).UTC() {
		t.Fatalf("renewal replay: %v %v %v", r1, r2, err)
	}
	_, err = c.plans.RenewSubscription(svc, &memberv1.RenewSubscriptionRequest{RequestId: "renew-2", MemberId: m, SubscriptionId: sub.GetId(),
		Payment: &memberv1.Payment{Reference: "wx-3"}})
	kittest.WantErr(t, err, codes.FailedPrecondition, "SUBSCRIPTION_ALREADY_RENEWED")

	// The reminder a few days before the end (the payment system charges: auto_renew), then the
	// end, grace, and the lapse: back to the figures (bronze).
	end := start.AddDate(0, 2, 0)
	h.Clock.Advance(end.Add(-3 * 24 * time.Hour).Sub(h.Clock.Now()))
	kittest.Eventually(t, 5*time.Second, func() bool { return slices.Contains(h.Events("member", kittest.Tenant), "subscription_expiring") },
		"no reminder")
	h.Clock.Advance(end.Sub(h.Clock.Now()) + time.Hour)
	kittest.Eventually(t, 5*time.Second, func() bool {
		l, err := c.plans.ListSubscriptions(h.AsMember(m), &memberv1.ListSubscriptionsRequest{MemberId: m})
		return err == nil && l.GetSubscriptions()[0].GetState() == memberv1.Subscription_GRACE
	}, "not in grace")
	if got := tierOf(t, h, c, m); got != "gold" {
		t.Fatalf("tier in grace %q, want gold", got)
	}
	h.Clock.Advance(3 * 24 * time.Hour)
	kittest.Eventually(t, 5*time.Second, func() bool { return tierOf(t, h, c, m) == "bronze" }, "lapse did not end the plan's tier")
	_, err = c.plans.RenewSubscription(svc, &memberv1.RenewSubscriptionRequest{MemberId: m, SubscriptionId: sub.GetId(), Payment: &memberv1.Payment{Reference: "wx-4"}})
	kittest.WantErr(t, err, codes.FailedPrecondition, "SUBSCRIPTION_ENDED")
	evs := h.Events("member", kittest.Tenant)
	for _, want := range []string{"subscription_purchased", "subscription_renewed", "subscription_expiring", "subscription_expired",
		"subscription_grace_started", "subscription_lapsed"} {
		if count(evs, want) != 1 {
			t.Fatalf("%s %d times in %v", want, count(evs, want), evs)
		}
	}
	if n := count(evs, "tier_changed"); n != 2 {
		t.Fatalf("%d tier_changed, want 2 (plan on, plan off): %v", n, evs)
	}

	// A cancellation with a pro-rata refund, a trial, and the reports. The trial starts after the
	// clock's last move, so the job, which runs meanwhile, cannot lapse it before the reports.
	paid, err := c.plans.PurchasePlan(svc, &memberv1.PurchasePlanRequest{MemberId: m, PlanId: "gold-pass", Payment: &memberv1.Payment{Reference: "wx-5"}})
	if err != nil {
		t.Fatal(err)
	}
	term := paid.GetSubscription().GetTermEndTime().AsTime().Sub(h.Clock.Now())
	h.Clock.Advance(term / 2)
	if _, err := c.plans.PurchasePlan(svc, &memberv1.PurchasePlanRequest{MemberId: other, PlanId: "gold-pass", Trial: true}); err != nil {
		t.Fatal(err)
	}
	cancel, err := c.plans.CancelSubscription(h.As(iamv1.Role_OPERATOR), &memberv1.CancelSubscriptionRequest{MemberId: m,
		SubscriptionId: paid.GetSubscription().GetId(), Reason: "moving away"})
	if err != nil || cancel.GetRefundMinor() != 29_900/2 || cancel.GetSubscription().GetState() != memberv1.Subscription_CANCELLED ||
		cancel.GetSubscription().GetCancelReason() != "moving away" {
		t.Fatalf("cancel %v %v", cancel, err)
	}
	reps, err := c.plans.ListPlanReports(h.As(iamv1.Role_ANALYST), &memberv1.ListPlanReportsRequest{})
	if err != nil || len(reps.GetReports()) != 1 {
		t.Fatalf("reports %v %v", reps, err)
	}
	r := reps.GetReports()[0]
	if r.GetPlanId() != "gold-pass" || r.GetPurchases() != 3 || r.GetRenewals() != 1 || r.GetActive() != 0 || r.GetTrialing() != 1 ||
		r.GetLapses() != 1 || r.GetCancellations() != 1 || r.GetRevenueMinor() != 3*29_900 || r.GetRefundedMinor() != 29_900/2 {
		t.Fatalf("report %v", r)
	}
	_, err = c.plans.DeletePlan(h.As(iamv1.Role_ADMIN), &memberv1.DeletePlanRequest{PlanId: "gold-pass"})
	kittest.WantErr(t, err, codes.FailedPrecondition, "PLAN_IN_USE")
	l, err := c.plans.ListSubscriptions(h.As(iamv1.Role_OPERATOR), &memberv1.ListSubscriptionsRequest{MemberId: m})
	if err != nil || len(l.GetSubscriptions()) != 2 || !slices.ContainsFunc(l.GetSubscriptions(), func(s *memberv1.Subscription) bool {
		return s.GetState() == memberv1.Subscription_LAPSED
	}) {
		t.Fatalf("subscriptions %v %v", l, err)
	}
}
