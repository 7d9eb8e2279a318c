package ledger_test

import (
	"reflect"
	"testing"
	"time"

	"github.com/huiyuan-dev/huiyuan/services/loyalty/internal/ledger"
)

func TestSettleExpiresOnceWithOneTransaction(t *testing.T) {
	l := newLedger(t, ledger.Config{})
	o := newOps(t, l, "m1")
	o.earn(10, t0, t0.Add(day(1)))
	o.earn(20, t0, t0.Add(day(2)))
	o.earn(30, t0, t0.Add(day(3)))
	o.earn(40, t0, time.Time{})
	o.record(l.Redeem(o.b, ledger.RedeemRequest{Points: 15, Cause: redemption, At: t0}))

	tests := []struct {
		at          time.Time
		wantExpired int64 // 0: nothing posted
	}{
		{t0.Add(day(1) - time.Nanosecond), 0},
		{t0.Add(day(2)), 15}, // the day-1 lot was spent; 15 left of the day-2 lot
		{t0.Add(day(2)), 0},  // again: nothing new is due
		{t0.Add(day(2) + time.Hour), 0},
		{t0.Add(day(30)), 30},
		{t0.Add(day(9000)), 0},
	}
	for _, tc := range tests {
		txns := o.record(l.Settle(o.b, tc.at))
		if tc.wantExpired == 0 {
			if len(txns) != 0 {
				t.Fatalf("settle at %v posted %v", tc.at, kinds(txns))
			}
			continue
		}
		if len(txns) != 1 || txns[0].Kind != ledger.KindExpire || txns[0].Cause.Type != ledger.CauseExpiry ||
			!reflect.DeepEqual(postings(txns[0]), map[ledger.Account]int64{ledger.Available: -tc.wantExpired, ledger.Expired: tc.wantExpired}) {
			t.Fatalf("settle at %v posted %+v, want one expiry of %d", tc.at, txns, tc.wantExpired)
		}
	}
	if o.b.Balance(ledger.Available) != 40 || o.b.Balance(ledger.Expired) != 45 || len(o.b.Lots) != 1 {
		t.Fatalf("book %+v", o.b)
	}
	if _, err := l.Settle(o.b, time.Time{}); err == nil {
		t.Fatal("settle without a time succeeded")
	}
}

func TestSettleMatures(t *testing.T) {
	l := newLedger(t, ledger.Config{})
	o := newOps(t, l, "m1")
	for i, until := range []time.Duration{day(7), day(7), day(8)} {
		o.record(l.Earn(o.b, ledger.EarnRequest{Points: int64(10 * (i + 1)), At: t0, NeverExpires: true, PendingUntil: t0.Add(until),
			Cause: ledger.Cause{Type: ledger.CauseOrder, Ref: "o"}}))
	}
	if txns := o.record(l.Settle(o.b, t0.Add(day(7)-time.Nanosecond))); len(txns) != 0 {
		t.Fatalf("posted %v before the window closed", kinds(txns))
	}
	txns := o.record(l.Settle(o.b, t0.Add(day(7))))
	if len(txns) != 1 || txns[0].Kind != ledger.KindMature ||
		!reflect.DeepEqual(postings(txns[0]), map[ledger.Account]int64{ledger.Pending: -30, ledger.Available: 30}) {
		t.Fatalf("posted %+v", txns)
	}
	if v := l.Balance(o.b, t0.Add(day(7))); v.Available != 30 || v.Pending != 30 {
		t.Fatalf("view %+v", v)
	}
	if v := l.Balance(o.b, t0.Add(day(9))); v.Available != 60 || v.Pending != 0 {
		t.Fatalf("view as of day 9 %+v", v)
	}
}

func TestExpiringSoon(t *testing.T) {
	l := newLedger(t, ledger.Config{})
	o := newOps(t, l, "m1")
	o.earn(10, t0, t0.Add(day(3)))
	o.earn(20, t0, t0.Add(day(5)))
	o.earn(30, t0, t0.Add(day(9)))
	o.earn(40, t0, time.Time{})
	o.record(l.Earn(o.b, ledger.EarnRequest{Points: 5, At: t0, ExpiresAt: t0.Add(day(4)), PendingUntil: t0.Add(day(2)),
		Cause: ledger.Cause{Type: ledger.CauseOrder, Ref: "o"}}))
	o.record(l.Redeem(o.b, ledger.RedeemRequest{Points: 10, Cause: redemption, At: t0})) // the day-3 lot is spent

	ids := func(lots []ledger.Lot) []int64 {
		var out []int64
		for _, l := range lots {
			out = append(out, l.Remaining)
		}
		return out
	}
	soon := o.b.ExpiringSoon(t0, day(7))
	if got := ids(soon); !reflect.DeepEqual(got, []int64{20}) {
		t.Fatalf("expiring within 7 days: %v (pending and later lots are not listed)", got)
	}
	if n := o.b.MarkNotified(soon[0].ID, "gone"); n != 1 {
		t.Fatalf("marked %d", n)
	}
	if n := o.b.MarkNotified(soon[0].ID); n != 0 {
		t.Fatalf("marked again: %d", n)
	}
	if got := ids(o.b.ExpiringSoon(t0, day(7))); got != nil {
		t.Fatalf("listed again: %v", got)
	}
	if got := ids(o.b.ExpiringSoon(t0.Add(day(3)), day(7))); !reflect.DeepEqual(got, []int64{5, 30}) {
		t.Fatalf("on day 3: %v", got)
	}
	if got := ids(o.b.ExpiringSoon(t0.Add(day(5)), day(1))); got != nil {
		t.Fatalf("a lot due now is not 'soon': %v", got)
	}
}

func TestBalanceView(t *testing.T) {
	l := newLedger(t, ledger.Config{})
	o := heldBook(t, l) // lots: pending 25 (exp day 3), held 30+20, day-10 30 (+10 held), never 50
	o.earn(7, t0.Add(2*time.Hour), t0.Add(day(10)))
	o.earn(8, t0.Add(2*time.Hour), t0.Add(day(4)))
	before := o.b.Clone()
	v := l.Balance(o.b, t0.Add(3*time.Hour))
	want := ledger.BalanceView{Available: 95, Held: 60, Pending: 25, LifetimeEarned: 180,
		Expiring: []ledger.ExpiringBucket{{ExpiresAt: t0.Add(day(4)), Points: 8}, {ExpiresAt: t0.Add(day(10)), Points: 37}}}
	if !reflect.DeepEqual(v, want) {
		t.Fatalf("view\n got %+v\nwant %+v", v, want)
	}
	if !reflect.DeepEqual(before, o.b) {
		t.Fatal("Balance changed the book")
	}
	// A zero time means the book's own time.
	if v0 := l.Balance(o.b, time.Time{}); !reflect.DeepEqual(v0, want) {
		t.Fatalf("view at zero time %+v", v0)
	}
	if v := l.Balance(nil, t0); !reflect.DeepEqual(v, ledger.BalanceView{}) {
		t.Fatalf("nil book %+v", v)
	}
	o2 := indebted(t, l, 12)
	if v := l.Balance(o2.b, t0); v.Owed != 12 {
		t.Fatalf("owed %+v", v)
	}
}
