package membership_test

import (
	"slices"
	"testing"
	"time"

	"github.com/huiyuan-dev/huiyuan/services/member/internal/membership"
)

// A step of an evaluator scenario: an action at t0+at, the tier held after it and the events it
// recorded.
type step struct {
	name   string
	at     time.Duration
	do     func(m *member, now time.Time) []membership.Event
	tier   string
	events string
}

func order(amount int64) func(*member, time.Time) []membership.Event {
	return func(m *member, now time.Time) []membership.Event { _, evs := m.order(amount, now); return evs }
}

func refund(id string, amount, total int64) func(*member, time.Time) []membership.Event {
	return func(m *member, now time.Time) []membership.Event { return m.refund(id, amount, total, now) }
}

func evaluate(m *member, now time.Time) []membership.Event { return membership.Evaluate(m.a, m.c, now) }

// override sets tier until t0+until.
func override(tier string, until time.Duration) func(*member, time.Time) []membership.Event {
	return func(m *member, now time.Time) []membership.Event {
		evs, err := membership.SetOverride(m.a, m.c, tier, "goodwill", t0.Add(until), "key-1", now)
		if err != nil {
			panic(err)
		}
		return evs
	}
}

func clearOverride(m *member, now time.Time) []membership.Event {
	return membership.ClearOverride(m.a, m.c, now)
}

func purchase(plan, id string) func(*member, time.Time) []membership.Event {
	return func(m *member, now time.Time) []membership.Event {
		_, evs, err := membership.Purchase(m.a, m.c, plan, membership.PaymentInput{Reference: "pay-" + id}, false, id, now)
		if err != nil {
			panic(err)
		}
		return evs
	}
}

func cancel(id string) func(*member, time.Time) []membership.Event {
	return func(m *member, now time.Time) []membership.Event {
		_, _, evs, err := membership.Cancel(m.a, m.c, id, "", now)
		if err != nil {
			panic(err)
		}
		return evs
	}
}

