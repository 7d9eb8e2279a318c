package ledger

import (
	"maps"
	"math/big"
	"slices"
	"strconv"

	"github.com/huiyuan-dev/huiyuan/pkg/apperr"
)

// Limits of orders and earn rules.
const (
	MaxOrderItems   = 1000
	MaxItemQuantity = 1_000_000
	MaxAmountMinor  = 1_000_000_000_000_000 // per order and per unit price
	MaxPercent      = 100_000               // 1000×, for tier multipliers and rate overrides
	maxRatePoints   = 1_000_000
	maxRatePerMinor = 1_000_000_000
	maxRuleEntries  = 10_000
)

// Rate is Points points per PerMinor minor units of a currency.
type Rate struct {
	Points   int64
	PerMinor int64
}

// DefaultRate is 1 point per 100 minor units (one point per yuan, dollar or euro).
var DefaultRate = Rate{Points: 1, PerMinor: 100}

// EarnRules are a tenant's rules for the points an order earns.
type EarnRules struct {
	BaseRate      Rate            // zero: DefaultRate
	CurrencyRates map[string]Rate // by ISO 4217 code, replacing BaseRate for that currency
	MinOrderMinor int64           // orders whose total is below this earn nothing
	// ExcludedCategories and ExcludedSKUs earn nothing.
	ExcludedCategories []string
	ExcludedSKUs       []string
	// CategoryPercent and SKUPercent override the rate of matching items, as a percent of the
	// currency's rate (200: double, 50: half); a SKU override beats a category override.
	CategoryPercent map[string]int64
	SKUPercent      map[string]int64
}

// Order is what an order contributes to earning. Without items, its total earns at the
// currency's rate. With items, each item's quantity × unit price earns at its own rate; if
// the items add up to more than the total (a discount), each item's amount is scaled down in
// proportion, and if they add up to less (shipping, fees), only the items earn.
type Order struct {
	Currency   string // ISO 4217, upper case
	TotalMinor int64  // what the member paid
	Items      []Item
}

// Item is one order line.
type Item struct {
	SKU            string
	Category       string
	Quantity       int64
	UnitPriceMinor int64
}

// ValidateOrder checks o. Errors: Invalid on "currency", "total_minor", "items",
// "items[i].sku", "items[i].category", "items[i].quantity", "items[i].unit_price_minor".
func ValidateOrder(o Order) error {
	var v apperr.Violations
	if !ValidCurrency(o.Currency) {
		v.Add("currency", "must be an ISO 4217 code such as CNY")
	}
	if o.TotalMinor < 0 || o.TotalMinor > MaxAmountMinor {
		v.Add("total_minor", "must be between 0 and %d", int64(MaxAmountMinor))
	}
	if len(o.Items) > MaxOrderItems {
		v.Add("items", "must be at most %d", MaxOrderItems)
		return v.Err()
	}
	for i, it := range o.Items {
		p := "items[" + strconv.Itoa(i) + "]."
		if len(it.SKU) > MaxRefLen {
			v.Add(p+"sku", "must be at most %d bytes", MaxRefLen)
		}
		if len(it.Category) > MaxRefLen {
			v.Add(p+"category", "must be at most %d bytes", MaxRefLen)
		}
		if it.Quantity < 1 || it.Quantity > MaxItemQuantity {
			v.Add(p+"quantity", "must be between 1 and %d", MaxItemQuantity)
		}
		if it.UnitPriceMinor < 0 || it.UnitPriceMinor > MaxAmountMinor {
			v.Add(p+"unit_price_minor", "must be between 0 and %d", int64(MaxAmountMinor))
		}
	}
	return v.Err()
}

// Validate checks r. Errors: Invalid on "base_rate.points", "base_rate.per_minor",
// "currency_rates[C].points", "currency_rates[C].per_minor", "min_order_minor",
// "excluded_categories", "excluded_categories[i]", "excluded_skus", "excluded_skus[i]",
// "category_percent", "category_percent[K]", "sku_percent", "sku_percent[K]"; maps are checked
// in key order, so the violations do not depend on map iteration.
func (r EarnRules) Validate() error {
	var v apperr.Violations
	if r.BaseRate != (Rate{}) {
		r.BaseRate.validate("base_rate", &v)
	}
	for _, c := range slices.Sorted(maps.Keys(r.CurrencyRates)) {
		field := "currency_rates[" + c + "]"
		if !ValidCurrency(c) {
			v.Add(field, "must be keyed by an ISO 4217 code")
			continue
		}
		r.CurrencyRates[c].validate(field, &v)
	}
	if r.MinOrderMinor < 0 || r.MinOrderMinor > MaxAmountMinor {
		v.Add("min_order_minor", "must be between 0 and %d", int64(MaxAmountMinor))
	}
	checkNames("excluded_categories", r.ExcludedCategories, &v)
	checkNames("excluded_skus", r.ExcludedSKUs, &v)
	checkPercents("category_percent", r.CategoryPercent, &v)
	checkPercents("sku_percent", r.SKUPercent, &v)
	return v.Err()
}

