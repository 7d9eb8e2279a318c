package ledger_test

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/huiyuan-dev/huiyuan/services/loyalty/internal/ledger"
)

// TestVerifyFindsTampering checks a consistent history, then breaks it one way at a time.
func TestVerifyFindsTampering(t *testing.T) {
	l := newLedger(t, ledger.Config{})
	o := heldBook(t, l)
	o.record(l.Redeem(o.b, ledger.RedeemRequest{Points: 5, Cause: redemption, At: t0.Add(3 * time.Hour)}))
	if ps := ledger.Verify(o.b, o.txns); len(ps) != 0 {
		t.Fatalf("consistent books: %v", ps)
	}
	tests := []struct {
		name   string
		tamper func(b *ledger.Book, txns []ledger.Txn) []ledger.Txn
		want   string
	}{
		{"balance edited", func(b *ledger.Book, txns []ledger.Txn) []ledger.Txn {
			b.Balances[ledger.Available]++
			return txns
		}, "balance of available is"},
		{"posting edited", func(b *ledger.Book, txns []ledger.Txn) []ledger.Txn {
			txns[0].Postings[0].Points--
			return txns
		}, "sum to"},
		{"transaction dropped", func(b *ledger.Book, txns []ledger.Txn) []ledger.Txn { return txns[1:] }, "postings sum to"},
		{"transaction replayed", func(b *ledger.Book, txns []ledger.Txn) []ledger.Txn { return append(txns, txns[0]) }, "appears twice"},
		{"other member's transaction", func(b *ledger.Book, txns []ledger.Txn) []ledger.Txn {
			txns[0].MemberID = "m2"
			return txns
		}, "belongs to member"},
		{"time runs backwards", func(b *ledger.Book, txns []ledger.Txn) []ledger.Txn {
			txns[len(txns)-1].Time = t0.Add(-time.Hour)
			return txns
		}, "is before"},
		{"overdraft in the history", func(b *ledger.Book, txns []ledger.Txn) []ledger.Txn {
			return append([]ledger.Txn{{ID: "x", MemberID: "m1", Time: t0, Postings: []ledger.Posting{
				{ledger.Available, -1}, {ledger.Redeemed, 1}}}, {ID: "y", MemberID: "m1", Time: t0, Postings: []ledger.Posting{
				{ledger.Available, 1}, {ledger.Redeemed, -1}}}}, txns...)
		}, "leaves available at -1"},
		{"unknown account", func(b *ledger.Book, txns []ledger.Txn) []ledger.Txn {
			txns[0].Postings[0].Account = "cash"
			return txns
		}, "unknown account"},
		{"zero posting", func(b *ledger.Book, txns []ledger.Txn) []ledger.Txn {
			txns[0].Postings = append(txns[0].Postings, ledger.Posting{Account: ledger.Redeemed})
			return txns
		}, "posts zero"},
		{"lot edited", func(b *ledger.Book, txns []ledger.Txn) []ledger.Txn {
			b.Lots[len(b.Lots)-1].Remaining++
			return txns
		}, "lots have"},
		{"lots reordered", func(b *ledger.Book, txns []ledger.Txn) []ledger.Txn {
			slices.Reverse(b.Lots)
			return txns
		}, "out of consumption order"},
		{"spent lot kept", func(b *ledger.Book, txns []ledger.Txn) []ledger.Txn {
			b.Lots = append(b.Lots, ledger.Lot{ID: "zz", Points: 1})
			return txns
		}, "spent but kept"},
		{"hold portion edited", func(b *ledger.Book, txns []ledger.Txn) []ledger.Txn {
			b.Holds[0].Portions[0].Points--
			return txns
		}, "in portions of"},
		{"hold closed without giving back", func(b *ledger.Book, txns []ledger.Txn) []ledger.Txn {
			b.Holds[0].Status = ledger.HoldReleased
			return txns
		}, "still holds"},
		{"wrong book", func(b *ledger.Book, txns []ledger.Txn) []ledger.Txn {
			b.MemberID = "m2"
			return txns
		}, `belongs to member "m1", not "m2"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b := o.b.Clone()
			txns := make([]ledger.Txn, len(o.txns))
			for i, x := range o.txns {
				x.Postings = slices.Clone(x.Postings)
				txns[i] = x
			}
			ps := ledger.Verify(b, tc.tamper(b, txns))
			found := false
			for _, p := range ps {
				found = found || strings.Contains(p.String(), tc.want)
			}
			if !found {
				t.Fatalf("problems %v, want one containing %q", ps, tc.want)
			}
		})
	}
	v := ledger.NewVerifier("m1")
	for _, x := range o.txns {
		v.Add(x)
	}
	other := o.b.Clone()
	other.MemberID = "m2"
	if ps := v.Check(other); len(ps) != 1 || !strings.Contains(ps[0].String(), "book belongs to member") {
		t.Fatalf("problems %v", ps)
	}
	if ps := ledger.Verify(nil, nil); len(ps) != 1 {
		t.Fatalf("nil book: %v", ps)
	}
}
