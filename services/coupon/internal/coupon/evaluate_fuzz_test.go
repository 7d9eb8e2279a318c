package coupon

import (
	"encoding/binary"
	"reflect"
	"strconv"
	"testing"
	"time"
)

// reader decodes fuzz bytes into small values; past the end it yields zeros.
type reader struct{ b []byte }

func (r *reader) byte() byte {
	if len(r.b) == 0 {
		return 0
	}
	x := r.b[0]
	r.b = r.b[1:]
	return x
}

func (r *reader) u16() int64 { return int64(binary.BigEndian.Uint16([]byte{r.byte(), r.byte()})) }

func (r *reader) pick(options ...string) string { return options[int(r.byte())%len(options)] }

// fuzzCase builds a cart and up to eight coupons of varied templates from b.
func fuzzCase(b []byte) (*Cart, []Candidate) {
	r := &reader{b: b}
	cart := &Cart{Currency: r.pick("CNY", "CNY", "CNY", "USD"), StoreID: r.pick("", "s1", "s2"), ShippingMinor: r.u16() % 2000}
	var sum int64
	for range int(r.byte() % 6) {
		it := Item{SKU: r.pick("a", "b", "c", "cola"), Category: r.pick("", "food", "drink"), Quantity: 1 + int64(r.byte()%5), UnitPriceMinor: r.u16()}
		cart.Items = append(cart.Items, it)
		sum += it.Quantity * it.UnitPriceMinor
	}
	cart.AmountMinor = sum + r.u16()%5000
	now := time.Date(2026, 3, 1, 2, 0, 0, 0, time.UTC)
	var cands []Candidate
	tmpls := map[string]*Template{}
	for i := range int(r.byte() % 9) {
		id := "t" + strconv.Itoa(int(r.byte()%6))
		t := tmpls[id]
		if t == nil {
			t = fuzzTemplate(r, id)
			tmpls[id] = t
		}
		c := &Coupon{ID: "c" + strconv.Itoa(i), Code: "C" + strconv.Itoa(i), TemplateID: t.ID, MemberID: "m1",
			State: State(2 + r.byte()%5), StartTime: now.Add(time.Duration(int(r.byte()%3)-1) * time.Hour), ExpireTime: now.Add(time.Duration(int(r.byte()%3)) * time.Hour)}
		if c.State == StateLocked {
			c.Lock = Lock{OrderID: r.pick("o1", "o2"), ExpireTime: now.Add(time.Duration(int(r.byte()%3)-1) * time.Minute)}
		}
		cands = append(cands, Candidate{Coupon: c, Template: t})
	}
	return cart, cands
}

func fuzzTemplate(r *reader, id string) *Template {
	t := &Template{ID: id, Title: "x", Currency: r.pick("CNY", "CNY", "USD"),
		Type: Type(1 + r.byte()%5), ThresholdMinor: r.u16() % 20000, DiscountMinor: r.u16(), MaxDiscountMinor: r.u16() % 3000,
		Status: StatusActive}
	switch t.Type {
	case TypePercent:
		t.PercentOff, t.DiscountMinor = 1+int32(r.byte()%100), 0
	case TypeFreeItem:
		t.FreeItemSKU, t.FreeItemQuantity, t.DiscountMinor = r.pick("cola", "a", "zz"), int32(r.byte()%4), 0
	}
	if r.byte()%2 == 1 {
		t.Stacking = Stacking{Mode: StackStackable, Priority: int32(r.byte()%5) - 2}
		for range int(r.byte() % 3) {
			t.Stacking.With = append(t.Stacking.With, Type(1+r.byte()%5))
		}
	} else {
		t.Stacking.Mode = StackExclusive
	}
	switch r.byte() % 4 {
	case 1:
		t.Scope.IncludeCategories = []string{r.pick("food", "drink")}
	case 2:
		t.Scope.ExcludeSKUs = []string{r.pick("a", "b", "cola")}
	case 3:
		t.Scope.IncludeStores = []string{r.pick("s1", "s2")}
	}
	return t
}