func TestEvaluator(t *testing.T) {
	const year = 365 * day
	review := time.Date(2027, 3, 1, 2, 0, 0, 0, time.UTC).Sub(t0) // one window after t0
	tests := []struct {
		name     string
		drop     membership.DropRule
		joined   time.Duration // before t0
		noTenure bool          // without the loyal tier
		steps    []step
	}{
		{name: "one step at a time", drop: membership.DropOneStep, noTenure: true, steps: []step{
			{do: order(500_000)},
			{at: time.Minute, do: order(1)},
			{at: 2 * time.Minute, do: order(1)},
			{at: 3 * time.Minute, do: order(1)},
			{at: 4 * time.Minute, do: order(1), tier: "gold", events: "tier_changed ORDER silver>gold"},
			{name: "review: one step", at: review + time.Hour, do: evaluate, tier: "silver", events: "tier_changed REVIEW gold>silver"},
			{name: "next review: one more", at: review + year + 2*day, do: evaluate, tier: "bronze", events: "tier_changed REVIEW silver>bronze"},
			{name: "the entry tier is never reviewed", at: 5 * year, do: evaluate, tier: "bronze"},
		}},
		{name: "upgrade on the qualifying order", drop: membership.DropOneStep, steps: []step{
			{name: "small order", do: order(50_000), tier: "bronze"},
			{name: "reaches silver", at: time.Hour, do: order(50_000), tier: "silver", events: "tier_changed ORDER bronze>silver"},
			{name: "more", at: 2 * time.Hour, do: order(300_000), tier: "silver"},
			{name: "fourth", at: 3 * time.Hour, do: order(50_000), tier: "silver"},
			{name: "fifth order, 5,000 CNY: gold", at: 4 * time.Hour, do: order(50_000), tier: "gold", events: "tier_changed ORDER silver>gold"},
			{name: "another currency counts as an order only", at: 5 * time.Hour, tier: "gold",
				do: func(m *member, now time.Time) []membership.Event {
					_, evs := membership.ApplyOrder(m.a, m.c, nil, membership.OrderFact{OrderID: "usd", Amount: 1e9, Currency: "USD"}, now)
					if m.a.Value.LifetimeSpend != 500_000 || m.a.Value.LifetimeOrders != 6 {
						panic("value counted another currency")
					}
					return evs
				}},
		}},
		{name: "retention to the end of the review period, then one step down", drop: membership.DropOneStep, steps: []step{
			{do: order(200_000)},
			{at: time.Minute, do: order(200_000)},
			{at: 2 * time.Minute, do: order(50_000)},
			{at: 3 * time.Minute, do: order(25_000)},
			{name: "gold", at: 4 * time.Minute, do: order(25_000), tier: "gold", events: "tier_changed ORDER silver>gold"},
			{name: "months later", at: 200 * day, do: evaluate, tier: "gold"},
			{name: "notice 30 days before review: nothing since reaching gold", at: review - 29*day, do: evaluate, tier: "gold",
				events: "tier_drop_notice gold>loyal spend 500000 orders 5"},
			{name: "no second notice", at: review - 28*day, do: evaluate, tier: "gold"},
			{name: "still gold at the anniversary", at: review, do: evaluate, tier: "gold"},
			{name: "review: one step down (to the next tier, whatever its basis)", at: review + 5*time.Minute, do: evaluate, tier: "loyal",
				events: "tier_changed REVIEW gold>loyal"},
			{name: "a year later, 24 months a member: loyal is kept by tenure", at: review + year + day, do: evaluate, tier: "loyal"},
		}},
		{name: "drop straight to what qualifies", drop: membership.DropToQualified, steps: []step{
			{do: order(500_000)},
			{at: time.Minute, do: order(1)},
			{at: 2 * time.Minute, do: order(1)},
			{at: 3 * time.Minute, do: order(1)},
			{at: 4 * time.Minute, do: order(1), tier: "gold", events: "tier_changed ORDER silver>gold"},
			{at: review - 29*day, do: evaluate, tier: "gold", events: "tier_drop_notice gold>bronze spend 500000 orders 5"},
			{name: "review: straight to bronze", at: review + 5*time.Minute, do: evaluate, tier: "bronze", events: "tier_changed REVIEW gold>bronze"},
		}},
		{name: "figures at review keep the tier for another period", drop: membership.DropOneStep, steps: []step{
			{do: order(100_000), tier: "silver", events: "tier_changed ORDER bronze>silver"},
			{name: "a new order inside the coming window", at: review - 60*day, do: order(100_000), tier: "silver"},
			{name: "no notice: the figures hold", at: review - 30*day, do: evaluate},
			{name: "retained", at: review, do: evaluate, tier: "silver"},
			{name: "next review one window on", at: review + year - 40*day, do: evaluate, tier: "silver"},
			{name: "24 months a member by the second review: loyal", at: review + year + day, do: evaluate, tier: "loyal",
				events: "tier_changed REVIEW silver>loyal"},
		}},
		{name: "a refund that undoes the qualification drops only at review", drop: membership.DropOneStep, steps: []step{
			{do: order(120_000), tier: "silver", events: "tier_changed ORDER bronze>silver"},
			{name: "refund in full: still silver", at: day, do: refund("o1", 120_000, 120_000), tier: "silver"},
			{name: "notice", at: review - 30*day, do: evaluate, tier: "silver", events: "tier_drop_notice silver>bronze spend 100000 orders 0"},
			{name: "review drops", at: review, do: evaluate, tier: "bronze", events: "tier_changed REVIEW silver>bronze"},
		}},
		{name: "a refund in the notice period sends the notice", drop: membership.DropOneStep, steps: []step{
			{do: order(100_000), tier: "silver", events: "tier_changed ORDER bronze>silver"},
			{name: "the same day, after reaching silver: counts for the review", at: time.Hour, do: order(60_000), tier: "silver"},
			{at: 100 * day, do: order(60_000), tier: "silver"},
			{name: "nothing missing at notice time", at: review - 30*day, do: evaluate, tier: "silver"},
			{name: "the refund takes the figures below", at: review - 10*day, do: refund("o3", 60_000, 60_000), tier: "silver",
				events: "tier_drop_notice silver>bronze spend 40000 orders 0"},
			{name: "refunding the order that reached silver changes nothing for the review", at: review - 9*day,
				do: refund("o1", 100_000, 100_000), tier: "silver"},
			{name: "review drops", at: review + time.Minute, do: evaluate, tier: "bronze", events: "tier_changed REVIEW silver>bronze"},
		}},
		// A hold past the review suppresses the notice; once it no longer holds, the drop at review
		// is what the member will see, so the notice goes out then, once.
		{name: "an override cleared in the notice period sends the notice", drop: membership.DropOneStep, steps: []step{
			{do: order(100_000), tier: "silver", events: "tier_changed ORDER bronze>silver"},
			{name: "held past the review", at: time.Hour, do: override("silver", review+60*day), tier: "silver"},
			{name: "no notice while held", at: review - 29*day, do: evaluate, tier: "silver"},
			{name: "cleared", at: review - 20*day, do: clearOverride, tier: "silver", events: "tier_drop_notice silver>bronze spend 100000 orders 0"},
			{name: "no second notice", at: review - 19*day, do: evaluate, tier: "silver"},
			{name: "review drops", at: review + time.Minute, do: evaluate, tier: "bronze", events: "tier_changed REVIEW silver>bronze"},
		}},
		{name: "an override cut short of the review sends the notice", drop: membership.DropOneStep, steps: []step{
			{do: order(100_000), tier: "silver", events: "tier_changed ORDER bronze>silver"},
			{name: "held past the review", at: time.Hour, do: override("silver", review+60*day), tier: "silver"},
			{name: "no notice while held", at: review - 29*day, do: evaluate, tier: "silver"},
			{name: "until before the review", at: review - 20*day, do: override("silver", review-10*day), tier: "silver",
				events: "tier_drop_notice silver>bronze spend 100000 orders 0"},
			{name: "expiry: no second notice", at: review - 10*day, do: evaluate, tier: "silver"},
			{name: "review drops", at: review + time.Minute, do: evaluate, tier: "bronze", events: "tier_changed REVIEW silver>bronze"},
		}},
		{name: "a plan cancelled in the notice period sends the notice", drop: membership.DropOneStep, steps: []step{
			{do: order(100_000), tier: "silver", events: "tier_changed ORDER bronze>silver"},
			{name: "gold pass", at: time.Hour, do: purchase("gold-pass", "s1"), tier: "gold", events: "subscription_purchased; tier_changed PLAN silver>gold"},
			{name: "no notice while held", at: review - 29*day, do: evaluate, tier: "gold"},
			{name: "cancelled", at: review - 20*day, do: cancel("s1"), tier: "silver",
				events: "subscription_cancelled; tier_changed PLAN gold>silver; tier_drop_notice silver>bronze spend 100000 orders 0"},
			{name: "no second notice", at: review - 19*day, do: evaluate, tier: "silver"},
			{name: "review drops", at: review + time.Minute, do: evaluate, tier: "bronze", events: "tier_changed REVIEW silver>bronze"},
		}},
		{name: "rolled-off orders drop at review, not before", drop: membership.DropOneStep, steps: []step{
			{do: order(150_000), tier: "silver", events: "tier_changed ORDER bronze>silver"},
			{name: "a refund of part", at: 10 * day, do: refund("o1", 30_000, 30_000), tier: "silver"},
			{at: 20 * day, do: order(100_000), tier: "silver"},
			{name: "a refund of part of the later order", at: 30 * day, do: refund("o2", 30_000, 30_000), tier: "silver"},
			{name: "review: 1,000 counted since silver, 300 refunded: below silver", at: review, do: evaluate, tier: "bronze",
				events: "tier_changed REVIEW silver>bronze"},
		}},
		{name: "tenure basis", drop: membership.DropOneStep, joined: 23 * 30 * day, steps: []step{
			{name: "23 months", do: evaluate, tier: "bronze"},
			{name: "an order does not help", at: 10 * day, do: order(1_000), tier: "bronze"},
			{name: "24 months a member", at: 50 * day, do: evaluate, tier: "loyal", events: "tier_changed REVIEW bronze>loyal"},
			{name: "silver spend does not lower a tenure tier", at: 51 * day, do: order(100_000), tier: "loyal"},
		}},
		{name: "override and its expiry", drop: membership.DropOneStep, steps: []step{
			{do: order(100_000), tier: "silver", events: "tier_changed ORDER bronze>silver"},
			{name: "staff set gold for a week", at: time.Hour, tier: "gold", events: "tier_changed OVERRIDE silver>gold",
				do: func(m *member, now time.Time) []membership.Event {
					evs, err := membership.SetOverride(m.a, m.c, "gold", "complaint goodwill", now.Add(7*day), "key-1", now)
					if err != nil {
						panic(err)
					}
					return evs
				}},
			{name: "orders do not move an override", at: 2 * day, do: order(1_000_000), tier: "gold"},
			{name: "expiry: back to the figures", at: 8 * day, do: evaluate, tier: "silver", events: "tier_changed OVERRIDE_EXPIRED gold>silver"},
		}},
		{name: "override down and back", drop: membership.DropOneStep, steps: []step{
			{do: order(100_000), tier: "silver", events: "tier_changed ORDER bronze>silver"},
			{at: time.Hour, tier: "bronze", events: "tier_changed OVERRIDE silver>bronze",
				do: func(m *member, now time.Time) []membership.Event {
					evs, err := membership.SetOverride(m.a, m.c, "bronze", "abuse", now.Add(3*day), "key-1", now)
					if err != nil {
						panic(err)
					}
					return evs
				}},
			{name: "expired", at: 4 * day, do: evaluate, tier: "silver", events: "tier_changed OVERRIDE_EXPIRED bronze>silver"},
		}},
		{name: "a plan holds its tier for the term whatever the figures", drop: membership.DropOneStep, steps: []step{
			{at: 0, tier: "gold", events: "subscription_purchased; tier_changed PLAN bronze>gold",
				do: func(m *member, now time.Time) []membership.Event {
					_, evs, err := membership.Purchase(m.a, m.c, "gold-pass", membership.PaymentInput{Reference: "pay-1"}, false, "s1", now)
					if err != nil {
						panic(err)
					}
					return evs
				}},
			{name: "silver figures: still gold", at: day, do: order(100_000), tier: "gold"},
			{name: "and they hold silver", at: 200 * day, do: order(100_000), tier: "gold"},
			{name: "reminder", at: review - 7*day, do: evaluate, tier: "gold", events: "subscription_expiring"},
			{name: "term ends: grace keeps gold", at: review, do: evaluate, tier: "gold", events: "subscription_expired; subscription_grace_started"},
			{name: "grace ends: back to the figures", at: review + 7*day, do: evaluate, tier: "silver",
				events: "subscription_lapsed; tier_changed PLAN gold>silver"},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := catalog(tt.drop)
			if tt.noTenure {
				c.Tiers = slices.DeleteFunc(c.Tiers, func(t *membership.Tier) bool { return t.ID == "loyal" })
			}
			m := newMember(c, t0.Add(-tt.joined))
			if m.a.Tier != "bronze" {
				t.Fatalf("enrolled at %q", m.a.Tier)
			}
			for i, s := range tt.steps {
				name := s.name
				if name == "" {
					name = "step " + string(rune('0'+i))
				}
				evs := s.do(m, t0.Add(s.at))
				if s.tier != "" && m.a.Tier != s.tier {
					t.Fatalf("%s: tier %q, want %q (events %s)", name, m.a.Tier, s.tier, summary(evs))
				}
				if s.events != "" || s.tier != "" {
					wantEvents(t, name, evs, s.events)
				}
				if !m.a.Due.IsZero() && !m.a.Due.After(t0.Add(s.at)) {
					t.Fatalf("%s: due %s is not after now", name, m.a.Due)
				}
			}
		})
	}
}
