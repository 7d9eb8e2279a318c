package membership_test

import (
	"testing"
	"time"

	"github.com/huiyuan-dev/huiyuan/pkg/apperr"
	"github.com/huiyuan-dev/huiyuan/services/member/internal/membership"
)

func wantReason(t *testing.T, what string, err error, reason string) {
	t.Helper()
	if got := apperr.ReasonOf(err); got != reason {
		t.Fatalf("%s: reason %q (%v), want %q", what, got, err, reason)
	}
}

func TestPurchaseRenewCancel(t *testing.T) {
	c := catalog(membership.DropOneStep)
	m := newMember(c, t0)
	pay := membership.PaymentInput{Reference: "pay-1"}
	sub, evs, err := membership.Purchase(m.a, c, "gold-pass", pay, false, "s1", t0)
	if err != nil {
		t.Fatal(err)
	}
	wantEvents(t, "purchase", evs, "subscription_purchased; tier_changed PLAN bronze>gold")
	if sub.State != membership.SubActive || !sub.TermEnd.Equal(t0.AddDate(1, 0, 0)) || m.a.NewPayments[0] != "pay-1" {
		t.Fatalf("subscription %+v, payments %v", sub, m.a.NewPayments)
	}
	if st := m.a.Stats[membership.StatsKey("gold-pass", "CNY")]; st.Active != 1 || st.Purchases != 1 || st.RevenueMinor != 19_900 {
		t.Fatalf("stats %+v", st)
	}
	_, _, err = membership.Purchase(m.a, c, "gold-pass", membership.PaymentInput{Reference: "pay-2"}, false, "s2", t0)
	wantReason(t, "second purchase", err, membership.ReasonSubscriptionExists)

	// One renewal a term ahead is fine; a second one (a new request id) is refused.
	sub, _, err = membership.Renew(m.a, c, "s1", membership.PaymentInput{Reference: "pay-3"}, t0.Add(day))
	if err != nil || !sub.TermEnd.Equal(t0.AddDate(2, 0, 0)) || len(sub.Terms) != 2 {
		t.Fatalf("renew: %+v %v", sub, err)
	}
	_, _, err = membership.Renew(m.a, c, "s1", membership.PaymentInput{Reference: "pay-4"}, t0.Add(2*day))
	wantReason(t, "double renewal", err, membership.ReasonSubscriptionRenewed)

	// Cancel half way through the first year: half of it and all of the second come back.
	mid := t0.Add(t0.AddDate(1, 0, 0).Sub(t0) / 2)
	sub, refund, evs, err := membership.Cancel(m.a, c, "s1", "moving abroad", mid)
	if err != nil {
		t.Fatal(err)
	}
	if want := int64(19_900/2 + 19_900); refund != want {
		t.Fatalf("refund %d, want %d", refund, want)
	}
	wantEvents(t, "cancel", evs, "subscription_cancelled; tier_changed PLAN gold>bronze")
	if sub.State != membership.SubCancelled || sub.Reason != "moving abroad" || len(m.a.Subscriptions) != 0 || len(m.a.Ended) != 1 {
		t.Fatalf("after cancel %+v, current %d", sub, len(m.a.Subscriptions))
	}
	_, _, err = membership.Renew(m.a, c, "s1", membership.PaymentInput{Reference: "pay-5"}, mid)
	wantReason(t, "renew cancelled", err, membership.ReasonSubscriptionNotFound)
}

