package loyalty_test

import (
	"slices"
	"testing"
	"time"

	"github.com/huiyuan-dev/huiyuan/pkg/apperr"
	"github.com/huiyuan-dev/huiyuan/services/loyalty/internal/ledger"
	"github.com/huiyuan-dev/huiyuan/services/loyalty/internal/loyalty"
)

// TestAcceptOrder: each order the tenant's policy refuses gets its own reason and one violation
// on its field, named under the order's place in the request; the edges of each rule pass.
func TestAcceptOrder(t *testing.T) {
	now := t0
	def, err := loyalty.DefaultPolicy().Compile()
	if err != nil {
		t.Fatal(err)
	}
	p := loyalty.DefaultPolicy()
	p.AcceptedCurrencies, p.MaxOrderAgeDays = []string{"CNY", "USD"}, 30
	own, err := p.Compile()
	if err != nil {
		t.Fatal(err)
	}
	item := func(q, price int64) ledger.Item { return ledger.Item{SKU: "s", Quantity: q, UnitPriceMinor: price} }
	tests := []struct {
		name   string
		set    *loyalty.Settings
		prefix string
		change func(o *loyalty.Order)
		reason string // "" accepted
		field  string
	}{
		{"the default currency", def, "order.", func(*loyalty.Order) {}, "", ""},
		{"a currency the default refuses", def, "order.", func(o *loyalty.Order) { o.Currency = "USD" },
			loyalty.ReasonCurrencyNotAccepted, "order.currency"},
		{"a currency the tenant added", own, "order.", func(o *loyalty.Order) { o.Currency = "USD" }, "", ""},
		{"a currency the tenant does not list", own, "order.", func(o *loyalty.Order) { o.Currency = "EUR" },
			loyalty.ReasonCurrencyNotAccepted, "order.currency"},
		{"in a batch", own, "orders[7].", func(o *loyalty.Order) { o.Currency = "JPY" },
			loyalty.ReasonCurrencyNotAccepted, "orders[7].currency"},

		{"items equal to the amount", def, "order.", func(o *loyalty.Order) { o.Items = []ledger.Item{item(2, 3000), item(1, 4000)} }, "", ""},
		{"items below the amount (shipping)", def, "order.", func(o *loyalty.Order) { o.Items = []ledger.Item{item(1, 9999)} }, "", ""},
		{"free items", def, "order.", func(o *loyalty.Order) { o.Items = []ledger.Item{item(5, 0), item(1, 10_000)} }, "", ""},
		{"items one fen over", def, "order.", func(o *loyalty.Order) { o.Items = []ledger.Item{item(2, 3000), item(1, 4001)} },
			loyalty.ReasonItemsExceedAmount, "order.items"},
		{"one line over", def, "order.", func(o *loyalty.Order) { o.Items = []ledger.Item{item(3, 3334)} },
			loyalty.ReasonItemsExceedAmount, "order.items"},
		{"lines whose product overflows int64", def, "orders[0].", func(o *loyalty.Order) {
			o.Items = []ledger.Item{item(ledger.MaxItemQuantity, ledger.MaxAmountMinor)}
		}, loyalty.ReasonItemsExceedAmount, "orders[0].items"},
		{"many lines each within", def, "order.", func(o *loyalty.Order) {
			o.Items = slices.Repeat([]ledger.Item{item(1, 10)}, 1000)
		}, "", ""},
		{"many lines together over", def, "order.", func(o *loyalty.Order) {
			o.Items = slices.Repeat([]ledger.Item{item(1, 11)}, 1000)
		}, loyalty.ReasonItemsExceedAmount, "order.items"},

		{"no time: now", def, "order.", func(o *loyalty.Order) { o.CreateTime = time.Time{} }, "", ""},
		{"exactly 90 days ago", def, "order.", func(o *loyalty.Order) { o.CreateTime = now.Add(-90 * 24 * time.Hour) }, "", ""},
		{"90 days and a nanosecond ago", def, "order.", func(o *loyalty.Order) { o.CreateTime = now.Add(-90*24*time.Hour - 1) },
			loyalty.ReasonOrderTimeOutOfRange, "order.create_time"},
		{"a year ago", def, "order.", func(o *loyalty.Order) { o.CreateTime = now.AddDate(-1, 0, 0) },
			loyalty.ReasonOrderTimeOutOfRange, "order.create_time"},
		{"31 days ago under a 30-day window", own, "orders[2].", func(o *loyalty.Order) { o.CreateTime = now.Add(-31 * 24 * time.Hour) },
			loyalty.ReasonOrderTimeOutOfRange, "orders[2].create_time"},
		{"29 days ago under a 30-day window", own, "order.", func(o *loyalty.Order) { o.CreateTime = now.Add(-29 * 24 * time.Hour) }, "", ""},
		{"exactly 5 minutes ahead", def, "order.", func(o *loyalty.Order) { o.CreateTime = now.Add(loyalty.MaxFutureSkew) }, "", ""},
		{"5 minutes and a nanosecond ahead", def, "order.", func(o *loyalty.Order) { o.CreateTime = now.Add(loyalty.MaxFutureSkew + 1) },
			loyalty.ReasonOrderTimeOutOfRange, "order.create_time"},
		{"an hour ahead", def, "order.", func(o *loyalty.Order) { o.CreateTime = now.Add(time.Hour) },
			loyalty.ReasonOrderTimeOutOfRange, "order.create_time"},
		{"in another zone, within", def, "order.", func(o *loyalty.Order) {
			o.CreateTime = now.Add(4 * time.Minute).In(time.FixedZone("CST", 8*3600))
		}, "", ""},

		{"the currency is checked first", def, "order.", func(o *loyalty.Order) {
			o.Currency, o.Items, o.CreateTime = "USD", []ledger.Item{item(2, 10_000)}, now.Add(time.Hour)
		}, loyalty.ReasonCurrencyNotAccepted, "order.currency"},
		{"then the items", def, "order.", func(o *loyalty.Order) {
			o.Items, o.CreateTime = []ledger.Item{item(2, 10_000)}, now.Add(time.Hour)
		}, loyalty.ReasonItemsExceedAmount, "order.items"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := loyalty.Order{ID: "o1", MemberID: "m1", AmountMinor: 10_000, Currency: "CNY", CreateTime: now.Add(-time.Hour)}
			tt.change(&o)
			var v apperr.Violations
			loyalty.CheckOrder(&v, tt.prefix, &o, now)
			if err := v.Err(); err != nil {
				t.Fatalf("CheckOrder refuses the case itself: %v", err)
			}
			err := tt.set.AcceptOrder(&o, tt.prefix, now)
			if tt.reason == "" {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			if apperr.CodeOf(err) != apperr.Invalid || apperr.ReasonOf(err) != tt.reason || !slices.Equal(fields(err), []string{tt.field}) {
				t.Fatalf("got %v %s %v, want Invalid %s on %s", err, apperr.ReasonOf(err), fields(err), tt.reason, tt.field)
			}
		})
	}
}

