package coupon

import (
	"strconv"

	"github.com/huiyuan-dev/huiyuan/pkg/apperr"
)

// MaxCartItems is the most items a cart may list.
const MaxCartItems = 500

// MaxQuantity is the largest quantity of one item.
const MaxQuantity = 1_000_000

// Cart is what a discount is computed on. AmountMinor is the merchandise total; the part not
// covered by Items is unitemized (a till may send totals only).
type Cart struct {
	AmountMinor   int64
	Currency      string
	StoreID       string
	Items         []Item
	ShippingMinor int64
}

// Item is one line of a cart.
type Item struct {
	SKU, Category  string
	Quantity       int64
	UnitPriceMinor int64
}

// NormalizeCart checks c and upper-cases its currency. Violations name the request's fields
// under prefix ("cart."). Errors: Invalid.
func NormalizeCart(c *Cart, prefix string) error {
	var v apperr.Violations
	f := func(s string) string { return prefix + s }
	amount(&v, f("amount_minor"), c.AmountMinor)
	amount(&v, f("shipping_minor"), c.ShippingMinor)
	if cur, ok := Currency(c.Currency); ok {
		c.Currency = cur
	} else {
		v.Add(f("currency"), "must be an ISO 4217 code such as CNY")
	}
	if c.StoreID != "" && !validToken(c.StoreID) {
		v.Add(f("store_id"), "must be 1-%d printable characters", MaxToken)
	}
	if len(c.Items) > MaxCartItems {
		v.Add(f("items"), "must hold at most %d items", MaxCartItems)
		return v.Err()
	}
	var sum int64
	for i, it := range c.Items {
		p := f("items[" + strconv.Itoa(i) + "].")
		if !validToken(it.SKU) {
			v.Add(p+"sku", "is required: 1-%d printable characters", MaxToken)
		}
		if it.Category != "" && !validToken(it.Category) {
			v.Add(p+"category", "must be 1-%d printable characters", MaxToken)
		}
		if it.Quantity < 1 || it.Quantity > MaxQuantity {
			v.Add(p+"quantity", "must be between 1 and %d", MaxQuantity)
			continue
		}
		if it.UnitPriceMinor < 0 || it.UnitPriceMinor > MaxMinor/it.Quantity {
			v.Add(p+"unit_price_minor", "must be between 0 and %d divided by the quantity", int64(MaxMinor))
			continue
		}
		sum += it.Quantity * it.UnitPriceMinor // each term <= MaxMinor and at most 500 of them: no overflow
	}
	if err := v.Err(); err != nil {
		return err
	}
	if sum > c.AmountMinor {
		v.Add(f("amount_minor"), "must be at least the sum of the items (%d)", sum)
	}
	return v.Err()
}

// lineKind tells merchandise from delivery.
type lineKind int8

const (
	lineItem       lineKind = iota // an item
	lineUnitemized                 // the merchandise not covered by items
	lineShipping                   // the delivery charge
)

// line is one part of a cart a discount can be taken from.
type line struct {
	kind      lineKind
	sku, cat  string
	qty       int64
	unitPrice int64
	amount    int64
}

// lines splits a normalised cart into its items, the unitemized rest and the delivery charge.
func (c *Cart) lines() []line {
	out := make([]line, 0, len(c.Items)+2)
	var sum int64
	for _, it := range c.Items {
		a := it.Quantity * it.UnitPriceMinor
		sum += a
		out = append(out, line{kind: lineItem, sku: it.SKU, cat: it.Category, qty: it.Quantity, unitPrice: it.UnitPriceMinor, amount: a})
	}
	if rest := c.AmountMinor - sum; rest > 0 {
		out = append(out, line{kind: lineUnitemized, amount: rest})
	}
	if c.ShippingMinor > 0 {
		out = append(out, line{kind: lineShipping, amount: c.ShippingMinor})
	}
	return out
}
