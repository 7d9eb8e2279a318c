package ledger_test

import (
	"math"
	"math/rand/v2"
	"reflect"
	"testing"
	"time"

	"github.com/huiyuan-dev/huiyuan/services/loyalty/internal/ledger"
)

func TestPointsToReverse(t *testing.T) {
	tests := []struct {
		earned, amount, before, refund, want int64
	}{
		{100, 10000, 0, 10000, 100},
		{100, 10000, 0, 5000, 50},
		{100, 9999, 0, 3333, 33},
		{100, 9999, 3333, 3333, 33},
		{100, 9999, 6666, 3333, 34}, // the last third takes the rounding remainder
		{7, 3, 0, 1, 2},
		{7, 3, 1, 1, 2}, // floor(14/3) - floor(7/3)
		{7, 3, 2, 1, 3},
		{0, 100, 0, 100, 0},
		{100, 100, 0, 0, 0},
		{100, 100, 50, 51, 0}, // beyond the order: 0
		{100, 0, 0, 0, 0},
		{-1, 100, 0, 10, 0},
		{ledger.MaxPoints, math.MaxInt64, 0, math.MaxInt64 - 1, ledger.MaxPoints - 1}, // no overflow
	}
	for _, tc := range tests {
		if got := ledger.PointsToReverse(tc.earned, tc.amount, tc.before, tc.refund); got != tc.want {
			t.Errorf("PointsToReverse(%d, %d, %d, %d) = %d, want %d", tc.earned, tc.amount, tc.before, tc.refund, got, tc.want)
		}
	}
}

// Any series of partial refunds reverses exactly what one full refund would.
func TestPartialRefundsAddUpToAFullRefund(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 7))
	for range 2000 {
		earned, amount := rng.Int64N(100000), 1+rng.Int64N(1_000_000)
		var before, sum int64
		for before < amount {
			r := 1 + rng.Int64N(amount-before)
			sum += ledger.PointsToReverse(earned, amount, before, r)
			before += r
		}
		if sum != earned {
			t.Fatalf("earned %d on %d: partial refunds reversed %d", earned, amount, sum)
		}
	}
}

// refundBook: order o1 earned 100 pending until day 7 (expiring day 60); 50 never-expiring
// points are available.
func refundBook(t *testing.T, l *ledger.Ledger) *ops {
	t.Helper()
	o := newOps(t, l, "m1")
	o.earn(50, t0, time.Time{})
	o.record(l.Earn(o.b, ledger.EarnRequest{Points: 100, At: t0, ExpiresAt: t0.Add(day(60)), PendingUntil: t0.Add(day(7)),
		Cause: ledger.Cause{Type: ledger.CauseOrder, Ref: "o1"}}))
	return o
}

