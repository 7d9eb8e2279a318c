package ledger_test

import (
	"testing"
	"time"

	"github.com/huiyuan-dev/huiyuan/services/loyalty/internal/ledger"
)

// TestLotsMerge: available points that expire together are one lot, so a member's book does
// not grow with the orders it earned; pending lots stay per order, a lot a hold took keeps its
// identity, and an announced lot absorbs only announced points.
func TestLotsMerge(t *testing.T) {
	exp := t0.Add(day(30))
	order := func(ref string) ledger.Cause { return ledger.Cause{Type: ledger.CauseOrder, Ref: ref} }
	tests := []struct {
		name string
		run  func(o *ops)
		want [][2]int64 // (remaining, held) per lot
	}{
		{"ten orders, one expiry", func(o *ops) {
			for i := range 10 {
				o.earn(10, t0.Add(time.Duration(i)*time.Minute), exp)
			}
		}, [][2]int64{{100, 0}}},
		{"two expiries", func(o *ops) {
			o.earn(10, t0, exp)
			o.earn(20, t0, exp.Add(day(1)))
			o.earn(30, t0.Add(time.Hour), exp)
		}, [][2]int64{{40, 0}, {20, 0}}},
		{"pending lots stay per order until they mature", func(o *ops) {
			for i, ref := range []string{"o1", "o2"} {
				o.record(o.l.Earn(o.b, ledger.EarnRequest{Points: 10, At: t0.Add(time.Duration(i) * time.Minute), ExpiresAt: exp,
					PendingUntil: t0.Add(day(7)), Cause: order(ref)}))
			}
			o.earn(5, t0.Add(time.Hour), exp)
		}, [][2]int64{{10, 0}, {10, 0}, {5, 0}}},
		{"matured lots merge", func(o *ops) {
			for i, ref := range []string{"o1", "o2"} {
				o.record(o.l.Earn(o.b, ledger.EarnRequest{Points: 10, At: t0.Add(time.Duration(i) * time.Minute), ExpiresAt: exp,
					PendingUntil: t0.Add(day(7)), Cause: order(ref)}))
			}
			o.earn(5, t0.Add(day(8)), exp)
		}, [][2]int64{{25, 0}}},
		{"a held lot keeps its identity", func(o *ops) {
			o.earn(10, t0, exp)
			o.record(o.l.Hold(o.b, ledger.HoldRequest{HoldID: "h1", Points: 4, At: t0, ExpiresAt: t0.Add(time.Hour),
				Cause: ledger.Cause{Type: ledger.CauseRedemption}}))
			o.earn(10, t0.Add(time.Minute), exp)
		}, [][2]int64{{16, 4}}},
		{"an announced lot keeps new points apart", func(o *ops) {
			o.earn(10, t0, exp)
			o.b.MarkNotified(o.b.Lots[0].ID)
			o.earn(10, t0.Add(time.Minute), exp)
		}, [][2]int64{{10, 0}, {10, 0}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := newOps(t, newLedger(t, ledger.Config{}), "m1")
			tt.run(o)
			if got := remaining(o.b); !equalPairs(got, tt.want) {
				t.Fatalf("lots %v, want %v (%+v)", got, tt.want, o.b.Lots)
			}
		})
	}
}

func equalPairs(a, b [][2]int64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
