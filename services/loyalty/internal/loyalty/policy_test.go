package loyalty_test

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/huiyuan-dev/huiyuan/pkg/apperr"
	"github.com/huiyuan-dev/huiyuan/services/loyalty/internal/ledger"
	"github.com/huiyuan-dev/huiyuan/services/loyalty/internal/loyalty"
)

// violations lists err's field violations.
func violations(err error) []string { return fields(err) }

// TestDefaultPolicy: the default is a policy like any other, validated by the same code, and
// compiles to what the README promises.
func TestDefaultPolicy(t *testing.T) {
	set, err := loyalty.DefaultPolicy().Compile()
	if err != nil {
		t.Fatal(err)
	}
	if set.Ledger.Location().String() != "Asia/Shanghai" || set.Policy.Refund != ledger.RefundWithinAvailable ||
		set.NoticeWithin != 30*24*time.Hour || set.HoldTimeout != 15*time.Minute || set.MaxHoldTimeout != 7*24*time.Hour ||
		set.KeepClosed != 7*24*time.Hour || set.CheckIn.BasePoints != 5 || len(set.CheckIn.Bonuses) != 1 ||
		set.PointValue != (ledger.Price{Minor: 1, Points: 1}) ||
		!slices.Equal(set.Policy.AcceptedCurrencies, []string{"CNY"}) || set.MaxOrderAge != 90*24*time.Hour {
		t.Fatalf("default settings %+v", set)
	}
}

// manyCurrencies returns n distinct well-formed currency codes.
func manyCurrencies(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = string([]byte{'A' + byte(i/676), 'A' + byte(i/26%26), 'A' + byte(i%26)})
	}
	return out
}