func TestReverse(t *testing.T) {
	inWindow, afterWindow := t0.Add(day(1)), t0.Add(day(8))
	tests := []struct {
		name         string
		policy       ledger.RefundPolicy
		at           time.Time
		spend        int64 // redeemed before the refund
		refund       int64 // of an order of 10000
		want         ledger.Reversal
		wantPostings map[ledger.Account]int64
		wantLifetime int64
	}{
		{"only pending, in the window", ledger.RefundOnlyPending, inWindow, 0, 10000,
			ledger.Reversal{Due: 100, Reversed: 100},
			map[ledger.Account]int64{ledger.Pending: -100, ledger.Issued: 100}, 50},
		{"only pending, partial", ledger.RefundOnlyPending, inWindow, 0, 2500,
			ledger.Reversal{Due: 25, Reversed: 25},
			map[ledger.Account]int64{ledger.Pending: -25, ledger.Issued: 25}, 125},
		{"only pending, after the window: forgiven", ledger.RefundOnlyPending, afterWindow, 0, 10000,
			ledger.Reversal{Due: 100, Forgiven: 100}, nil, 150},
		{"within available, after the window", ledger.RefundWithinAvailable, afterWindow, 0, 10000,
			ledger.Reversal{Due: 100, Reversed: 100},
			map[ledger.Account]int64{ledger.Available: -100, ledger.Issued: 100}, 50},
		{"within available, capped", ledger.RefundWithinAvailable, afterWindow, 120, 10000,
			ledger.Reversal{Due: 100, Reversed: 30, Forgiven: 70},
			map[ledger.Account]int64{ledger.Available: -30, ledger.Issued: 30}, 120},
		{"within available takes pending first", ledger.RefundWithinAvailable, inWindow, 40, 10000,
			ledger.Reversal{Due: 100, Reversed: 100},
			map[ledger.Account]int64{ledger.Pending: -100, ledger.Issued: 100}, 50},
		{"full with debt", ledger.RefundFullWithDebt, afterWindow, 120, 10000,
			ledger.Reversal{Due: 100, Reversed: 30, Debt: 70},
			map[ledger.Account]int64{ledger.Available: -30, ledger.Debt: -70, ledger.Issued: 100}, 50},
		{"full with debt, covered", ledger.RefundFullWithDebt, afterWindow, 0, 5000,
			ledger.Reversal{Due: 50, Reversed: 50},
			map[ledger.Account]int64{ledger.Available: -50, ledger.Issued: 50}, 100},
		{"rounding leaves nothing due", ledger.RefundFullWithDebt, inWindow, 0, 99,
			ledger.Reversal{}, nil, 150},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			l := newLedger(t, ledger.Config{})
			o := refundBook(t, l)
			if tc.spend > 0 {
				o.record(l.Settle(o.b, tc.at))
				o.record(l.Redeem(o.b, ledger.RedeemRequest{Points: tc.spend, Cause: redemption, At: tc.at}))
			}
			got, err := l.Reverse(o.b, ledger.ReverseRequest{Order: "o1", RefundID: "rf1", Earned: 100, OrderAmount: 10000,
				RefundAmount: tc.refund, Policy: tc.policy, At: tc.at})
			o.record(got.Txns, err)
			var own *ledger.Txn
			for i := range got.Txns {
				if got.Txns[i].Kind == ledger.KindReverse {
					own = &got.Txns[i]
				}
			}
			switch {
			case tc.wantPostings == nil && own != nil:
				t.Errorf("posted %+v, want no reversal", *own)
			case tc.wantPostings != nil && own == nil:
				t.Errorf("no reversal posted")
			case own != nil:
				if !reflect.DeepEqual(postings(*own), tc.wantPostings) || own.Cause != (ledger.Cause{Type: ledger.CauseRefund, Ref: "rf1"}) {
					t.Errorf("reversal %+v, want postings %v", *own, tc.wantPostings)
				}
			}
			got.Txns = nil
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("reversal %+v, want %+v", got, tc.want)
			}
			if o.b.LifetimeEarned != tc.wantLifetime {
				t.Errorf("lifetime %d, want %d", o.b.LifetimeEarned, tc.wantLifetime)
			}
		})
	}
}

func TestDebtIsRepaidByLaterEarnings(t *testing.T) {
	l := newLedger(t, ledger.Config{})
	o := indebted(t, l, 70)
	o.earn(50, t0.Add(time.Hour), time.Time{})
	if o.b.Owed() != 20 || o.b.Balance(ledger.Available) != 0 || len(o.b.Lots) != 0 {
		t.Fatalf("after 50: owed %d, book %+v", o.b.Owed(), o.b)
	}
	o.earn(50, t0.Add(time.Hour), time.Time{})
	if o.b.Owed() != 0 || o.b.Balance(ledger.Available) != 30 || o.b.Lots[0].Points != 30 {
		t.Fatalf("after 100: owed %d, book %+v", o.b.Owed(), o.b)
	}
	if _, ok := o.b.Balances[ledger.Debt]; ok {
		t.Fatal("a settled debt account stays in the balances")
	}
	failsUnchanged(t, o.b, ledger.ReasonInsufficientPoints, func(b *ledger.Book) error {
		_, err := l.Redeem(b, ledger.RedeemRequest{Points: 31, Cause: redemption, At: t0.Add(time.Hour)})
		return err
	})
}