// checkNames checks a list of categories or SKUs.
func checkNames(field string, names []string, v *apperr.Violations) {
	if len(names) > maxRuleEntries {
		v.Add(field, "must have at most %d entries", maxRuleEntries)
		return
	}
	for i, n := range names {
		if n == "" || len(n) > MaxRefLen {
			v.Add(field+"["+strconv.Itoa(i)+"]", "must be 1 to %d bytes", MaxRefLen)
		}
	}
}

// checkPercents checks rate overrides by category or SKU.
func checkPercents(field string, m map[string]int64, v *apperr.Violations) {
	if len(m) > maxRuleEntries {
		v.Add(field, "must have at most %d entries", maxRuleEntries)
		return
	}
	for _, k := range slices.Sorted(maps.Keys(m)) {
		if k == "" || len(k) > MaxRefLen {
			v.Add(field, "keys must be 1 to %d bytes", MaxRefLen)
			continue
		}
		if p := m[k]; p < 0 || p > MaxPercent {
			v.Add(field+"["+k+"]", "must be between 0 and %d", MaxPercent)
		}
	}
}

func (r Rate) validate(field string, v *apperr.Violations) {
	if r.Points < 0 || r.Points > maxRatePoints {
		v.Add(field+".points", "must be between 0 and %d", maxRatePoints)
	}
	if r.PerMinor < 1 || r.PerMinor > maxRatePerMinor {
		v.Add(field+".per_minor", "must be between 1 and %d", maxRatePerMinor)
	}
}

// rateFor returns the rate for currency c.
func (r *EarnRules) rateFor(c string) Rate {
	if rate, ok := r.CurrencyRates[c]; ok {
		return rate
	}
	if r.BaseRate != (Rate{}) {
		return r.BaseRate
	}
	return DefaultRate
}

// percentFor returns the percent of the rate item earns: 0 when excluded, else the SKU
// override, the category override, or 100.
func (r *EarnRules) percentFor(it *Item) int64 {
	for _, s := range r.ExcludedSKUs {
		if s == it.SKU && s != "" {
			return 0
		}
	}
	for _, c := range r.ExcludedCategories {
		if c == it.Category && c != "" {
			return 0
		}
	}
	if p, ok := r.SKUPercent[it.SKU]; ok && it.SKU != "" {
		return min(max(p, 0), MaxPercent)
	}
	if p, ok := r.CategoryPercent[it.Category]; ok && it.Category != "" {
		return min(max(p, 0), MaxPercent)
	}
	return 100
}

// PointsFor returns the points order o earns under rules for a member whose tier multiplies
// earnings by tierMultiplierPercent (100: none; 0 or less means 100). Everything is exact
// integer arithmetic with one rounding down at the end, and the result is at most MaxPoints.
// An order that ValidateOrder rejects earns 0. Rules should have passed Validate (once, when
// configured); out-of-range values are clamped (percents) or earn 0 (rates), never a panic.
func PointsFor(o Order, rules EarnRules, tierMultiplierPercent int64) int64 {
	if ValidateOrder(o) != nil || o.TotalMinor < rules.MinOrderMinor {
		return 0
	}
	mult := tierMultiplierPercent
	if mult <= 0 {
		mult = 100
	}
	mult = min(mult, MaxPercent)
	rate := rules.rateFor(o.Currency)
	if rate.Points <= 0 || rate.Points > maxRatePoints || rate.PerMinor < 1 || rate.PerMinor > maxRatePerMinor {
		return 0
	}

	// points = weighted × rate.Points × mult / (rate.PerMinor × 100 × 100), where weighted is
	// Σ amount × percent, scaled by total/itemsSum when the items exceed the total.
	num := new(big.Int)
	den := big.NewInt(rate.PerMinor * 100 * 100)
	if len(o.Items) == 0 {
		num.SetInt64(o.TotalMinor)
		num.Mul(num, big.NewInt(100))
	} else {
		var amount, term big.Int
		sum := new(big.Int)
		for i := range o.Items {
			it := &o.Items[i]
			amount.Mul(big.NewInt(it.Quantity), big.NewInt(it.UnitPriceMinor))
			sum.Add(sum, &amount)
			term.Mul(&amount, big.NewInt(rules.percentFor(it)))
			num.Add(num, &term)
		}
		if total := big.NewInt(o.TotalMinor); sum.Cmp(total) > 0 {
			num.Mul(num, total)
			den.Mul(den, sum)
		}
	}
	num.Mul(num, big.NewInt(rate.Points*mult))
	num.Quo(num, den) // both non-negative: truncation is rounding down
	if !num.IsInt64() || num.Int64() > MaxPoints {
		return MaxPoints
	}
	return num.Int64()
}

// ValidCurrency reports whether c is an ISO 4217 code: three upper-case ASCII letters.
func ValidCurrency(c string) bool {
	if len(c) != 3 {
		return false
	}
	for i := 0; i < 3; i++ {
		if c[i] < 'A' || c[i] > 'Z' {
			return false
		}
	}
	return true
}
