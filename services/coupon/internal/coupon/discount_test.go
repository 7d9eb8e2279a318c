package coupon

import (
	"testing"
	"time"
)

// tmpl returns a valid template of type ty adjusted by fns.
func tmpl(ty Type, fns ...func(*Template)) *Template {
	t := &Template{ID: "t-" + ty.String(), Title: ty.String(), Type: ty, Currency: "CNY", ValidDays: 7, Status: StatusActive,
		Stacking: Stacking{Mode: StackExclusive}, RefundPolicy: RefundForfeit}
	switch ty {
	case TypeThreshold:
		t.ThresholdMinor, t.DiscountMinor = 10000, 2000
	case TypeFixed:
		t.DiscountMinor = 500
	case TypePercent:
		t.PercentOff = 15
	case TypeFreeItem:
		t.FreeItemSKU = "cola"
	}
	for _, fn := range fns {
		fn(t)
	}
	return t
}

func cartOf(amount int64, items ...Item) *Cart {
	return &Cart{AmountMinor: amount, Currency: "CNY", StoreID: "sh-001", Items: items}
}

func TestDiscountArithmetic(t *testing.T) {
	food := Item{SKU: "bread", Category: "food", Quantity: 2, UnitPriceMinor: 3000}   // 6000
	wine := Item{SKU: "wine", Category: "alcohol", Quantity: 1, UnitPriceMinor: 5000} // 5000
	cola := Item{SKU: "cola", Category: "drinks", Quantity: 3, UnitPriceMinor: 350}   // 1050
	odd := Item{SKU: "pen", Category: "office", Quantity: 1, UnitPriceMinor: 333}     // 333
	tests := []struct {
		name   string
		t      *Template
		cart   *Cart
		want   int64
		reason Why
	}{
		{name: "threshold met exactly", t: tmpl(TypeThreshold), cart: cartOf(10000), want: 2000},
		{name: "threshold one short", t: tmpl(TypeThreshold), cart: cartOf(9999), reason: WhyBelowThreshold},
		{name: "threshold on in-scope items only", t: tmpl(TypeThreshold, func(t *Template) { t.Scope.IncludeCategories = []string{"food"} }),
			cart: cartOf(11000, food, wine), reason: WhyBelowThreshold},
		{name: "threshold met by in-scope items", t: tmpl(TypeThreshold, func(t *Template) {
			t.Scope.IncludeCategories = []string{"food"}
			t.ThresholdMinor = 6000
		}), cart: cartOf(11000, food, wine), want: 2000},
		{name: "fixed capped by eligible", t: tmpl(TypeFixed, func(t *Template) { t.DiscountMinor = 9000 }), cart: cartOf(6000, food), want: 6000},
		{name: "fixed with min spend met", t: tmpl(TypeFixed, func(t *Template) { t.ThresholdMinor = 6000 }), cart: cartOf(6000, food), want: 500},
		{name: "percent rounds down", t: tmpl(TypePercent), cart: cartOf(333, odd), want: 49}, // 15% of 333 = 49.95
		{name: "percent exact", t: tmpl(TypePercent), cart: cartOf(10000), want: 1500},
		{name: "percent of one minor unit is zero", t: tmpl(TypePercent), cart: cartOf(1), want: 0},
		{name: "percent cap", t: tmpl(TypePercent, func(t *Template) { t.MaxDiscountMinor = 1000 }), cart: cartOf(10000), want: 1000},
		{name: "percent cap not reached", t: tmpl(TypePercent, func(t *Template) { t.MaxDiscountMinor = 1000 }), cart: cartOf(6000), want: 900},
		{name: "percent 100 takes all eligible", t: tmpl(TypePercent, func(t *Template) { t.PercentOff = 100 }), cart: cartOf(12345), want: 12345},
		{name: "excluded sku not discounted", t: tmpl(TypePercent, func(t *Template) { t.Scope.ExcludeSKUs = []string{"wine"} }),
			cart: cartOf(11000, food, wine), want: 900},
		{name: "excluded category", t: tmpl(TypePercent, func(t *Template) { t.Scope.ExcludeCategories = []string{"alcohol"} }),
			cart: cartOf(11000, food, wine), want: 900},
		{name: "include sku", t: tmpl(TypePercent, func(t *Template) { t.Scope.IncludeSKUs = []string{"wine"} }),
			cart: cartOf(11000, food, wine), want: 750},
		{name: "nothing in scope", t: tmpl(TypePercent, func(t *Template) { t.Scope.IncludeSKUs = []string{"caviar"} }),
			cart: cartOf(11000, food, wine), reason: WhyOutOfScope},
		{name: "unitemized rest outside item scope", t: tmpl(TypePercent, func(t *Template) { t.Scope.IncludeCategories = []string{"food"} }),
			cart: cartOf(20000, food), want: 900}, // the 14000 without items is not known to be food
		{name: "unitemized rest in scope without item rules", t: tmpl(TypePercent), cart: cartOf(20000, food), want: 3000},
		{name: "totals only with item rules", t: tmpl(TypePercent, func(t *Template) { t.Scope.IncludeCategories = []string{"food"} }),
			cart: cartOf(20000), reason: WhyOutOfScope},
		{name: "free item one unit", t: tmpl(TypeFreeItem), cart: cartOf(1050, cola), want: 350},
		{name: "free item two units", t: tmpl(TypeFreeItem, func(t *Template) { t.FreeItemQuantity = 2 }), cart: cartOf(1050, cola), want: 700},
		{name: "free item more units than bought", t: tmpl(TypeFreeItem, func(t *Template) { t.FreeItemQuantity = 5 }), cart: cartOf(1050, cola), want: 1050},
		{name: "free item capped", t: tmpl(TypeFreeItem, func(t *Template) { t.FreeItemQuantity = 3; t.MaxDiscountMinor = 500 }), cart: cartOf(1050, cola), want: 500},
		{name: "free item missing", t: tmpl(TypeFreeItem), cart: cartOf(6000, food), reason: WhyItemMissing},
		{name: "free item with threshold", t: tmpl(TypeFreeItem, func(t *Template) { t.ThresholdMinor = 7000 }), cart: cartOf(7050, food, cola), want: 350},
		{name: "shipping free", t: tmpl(TypeShipping), cart: &Cart{AmountMinor: 5000, Currency: "CNY", ShippingMinor: 800}, want: 800},
		{name: "shipping reduced", t: tmpl(TypeShipping, func(t *Template) { t.DiscountMinor = 500 }), cart: &Cart{AmountMinor: 5000, Currency: "CNY", ShippingMinor: 800}, want: 500},
		{name: "shipping reduction above charge", t: tmpl(TypeShipping, func(t *Template) { t.DiscountMinor = 1500 }), cart: &Cart{AmountMinor: 5000, Currency: "CNY", ShippingMinor: 800}, want: 800},
		{name: "no shipping charge", t: tmpl(TypeShipping), cart: cartOf(5000), reason: WhyNoShipping},
		{name: "shipping below threshold", t: tmpl(TypeShipping, func(t *Template) { t.ThresholdMinor = 9900 }), cart: &Cart{AmountMinor: 5000, Currency: "CNY", ShippingMinor: 800}, reason: WhyBelowThreshold},
		{name: "wrong currency", t: tmpl(TypeFixed, func(t *Template) { t.Currency = "USD" }), cart: cartOf(5000), reason: WhyWrongCurrency},
		{name: "store not included", t: tmpl(TypeFixed, func(t *Template) { t.Scope.IncludeStores = []string{"bj-001"} }), cart: cartOf(5000), reason: WhyWrongStore},
		{name: "store excluded", t: tmpl(TypeFixed, func(t *Template) { t.Scope.ExcludeStores = []string{"sh-001"} }), cart: cartOf(5000), reason: WhyWrongStore},
		{name: "store included", t: tmpl(TypeFixed, func(t *Template) { t.Scope.IncludeStores = []string{"sh-001"} }), cart: cartOf(5000), want: 500},
		{name: "empty cart", t: tmpl(TypeFixed), cart: cartOf(0), reason: WhyOutOfScope},
		{name: "largest amounts", t: tmpl(TypePercent, func(t *Template) { t.PercentOff = 99 }), cart: cartOf(MaxMinor), want: MaxMinor / 100 * 99},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := NormalizeCart(tt.cart, "cart."); err != nil {
				t.Fatal(err)
			}
			got, why, detail := Discount(tt.cart, tt.t)
			if why != tt.reason {
				t.Fatalf("reason = %s (%s), want %s", why, detail, tt.reason)
			}
			if tt.reason == WhyUnspecified && got != tt.want {
				t.Fatalf("discount = %d, want %d", got, tt.want)
			}
		})
	}
}

