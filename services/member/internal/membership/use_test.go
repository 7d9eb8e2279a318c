package membership_test

import (
	"errors"
	"testing"
	"time"

	"github.com/huiyuan-dev/huiyuan/pkg/apperr"
	"github.com/huiyuan-dev/huiyuan/services/member/internal/membership"
)

func TestUseLimitsByPeriod(t *testing.T) {
	shanghai, _ := time.LoadLocation("Asia/Shanghai")
	tests := []struct {
		name   string
		period membership.Period
		limit  int
		plan   bool          // granted by the gold-pass plan, not the entry tier
		next   time.Duration // when the next use after the limit is allowed again
		still  time.Duration // a time before that which is still the same period
	}{
		// t0 is 10:00 on 1 March in Shanghai: the day ends at midnight there (14 h later).
		{name: "per day, in the tenant's zone", period: membership.PeriodDay, limit: 2, next: 14 * time.Hour, still: 13*time.Hour + 59*time.Minute},
		{name: "per month", period: membership.PeriodMonth, limit: 1, next: 31*day - 10*time.Hour, still: 30 * day},
		{name: "per year", period: membership.PeriodYear, limit: 3, next: 306*day - 10*time.Hour, still: 300 * day},
		{name: "per plan term", period: membership.PeriodTerm, limit: 1, plan: true, next: 365*day + time.Hour, still: 364 * day},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := catalog(membership.DropOneStep)
			b := &membership.Benefit{ID: "perk", Kind: membership.KindCustom, Limit: tt.limit, Period: tt.period, Tiers: []string{"bronze"}}
			if tt.plan {
				b.Tiers, b.Plans = nil, []string{"gold-pass"}
			}
			c.Benefits = []*membership.Benefit{b}
			m := newMember(c, t0)
			if tt.plan {
				_, _, err := membership.Use(m.a, c, "perk", "", "u0", t0)
				wantReason(t, "before the plan", err, membership.ReasonBenefitNotEntitled)
				if _, _, err := membership.Purchase(m.a, c, "gold-pass", membership.PaymentInput{Reference: "p"}, false, "s1", t0); err != nil {
					t.Fatal(err)
				}
				// Renewed right away: the next term counts anew, not from the renewal.
				if _, _, err := membership.Renew(m.a, c, "s1", membership.PaymentInput{Reference: "p2"}, t0.Add(time.Hour)); err != nil {
					t.Fatal(err)
				}
			}
			for i := range tt.limit {
				use, evs, err := membership.Use(m.a, c, "perk", "s1", "u", t0.Add(time.Duration(i)*time.Minute))
				if err != nil || use.Used != i+1 || use.Remaining != tt.limit-i-1 {
					t.Fatalf("use %d: %+v %v", i, use, err)
				}
				wantEvents(t, "use", evs, "benefit_used")
			}
			_, _, err := membership.Use(m.a, c, "perk", "", "u", t0.Add(tt.still))
			wantReason(t, "over the limit", err, membership.ReasonBenefitLimitReached)
			ents := membership.Entitlements(m.a, c, t0.Add(tt.still))
			if len(ents) != 1 || ents[0].Remaining != 0 || ents[0].PeriodEnd.IsZero() {
				t.Fatalf("entitlements %+v", ents)
			}
			if use, _, err := membership.Use(m.a, c, "perk", "", "u", t0.Add(tt.next)); err != nil || use.Used != 1 {
				t.Fatalf("next period: %+v %v (at %s)", use, err, t0.Add(tt.next).In(shanghai))
			}
		})
	}
}

