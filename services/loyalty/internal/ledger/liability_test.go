package ledger_test

import (
	"math"
	"reflect"
	"testing"
	"time"

	"github.com/huiyuan-dev/huiyuan/services/loyalty/internal/ledger"
)

func TestLiability(t *testing.T) {
	l := newLedger(t, ledger.Config{Location: shanghai})
	a := newOps(t, l, "a")
	a.earn(1000, t0, t0.Add(day(10)))
	a.record(l.Earn(a.b, ledger.EarnRequest{Points: 500, At: t0, NeverExpires: true, Cause: ledger.Cause{Type: ledger.CauseCampaign, Ref: "c"}}))
	a.record(l.Redeem(a.b, ledger.RedeemRequest{Points: 200, Cause: redemption, At: t0}))
	a.record(l.Adjust(a.b, ledger.AdjustRequest{Points: 5, Reason: "r", Actor: "x", At: t0}))
	b := newOps(t, l, "b")
	b.earn(300, t0, t0.Add(day(1)))
	b.record(l.Settle(b.b, t0.Add(day(2))))

	ta, tb := a.b.Totals(), b.b.Totals()
	if want := (ledger.Totals{Available: 1305, Issued: 1505, Redeemed: 200}); ta != want {
		t.Fatalf("a totals %+v, want %+v", ta, want)
	}
	sum := ta.Add(tb)
	if want := (ledger.Totals{Available: 1305, Issued: 1805, Redeemed: 200, Expired: 300}); sum != want {
		t.Fatalf("sum %+v, want %+v", sum, want)
	}
	got, err := ledger.LiabilityOf(sum, ledger.Price{Minor: 1, Points: 10})
	want := ledger.Liability{OutstandingPoints: 1305, ValueMinor: 130, IssuedPoints: 1805, ExpiredPoints: 300,
		BreakageBasisPoints: 1662} // 300/1805 = 16.62%
	if err != nil || got != want {
		t.Fatalf("liability %+v %v, want %+v", got, err, want)
	}
	if got, _ := ledger.LiabilityOf(ledger.Totals{Available: math.MaxInt64}, ledger.Price{Minor: 3, Points: 1}); got.ValueMinor != math.MaxInt64 {
		t.Fatalf("value does not saturate: %+v", got)
	}
	if got, _ := ledger.LiabilityOf(ledger.Totals{}, ledger.Price{Minor: 1, Points: 1}); got.BreakageBasisPoints != 0 {
		t.Fatalf("breakage with nothing issued: %+v", got)
	}
	for _, p := range []ledger.Price{{Minor: -1, Points: 1}, {Minor: 1, Points: 0}} {
		if _, err := ledger.LiabilityOf(sum, p); err == nil {
			t.Errorf("price %+v accepted", p)
		}
	}
	if got := (ledger.Totals{Available: math.MaxInt64}).Add(ledger.Totals{Available: 1}); got.Available != math.MaxInt64 {
		t.Fatalf("Add overflows: %+v", got)
	}
}

func TestExpiringByMonth(t *testing.T) {
	l := newLedger(t, ledger.Config{Location: shanghai})
	o := newOps(t, l, "m1")
	may1 := time.Date(2026, 5, 1, 0, 0, 0, 0, shanghai) // the end of April, locally
	o.earn(10, t0, may1)
	o.earn(20, t0, time.Date(2026, 4, 30, 12, 0, 0, 0, shanghai))
	o.earn(30, t0, may1.Add(time.Second))
	o.earn(40, t0, time.Time{})
	want := []ledger.MonthBucket{{Month: "2026-04", Points: 30}, {Month: "2026-05", Points: 30}}
	if got := l.ExpiringByMonth(o.b, t0); !reflect.DeepEqual(got, want) {
		t.Fatalf("buckets %+v, want %+v", got, want)
	}
}