func TestReverseRejects(t *testing.T) {
	l := newLedger(t, ledger.Config{})
	o := refundBook(t, l)
	ok := ledger.ReverseRequest{Order: "o1", RefundID: "rf", Earned: 100, OrderAmount: 10000, RefundAmount: 100,
		Policy: ledger.RefundFullWithDebt, At: t0}
	tests := []struct {
		name   string
		edit   func(*ledger.ReverseRequest)
		reason string
		field  string
	}{
		{"more than the order", func(r *ledger.ReverseRequest) { r.RefundedBefore, r.RefundAmount = 9000, 1001 }, ledger.ReasonRefundExceedsOrder, "refund_amount"},
		{"already refunded", func(r *ledger.ReverseRequest) { r.RefundedBefore = 10001 }, ledger.ReasonRefundExceedsOrder, "refund_amount"},
		{"no policy", func(r *ledger.ReverseRequest) { r.Policy = "" }, "INVALID_ARGUMENT", "policy"},
		{"no order", func(r *ledger.ReverseRequest) { r.Order = "" }, "INVALID_ARGUMENT", "order"},
		{"no refund id", func(r *ledger.ReverseRequest) { r.RefundID = "" }, "INVALID_ARGUMENT", "refund_id"},
		{"zero refund", func(r *ledger.ReverseRequest) { r.RefundAmount = 0 }, "INVALID_ARGUMENT", "refund_amount"},
		{"zero order", func(r *ledger.ReverseRequest) { r.OrderAmount = 0 }, "INVALID_ARGUMENT", "order_amount"},
		{"negative before", func(r *ledger.ReverseRequest) { r.RefundedBefore = -1 }, "INVALID_ARGUMENT", "refunded_before"},
		{"negative earned", func(r *ledger.ReverseRequest) { r.Earned = -1 }, "INVALID_ARGUMENT", "earned"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req := ok
			tc.edit(&req)
			failsUnchanged(t, o.b, tc.reason, func(b *ledger.Book) error {
				_, err := l.Reverse(b, req)
				if fs := violations(err); len(fs) != 1 || fs[0] != tc.field {
					t.Errorf("violations %v, want [%s]", fs, tc.field)
				}
				return err
			})
		})
	}
}

// Refunds after a partial redemption keep the books balanced under every policy.
func TestRefundSeriesAfterPartialRedemption(t *testing.T) {
	for _, p := range []ledger.RefundPolicy{ledger.RefundOnlyPending, ledger.RefundWithinAvailable, ledger.RefundFullWithDebt} {
		t.Run(string(p), func(t *testing.T) {
			l := newLedger(t, ledger.Config{})
			o := newOps(t, l, "m1")
			o.record(l.Earn(o.b, ledger.EarnRequest{Points: 101, At: t0, NeverExpires: true, Cause: ledger.Cause{Type: ledger.CauseOrder, Ref: "o"}}))
			o.record(l.Redeem(o.b, ledger.RedeemRequest{Points: 60, Cause: redemption, At: t0}))
			var before, total int64
			for _, amt := range []int64{333, 333, 334} {
				r, err := l.Reverse(o.b, ledger.ReverseRequest{Order: "o", RefundID: "rf", Earned: 101, OrderAmount: 1000,
					RefundedBefore: before, RefundAmount: amt, Policy: p, At: t0})
				o.record(r.Txns, err)
				before += amt
				total += r.Due
				if r.Reversed+r.Debt+r.Forgiven != r.Due {
					t.Fatalf("reversal %+v does not add up", r)
				}
			}
			if total != 101 {
				t.Fatalf("dues add up to %d", total)
			}
			wantOwed := map[ledger.RefundPolicy]int64{ledger.RefundFullWithDebt: 60}[p]
			wantAvail := map[ledger.RefundPolicy]int64{ledger.RefundOnlyPending: 41}[p]
			if o.b.Owed() != wantOwed || o.b.Balance(ledger.Available) != wantAvail {
				t.Fatalf("owed %d available %d, want %d %d", o.b.Owed(), o.b.Balance(ledger.Available), wantOwed, wantAvail)
			}
		})
	}
}