func TestAllocateSumsExactly(t *testing.T) {
	tests := []struct {
		d    int64
		rem  []int64
		want []int64
	}{
		{d: 10, rem: []int64{1, 1, 1}, want: []int64{1, 1, 1}},
		{d: 2, rem: []int64{1, 1, 1}, want: []int64{1, 1, 0}}, // ties go to the earlier line
		{d: 100, rem: []int64{333, 333, 334}, want: []int64{33, 33, 34}},
		{d: 7, rem: []int64{10, 0, 4}, want: []int64{5, 0, 2}},
		{d: MaxMinor, rem: []int64{MaxMinor, MaxMinor}, want: []int64{MaxMinor / 2, MaxMinor / 2}}, // needs 128-bit products
	}
	for _, tt := range tests {
		idx := make([]int, len(tt.rem))
		for i := range idx {
			idx[i] = i
		}
		got := make([]int64, len(tt.rem))
		allocate(min(tt.d, sum(tt.rem)), idx, tt.rem, got)
		for i := range got {
			if got[i] != tt.want[i] {
				t.Fatalf("allocate(%d, %v) = %v, want %v", tt.d, tt.rem, got, tt.want)
			}
		}
	}
}

func sum(xs []int64) int64 {
	var s int64
	for _, x := range xs {
		s += x
	}
	return s
}

