package coupon

import (
	"math/bits"
	"slices"
	"strconv"
)

// take is what one coupon does to a cart: the discount, its allocation over the cart's lines,
// or why it does not apply.
type take struct {
	discount int64
	alloc    []int64 // per line, sums to discount; nil when why is set
	why      Why
	detail   string
}

func refuse(why Why, detail string) take { return take{why: why, detail: detail} }

// apply computes the discount t gives on cart c whose lines have rem left to discount (after
// the coupons applied before it). The discount never exceeds what is left on the lines it
// applies to. Rules:
//   - the cart's currency must be the template's and its store in scope;
//   - merchandise lines are in scope by SKU and category; the unitemized rest only when the
//     scope names no categories or SKUs; delivery only for SHIPPING;
//   - the threshold compares with what is left of the in-scope merchandise;
//   - PERCENT rounds down to the minor unit; max_discount_minor caps every type.
func (t *Template) apply(c *Cart, lines []line, rem []int64) take {
	if c.Currency != t.Currency {
		return refuse(WhyWrongCurrency, "the coupon is in "+t.Currency)
	}
	if !t.Scope.storeAllowed(c.StoreID) {
		return refuse(WhyWrongStore, "the coupon is not valid in store "+strconv.Quote(c.StoreID))
	}
	in := make([]int, 0, len(lines))
	var original, eligible int64
	for i, l := range lines {
		if t.inScope(l) {
			in = append(in, i)
			original += l.amount
			eligible += rem[i]
		}
	}
	if t.Type != TypeShipping && original == 0 {
		return refuse(WhyOutOfScope, "nothing in the cart is in the coupon's scope")
	}
	if t.Type == TypeShipping && t.Scope.itemRules() && len(in) == 0 {
		return refuse(WhyOutOfScope, "nothing in the cart is in the coupon's scope")
	}
	if t.ThresholdMinor > 0 && eligible < t.ThresholdMinor {
		return refuse(WhyBelowThreshold, strconv.FormatInt(t.ThresholdMinor-eligible, 10)+" more of eligible items needed")
	}
	switch t.Type {
	case TypeThreshold, TypeFixed:
		return t.proportional(min(t.DiscountMinor, eligible), in, rem, len(lines))
	case TypePercent:
		return t.proportional(eligible*int64(t.PercentOff)/100, in, rem, len(lines)) // eligible <= MaxMinor: no overflow
	case TypeFreeItem:
		return t.freeItem(lines, rem, in)
	case TypeShipping:
		return t.shipping(lines, rem)
	}
	return refuse(WhyOutOfScope, "unknown coupon type")
}

// inScope reports whether line l can be discounted by t.
func (t *Template) inScope(l line) bool {
	switch l.kind {
	case lineItem:
		return t.Scope.itemAllowed(l.sku, l.cat)
	case lineUnitemized:
		return !t.Scope.itemRules()
	}
	return false
}

// capped applies max_discount_minor.
func (t *Template) capped(d int64) int64 {
	if t.MaxDiscountMinor > 0 && d > t.MaxDiscountMinor {
		return t.MaxDiscountMinor
	}
	return d
}

// proportional spreads discount d over lines idx in proportion to what is left on them.
func (t *Template) proportional(d int64, idx []int, rem []int64, n int) take {
	d = t.capped(d)
	alloc := make([]int64, n)
	allocate(d, idx, rem, alloc)
	return take{discount: d, alloc: alloc}
}

// allocate splits d (at most the sum of rem over idx) into alloc[i] <= rem[i], proportional to
// rem, rounding by largest remainder (ties to the earlier line), so the parts sum to d exactly.
func allocate(d int64, idx []int, rem []int64, alloc []int64) {
	var total int64
	for _, i := range idx {
		total += rem[i]
	}
	if d <= 0 || total <= 0 {
		return
	}
	type frac struct {
		i   int
		rem uint64
	}
	fracs := make([]frac, 0, len(idx))
	left := d
	for _, i := range idx {
		// d·rem[i] can exceed 64 bits; d <= total keeps the quotient below rem[i].
		hi, lo := bits.Mul64(uint64(d), uint64(rem[i]))
		q, r := bits.Div64(hi, lo, uint64(total))
		alloc[i] = int64(q)
		left -= int64(q)
		if r > 0 {
			fracs = append(fracs, frac{i, r})
		}
	}
	slices.SortStableFunc(fracs, func(a, b frac) int {
		switch {
		case a.rem > b.rem:
			return -1
		case a.rem < b.rem:
			return 1
		}
		return a.i - b.i
	})
	for k := 0; left > 0 && k < len(fracs); k++ {
		alloc[fracs[k].i]++
		left--
	}
}

// freeItem gives up to freeUnits units of the free SKU, from what is left on their lines.
func (t *Template) freeItem(lines []line, rem []int64, in []int) take {
	alloc := make([]int64, len(lines))
	units := t.freeUnits()
	found := false
	var d int64
	for _, i := range in {
		l := lines[i]
		if l.kind != lineItem || l.sku != t.FreeItemSKU || units == 0 {
			continue
		}
		found = true
		k := min(units, l.qty)
		units -= k
		give := min(rem[i], k*l.unitPrice)
		if cap := t.MaxDiscountMinor; cap > 0 && d+give > cap {
			give = cap - d
		}
		alloc[i] = give
		d += give
	}
	if !found {
		return refuse(WhyItemMissing, strconv.Quote(t.FreeItemSKU)+" is not in the cart")
	}
	return take{discount: d, alloc: alloc}
}

// shipping takes the delivery charge off, or discount_minor of it.
func (t *Template) shipping(lines []line, rem []int64) take {
	for i, l := range lines {
		if l.kind != lineShipping {
			continue
		}
		d := rem[i]
		if t.DiscountMinor > 0 {
			d = min(d, t.DiscountMinor)
		}
		d = t.capped(d)
		alloc := make([]int64, len(lines))
		alloc[i] = d
		return take{discount: d, alloc: alloc}
	}
	return refuse(WhyNoShipping, "the cart has no delivery charge")
}
