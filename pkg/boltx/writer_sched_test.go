package boltx_test

import (
	"context"
	"runtime"
	"sync"
	"testing"

	bolt "go.etcd.io/bbolt"

	"github.com/huiyuan-dev/huiyuan/pkg/boltx"
	"github.com/huiyuan-dev/huiyuan/pkg/boltx/bolttest"
)

// TestWriter_OneProcessorGroupsRunnableCallers: on one processor, callers that become runnable
// together while the writer is idle share a transaction. Before the writer yielded on waking,
// the first caller's wake-up ran the writer at once and every caller committed alone (16
// transactions for 16 callers): the suite on one CPU recorded 1,700-2,000 gRPC orders/s, against
// 6,300-6,500/s with the yield.
// Not parallel: it sets GOMAXPROCS for the whole process while it runs.
func TestWriter_OneProcessorGroupsRunnableCallers(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	const callers = 16
	db := bolttest.Open(t, bucketCounter, bucketLog)
	w := boltx.NewWriter(db, boltx.WriterOptions{})
	t.Cleanup(func() { _ = w.Close() })
	ctx := context.Background()

	for round := range 5 { // five rounds: a stray preemption may split one, not all
		var mu sync.Mutex
		txs := map[int]int{}
		var wg sync.WaitGroup
		for range callers {
			wg.Go(func() {
				err := w.Update(ctx, func(tx *bolt.Tx) error {
					mu.Lock()
					txs[tx.ID()]++
					mu.Unlock()
					_, err := appendEntry(tx, []byte("e"))
					return err
				})
				if err != nil {
					t.Error(err)
				}
			})
		}
		wg.Wait()
		if len(txs) <= 2 {
			return
		}
		t.Logf("round %d: %d callers took %d transactions", round, callers, len(txs))
	}
	t.Fatalf("%d callers made runnable together took more than two transactions in every round", callers)
}
