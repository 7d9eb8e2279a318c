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
		{"future", func(o *loyalty.Order) { o.CreateTime = now.Add(25 * time.Hour) }, []string{"order.create_time"}},
		{"near future", func(o *loyalty.Order) { o.CreateTime = now.Add(time.Hour) }, nil},
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

func TestSettings(t *testing.T) {
	l, err := ledger.New(ledger.Config{})
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	s := loyalty.Settings{Ledger: l, TierPercent: map[string]int64{"gold": 150, "frozen": 0}}
	if !s.PendingUntil(at).IsZero() {
		t.Fatal("no return window expected")
	}
	s.PendingDays = 7
	if got := s.PendingUntil(at); !got.Equal(at.AddDate(0, 0, 7)) {
		t.Fatalf("PendingUntil = %v", got)
	}
	o := loyalty.Order{ID: "o", MemberID: "m", AmountMinor: 12_399, Currency: "CNY"}
	tiers := []struct {
		tier      string
		pct, want int64
	}{{"", 100, 123}, {"silver", 100, 123}, {"gold", 150, 185}, {"frozen", 0, 0}}
	for _, tc := range tiers {
		pct := s.TierMultiplier(tc.tier)
		if pct != tc.pct {
			t.Fatalf("TierMultiplier(%q) = %d, want %d", tc.tier, pct, tc.pct)
		}
		if got := s.Earned(&o, pct); got != tc.want {
			t.Fatalf("Earned at tier %q = %d, want %d", tc.tier, got, tc.want)
		}
	}
	o.MemberID = ""
	if got := s.Earned(&o, 150); got != 0 {
		t.Fatalf("a non-member order earned %d", got)
	}
}