// FuzzEvaluate: whatever the cart and coupons, validation never panics, never gives a negative
// discount or more than the cart holds, its best combination is consistent (parts add up, one
// coupon per template, exclusive coupons alone, every pair allowed to stack, each part an
// applicable coupon) and at least as good as any single coupon, and it is deterministic.
func FuzzEvaluate(f *testing.F) {
	f.Add([]byte{})
	f.Add([]byte("\x00\x01\x01\x03\x03\x02\x00\x01\x10\x00\x05\x01\x00\x03\x00\x10\x27\x10\x00\x07\xd0\x00\x00\x01\x01\x00"))
	f.Add([]byte("coupons stacking on a cart of many things, some free, some shipped, some locked"))
	now := time.Date(2026, 3, 1, 2, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, b []byte) {
		cart, cands := fuzzCase(b)
		if err := NormalizeCart(cart, "cart."); err != nil {
			t.Fatalf("generated cart refused: %v", err)
		}
		ev := Evaluate(cart, cands, "m1", "o1", now)
		limit := cart.AmountMinor + cart.ShippingMinor
		byCode := map[string]*Template{}
		for _, c := range cands {
			byCode[c.Coupon.Code] = c.Template
		}
		applicable := map[string]int64{}
		var bestSingle int64
		for _, a := range ev.Applicable {
			if a.DiscountMinor < 0 || a.DiscountMinor > limit {
				t.Fatalf("applicable %s gives %d on a cart of %d", a.Code, a.DiscountMinor, limit)
			}
			applicable[a.Code] = a.DiscountMinor
			bestSingle = max(bestSingle, a.DiscountMinor)
		}
		if len(ev.Applicable)+len(ev.NotApplicable) != len(cands) {
			t.Fatalf("%d applicable + %d not != %d coupons", len(ev.Applicable), len(ev.NotApplicable), len(cands))
		}
		var total int64
		seen := map[string]bool{}
		for i, p := range ev.Best.Parts {
			if _, ok := applicable[p.Code]; !ok || p.DiscountMinor <= 0 {
				t.Fatalf("best part %+v is not an applicable coupon with a discount", p)
			}
			if seen[p.TemplateID] {
				t.Fatalf("template %s twice in %+v", p.TemplateID, ev.Best)
			}
			seen[p.TemplateID] = true
			total += p.DiscountMinor
			ti := byCode[p.Code]
			for _, q := range ev.Best.Parts[:i] {
				tq := byCode[q.Code]
				if !ti.Stacking.stacksWith(ti.Type, tq.Stacking, tq.Type) {
					t.Fatalf("%s and %s combined but do not stack", p.Code, q.Code)
				}
			}
		}
		if total != ev.Best.DiscountMinor || total > limit || total < bestSingle {
			t.Fatalf("best %d (parts %d), cart %d, best single %d", ev.Best.DiscountMinor, total, limit, bestSingle)
		}
		if again := Evaluate(cart, cands, "m1", "o1", now); !reflect.DeepEqual(again, ev) {
			t.Fatalf("not deterministic:\n%+v\n%+v", ev, again)
		}
	})
}

// FuzzNormalizeCart: a cart is refused as Invalid or its lines hold exactly its amount and
// delivery.
func FuzzNormalizeCart(f *testing.F) {
	f.Add(int64(1000), "cny", "s1", "sku", int64(2), int64(300), int64(50))
	f.Add(int64(-1), "CNY", "", "", int64(0), int64(0), int64(0))
	f.Add(int64(MaxMinor), "USD", "s\x00", "x", int64(MaxQuantity), int64(MaxMinor), int64(MaxMinor))
	f.Fuzz(func(t *testing.T, amount int64, cur, store, sku string, qty, price, ship int64) {
		c := &Cart{AmountMinor: amount, Currency: cur, StoreID: store, ShippingMinor: ship,
			Items: []Item{{SKU: sku, Quantity: qty, UnitPriceMinor: price}}}
		if err := NormalizeCart(c, "cart."); err != nil {
			return
		}
		var sum int64
		for _, l := range c.lines() {
			if l.amount <= 0 && l.kind != lineItem {
				t.Fatalf("empty line %+v", l)
			}
			sum += l.amount
		}
		if sum != c.AmountMinor+c.ShippingMinor {
			t.Fatalf("lines hold %d, cart %d + %d", sum, c.AmountMinor, c.ShippingMinor)
		}
	})
}