func stackable(with ...Type) func(*Template) {
	return func(t *Template) { t.Stacking = Stacking{Mode: StackStackable, With: with} }
}

func priority(p int32) func(*Template) { return func(t *Template) { t.Stacking.Priority = p } }

func id(s string) func(*Template) { return func(t *Template) { t.ID = s; t.Title = s } }

// TestBestCombination covers the stacking rules: exclusive coupons alone, mutual type lists,
// one coupon per template, and the order of application (priority, then amounts before
// percentages), each coupon taking its share from what the earlier ones left.
func TestBestCombination(t *testing.T) {
	now := time.Date(2026, 3, 1, 2, 0, 0, 0, time.UTC)
	type c struct {
		code string
		t    *Template
	}
	tests := []struct {
		name      string
		cart      *Cart
		coupons   []c
		wantTotal int64
		wantCodes []string
	}{
		{name: "exclusive coupons: the larger one alone", cart: cartOf(20000), coupons: []c{
			{"A", tmpl(TypeThreshold, id("th"))},
			{"B", tmpl(TypePercent, id("pc"))},
		}, wantTotal: 3000, wantCodes: []string{"B"}},
		{name: "stackable pair beats either", cart: cartOf(20000), coupons: []c{
			{"A", tmpl(TypeThreshold, id("th"), stackable())},
			{"B", tmpl(TypePercent, id("pc"), stackable())},
		}, wantTotal: 2000 + 2700, wantCodes: []string{"A", "B"}}, // 15% of what 满减 left (18000)
		{name: "priority puts the percentage first", cart: cartOf(20000), coupons: []c{
			{"A", tmpl(TypeThreshold, id("th"), stackable())},
			{"B", tmpl(TypePercent, id("pc"), stackable(), priority(10))},
		}, wantTotal: 3000 + 2000, wantCodes: []string{"B", "A"}}, // 17000 left still meets 10000
		{name: "threshold judged on what is left", cart: cartOf(11000), coupons: []c{
			{"A", tmpl(TypeThreshold, id("th"), stackable())},
			{"B", tmpl(TypeFixed, id("fx"), stackable(), priority(10), func(t *Template) { t.DiscountMinor = 2000 })},
		}, wantTotal: 2000, wantCodes: []string{"A"}}, // after B only 9000 is left: one alone, A by code order
		{name: "type lists must allow each other", cart: cartOf(20000), coupons: []c{
			{"A", tmpl(TypeThreshold, id("th"), stackable(TypePercent))},
			{"B", tmpl(TypePercent, id("pc"), stackable(TypeFixed))},
		}, wantTotal: 3000, wantCodes: []string{"B"}},
		{name: "exclusive beats a weaker stack", cart: cartOf(20000), coupons: []c{
			{"A", tmpl(TypeFixed, id("f1"), stackable(), func(t *Template) { t.DiscountMinor = 100 })},
			{"B", tmpl(TypeFixed, id("f2"), stackable(), func(t *Template) { t.DiscountMinor = 100 })},
			{"C", tmpl(TypeFixed, id("big"), func(t *Template) { t.DiscountMinor = 5000 })},
		}, wantTotal: 5000, wantCodes: []string{"C"}},
		{name: "one coupon per template", cart: cartOf(20000), coupons: []c{
			{"A", tmpl(TypeFixed, id("same"), stackable())},
			{"B", tmpl(TypeFixed, id("same"), stackable())},
		}, wantTotal: 500, wantCodes: []string{"A"}},
		{name: "stack never exceeds the cart", cart: cartOf(1000), coupons: []c{
			{"A", tmpl(TypeFixed, id("f1"), stackable(), func(t *Template) { t.DiscountMinor = 800 })},
			{"B", tmpl(TypeFixed, id("f2"), stackable(), func(t *Template) { t.DiscountMinor = 800 })},
		}, wantTotal: 1000, wantCodes: []string{"A", "B"}},
		{name: "shipping stacks on top of merchandise", cart: &Cart{AmountMinor: 1000, Currency: "CNY", ShippingMinor: 600}, coupons: []c{
			{"A", tmpl(TypeFixed, id("f1"), stackable(), func(t *Template) { t.DiscountMinor = 5000 })},
			{"B", tmpl(TypeShipping, id("sh"), stackable())},
		}, wantTotal: 1600, wantCodes: []string{"A", "B"}},
		{name: "scoped coupons share nothing", cart: cartOf(11000, Item{SKU: "bread", Category: "food", Quantity: 2, UnitPriceMinor: 3000},
			Item{SKU: "wine", Category: "alcohol", Quantity: 1, UnitPriceMinor: 5000}), coupons: []c{
			{"A", tmpl(TypePercent, id("food"), stackable(), func(t *Template) { t.PercentOff = 50; t.Scope.IncludeCategories = []string{"food"} })},
			{"B", tmpl(TypeFixed, id("any"), stackable(), func(t *Template) { t.DiscountMinor = 9000 })},
		}, wantTotal: 9000 + 545, wantCodes: []string{"B", "A"}}, // B first (amounts before percentages) takes 4909 of the food, A half of the 1091 left
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := NormalizeCart(tt.cart, "cart."); err != nil {
				t.Fatal(err)
			}
			var cands []Candidate
			for _, x := range tt.coupons {
				cands = append(cands, Candidate{Template: x.t, Coupon: &Coupon{ID: x.code, Code: x.code, TemplateID: x.t.ID, MemberID: "m1",
					State: StateAvailable, StartTime: now.Add(-time.Hour), ExpireTime: now.Add(time.Hour)}})
			}
			ev := Evaluate(tt.cart, cands, "m1", "", now)
			var codes []string
			var parts int64
			for _, p := range ev.Best.Parts {
				codes = append(codes, p.Code)
				parts += p.DiscountMinor
			}
			if ev.Best.DiscountMinor != tt.wantTotal || parts != tt.wantTotal {
				t.Fatalf("best = %d (parts %d) %v, want %d %v", ev.Best.DiscountMinor, parts, codes, tt.wantTotal, tt.wantCodes)
			}
			if len(codes) != len(tt.wantCodes) {
				t.Fatalf("codes = %v, want %v", codes, tt.wantCodes)
			}
			for i := range codes {
				if codes[i] != tt.wantCodes[i] {
					t.Fatalf("codes = %v, want %v", codes, tt.wantCodes)
				}
			}
		})
	}
}

