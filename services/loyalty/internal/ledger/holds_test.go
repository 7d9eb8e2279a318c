package ledger_test

import (
	"reflect"
	"testing"
	"time"

	"github.com/huiyuan-dev/huiyuan/services/loyalty/internal/ledger"
)

// heldBook is mixedBook with hold "h1" of 60 points made at t0+2h, expiring at t0+1d: it took
// the two day-5 lots (30, 20) and 10 of the day-10 lot.
func heldBook(t *testing.T, l *ledger.Ledger) *ops {
	t.Helper()
	o := mixedBook(t, l)
	txns := o.record(l.Hold(o.b, ledger.HoldRequest{HoldID: "h1", Points: 60, Cause: redemption, At: t0.Add(2 * time.Hour), ExpiresAt: t0.Add(day(1))}))
	if got := postings(txns[0]); txns[0].Kind != ledger.KindHold || !reflect.DeepEqual(got, map[ledger.Account]int64{ledger.Available: -60, ledger.Held: 60}) {
		t.Fatalf("hold txn %+v", txns[0])
	}
	if got := remaining(o.b); !reflect.DeepEqual(got, [][2]int64{{25, 0}, {0, 30}, {0, 20}, {30, 10}, {50, 0}}) {
		t.Fatalf("lots after hold %v", got)
	}
	h, ok := o.b.FindHold("h1")
	want := []ledger.Portion{{o.b.Lots[1].ID, 30}, {o.b.Lots[2].ID, 20}, {o.b.Lots[3].ID, 10}}
	if !ok || h.Status != ledger.HoldOpen || h.Points != 60 || h.Amount != 60 || !reflect.DeepEqual(h.Portions, want) {
		t.Fatalf("hold %+v, want portions %v", h, want)
	}
	return o
}

func TestCapture(t *testing.T) {
	tests := []struct {
		name         string
		points       int64
		wantPostings map[ledger.Account]int64
		wantLots     [][2]int64
	}{
		{"all (0)", 0, map[ledger.Account]int64{ledger.Held: -60, ledger.Redeemed: 60},
			[][2]int64{{25, 0}, {30, 0}, {50, 0}}},
		{"all (exact)", 60, map[ledger.Account]int64{ledger.Held: -60, ledger.Redeemed: 60},
			[][2]int64{{25, 0}, {30, 0}, {50, 0}}},
		// 45 spent from the soonest portions (30, then 15 of 20); the rest goes back where it came from.
		{"partial releases the rest", 45, map[ledger.Account]int64{ledger.Held: -60, ledger.Redeemed: 45, ledger.Available: 15},
			[][2]int64{{25, 0}, {5, 0}, {40, 0}, {50, 0}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			l := newLedger(t, ledger.Config{})
			o := heldBook(t, l)
			txns := o.record(l.Capture(o.b, ledger.CaptureRequest{HoldID: "h1", Points: tc.points, At: t0.Add(3 * time.Hour)}))
			if len(txns) != 1 || txns[0].Kind != ledger.KindCapture || txns[0].Cause != redemption {
				t.Fatalf("txns %+v", txns)
			}
			if got := postings(txns[0]); !reflect.DeepEqual(got, tc.wantPostings) {
				t.Errorf("postings %v, want %v", got, tc.wantPostings)
			}
			if got := remaining(o.b); !reflect.DeepEqual(got, tc.wantLots) {
				t.Errorf("lots %v, want %v", got, tc.wantLots)
			}
			h, _ := o.b.FindHold("h1")
			want := tc.points
			if want == 0 {
				want = 60
			}
			if h.Status != ledger.HoldCaptured || h.Points != 0 || h.Captured != want || len(h.Portions) != 0 || !h.ClosedAt.Equal(t0.Add(3*time.Hour)) {
				t.Errorf("hold %+v", h)
			}
		})
	}
}

func TestReleaseReturnsPortionsToTheirLots(t *testing.T) {
	l := newLedger(t, ledger.Config{})
	o := heldBook(t, l)
	txns := o.record(l.Release(o.b, ledger.ReleaseRequest{HoldID: "h1", Reason: "cart abandoned", Actor: "pos-3", At: t0.Add(3 * time.Hour)}))
	wantCause := ledger.Cause{Type: ledger.CauseHold, Ref: "h1", Reason: "cart abandoned", Actor: "pos-3"}
	if len(txns) != 1 || txns[0].Kind != ledger.KindRelease || txns[0].Cause != wantCause {
		t.Fatalf("txns %+v", txns)
	}
	if got := postings(txns[0]); !reflect.DeepEqual(got, map[ledger.Account]int64{ledger.Held: -60, ledger.Available: 60}) {
		t.Fatalf("postings %v", got)
	}
	if got := remaining(o.b); !reflect.DeepEqual(got, [][2]int64{{25, 0}, {30, 0}, {20, 0}, {40, 0}, {50, 0}}) {
		t.Fatalf("lots %v", got)
	}
	if h, _ := o.b.FindHold("h1"); h.Status != ledger.HoldReleased {
		t.Fatalf("hold %+v", h)
	}
}

