package membership_test

import (
	"slices"
	"testing"

	"github.com/huiyuan-dev/huiyuan/pkg/apperr"
	"github.com/huiyuan-dev/huiyuan/services/member/internal/membership"
)

func violations(err error) []string {
	var out []string
	if e, ok := err.(*apperr.Error); ok {
		for _, v := range e.Violations {
			out = append(out, v.Field)
		}
	}
	return out
}

func TestCreateTierValidation(t *testing.T) {
	tests := []struct {
		name   string
		tier   membership.Tier
		reason string
		fields []string
		basis  membership.Basis
	}{
		{name: "entry tier", tier: membership.Tier{ID: "basic", DisplayName: "Basic", MultiplierPercent: 100}},
		{name: "spend inferred", tier: membership.Tier{ID: "s", DisplayName: "S", Rank: 1, MinSpend: 1}, basis: membership.BasisSpend},
		{name: "orders inferred", tier: membership.Tier{ID: "o", DisplayName: "O", Rank: 1, MinOrders: 2}, basis: membership.BasisOrders},
		{name: "both inferred", tier: membership.Tier{ID: "b", DisplayName: "B", Rank: 1, MinSpend: 1, MinOrders: 2}, basis: membership.BasisSpendAndOrders},
		{name: "either", tier: membership.Tier{ID: "e", DisplayName: "E", Rank: 1, Basis: membership.BasisSpendOrOrders, MinSpend: 1, MinOrders: 2},
			basis: membership.BasisSpendOrOrders},
		{name: "tenure", tier: membership.Tier{ID: "t", DisplayName: "T", Rank: 1, MinTenureMonths: 12}, basis: membership.BasisTenure},
		{name: "bad id and name", tier: membership.Tier{ID: "9lives", Rank: 1, MinSpend: 1}, reason: membership.ReasonTierRuleInvalid,
			fields: []string{"tier.id", "tier.display_name"}},
		{name: "upper case id", tier: membership.Tier{ID: "Gold", DisplayName: "G", Rank: 1, MinSpend: 1}, reason: membership.ReasonTierRuleInvalid,
			fields: []string{"tier.id"}},
		{name: "no qualification above entry", tier: membership.Tier{ID: "x", DisplayName: "X", Rank: 1}, reason: membership.ReasonTierRuleInvalid,
			fields: []string{"tier.basis"}},
		{name: "entry with a qualification", tier: membership.Tier{ID: "x", DisplayName: "X", MinOrders: 1}, reason: membership.ReasonTierRuleInvalid,
			fields: []string{"tier.rank"}},
		{name: "basis out of the set", tier: membership.Tier{ID: "x", DisplayName: "X", Rank: 1, Basis: 6, MinSpend: 1},
			reason: membership.ReasonTierRuleInvalid, fields: []string{"tier.basis"}},
		{name: "tenure with spend", tier: membership.Tier{ID: "x", DisplayName: "X", Rank: 1, Basis: membership.BasisTenure, MinSpend: 1},
			reason: membership.ReasonTierRuleInvalid, fields: []string{"tier.min_spend_minor", "tier.min_tenure_months"}},
		{name: "negative and too large", tier: membership.Tier{ID: "x", DisplayName: "X", Rank: -1, MinSpend: -5, MultiplierPercent: 20_000},
			reason: membership.ReasonTierRuleInvalid, fields: []string{"tier.rank", "tier.min_spend_minor", "tier.points_multiplier_percent", "tier.basis"}},
		{name: "rank taken", tier: membership.Tier{ID: "x", DisplayName: "X", Rank: 10, MinOrders: 1}, reason: membership.ReasonTierRankTaken,
			fields: []string{"tier.rank"}},
		{name: "id taken", tier: membership.Tier{ID: "gold", DisplayName: "X", Rank: 99, MinOrders: 1}, reason: membership.ReasonTierExists},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := catalog(membership.DropOneStep)
			if tt.reason == "" {
				c.Tiers = nil
			}
			x := tt.tier
			v, evs, err := membership.CreateTier(c, &x, nil, t0)
			if got := apperr.ReasonOf(err); got != tt.reason {
				t.Fatalf("reason %q (%v), want %q", got, err, tt.reason)
			}
			if tt.fields != nil && !slices.Equal(violations(err), tt.fields) {
				t.Fatalf("violations %v, want %v", violations(err), tt.fields)
			}
			if tt.reason == "" && (v.Tier.Basis != tt.basis || len(evs) != 1 || evs[0].Type() != membership.EventTierDefined) {
				t.Fatalf("created %+v %v", v.Tier, evs)
			}
		})
	}
}

