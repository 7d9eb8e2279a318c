package ledger_test

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/huiyuan-dev/huiyuan/services/loyalty/internal/ledger"
)

// TestLedgerSharedAcrossGoroutines backs the claim that one Ledger (with the default UUIDv7
// ids) serves many books at once: 32 goroutines each run their own book, and every book
// verifies with distinct ids throughout. Run with -race.
func TestLedgerSharedAcrossGoroutines(t *testing.T) {
	l, err := ledger.New(ledger.Config{Location: shanghai, Expiry: policy30,
		Transfer: ledger.TransferRules{Enabled: true, KeepExpiry: true}})
	if err != nil {
		t.Fatal(err)
	}
	const workers, rounds = 32, 100
	var wg sync.WaitGroup
	results := make([][]ledger.Txn, workers)
	books := make([]*ledger.Book, workers)
	for w := range workers {
		wg.Go(func() {
			b := ledger.NewBook(fmt.Sprintf("m%d", w))
			peer := ledger.NewBook(fmt.Sprintf("peer%d", w))
			var txns []ledger.Txn
			keep := func(ts []ledger.Txn, err error) {
				if err != nil {
					t.Errorf("worker %d: %v", w, err)
				}
				txns = append(txns, ts...)
			}
			for i := range rounds {
				at := t0.Add(time.Duration(i) * time.Hour)
				keep(l.Earn(b, ledger.EarnRequest{Points: 100, At: at, Cause: ledger.Cause{Type: ledger.CauseOrder, Ref: fmt.Sprint(i)}}))
				keep(l.Redeem(b, ledger.RedeemRequest{Points: 30, At: at, Cause: redemption}))
				id := fmt.Sprint("h", i)
				keep(l.Hold(b, ledger.HoldRequest{HoldID: id, Points: 20, At: at, ExpiresAt: at.Add(time.Minute), Cause: redemption}))
				keep(l.Capture(b, ledger.CaptureRequest{HoldID: id, Points: 10, At: at}))
				res, err := l.Transfer(b, peer, ledger.TransferRequest{TransferID: id, Points: 5, At: at})
				keep(res.Out, err)
			}
			results[w], books[w] = txns, b
		})
	}
	wg.Wait()
	seen := map[string]bool{}
	for w := range workers {
		if ps := ledger.Verify(books[w], results[w]); len(ps) > 0 {
			t.Fatalf("worker %d: %v", w, ps)
		}
		for _, x := range results[w] {
			if seen[x.ID] {
				t.Fatalf("id %s used twice", x.ID)
			}
			seen[x.ID] = true
		}
		if got := books[w].Balance(ledger.Available); got != rounds*(100-30-10-5) {
			t.Fatalf("worker %d: available %d", w, got)
		}
	}
}
