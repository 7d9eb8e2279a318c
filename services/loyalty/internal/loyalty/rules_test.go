package loyalty_test

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/huiyuan-dev/huiyuan/pkg/apperr"
	"github.com/huiyuan-dev/huiyuan/services/loyalty/internal/ledger"
	"github.com/huiyuan-dev/huiyuan/services/loyalty/internal/loyalty"
)

func TestValidToken(t *testing.T) {
	cases := map[string]bool{
		"POS-1001": true, "a.b_c:d-e": true, "01a2032b-d4b1-7a62-9bd5-0d1d399b6c2c": true,
		strings.Repeat("x", 128): true, strings.Repeat("x", 129): false,
		"": false, "has space": false, "a/b": false, "a\x00b": false, "订单": false, "a#1": false,
	}
	for s, want := range cases {
		if got := loyalty.ValidToken(s); got != want {
			t.Errorf("ValidToken(%q) = %v, want %v", s, got, want)
		}
	}
}

func fields(err error) []string {
	var e *apperr.Error
	if !errors.As(err, &e) {
		return nil
	}
	var out []string
	for _, v := range e.Violations {
		out = append(out, v.Field)
	}
	return out
}

func TestCheckOrder(t *testing.T) {
	now := time.Date(2026, 3, 1, 2, 0, 0, 0, time.UTC)
	ok := loyalty.Order{ID: "o1", MemberID: "m1", AmountMinor: 100, Currency: "CNY"}
	cases := []struct {
		name   string
		change func(o *loyalty.Order)
		want   []string
	}{
		{"valid", func(*loyalty.Order) {}, nil},
		{"non-member", func(o *loyalty.Order) { o.MemberID = "" }, nil},
		{"bad id", func(o *loyalty.Order) { o.ID = "" }, []string{"order.id"}},
		{"bad member", func(o *loyalty.Order) { o.MemberID = "m 1" }, []string{"order.member_id"}},
		{"bad store", func(o *loyalty.Order) { o.StoreID = "s/1" }, []string{"order.store_id"}},
		{"zero amount", func(o *loyalty.Order) { o.AmountMinor = 0 }, []string{"order.amount_minor"}},
		{"huge amount", func(o *loyalty.Order) { o.AmountMinor = ledger.MaxAmountMinor + 1 }, []string{"order.amount_minor"}},
		{"currency", func(o *loyalty.Order) { o.Currency = "Cny" }, []string{"order.currency"}},
		{"items", func(o *loyalty.Order) { o.Items = []ledger.Item{{SKU: strings.Repeat("s", 129), Quantity: 1}} }, []string{"order.items[0].sku"}},
		// The policy's checks, each with its reason, are Settings.AcceptOrder's (accept_test.go).
		{"a currency not accepted", func(o *loyalty.Order) { o.Currency = "XAU" }, nil},
		{"items over the amount", func(o *loyalty.Order) { o.Items = []ledger.Item{{Quantity: 2, UnitPriceMinor: 100}} }, nil},
		{"a time out of range", func(o *loyalty.Order) { o.CreateTime = now.Add(25 * time.Hour) }, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			o := ok
			tc.change(&o)
			var v apperr.Violations
			loyalty.CheckOrder(&v, "order.", &o, now)
			if got := fields(v.Err()); !slices.Equal(got, tc.want) {
				t.Fatalf("violations %v, want %v", got, tc.want)
			}
		})
	}
}

func TestCheckRefAndText(t *testing.T) {
	var v apperr.Violations
	loyalty.CheckRef(&v, "a", "checkout #9 / 订单")
	loyalty.CheckRef(&v, "b", "bad\nref")
	loyalty.CheckRef(&v, "c", strings.Repeat("x", 129))
	loyalty.CheckText(&v, "d", strings.Repeat("字", 500), 500)
	loyalty.CheckText(&v, "e", strings.Repeat("字", 501), 500)
	loyalty.CheckText(&v, "f", "\xff", 500)
	loyalty.CheckPoints(&v, "g", 0)
	loyalty.CheckPoints(&v, "h", ledger.MaxPoints)
	if got := fields(v.Err()); !slices.Equal(got, []string{"b", "c", "e", "f", "g"}) {
		t.Fatalf("violations %v", got)
	}
}

// TestOrderSame tells a retry of an order (which gets the recorded order back) from a
// different order under the same id.
func TestOrderSame(t *testing.T) {
	at := time.Date(2026, 3, 1, 2, 0, 0, 0, time.UTC)
	recorded := loyalty.Order{ID: "o", MemberID: "m", AmountMinor: 100, Currency: "CNY", StoreID: "s",
		Items: []ledger.Item{{SKU: "a", Quantity: 1, UnitPriceMinor: 100}}, CreateTime: at, TimeDefaulted: true}
	given := recorded
	given.TimeDefaulted = false
	tests := []struct {
		name     string
		recorded loyalty.Order
		in       func(o *loyalty.Order)
		want     bool
	}{
		{"retry without a time", recorded, func(o *loyalty.Order) { o.CreateTime = time.Time{} }, true},
		{"a time where none was given", recorded, func(*loyalty.Order) {}, false},
		{"retry with the given time", given, func(*loyalty.Order) {}, true},
		{"another time", given, func(o *loyalty.Order) { o.CreateTime = at.Add(time.Second) }, false},
		{"no time where one was given", given, func(o *loyalty.Order) { o.CreateTime = time.Time{} }, false},
		{"another amount", given, func(o *loyalty.Order) { o.AmountMinor++ }, false},
		{"another member", given, func(o *loyalty.Order) { o.MemberID = "n" }, false},
		{"another store", given, func(o *loyalty.Order) { o.StoreID = "t" }, false},
		{"other items", given, func(o *loyalty.Order) { o.Items = nil }, false},
		{"outputs do not count", given, func(o *loyalty.Order) { o.PointsEarned, o.Sequence = 9, 9 }, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := tt.recorded
			in.TimeDefaulted = false
			in.Items = slices.Clone(tt.recorded.Items)
			tt.in(&in)
			if got := tt.recorded.Same(&in); got != tt.want {
				t.Fatalf("Same = %v, want %v", got, tt.want)
			}
		})
	}
}