// TestRecordOrderRefused: an order the policy refuses records nothing, so the balance, the
// journal and the events stay as they were and the order id stays free; the same id recorded
// correctly afterwards earns as any order does.
func TestRecordOrderRefused(t *testing.T) {
	tests := []struct {
		name   string
		order  loyalty.Order
		reason string
		field  string
	}{
		{"currency", loyalty.Order{ID: "x1", MemberID: "m1", AmountMinor: 10_000, Currency: "USD"},
			loyalty.ReasonCurrencyNotAccepted, "order.currency"},
		{"items", loyalty.Order{ID: "x2", MemberID: "m1", AmountMinor: 10_000, Currency: "CNY",
			Items: []ledger.Item{{SKU: "a", Quantity: 2, UnitPriceMinor: 5001}}}, loyalty.ReasonItemsExceedAmount, "order.items"},
		{"too old", loyalty.Order{ID: "x3", MemberID: "m1", AmountMinor: 10_000, Currency: "CNY", CreateTime: t0.AddDate(0, 0, -91)},
			loyalty.ReasonOrderTimeOutOfRange, "order.create_time"},
		{"from the future", loyalty.Order{ID: "x4", MemberID: "m1", AmountMinor: 10_000, Currency: "CNY", CreateTime: t0.Add(6 * time.Minute)},
			loyalty.ReasonOrderTimeOutOfRange, "order.create_time"},
		{"a non-member's order too", loyalty.Order{ID: "x5", AmountMinor: 10_000, Currency: "EUR"},
			loyalty.ReasonCurrencyNotAccepted, "order.currency"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			e.order(t, "acme", "seed", "m1", 10_000)
			_, err := e.svc.RecordOrder(withKey("req-1", 1), "acme", "k", tt.order)
			if apperr.CodeOf(err) != apperr.Invalid || apperr.ReasonOf(err) != tt.reason || !slices.Equal(fields(err), []string{tt.field}) {
				t.Fatalf("got %v %v, want %s on %s", err, fields(err), tt.reason, tt.field)
			}
			if _, err := e.svc.GetOrder(bg, "acme", tt.order.ID); apperr.ReasonOf(err) != loyalty.ReasonOrderNotFound {
				t.Fatalf("the refused order is stored: %v", err)
			}
			if b := e.balance(t, "acme", "m1"); b.Available != 100 || b.LifetimeEarned != 100 {
				t.Fatalf("balance %+v", b)
			}
			if got := e.events(t, "acme"); !slices.Equal(got, []string{"order_recorded"}) {
				t.Fatalf("events %v", got)
			}
			if r := e.verify(t, "acme"); r.Entries != 1 {
				t.Fatalf("journal %+v", r)
			}
			// The id is free: fixed, under a new request id, the order records and earns.
			fixed := loyalty.Order{ID: tt.order.ID, MemberID: "m1", AmountMinor: 10_000, Currency: "CNY"}
			o, err := e.svc.RecordOrder(withKey("req-2", 2), "acme", "k", fixed)
			if err != nil || o.PointsEarned != 100 {
				t.Fatalf("the fixed order: %v %+v", err, o)
			}
			if b := e.balance(t, "acme", "m1"); b.Available != 200 {
				t.Fatalf("balance after the fixed order %+v", b)
			}
		})
	}
}