func TestEvaluateStates(t *testing.T) {
	now := time.Date(2026, 3, 1, 2, 0, 0, 0, time.UTC)
	tp := tmpl(TypeFixed)
	mk := func(code string, fn func(*Coupon)) Candidate {
		c := &Coupon{ID: code, Code: code, TemplateID: tp.ID, MemberID: "m1", State: StateAvailable, StartTime: now.Add(-time.Hour), ExpireTime: now.Add(time.Hour)}
		fn(c)
		return Candidate{Coupon: c, Template: tp}
	}
	cands := []Candidate{
		mk("OK", func(*Coupon) {}),
		mk("EXPIRED", func(c *Coupon) { c.ExpireTime = now }),
		mk("LATER", func(c *Coupon) { c.StartTime = now.Add(time.Minute) }),
		mk("LOCKED", func(c *Coupon) {
			c.State, c.Lock = StateLocked, Lock{OrderID: "o-other", ExpireTime: now.Add(time.Minute)}
		}),
		mk("MINE", func(c *Coupon) { c.State, c.Lock = StateLocked, Lock{OrderID: "o-1", ExpireTime: now.Add(time.Minute)} }),
		mk("LAPSED", func(c *Coupon) { c.State, c.Lock = StateLocked, Lock{OrderID: "o-other", ExpireTime: now} }),
		mk("USED", func(c *Coupon) { c.State = StateRedeemed }),
		mk("THEIRS", func(c *Coupon) { c.MemberID = "m2" }),
	}
	ev := Evaluate(cartOf(5000), cands, "m1", "o-1", now)
	want := map[string]Why{"EXPIRED": WhyExpired, "LATER": WhyNotYetValid, "LOCKED": WhyLocked, "USED": WhyNotAvailable, "THEIRS": WhyNotAvailable}
	if len(ev.NotApplicable) != len(want) {
		t.Fatalf("not applicable = %+v", ev.NotApplicable)
	}
	for _, n := range ev.NotApplicable {
		if want[n.Code] != n.Why {
			t.Fatalf("%s: %s, want %s", n.Code, n.Why, want[n.Code])
		}
	}
	if len(ev.Applicable) != 3 { // OK, MINE (locked for this order), LAPSED (its lock ran out)
		t.Fatalf("applicable = %+v", ev.Applicable)
	}
}