// A hold outlives the lot it took from: released after the lot's expiry, the portion goes back
// and expires at the next settlement.
func TestReleaseIntoAnExpiredLot(t *testing.T) {
	l := newLedger(t, ledger.Config{})
	o := newOps(t, l, "m1")
	o.earn(30, t0, t0.Add(day(2)))
	o.earn(10, t0, time.Time{})
	o.record(l.Hold(o.b, ledger.HoldRequest{HoldID: "h", Points: 35, Cause: redemption, At: t0, ExpiresAt: t0.Add(day(10))}))
	txns := o.record(l.Release(o.b, ledger.ReleaseRequest{HoldID: "h", At: t0.Add(day(3))}))
	if got := kinds(txns); !reflect.DeepEqual(got, []ledger.Kind{ledger.KindRelease}) {
		t.Fatalf("release posted %v", got)
	}
	if v := l.Balance(o.b, t0.Add(day(3))); v.Available != 10 {
		t.Fatalf("balance view %+v: the returned 30 are due", v)
	}
	txns = o.record(l.Settle(o.b, t0.Add(day(3))))
	if len(txns) != 1 || !reflect.DeepEqual(postings(txns[0]), map[ledger.Account]int64{ledger.Available: -30, ledger.Expired: 30}) {
		t.Fatalf("settle posted %+v", txns)
	}
	if got := remaining(o.b); !reflect.DeepEqual(got, [][2]int64{{10, 0}}) {
		t.Fatalf("lots %v", got)
	}
}

func TestHoldTimesOut(t *testing.T) {
	l := newLedger(t, ledger.Config{})
	after := t0.Add(day(1)) // h1's timeout
	t.Run("the next operation releases it first", func(t *testing.T) {
		o := heldBook(t, l)
		txns := o.record(l.Redeem(o.b, ledger.RedeemRequest{Points: 5, Cause: redemption, At: after}))
		if got := kinds(txns); !reflect.DeepEqual(got, []ledger.Kind{ledger.KindRelease, ledger.KindRedeem}) {
			t.Fatalf("kinds %v", got)
		}
		if txns[0].Cause != (ledger.Cause{Type: ledger.CauseHold, Ref: "h1", Reason: "timeout"}) {
			t.Fatalf("release cause %+v", txns[0].Cause)
		}
		if h, _ := o.b.FindHold("h1"); h.Status != ledger.HoldExpired || !h.ClosedAt.Equal(after) {
			t.Fatalf("hold %+v", h)
		}
		// The 5 came from the first returned portion.
		if got := remaining(o.b); !reflect.DeepEqual(got, [][2]int64{{25, 0}, {25, 0}, {20, 0}, {40, 0}, {50, 0}}) {
			t.Fatalf("lots %v", got)
		}
	})
	t.Run("settle releases it", func(t *testing.T) {
		o := heldBook(t, l)
		if txns := o.record(l.Settle(o.b, after.Add(-time.Nanosecond))); len(txns) != 0 {
			t.Fatalf("settle before the timeout posted %v", kinds(txns))
		}
		if txns := o.record(l.Settle(o.b, after)); !reflect.DeepEqual(kinds(txns), []ledger.Kind{ledger.KindRelease}) {
			t.Fatalf("settle posted %v", kinds(txns))
		}
	})
	t.Run("capture after the timeout fails", func(t *testing.T) {
		o := heldBook(t, l)
		failsUnchanged(t, o.b, ledger.ReasonHoldExpired, func(b *ledger.Book) error {
			_, err := l.Capture(b, ledger.CaptureRequest{HoldID: "h1", At: after})
			return err
		})
	})
	t.Run("release after the timeout succeeds", func(t *testing.T) {
		o := heldBook(t, l)
		txns := o.record(l.Release(o.b, ledger.ReleaseRequest{HoldID: "h1", At: after}))
		if !reflect.DeepEqual(kinds(txns), []ledger.Kind{ledger.KindRelease}) || txns[0].Cause.Reason != "timeout" {
			t.Fatalf("txns %+v", txns)
		}
		failsUnchanged(t, o.b, ledger.ReasonHoldClosed, func(b *ledger.Book) error {
			_, err := l.Release(b, ledger.ReleaseRequest{HoldID: "h1", At: after})
			return err
		})
	})
	t.Run("the balance view counts it as released", func(t *testing.T) {
		o := heldBook(t, l)
		if v := l.Balance(o.b, after); v.Held != 0 || v.Available != 140 {
			t.Fatalf("view %+v", v)
		}
		if o.b.Balance(ledger.Held) != 60 {
			t.Fatal("the view changed the book")
		}
	})
}