// TestRecordOrdersRefused: in a batch, an order the policy refuses fails alone with its reason
// on "orders[i].<field>" (i its index in the caller's request or stream); the others record.
func TestRecordOrdersRefused(t *testing.T) {
	e := newEnv(t)
	batch := []loyalty.Order{
		order("b1", "m1", 10_000),
		{ID: "b2", MemberID: "m1", AmountMinor: 10_000, Currency: "USD"},
		{ID: "b3", MemberID: "m1", AmountMinor: 1_000, Currency: "CNY", Items: []ledger.Item{{Quantity: 1, UnitPriceMinor: 1_001}}},
		{ID: "b4", MemberID: "m1", AmountMinor: 10_000, Currency: "CNY", CreateTime: t0.Add(time.Hour)},
		{ID: "b5", MemberID: "m1", AmountMinor: 10_000, Currency: "CNY", CreateTime: t0.AddDate(0, 0, -89)},
	}
	res, err := e.svc.RecordOrders(bg, "acme", "k", batch, 500)
	if err != nil {
		t.Fatal(err)
	}
	wants := []struct{ reason, field string }{
		{}, {loyalty.ReasonCurrencyNotAccepted, "orders[501].currency"}, {loyalty.ReasonItemsExceedAmount, "orders[502].items"},
		{loyalty.ReasonOrderTimeOutOfRange, "orders[503].create_time"}, {},
	}
	for i, w := range wants {
		o := res.Outcomes[i]
		if w.reason == "" {
			if o.Err != nil || o.Order.PointsEarned != 100 {
				t.Fatalf("order %d: %v %+v", i, o.Err, o.Order)
			}
			continue
		}
		if o.Order != nil || apperr.ReasonOf(o.Err) != w.reason || !slices.Equal(fields(o.Err), []string{w.field}) {
			t.Fatalf("order %d: %v %v, want %s on %s", i, o.Err, fields(o.Err), w.reason, w.field)
		}
		if _, err := e.svc.GetOrder(bg, "acme", batch[i].ID); apperr.ReasonOf(err) != loyalty.ReasonOrderNotFound {
			t.Fatalf("refused order %d is stored: %v", i, err)
		}
	}
	if b := e.balance(t, "acme", "m1"); b.Available != 200 {
		t.Fatalf("balance %+v", b)
	}
	if n := count(e.events(t, "acme"), "order_recorded"); n != 2 {
		t.Fatalf("%d order_recorded events, want 2", n)
	}
	e.verify(t, "acme")
}

