package boltstore_test

import (
	"context"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/huiyuan-dev/huiyuan/services/loyalty/internal/loyalty"
)

// BenchmarkRecordOrderStoreEvents and BenchmarkRecordOrderStoreNoEvents record orders straight
// into the store (no gRPC) from 64 goroutines through the group-commit writer on a file that
// fsyncs every commit, with and without the event log appends (order_recorded and
// points_earned): the difference is what event emission costs the earn path.
func BenchmarkRecordOrderStoreEvents(b *testing.B)   { benchStore(b, false) }
func BenchmarkRecordOrderStoreNoEvents(b *testing.B) { benchStore(b, true) }

func benchStore(b *testing.B, noEvents bool) {
	f := newFixture(b, fixtureOpts{sync: os.Getenv("LOYALTY_BENCH_NOSYNC") == ""})
	f.store.SetNoEvents(noEvents)
	ctx := context.Background()
	var next atomic.Int64
	var wg sync.WaitGroup
	b.ReportAllocs()
	b.ResetTimer()
	for range 64 {
		wg.Go(func() {
			for {
				i := next.Add(1)
				if i > int64(b.N) {
					return
				}
				_, err := f.store.RecordOrder(ctx, "acme", loyalty.Order{ID: fmt.Sprintf("order-%d", i),
					MemberID: fmt.Sprintf("m%d", i%benchMembers), AmountMinor: 12_345, Currency: "CNY", StoreID: "sh-001"}, "key-1")
				if err != nil {
					b.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "orders/s")
}

// benchMembers is how many members the benchmark's orders are spread over.
const benchMembers = 100_000