func TestUseRefusals(t *testing.T) {
	c := catalog(membership.DropOneStep)
	c.Benefits = []*membership.Benefit{
		{ID: "gold-only", Kind: membership.KindPriorityBooking, Tiers: []string{"gold"}},
		{ID: "wifi", Kind: membership.KindFacilityAccess, Tiers: []string{"bronze"}},
	}
	m := newMember(c, t0)
	_, _, err := membership.Use(m.a, c, "gold-only", "", "u", t0)
	wantReason(t, "not entitled", err, membership.ReasonBenefitNotEntitled)
	_, _, err = membership.Use(m.a, c, "nope", "", "u", t0)
	wantReason(t, "unknown", err, membership.ReasonBenefitNotFound)
	_, _, err = membership.Use(m.a, c, "wifi", "bad store", "u", t0)
	wantReason(t, "bad store", err, "INVALID_ARGUMENT")
	for i := range 100 { // unlimited
		if _, _, err := membership.Use(m.a, c, "wifi", "", "u", t0.Add(time.Duration(i)*time.Second)); err != nil {
			t.Fatal(err)
		}
	}
	m.a.State = membership.MemberFrozen
	_, _, err = membership.Use(m.a, c, "wifi", "", "u", t0)
	wantReason(t, "frozen", err, membership.ReasonMemberNotActive)
	// An override to gold grants gold's benefits until it expires.
	m.a.State = membership.MemberActive
	if _, err := membership.SetOverride(m.a, c, "gold", "vip guest", t0.Add(day), "k", t0); err != nil {
		t.Fatal(err)
	}
	if _, _, err := membership.Use(m.a, c, "gold-only", "", "u", t0.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	_, _, err = membership.Use(m.a, c, "gold-only", "", "u", t0.Add(2*day))
	wantReason(t, "after the override", err, membership.ReasonBenefitNotEntitled)
}

// A TERM benefit granted both by the member's tier (once per tier term) and by a plan counts in
// each term apart: while the plan runs its term counts, and once the plan ends the tier's term is
// back with its use still spent. Only a term that is over loses its count.
func TestUseTermCountOutlivesAPlan(t *testing.T) {
	tests := []struct {
		name string
		end  func(t *testing.T, m *member, now time.Time) time.Time // ends the plan at now or later, returning when
	}{
		{name: "plan cancelled", end: func(t *testing.T, m *member, now time.Time) time.Time {
			if _, _, _, err := membership.Cancel(m.a, m.c, "s1", "", now); err != nil {
				t.Fatal(err)
			}
			return now
		}},
		{name: "plan lapsed", end: func(_ *testing.T, _ *member, now time.Time) time.Time { return now.Add(31 * day) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := catalog(membership.DropOneStep)
			c.Benefits = []*membership.Benefit{{ID: "perk", Kind: membership.KindCustom, Limit: 1, Period: membership.PeriodTerm,
				Tiers: []string{"silver", "gold"}, Plans: []string{"box"}}}
			m := newMember(c, t0)
			m.order(100_000, t0)
			at := t0.Add(time.Hour)
			if _, _, err := membership.Use(m.a, c, "perk", "", "u1", at); err != nil {
				t.Fatalf("the silver term's use: %v", err)
			}
			_, _, err := membership.Use(m.a, c, "perk", "", "u2", at.Add(time.Minute))
			wantReason(t, "again in the silver term", err, membership.ReasonBenefitLimitReached)
			if _, _, err := membership.Purchase(m.a, c, "box", membership.PaymentInput{Reference: "p1"}, false, "s1", at.Add(2*time.Minute)); err != nil {
				t.Fatal(err)
			}
			if _, _, err := membership.Use(m.a, c, "perk", "", "u3", at.Add(3*time.Minute)); err != nil {
				t.Fatalf("the plan term's use: %v", err)
			}
			now := tt.end(t, m, at.Add(4*time.Minute))
			_, _, err = membership.Use(m.a, c, "perk", "", "u4", now)
			wantReason(t, "again in the silver term after the plan", err, membership.ReasonBenefitLimitReached)
			if m.a.Tier != "silver" || len(m.a.Subscriptions) != 0 {
				t.Fatalf("tier %q, subscriptions %d: want silver and none", m.a.Tier, len(m.a.Subscriptions))
			}
			if ents := membership.Entitlements(m.a, c, now); len(ents) != 1 || ents[0].Used != 1 || ents[0].Remaining != 0 {
				t.Fatalf("entitlements %+v", ents)
			}
			// Gold is a new tier term: it counts anew, and the terms that are over are forgotten.
			for i := range 4 {
				m.order(100_000, now.Add(time.Duration(i+1)*time.Minute))
			}
			if m.a.Tier != "gold" {
				t.Fatalf("tier %q, want gold", m.a.Tier)
			}
			if use, _, err := membership.Use(m.a, c, "perk", "", "u5", now.Add(time.Hour)); err != nil || use.Used != 1 {
				t.Fatalf("the gold term's use: %+v %v", use, err)
			}
			if len(m.a.Usage) != 1 {
				t.Errorf("usage %+v: want only the gold term's", m.a.Usage)
			}
		})
	}
}

// A plan's TERM benefit shows, and a refusal names, the end of the term in force as its period's
// end: when the count starts again, not after the terms paid ahead. In grace that is the grace's
// end, when the subscription lapses unless renewed.
func TestUseTermPeriodEnd(t *testing.T) {
	year1, year2 := t0.AddDate(0, 12, 0), t0.AddDate(0, 24, 0)
	tests := []struct {
		name  string
		renew bool      // a second term paid ahead
		at    time.Time // when to look
		spent bool      // the one use of the term at t0+1h is of the term at at
		want  time.Time
	}{
		{name: "one term", at: t0.Add(2 * time.Hour), spent: true, want: year1},
		{name: "renewed ahead: the current term's end", renew: true, at: t0.Add(2 * time.Hour), spent: true, want: year1},
		{name: "renewed ahead: the next term counts anew", renew: true, at: year1.Add(time.Minute), want: year2},
		{name: "in grace: the grace's end", at: year1.Add(day), spent: true, want: year1.AddDate(0, 0, 7)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := catalog(membership.DropOneStep)
			c.Benefits = []*membership.Benefit{{ID: "perk", Kind: membership.KindCustom, Limit: 1, Period: membership.PeriodTerm, Plans: []string{"gold-pass"}}}
			m := newMember(c, t0)
			if _, _, err := membership.Purchase(m.a, c, "gold-pass", membership.PaymentInput{Reference: "p"}, false, "s1", t0); err != nil {
				t.Fatal(err)
			}
			if tt.renew {
				if _, _, err := membership.Renew(m.a, c, "s1", membership.PaymentInput{Reference: "p2"}, t0.Add(time.Minute)); err != nil {
					t.Fatal(err)
				}
			}
			if _, _, err := membership.Use(m.a, c, "perk", "", "u1", t0.Add(time.Hour)); err != nil {
				t.Fatal(err)
			}
			membership.Evaluate(m.a, c, tt.at)
			ents := membership.Entitlements(m.a, c, tt.at)
			if len(ents) != 1 || !ents[0].PeriodEnd.Equal(tt.want) {
				t.Fatalf("entitlements %+v, want the period to end at %v", ents, tt.want)
			}
			_, _, err := membership.Use(m.a, c, "perk", "", "u2", tt.at)
			if !tt.spent {
				if err != nil {
					t.Fatalf("use in the next term: %v", err)
				}
				return
			}
			wantReason(t, "use again", err, membership.ReasonBenefitLimitReached)
			var e *apperr.Error
			if !errors.As(err, &e) || e.Metadata["period_end_time"] != tt.want.Format(time.RFC3339) {
				t.Errorf("refusal %+v, want period_end_time %s", e, tt.want.Format(time.RFC3339))
			}
		})
	}
}