func TestTrialAndLapse(t *testing.T) {
	c := catalog(membership.DropOneStep)
	m := newMember(c, t0)
	if _, _, err := membership.Purchase(m.a, c, "box", membership.PaymentInput{}, true, "s1", t0); apperr.ReasonOf(err) != membership.ReasonPlanNoTrial {
		t.Fatalf("trial of a plan without one: %v", err)
	}
	sub, evs, err := membership.Purchase(m.a, c, "gold-pass", membership.PaymentInput{}, true, "s1", t0)
	if err != nil || sub.State != membership.SubTrial || !sub.TermEnd.Equal(t0.AddDate(0, 0, 14)) {
		t.Fatalf("trial %+v %v", sub, err)
	}
	wantEvents(t, "trial", evs, "subscription_purchased; tier_changed PLAN bronze>gold")
	wantEvents(t, "reminder", membership.Evaluate(m.a, c, t0.Add(7*day)), "subscription_expiring")
	// A trial ends without grace.
	wantEvents(t, "trial end", membership.Evaluate(m.a, c, t0.Add(14*day)),
		"subscription_expired; subscription_lapsed; tier_changed PLAN gold>bronze")
	_, _, err = membership.Purchase(m.a, c, "gold-pass", membership.PaymentInput{}, true, "s2", t0.Add(15*day))
	wantReason(t, "second trial", err, membership.ReasonTrialUsed)

	// A paid plan: expiry, grace, renewal in grace from the end of the term (nothing free).
	sub, _, err = membership.Purchase(m.a, c, "box", membership.PaymentInput{Reference: "b-1", Amount: 8_000}, false, "s3", t0)
	if err != nil || sub.Payments[0].Amount != 8_000 {
		t.Fatalf("purchase at a discount: %+v %v", sub, err)
	}
	end := t0.AddDate(0, 0, 30)
	wantEvents(t, "box reminder", membership.Evaluate(m.a, c, end.Add(-3*day)), "subscription_expiring")
	wantEvents(t, "box ends: no grace", membership.Evaluate(m.a, c, end), "subscription_expired; subscription_lapsed")
	if st := m.a.Stats[membership.StatsKey("box", "CNY")]; st.Active != 0 || st.Lapses != 1 {
		t.Fatalf("box stats %+v", st)
	}
}

func TestRenewInGrace(t *testing.T) {
	c := catalog(membership.DropOneStep)
	m := newMember(c, t0)
	if _, _, err := membership.Purchase(m.a, c, "gold-pass", membership.PaymentInput{Reference: "p1"}, false, "s1", t0); err != nil {
		t.Fatal(err)
	}
	end := t0.AddDate(1, 0, 0)
	membership.Evaluate(m.a, c, end.Add(time.Hour))
	if s := m.a.Subscriptions[0]; s.State != membership.SubGrace || !s.GraceEnd.Equal(end.AddDate(0, 0, 7)) {
		t.Fatalf("grace %+v", s)
	}
	sub, evs, err := membership.Renew(m.a, c, "s1", membership.PaymentInput{Reference: "p2"}, end.Add(3*day))
	if err != nil || sub.State != membership.SubActive || !sub.TermEnd.Equal(end.AddDate(1, 0, 0)) {
		t.Fatalf("renew in grace: %+v %v", sub, err)
	}
	wantEvents(t, "renew in grace", evs, "subscription_renewed")
	_, _, err = membership.Renew(m.a, c, "s1", membership.PaymentInput{Reference: "p3", Currency: "USD"}, end.Add(3*day))
	wantReason(t, "wrong currency", err, membership.ReasonPaymentInvalid)
	_, _, err = membership.Renew(m.a, c, "s1", membership.PaymentInput{}, end.Add(3*day))
	wantReason(t, "no reference", err, membership.ReasonPaymentInvalid)
}

// TestClosedMemberPlanRunsOut: a closed member's paid term still lapses (the reports stay
// right), and their tier stays as it was.
func TestClosedMemberPlanRunsOut(t *testing.T) {
	c := catalog(membership.DropOneStep)
	m := newMember(c, t0)
	if _, _, err := membership.Purchase(m.a, c, "box", membership.PaymentInput{Reference: "b"}, false, "s1", t0); err != nil {
		t.Fatal(err)
	}
	m.a.State = membership.MemberGone
	membership.Evaluate(m.a, c, t0.Add(time.Hour))
	if !m.a.Due.Equal(t0.AddDate(0, 0, 27)) {
		t.Fatalf("due %s, want the reminder", m.a.Due)
	}
	wantEvents(t, "closed member's plan ends", membership.Evaluate(m.a, c, t0.AddDate(0, 0, 30)), "subscription_expired; subscription_lapsed")
	if m.a.Tier != "bronze" || !m.a.Due.IsZero() {
		t.Fatalf("tier %q, due %s", m.a.Tier, m.a.Due)
	}
}
