package ledger_test

import (
	"reflect"
	"testing"
	"time"

	"github.com/huiyuan-dev/huiyuan/services/loyalty/internal/ledger"
)

func transferLedger(t *testing.T, keep bool) *ledger.Ledger {
	return newLedger(t, ledger.Config{Location: shanghai, Expiry: policy30,
		Transfer: ledger.TransferRules{Enabled: true, KeepExpiry: keep, MaxPointsPerWindow: 100, Window: 24 * time.Hour}})
}

// sender has 30 expiring on day 5, 40 on day 10 and 50 that never expire.
func sender(t *testing.T, l *ledger.Ledger) *ops {
	o := newOps(t, l, "alice")
	o.earn(30, t0, t0.Add(day(5)))
	o.earn(40, t0, t0.Add(day(10)))
	o.earn(50, t0, time.Time{})
	return o
}

func TestTransfer(t *testing.T) {
	at := t0.Add(time.Hour)
	for _, tc := range []struct {
		name     string
		keep     bool
		owed     int64
		wantLots []ledger.Lot // receiver's, (EarnedAt, ExpiresAt, Points)
	}{
		{"keep expiry", true, 0, []ledger.Lot{
			{EarnedAt: at, ExpiresAt: t0.Add(day(5)), Points: 30},
			{EarnedAt: at, ExpiresAt: t0.Add(day(10)), Points: 30}}},
		{"reset expiry", false, 0, []ledger.Lot{
			{EarnedAt: at, ExpiresAt: policy30.ExpiresAt(at, shanghai), Points: 60}}},
		{"receiver's debt first, from the soonest", true, 40, []ledger.Lot{
			{EarnedAt: at, ExpiresAt: t0.Add(day(10)), Points: 20}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l := transferLedger(t, tc.keep)
			a := sender(t, l)
			b := newOps(t, l, "bob")
			if tc.owed > 0 {
				b = indebted(t, l, tc.owed)
			}
			res, err := l.Transfer(a.b, b.b, ledger.TransferRequest{TransferID: "tr1", Points: 60, Reason: "gift", Actor: "alice", At: at})
			a.record(res.Out, err)
			b.record(res.In, nil)
			cause := ledger.Cause{Type: ledger.CauseTransfer, Ref: "tr1", Reason: "gift", Actor: "alice"}
			if len(res.Out) != 1 || res.Out[0].Kind != ledger.KindTransferOut || res.Out[0].Cause != cause || res.Out[0].MemberID != "alice" ||
				!reflect.DeepEqual(postings(res.Out[0]), map[ledger.Account]int64{ledger.Available: -60, ledger.Transfers: 60}) {
				t.Fatalf("out %+v", res.Out)
			}
			wantIn := map[ledger.Account]int64{ledger.Transfers: -60, ledger.Available: 60 - tc.owed, ledger.Debt: tc.owed}
			if tc.owed == 0 {
				delete(wantIn, ledger.Debt)
			}
			if len(res.In) != 1 || res.In[0].Kind != ledger.KindTransferIn || res.In[0].Cause != cause || res.In[0].MemberID != b.b.MemberID ||
				!reflect.DeepEqual(postings(res.In[0]), wantIn) {
				t.Fatalf("in %+v, want postings %v", res.In, wantIn)
			}
			if got := remaining(a.b); !reflect.DeepEqual(got, [][2]int64{{10, 0}, {50, 0}}) {
				t.Fatalf("sender lots %v", got)
			}
			var got []ledger.Lot
			for _, lot := range b.b.Lots {
				got = append(got, ledger.Lot{EarnedAt: lot.EarnedAt, ExpiresAt: lot.ExpiresAt, Points: lot.Points})
			}
			if !reflect.DeepEqual(got, tc.wantLots) {
				t.Fatalf("receiver lots\n got %+v\nwant %+v", got, tc.wantLots)
			}
			if a.b.LifetimeEarned != 120 || b.b.LifetimeEarned != 0 {
				t.Fatalf("lifetime %d %d: transfers do not count", a.b.LifetimeEarned, b.b.LifetimeEarned)
			}
		})
	}
}