func TestDefinitionsAndGrants(t *testing.T) {
	c := catalog(membership.DropOneStep)
	_, _, err := membership.CreateBenefit(c, &membership.Benefit{ID: "b1", DisplayName: "B", Kind: membership.KindFreeShipping,
		Limit: 2, Period: membership.PeriodMonth, Tiers: []string{"silver", "silver"}, Plans: []string{"box"}}, t0)
	if err != nil {
		t.Fatal(err)
	}
	if got := c.TierBenefits("silver"); !slices.Equal(got, []string{"b1"}) {
		t.Fatalf("silver grants %v", got)
	}
	// The tier side of the same relation: gold now grants b1, silver no longer.
	if _, evs, err := membership.UpdateTier(c, "silver", &membership.Tier{}, nil, []string{"benefits"}, t0); err != nil || len(evs) != 2 {
		t.Fatalf("update silver: %v %v", evs, err)
	}
	if _, _, err := membership.UpdateTier(c, "gold", &membership.Tier{}, []string{"b1"}, []string{"benefits"}, t0); err != nil {
		t.Fatal(err)
	}
	if b := c.Benefit("b1"); !slices.Equal(b.Tiers, []string{"gold"}) || !slices.Equal(b.Plans, []string{"box"}) {
		t.Fatalf("b1 %+v", b)
	}
	// Changing the minimums infers the basis again.
	v, _, err := membership.UpdateTier(c, "gold", &membership.Tier{MinOrders: 0}, nil, []string{"min_orders"}, t0)
	if err != nil || v.Tier.Basis != membership.BasisSpend {
		t.Fatalf("gold after dropping min_orders: %+v %v", v, err)
	}
	_, _, err = membership.UpdateTier(c, "gold", &membership.Tier{}, nil, []string{"id"}, t0)
	wantReason(t, "immutable id", err, "INVALID_ARGUMENT")
	c.Holders = map[string]int64{"silver": 3}
	_, err = membership.DeleteTier(c, "silver", t0)
	wantReason(t, "held tier", err, membership.ReasonTierInUse)
	_, err = membership.DeleteTier(c, "gold", t0) // gold-pass grants it
	wantReason(t, "plan tier", err, membership.ReasonTierInUse)
	evs, err := membership.DeleteTier(c, "loyal", t0)
	if err != nil || len(evs) != 1 || c.Tier("loyal") != nil {
		t.Fatalf("delete loyal: %v %v", evs, err)
	}
	c.Live = map[string]int64{"box": 1}
	_, err = membership.DeletePlan(c, "box", t0)
	wantReason(t, "plan in use", err, membership.ReasonPlanInUse)

	_, _, err = membership.CreatePlan(c, &membership.Plan{ID: "p", DisplayName: "P", Currency: "cny", TermMonths: 1, TermDays: 3,
		TierID: "nope", Renewal: 3}, nil, t0)
	wantReason(t, "bad plan", err, membership.ReasonPlanInvalid)
	if got, want := violations(err), []string{"plan.currency", "plan.term_months", "plan.tier_id", "plan.renewal"}; !slices.Equal(got, want) {
		t.Fatalf("plan violations %v, want %v", got, want)
	}
	_, _, err = membership.CreateBenefit(c, &membership.Benefit{ID: "b2", DisplayName: "B", Kind: membership.KindCustom, Limit: 1, Period: 9}, t0)
	if got := violations(err); !slices.Equal(got, []string{"benefit.period"}) {
		t.Fatalf("benefit violations %v", got)
	}
	s, _, err := membership.UpdateSettings(c, membership.Settings{WindowMonths: 6, TimeZone: "Europe/Paris"}, []string{"window_months", "time_zone"}, t0)
	if err != nil || s.WindowMonths != 6 || s.Location().String() != "Europe/Paris" || s.DropRule != membership.DropOneStep {
		t.Fatalf("settings %+v %v", s, err)
	}
	_, _, err = membership.UpdateSettings(c, membership.Settings{DropRule: 7, TimeZone: "Mars/Olympus"}, []string{"drop_rule", "time_zone"}, t0)
	if got := violations(err); !slices.Equal(got, []string{"settings.drop_rule", "settings.time_zone"}) {
		t.Fatalf("settings violations %v", got)
	}
}