// TestDebtIsRepaidByPointsComingBack: points that come back to available while the member
// owes (a released hold, a capture's uncaptured rest, a hold that times out, pending points
// that mature) repay the debt first, so a refund booked as debt is never spent from points
// that were held or pending when it was booked.
func TestDebtIsRepaidByPointsComingBack(t *testing.T) {
	tests := []struct {
		name      string
		op        func(l *ledger.Ledger, b *ledger.Book) ([]ledger.Txn, error)
		owed      int64
		available int64
	}{
		{"release", func(l *ledger.Ledger, b *ledger.Book) ([]ledger.Txn, error) {
			return l.Release(b, ledger.ReleaseRequest{HoldID: "h1", At: t0.Add(day(1))})
		}, 40, 0},
		{"capture of part", func(l *ledger.Ledger, b *ledger.Book) ([]ledger.Txn, error) {
			return l.Capture(b, ledger.CaptureRequest{HoldID: "h1", Points: 20, At: t0.Add(day(1))})
		}, 60, 0},
		{"hold timeout", func(l *ledger.Ledger, b *ledger.Book) ([]ledger.Txn, error) {
			return l.Settle(b, t0.Add(day(3)))
		}, 40, 0},
		{"hold timeout and maturity", func(l *ledger.Ledger, b *ledger.Book) ([]ledger.Txn, error) {
			return l.Settle(b, t0.Add(day(8)))
		}, 0, 10},
		{"maturity before an earning", func(l *ledger.Ledger, b *ledger.Book) ([]ledger.Txn, error) {
			return l.Earn(b, ledger.EarnRequest{Points: 30, At: t0.Add(day(8)), NeverExpires: true, Cause: ledger.Cause{Type: ledger.CauseReward}})
		}, 0, 40},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			l := newLedger(t, ledger.Config{})
			o := newOps(t, l, "m1")
			o.record(l.Earn(o.b, ledger.EarnRequest{Points: 100, At: t0, NeverExpires: true, Cause: ledger.Cause{Type: ledger.CauseOrder, Ref: "o1"}}))
			o.record(l.Earn(o.b, ledger.EarnRequest{Points: 50, At: t0, NeverExpires: true, PendingUntil: t0.Add(day(7)),
				Cause: ledger.Cause{Type: ledger.CauseOrder, Ref: "o2"}}))
			o.record(l.Hold(o.b, ledger.HoldRequest{HoldID: "h1", Points: 60, At: t0, ExpiresAt: t0.Add(day(2)), Cause: redemption}))
			o.record(l.Redeem(o.b, ledger.RedeemRequest{Points: 40, At: t0, Cause: redemption}))
			rev, err := l.Reverse(o.b, ledger.ReverseRequest{Order: "o1", RefundID: "rf", Earned: 100, OrderAmount: 100,
				RefundAmount: 100, Policy: ledger.RefundFullWithDebt, At: t0})
			o.record(rev.Txns, err)
			if o.b.Owed() != 100 {
				t.Fatalf("owed %d after the refund, want 100", o.b.Owed())
			}
			o.record(tc.op(l, o.b))
			if got, avail := o.b.Owed(), o.b.Balance(ledger.Available); got != tc.owed || avail != tc.available {
				t.Fatalf("owed %d, available %d; want %d, %d", got, avail, tc.owed, tc.available)
			}
		})
	}
}
