package ledger_test

import (
	"math/big"
	"testing"

	"github.com/huiyuan-dev/huiyuan/services/loyalty/internal/ledger"
)

// FuzzPointsFor checks, on arbitrary orders of up to two items, that PointsFor never panics,
// stays within [0, MaxPoints], gives nothing to orders ValidateOrder rejects, does not depend
// on item order, never falls when the tier multiplier rises, and never pays more than the
// most generous rate allows on what was paid. Seeds are in testdata/fuzz/FuzzPointsFor.
func FuzzPointsFor(f *testing.F) {
	rules := ledger.EarnRules{
		ExcludedCategories: []string{"tobacco"},
		ExcludedSKUs:       []string{"gift-card"},
		CategoryPercent:    map[string]int64{"wine": 50, "promo": 300},
		SKUPercent:         map[string]int64{"wine-special": 200},
		MinOrderMinor:      100,
	}
	const maxPercent = 300
	f.Fuzz(func(t *testing.T, currency string, total int64, sku1, cat1 string, qty1, price1 int64,
		sku2, cat2 string, qty2, price2 int64, items uint8, mult int64) {
		o := ledger.Order{Currency: currency, TotalMinor: total}
		all := []ledger.Item{{SKU: sku1, Category: cat1, Quantity: qty1, UnitPriceMinor: price1},
			{SKU: sku2, Category: cat2, Quantity: qty2, UnitPriceMinor: price2}}
		o.Items = all[:items%3]
		p := ledger.PointsFor(o, rules, mult)
		if p < 0 || p > ledger.MaxPoints {
			t.Fatalf("PointsFor = %d", p)
		}
		if ledger.ValidateOrder(o) != nil {
			if p != 0 {
				t.Fatalf("invalid order %+v earned %d", o, p)
			}
			return
		}
		if len(o.Items) == 2 {
			swapped := o
			swapped.Items = []ledger.Item{all[1], all[0]}
			if q := ledger.PointsFor(swapped, rules, mult); q != p {
				t.Fatalf("item order matters: %d vs %d", p, q)
			}
		}
		m := mult
		if m <= 0 {
			m = 100
		}
		if m < ledger.MaxPercent-50 {
			if q := ledger.PointsFor(o, rules, m+50); q < p {
				t.Fatalf("multiplier %d earns %d, %d earns %d", m, p, m+50, q)
			}
		}
		// Upper bound: what was paid (the total, or the items when they add up to less) at
		// the most generous percent and the default 1 point per 100.
		paid := big.NewInt(o.TotalMinor)
		if len(o.Items) > 0 {
			sum := new(big.Int)
			for _, it := range o.Items {
				sum.Add(sum, new(big.Int).Mul(big.NewInt(it.Quantity), big.NewInt(it.UnitPriceMinor)))
			}
			if sum.Cmp(paid) < 0 {
				paid = sum
			}
		}
		bound := new(big.Int).Mul(paid, big.NewInt(maxPercent*min(m, ledger.MaxPercent)))
		bound.Quo(bound, big.NewInt(100*100*100))
		if big.NewInt(p).Cmp(bound) > 0 {
			t.Fatalf("order %+v ×%d earned %d, more than %v", o, mult, p, bound)
		}
	})
}