// TestPolicyValidate: each field's violation is named as the update request names it, whether
// the rule is the policy's own or the ledger's.
func TestPolicyValidate(t *testing.T) {
	many := map[string]int64{}
	for i := range loyalty.MaxTiers + 1 {
		many[fmt.Sprintf("t%d", i)] = 100
	}
	tests := []struct {
		name   string
		change func(p *loyalty.Policy)
		want   []string // nil: valid
	}{
		{"default", func(*loyalty.Policy) {}, nil},
		{"never expires", func(p *loyalty.Policy) { p.Expiry = ledger.ExpiryPolicy{Kind: ledger.ExpireNever} }, nil},
		{"end of the month earned", func(p *loyalty.Policy) { p.Expiry.N, p.ExpiringSoonDays = 0, 0 }, nil},
		{"unset expiry kind", func(p *loyalty.Policy) { p.Expiry.Kind = "" }, []string{"policy.expiry_kind"}},
		{"unknown expiry kind", func(p *loyalty.Policy) { p.Expiry.Kind = "SOMETIMES" }, []string{"policy.expiry_kind"}},
		{"after days needs n", func(p *loyalty.Policy) { p.Expiry = ledger.ExpiryPolicy{Kind: ledger.ExpireAfterDays} }, []string{"policy.expiry_n"}},
		{"refund policy", func(p *loyalty.Policy) { p.Refund = "KEEP" }, []string{"policy.refund_policy"}},
		{"unset refund policy", func(p *loyalty.Policy) { p.Refund = "" }, []string{"policy.refund_policy"}},
		{"time zone", func(p *loyalty.Policy) { p.TimeZone = "Mars/Olympus" }, []string{"policy.time_zone"}},
		{"empty time zone", func(p *loyalty.Policy) { p.TimeZone = "" }, []string{"policy.time_zone"}},
		{"negatives", func(p *loyalty.Policy) {
			p.BaseRatePercent, p.MinOrderMinor, p.PendingDays, p.ExpiringSoonDays = -1, -1, -1, -1
			p.TransferLimitPoints, p.CheckInPoints, p.PointValueMinor = -1, -1, -1
		}, []string{"policy.base_rate_percent", "policy.min_order_minor", "policy.checkin_points", "policy.pending_days",
			"policy.expiring_soon_days", "policy.transfer_limit_points", "policy.point_value_minor"}},
		{"transfer window", func(p *loyalty.Policy) { p.TransferWindowDays = 0 }, []string{"policy.transfer_window_days"}},
		{"streak bonus", func(p *loyalty.Policy) { p.CheckInBonuses = []ledger.StreakBonus{{Day: 0, Points: -1}} },
			[]string{"policy.checkin_streak_bonuses[0].day", "policy.checkin_streak_bonuses[0].points"}},
		{"cycle", func(p *loyalty.Policy) { p.CheckInCycleDays = -1 }, []string{"policy.checkin_cycle_days"}},
		{"currency", func(p *loyalty.Policy) { p.PointValueCurrency = "yuan" }, []string{"policy.point_value_currency"}},
		{"lower-case currency", func(p *loyalty.Policy) { p.PointValueCurrency = "cny" }, []string{"policy.point_value_currency"}},
		{"excluded category", func(p *loyalty.Policy) { p.ExcludedCategories = []string{""} }, []string{"policy.excluded_categories[0]"}},
		{"excluded sku", func(p *loyalty.Policy) { p.ExcludedSKUs = []string{"ok", ""} }, []string{"policy.excluded_skus[1]"}},
		{"rate overrides", func(p *loyalty.Policy) {
			p.CategoryRatePercent = map[string]int64{"wine": ledger.MaxPercent + 1, "tea": 50}
			p.SKURatePercent = map[string]int64{"x": -1}
		}, []string{"policy.category_rate_percent[wine]", "policy.sku_rate_percent[x]"}},
		{"currency rates", func(p *loyalty.Policy) {
			p.AcceptedCurrencies = []string{"CNY", "EUR", "JPY"}
			p.CurrencyRatePercent = map[string]int64{"usd": 100, "EUR": -5, "JPY": 3}
		}, []string{"policy.currency_rate_percent[EUR]", "policy.currency_rate_percent[usd]"}},
		{"accepted currencies", func(p *loyalty.Policy) { p.AcceptedCurrencies = []string{"CNY", "USD", "HKD"} }, nil},
		{"a rate of an accepted currency", func(p *loyalty.Policy) {
			p.AcceptedCurrencies, p.CurrencyRatePercent = []string{"CNY", "JPY"}, map[string]int64{"JPY": 1}
		}, nil},
		{"a rate of a currency not accepted", func(p *loyalty.Policy) {
			p.CurrencyRatePercent = map[string]int64{"USD": 700, "CNY": 100, "EUR": 80}
		}, []string{"policy.currency_rate_percent[EUR]", "policy.currency_rate_percent[USD]"}},
		{"no accepted currency", func(p *loyalty.Policy) { p.AcceptedCurrencies = nil }, []string{"policy.accepted_currencies"}},
		{"bad currency codes", func(p *loyalty.Policy) {
			p.AcceptedCurrencies = []string{"CNY", "usd", "EURO", "", "C1Y", "人民币"}
		}, []string{"policy.accepted_currencies[1]", "policy.accepted_currencies[2]", "policy.accepted_currencies[3]",
			"policy.accepted_currencies[4]", "policy.accepted_currencies[5]"}},
		{"a currency twice", func(p *loyalty.Policy) { p.AcceptedCurrencies = []string{"CNY", "USD", "CNY"} },
			[]string{"policy.accepted_currencies[2]"}},
		{"too many currencies", func(p *loyalty.Policy) { p.AcceptedCurrencies = manyCurrencies(loyalty.MaxAcceptedCurrencies + 1) },
			[]string{"policy.accepted_currencies"}},
		{"as many currencies as allowed", func(p *loyalty.Policy) { p.AcceptedCurrencies = manyCurrencies(loyalty.MaxAcceptedCurrencies) }, nil},
		{"order age bounds", func(p *loyalty.Policy) { p.MaxOrderAgeDays = 1 }, nil},
		{"order age at most", func(p *loyalty.Policy) { p.MaxOrderAgeDays = loyalty.MaxOrderAgeDays }, nil},
		{"order age zero", func(p *loyalty.Policy) { p.MaxOrderAgeDays = 0 }, []string{"policy.max_order_age_days"}},
		{"order age negative", func(p *loyalty.Policy) { p.MaxOrderAgeDays = -1 }, []string{"policy.max_order_age_days"}},
		{"order age too long", func(p *loyalty.Policy) { p.MaxOrderAgeDays = loyalty.MaxOrderAgeDays + 1 }, []string{"policy.max_order_age_days"}},
		{"tier bounds", func(p *loyalty.Policy) {
			p.TierMultiplierPercent = map[string]int64{"gold": 150, "zero": 0, "max": loyalty.MaxTierPercent}
		}, nil},
		{"tier too high", func(p *loyalty.Policy) {
			p.TierMultiplierPercent = map[string]int64{"gold": loyalty.MaxTierPercent + 1}
		},
			[]string{"policy.tier_multiplier_percent[gold]"}},
		{"bad tier ids", func(p *loyalty.Policy) {
			p.TierMultiplierPercent = map[string]int64{"": 100, "has space": 100, "ok": 100}
		},
			[]string{"policy.tier_multiplier_percent", "policy.tier_multiplier_percent"}},
		{"too many tiers", func(p *loyalty.Policy) { p.TierMultiplierPercent = many }, []string{"policy.tier_multiplier_percent"}},
		{"holds", func(p *loyalty.Policy) { p.HoldTimeoutMinutes, p.MaxHoldTimeoutMinutes = 20, 10 }, []string{"policy.hold_timeout_minutes"}},
		{"hold limits", func(p *loyalty.Policy) {
			p.HoldTimeoutMinutes, p.MaxHoldTimeoutMinutes, p.ClosedHoldRetentionDays = 0, loyalty.MaxHoldTimeoutMinutes+1, -1
		}, []string{"policy.hold_timeout_minutes", "policy.max_hold_timeout_minutes", "policy.closed_hold_retention_days"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := loyalty.DefaultPolicy()
			tt.change(&p)
			err := p.Validate()
			if tt.want == nil {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if apperr.CodeOf(err) != apperr.Invalid || !slices.Equal(violations(err), tt.want) {
				t.Fatalf("violations %v (%v), want %v", violations(err), err, tt.want)
			}
		})
	}
}

// TestPointsFor: what an order earns is decided in one place, from every earn rule the policy
// sets and the member's tier.
func TestPointsFor(t *testing.T) {
	p := loyalty.DefaultPolicy()
	p.BaseRatePercent, p.MinOrderMinor, p.ExcludedCategories = 150, 1000, []string{"tobacco"}
	p.AcceptedCurrencies, p.CurrencyRatePercent = []string{"EUR", "JPY"}, map[string]int64{"JPY": 1}
	p.ExcludedSKUs = []string{"gift-card"}
	p.CategoryRatePercent, p.SKURatePercent = map[string]int64{"wine": 50}, map[string]int64{"wine-special": 200}
	p.TierMultiplierPercent = map[string]int64{"gold": 200, "frozen": 0}
	set, err := p.Compile()
	if err != nil {
		t.Fatal(err)
	}
	item := func(sku, cat string, price int64) ledger.Item {
		return ledger.Item{SKU: sku, Category: cat, Quantity: 1, UnitPriceMinor: price}
	}
	tests := []struct {
		name string
		o    loyalty.Order
		tier string
		want int64
	}{
		{"1.5 points per unit", loyalty.Order{MemberID: "m", Currency: "EUR", AmountMinor: 10_000}, "", 150},
		{"a tier doubles", loyalty.Order{MemberID: "m", Currency: "EUR", AmountMinor: 10_000}, "gold", 300},
		{"a tier at zero earns nothing", loyalty.Order{MemberID: "m", Currency: "EUR", AmountMinor: 10_000}, "frozen", 0},
		{"an unlisted tier earns x1", loyalty.Order{MemberID: "m", Currency: "EUR", AmountMinor: 10_000}, "bronze", 150},
		{"a non-member earns nothing", loyalty.Order{Currency: "EUR", AmountMinor: 10_000}, "", 0},
		{"below the minimum", loyalty.Order{MemberID: "m", Currency: "EUR", AmountMinor: 999}, "", 0},
		{"a currency's own rate", loyalty.Order{MemberID: "m", Currency: "JPY", AmountMinor: 100_000}, "", 10},
		{"excluded category", loyalty.Order{MemberID: "m", Currency: "EUR", AmountMinor: 2_000,
			Items: []ledger.Item{item("c", "tobacco", 2_000)}}, "", 0},
		{"excluded sku", loyalty.Order{MemberID: "m", Currency: "EUR", AmountMinor: 5_000,
			Items: []ledger.Item{item("gift-card", "", 5_000)}}, "", 0},
		{"category override", loyalty.Order{MemberID: "m", Currency: "EUR", AmountMinor: 10_000,
			Items: []ledger.Item{item("w1", "wine", 10_000)}}, "", 75},
		{"a sku override beats its category's", loyalty.Order{MemberID: "m", Currency: "EUR", AmountMinor: 10_000,
			Items: []ledger.Item{item("wine-special", "wine", 10_000)}}, "", 300},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pct, err := loyalty.TierPercent(undefinedTiers{}, set, tt.tier)
			if err != nil {
				t.Fatal(err)
			}
			if got := set.PointsFor(&tt.o, pct); got != tt.want {
				t.Fatalf("PointsFor = %d, want %d", got, tt.want)
			}
		})
	}
	at := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	if !set.PendingUntil(at).IsZero() {
		t.Fatal("no return window expected")
	}
	p.PendingDays = 7
	if set, _ = p.Compile(); !set.PendingUntil(at).Equal(at.AddDate(0, 0, 7)) {
		t.Fatalf("PendingUntil = %v", set.PendingUntil(at))
	}
}