func TestHoldFailures(t *testing.T) {
	l := newLedger(t, ledger.Config{})
	o := heldBook(t, l)
	captured := o.b.Clone()
	if _, err := l.Capture(captured, ledger.CaptureRequest{HoldID: "h1", At: t0.Add(3 * time.Hour)}); err != nil {
		t.Fatal(err)
	}
	at := t0.Add(4 * time.Hour)
	hold := func(id string, pts int64, exp time.Time) func(*ledger.Book) error {
		return func(b *ledger.Book) error {
			_, err := l.Hold(b, ledger.HoldRequest{HoldID: id, Points: pts, Cause: redemption, At: at, ExpiresAt: exp})
			return err
		}
	}
	capture := func(id string, pts int64) func(*ledger.Book) error {
		return func(b *ledger.Book) error {
			_, err := l.Capture(b, ledger.CaptureRequest{HoldID: id, Points: pts, At: at})
			return err
		}
	}
	release := func(id string) func(*ledger.Book) error {
		return func(b *ledger.Book) error {
			_, err := l.Release(b, ledger.ReleaseRequest{HoldID: id, At: at})
			return err
		}
	}
	tests := []struct {
		name   string
		book   *ledger.Book
		op     func(*ledger.Book) error
		reason string
	}{
		{"hold id taken", o.b, hold("h1", 1, at.Add(time.Hour)), ledger.ReasonHoldExists},
		{"hold more than available", o.b, hold("h2", 81, at.Add(time.Hour)), ledger.ReasonInsufficientPoints},
		{"hold without timeout", o.b, hold("h2", 1, time.Time{}), "INVALID_ARGUMENT"},
		{"hold timeout in the past", o.b, hold("h2", 1, at), "INVALID_ARGUMENT"},
		{"hold without id", o.b, hold("", 1, at.Add(time.Hour)), "INVALID_ARGUMENT"},
		{"hold id with spaces", o.b, hold("a b", 1, at.Add(time.Hour)), "INVALID_ARGUMENT"},
		{"hold zero", o.b, hold("h2", 0, at.Add(time.Hour)), "INVALID_ARGUMENT"},
		{"capture unknown", o.b, capture("nope", 0), ledger.ReasonHoldNotFound},
		{"capture more than held", o.b, capture("h1", 61), "INVALID_ARGUMENT"},
		{"capture negative", o.b, capture("h1", -1), "INVALID_ARGUMENT"},
		{"capture twice", captured, capture("h1", 0), ledger.ReasonHoldClosed},
		{"release unknown", o.b, release("nope"), ledger.ReasonHoldNotFound},
		{"release captured", captured, release("h1"), ledger.ReasonHoldClosed},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { failsUnchanged(t, tc.book, tc.reason, tc.op) })
	}
}

func TestForgetClosedHolds(t *testing.T) {
	l := newLedger(t, ledger.Config{})
	o := heldBook(t, l)
	o.record(l.Hold(o.b, ledger.HoldRequest{HoldID: "h2", Points: 5, Cause: redemption, At: t0.Add(3 * time.Hour), ExpiresAt: t0.Add(day(2))}))
	o.record(l.Capture(o.b, ledger.CaptureRequest{HoldID: "h1", At: t0.Add(3 * time.Hour)}))
	if n := o.b.ForgetClosedHolds(t0.Add(3 * time.Hour)); n != 0 {
		t.Fatalf("forgot %d holds closed at the limit", n)
	}
	if n := o.b.ForgetClosedHolds(t0.Add(day(30))); n != 1 {
		t.Fatalf("forgot %d, want 1 (the open hold stays)", n)
	}
	if _, ok := o.b.FindHold("h2"); !ok {
		t.Fatal("open hold forgotten")
	}
	o.verify()
	failsUnchanged(t, o.b, ledger.ReasonHoldNotFound, func(b *ledger.Book) error {
		_, err := l.Capture(b, ledger.CaptureRequest{HoldID: "h1", At: t0.Add(4 * time.Hour)})
		return err
	})
}
