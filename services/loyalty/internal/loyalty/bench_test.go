package loyalty_test

import (
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/huiyuan-dev/huiyuan/services/loyalty/internal/loyalty"
)

// The store benchmarks record orders through the use cases into the real store, no gRPC, with
// fsync on (LOYALTY_BENCH_NOSYNC=1 turns it off to show the CPU alone). They report orders/s
// and what bbolt wrote per order: pages allocated (tx.Stats().PageCount summed over commits)
// and page writes (Write), from the database's statistics.

// benchMembers is how many members the orders are spread over: a mid-size tenant.
const benchMembers = 100_000

func benchEnv(b *testing.B) *env {
	e := &env{path: b.TempDir() + "/loyalty.db", clk: clockNow()}
	e.sync = os.Getenv("LOYALTY_BENCH_NOSYNC") == ""
	e.open(b)
	b.Cleanup(e.close)
	return e
}

// pageStats reports pages allocated and written per order since before.
func (e *env) reportPages(b *testing.B, before [2]int64, orders int) {
	s := e.db.Bolt().Stats().TxStats
	b.ReportMetric(float64(s.GetPageCount()-before[0])/float64(orders), "pages/order")
	b.ReportMetric(float64(s.GetWrite()-before[1])/float64(orders), "writes/order")
}

func (e *env) pages() [2]int64 {
	s := e.db.Bolt().Stats().TxStats
	return [2]int64{s.GetPageCount(), s.GetWrite()}
}

// BenchmarkRecordOrderStore64: 64 goroutines record one order per call.
func BenchmarkRecordOrderStore64(b *testing.B) {
	e := benchEnv(b)
	var next atomic.Int64
	var wg sync.WaitGroup
	before := e.pages()
	b.ReportAllocs()
	b.ResetTimer()
	for range 64 {
		wg.Go(func() {
			for {
				i := next.Add(1)
				if i > int64(b.N) {
					return
				}
				if _, err := e.svc.RecordOrder(bg, "acme", "key-1", order(fmt.Sprintf("order-%d", i), fmt.Sprintf("m%d", i%benchMembers), 12_345)); err != nil {
					b.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "orders/s")
	e.reportPages(b, before, b.N)
}

// BenchmarkRecordOrdersBatch100: 4 goroutines record batches of 100 orders.
func BenchmarkRecordOrdersBatch100(b *testing.B) {
	e := benchEnv(b)
	const size = 100
	var next atomic.Int64
	var wg sync.WaitGroup
	before := e.pages()
	b.ReportAllocs()
	b.ResetTimer()
	for range 4 {
		wg.Go(func() {
			orders := make([]loyalty.Order, size)
			for {
				first := next.Add(size) - size
				if first >= int64(b.N) {
					return
				}
				n := min(size, int64(b.N)-first)
				for i := range n {
					j := first + i
					orders[i] = order(fmt.Sprintf("order-%d", j), fmt.Sprintf("m%d", j%benchMembers), 12_345)
				}
				if _, err := e.svc.RecordOrders(bg, "acme", "key-1", orders[:n], 0); err != nil {
					b.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "orders/s")
	e.reportPages(b, before, b.N)
}
