package ledger_test

import (
	"reflect"
	"testing"

	"github.com/huiyuan-dev/huiyuan/services/loyalty/internal/ledger"
)

func TestPointsFor(t *testing.T) {
	shop := ledger.EarnRules{
		ExcludedCategories: []string{"tobacco"},
		ExcludedSKUs:       []string{"gift-card"},
		CategoryPercent:    map[string]int64{"wine": 50, "promo": 300},
		SKUPercent:         map[string]int64{"wine-special": 200},
		MinOrderMinor:      1000,
	}
	item := func(sku, cat string, qty, price int64) ledger.Item {
		return ledger.Item{SKU: sku, Category: cat, Quantity: qty, UnitPriceMinor: price}
	}
	cny := func(total int64, items ...ledger.Item) ledger.Order {
		return ledger.Order{Currency: "CNY", TotalMinor: total, Items: items}
	}
	tests := []struct {
		name  string
		order ledger.Order
		rules ledger.EarnRules
		mult  int64
		want  int64
	}{
		{"default: 1 point per 100 minor units, rounded down", cny(12399), ledger.EarnRules{}, 100, 123},
		{"multiplier 0 means none", cny(12399), ledger.EarnRules{}, 0, 123},
		{"tier multiplier 150%", cny(12399), ledger.EarnRules{}, 150, 185},
		{"base rate", cny(12399), ledger.EarnRules{BaseRate: ledger.Rate{Points: 3, PerMinor: 1000}}, 100, 37},
		{"currency rate", ledger.Order{Currency: "JPY", TotalMinor: 1234}, ledger.EarnRules{CurrencyRates: map[string]ledger.Rate{"JPY": {Points: 1, PerMinor: 10}}}, 100, 123},
		{"other currency keeps the base rate", cny(1234), ledger.EarnRules{CurrencyRates: map[string]ledger.Rate{"JPY": {Points: 1, PerMinor: 10}}}, 100, 12},
		{"below the minimum", cny(999), shop, 100, 0},
		{"at the minimum", cny(1000), shop, 100, 10},
		{"excluded category", cny(20000, item("a", "food", 1, 10000), item("b", "tobacco", 1, 10000)), shop, 100, 100},
		{"excluded sku", cny(20000, item("gift-card", "food", 1, 10000), item("b", "food", 1, 10000)), shop, 100, 100},
		{"category override", cny(20000, item("a", "wine", 2, 10000)), shop, 100, 100},
		{"sku override beats category", cny(20000, item("wine-special", "wine", 2, 10000)), shop, 100, 400},
		{"exclusion beats override", cny(10000, item("gift-card", "promo", 1, 10000)), shop, 100, 0},
		{"rounded once, not per item", cny(300, item("a", "x", 1, 150), item("b", "x", 1, 150)), ledger.EarnRules{}, 100, 3},
		{"discount scales items down", cny(15000, item("a", "food", 1, 10000), item("b", "promo", 1, 10000)), shop, 100,
			// (10000×100% + 10000×300%) × 15000/20000 / 100 = 300
			300},
		{"fees do not earn", cny(12000, item("a", "food", 1, 10000)), shop, 100, 100},
		{"multiplier applies to overrides", cny(10000, item("a", "promo", 1, 10000)), shop, 150, 450},
		{"free order", cny(0), ledger.EarnRules{}, 100, 0},
		{"capped at MaxPoints", cny(ledger.MaxAmountMinor), ledger.EarnRules{BaseRate: ledger.Rate{Points: 1000, PerMinor: 1}}, 100_000, ledger.MaxPoints},
		{"invalid currency", ledger.Order{Currency: "cny", TotalMinor: 10000}, ledger.EarnRules{}, 100, 0},
		{"negative total", cny(-1), ledger.EarnRules{}, 100, 0},
		{"zero quantity", cny(10000, item("a", "x", 0, 10000)), ledger.EarnRules{}, 100, 0},
		{"broken rate earns nothing", cny(10000), ledger.EarnRules{BaseRate: ledger.Rate{Points: 1}}, 100, 0},
		{"percent out of range is clamped", cny(10000, item("a", "x", 1, 10000)), ledger.EarnRules{CategoryPercent: map[string]int64{"x": -50}}, 100, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := ledger.PointsFor(tc.order, tc.rules, tc.mult); got != tc.want {
				t.Fatalf("PointsFor = %d, want %d", got, tc.want)
			}
		})
	}
}

func TestValidateOrder(t *testing.T) {
	long := string(make([]byte, 129))
	tests := []struct {
		name  string
		order ledger.Order
		want  []string
	}{
		{"ok", ledger.Order{Currency: "CNY", TotalMinor: 1, Items: []ledger.Item{{SKU: "a", Quantity: 1}}}, nil},
		{"currency", ledger.Order{Currency: "RMB1"}, []string{"currency"}},
		{"total", ledger.Order{Currency: "CNY", TotalMinor: ledger.MaxAmountMinor + 1}, []string{"total_minor"}},
		{"items", ledger.Order{Currency: "CNY", Items: []ledger.Item{
			{SKU: long, Category: long, Quantity: ledger.MaxItemQuantity + 1, UnitPriceMinor: -1}}},
			[]string{"items[0].sku", "items[0].category", "items[0].quantity", "items[0].unit_price_minor"}},
		{"too many items", ledger.Order{Currency: "CNY", Items: make([]ledger.Item, ledger.MaxOrderItems+1)}, []string{"items"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := violations(ledger.ValidateOrder(tc.order)); !reflect.DeepEqual(got, tc.want) && !(len(got) == 0 && tc.want == nil) {
				t.Fatalf("violations %v, want %v", got, tc.want)
			}
		})
	}
}

func TestEarnRulesValidate(t *testing.T) {
	if err := (ledger.EarnRules{}).Validate(); err != nil {
		t.Fatalf("zero rules: %v", err)
	}
	bad := ledger.EarnRules{
		BaseRate:        ledger.Rate{Points: -1, PerMinor: 0},
		CurrencyRates:   map[string]ledger.Rate{"cny": {Points: 1, PerMinor: 1}},
		MinOrderMinor:   -1,
		CategoryPercent: map[string]int64{"a": ledger.MaxPercent + 1},
		SKUPercent:      map[string]int64{"b": -1},
	}
	got := violations(bad.Validate())
	want := map[string]bool{"base_rate.points": true, "base_rate.per_minor": true, "currency_rates[cny]": true,
		"min_order_minor": true, "category_percent[a]": true, "sku_percent[b]": true}
	if len(got) != len(want) {
		t.Fatalf("violations %v", got)
	}
	for _, f := range got {
		if !want[f] {
			t.Fatalf("unexpected violation %s in %v", f, got)
		}
	}
}