// undefinedTiers is a View in which the member service defines no tier: only the policy's
// multipliers count. It implements only what TierPercent reads.
type undefinedTiers struct{ loyalty.View }

func (undefinedTiers) TierMultiplier(string) (int64, bool, error) { return 0, false, nil }

// definedTiers is a View in which the member service defines the tiers of the map.
type definedTiers struct {
	loyalty.View
	pct map[string]int64
}

func (d definedTiers) TierMultiplier(tier string) (int64, bool, error) {
	p, ok := d.pct[tier]
	return p, ok, nil
}

// TestTierPercent: a tier's own multiplier (the member service's) comes before the policy's, and
// an unknown tier earns x1.
func TestTierPercent(t *testing.T) {
	p := loyalty.DefaultPolicy()
	p.TierMultiplierPercent = map[string]int64{"gold": 150, "silver": 120}
	set, err := p.Compile()
	if err != nil {
		t.Fatal(err)
	}
	v := definedTiers{pct: map[string]int64{"gold": 200, "vip": 0}}
	for _, tt := range []struct {
		tier string
		want int64
	}{{"gold", 200}, {"vip", 0}, {"silver", 120}, {"bronze", loyalty.DefaultTierPercent}, {"", loyalty.DefaultTierPercent}} {
		if got, err := loyalty.TierPercent(v, set, tt.tier); err != nil || got != tt.want {
			t.Errorf("TierPercent(%q) = %d, %v; want %d", tt.tier, got, err, tt.want)
		}
	}
}