// TestCurrencyPolicy: a tenant adds currencies, one with a rate of its own; orders in them earn
// at their rates. A currency dropped later refuses new orders, while an order recorded in it
// before answers a retry as recorded (an order id is recorded once, whatever the policy says
// now). The order age window follows the policy too.
func TestCurrencyPolicy(t *testing.T) {
	e := newEnv(t)
	e.policy(t, "acme", func(p *loyalty.Policy) {
		p.AcceptedCurrencies = []string{"CNY", "USD", "JPY"}
		p.CurrencyRatePercent = map[string]int64{"USD": 700, "JPY": 1}
	})
	for _, tt := range []struct {
		currency string
		amount   int64
		want     int64
	}{{"CNY", 10_000, 100}, {"USD", 10_000, 700}, {"JPY", 100_000, 10}} {
		o, err := e.svc.RecordOrder(bg, "acme", "k", loyalty.Order{ID: "o-" + tt.currency, MemberID: "m1", AmountMinor: tt.amount, Currency: tt.currency})
		if err != nil || o.PointsEarned != tt.want {
			t.Fatalf("%s: %v %+v, want %d points", tt.currency, err, o, tt.want)
		}
	}
	// A rate needs its currency accepted, validated as any policy update is.
	_, err := e.svc.UpdatePolicy(bg, "acme", func(p loyalty.Policy) (loyalty.Policy, error) {
		p.AcceptedCurrencies = []string{"CNY", "USD"}
		return p, nil
	})
	if !slices.Equal(fields(err), []string{"policy.currency_rate_percent[JPY]"}) {
		t.Fatalf("dropping a currency with a rate: %v", err)
	}
	e.policy(t, "acme", func(p *loyalty.Policy) {
		p.AcceptedCurrencies, p.CurrencyRatePercent, p.MaxOrderAgeDays = []string{"CNY", "USD"}, map[string]int64{"USD": 700}, 7
	})
	if _, err := e.svc.RecordOrder(bg, "acme", "k", loyalty.Order{ID: "o-JPY-2", MemberID: "m1", AmountMinor: 100_000, Currency: "JPY"}); apperr.ReasonOf(err) != loyalty.ReasonCurrencyNotAccepted {
		t.Fatalf("a dropped currency: %v", err)
	}
	if o, err := e.svc.RecordOrder(bg, "acme", "k", loyalty.Order{ID: "o-JPY", MemberID: "m1", AmountMinor: 100_000, Currency: "JPY"}); err != nil || o.PointsEarned != 10 {
		t.Fatalf("a retry of an order recorded before: %v %+v", err, o)
	}
	if _, err := e.svc.RecordOrder(bg, "acme", "k", loyalty.Order{ID: "old", MemberID: "m1", AmountMinor: 100, Currency: "CNY", CreateTime: t0.AddDate(0, 0, -8)}); apperr.ReasonOf(err) != loyalty.ReasonOrderTimeOutOfRange {
		t.Fatalf("8 days old under a 7-day window: %v", err)
	}
	if _, err := e.svc.RecordOrder(bg, "acme", "k", loyalty.Order{ID: "recent", MemberID: "m1", AmountMinor: 100, Currency: "CNY", CreateTime: t0.AddDate(0, 0, -6)}); err != nil {
		t.Fatalf("6 days old under a 7-day window: %v", err)
	}
	if b := e.balance(t, "acme", "m1"); b.Available != 100+700+10+1 {
		t.Fatalf("balance %+v", b)
	}
	e.verify(t, "acme")
}