func TestTransferLimitWindow(t *testing.T) {
	l := transferLedger(t, true)
	a := sender(t, l)
	b := newOps(t, l, "bob")
	send := func(pts int64, at time.Time) error {
		res, err := l.Transfer(a.b, b.b, ledger.TransferRequest{TransferID: "t", Points: pts, At: at})
		if err == nil {
			a.record(res.Out, nil)
			b.record(res.In, nil)
		}
		return err
	}
	if err := send(60, t0); err != nil {
		t.Fatal(err)
	}
	if err := send(40, t0.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	for _, at := range []time.Time{t0.Add(2 * time.Hour), t0.Add(day(1) - time.Nanosecond)} {
		bb := b.b.Clone()
		failsUnchanged(t, a.b, ledger.ReasonTransferLimitReached, func(x *ledger.Book) error {
			_, err := l.Transfer(x, bb, ledger.TransferRequest{TransferID: "t", Points: 1, At: at})
			return err
		})
		if !reflect.DeepEqual(bb, b.b) {
			t.Fatal("failed transfer changed the receiver")
		}
	}
	// At t0+24h the first transfer leaves the rolling window: 60 may go again, not 61.
	at := t0.Add(day(1))
	failsUnchanged(t, a.b, ledger.ReasonTransferLimitReached, func(x *ledger.Book) error {
		_, err := l.Transfer(x, b.b.Clone(), ledger.TransferRequest{TransferID: "t", Points: 61, At: at})
		return err
	})
	if err := send(20, at); err != nil {
		t.Fatal(err)
	}
	if len(a.b.RecentTransfers) != 2 {
		t.Fatalf("marks %+v: the expired one is dropped", a.b.RecentTransfers)
	}
}

func TestTransferFailures(t *testing.T) {
	l := transferLedger(t, true)
	a := sender(t, l)
	a.record(l.Earn(a.b, ledger.EarnRequest{Points: 500, At: t0, PendingUntil: t0.Add(day(7)), NeverExpires: true,
		Cause: ledger.Cause{Type: ledger.CauseOrder, Ref: "o"}}))
	b := newOps(t, l, "bob")
	off := newLedger(t, ledger.Config{})
	at := t0.Add(time.Hour)
	tests := []struct {
		name   string
		l      *ledger.Ledger
		to     *ledger.Book
		req    ledger.TransferRequest
		reason string
	}{
		{"to self", l, a.b, ledger.TransferRequest{TransferID: "t", Points: 1, At: at}, ledger.ReasonTransferToSelf},
		{"same member id", l, ledger.NewBook("alice"), ledger.TransferRequest{TransferID: "t", Points: 1, At: at}, ledger.ReasonTransferToSelf},
		{"disabled", off, b.b, ledger.TransferRequest{TransferID: "t", Points: 1, At: at}, ledger.ReasonTransferDisabled},
		{"over the window cap", l, b.b, ledger.TransferRequest{TransferID: "t", Points: 101, At: at}, ledger.ReasonTransferLimitReached},
		{"no id", l, b.b, ledger.TransferRequest{Points: 1, At: at}, "INVALID_ARGUMENT"},
		{"zero", l, b.b, ledger.TransferRequest{TransferID: "t", At: at}, "INVALID_ARGUMENT"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			to := tc.to.Clone()
			if tc.to == a.b {
				failsUnchanged(t, a.b, tc.reason, func(x *ledger.Book) error { _, err := tc.l.Transfer(x, x, tc.req); return err })
				return
			}
			failsUnchanged(t, a.b, tc.reason, func(x *ledger.Book) error { _, err := tc.l.Transfer(x, to, tc.req); return err })
			if !reflect.DeepEqual(to, tc.to) {
				t.Fatal("failed transfer changed the receiver")
			}
		})
	}
	t.Run("pending points cannot go", func(t *testing.T) {
		big := newLedger(t, ledger.Config{Transfer: ledger.TransferRules{Enabled: true}})
		to := b.b.Clone()
		failsUnchanged(t, a.b, ledger.ReasonInsufficientPoints, func(x *ledger.Book) error {
			_, err := big.Transfer(x, to, ledger.TransferRequest{TransferID: "t", Points: 121, At: at})
			return err
		})
		if !reflect.DeepEqual(to, b.b) {
			t.Fatal("failed transfer changed the receiver")
		}
	})
	t.Run("receiver overflow leaves the sender unchanged", func(t *testing.T) {
		to := b.b.Clone()
		to.Balances[ledger.Transfers] = -(1<<63 - 1)
		failsUnchanged(t, a.b, ledger.ReasonPointsLimit, func(x *ledger.Book) error {
			_, err := l.Transfer(x, to, ledger.TransferRequest{TransferID: "t", Points: 5, At: at})
			return err
		})
	})
}
