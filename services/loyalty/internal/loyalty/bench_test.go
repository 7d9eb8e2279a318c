package loyalty_test

import (
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/huiyuan-dev/huiyuan/services/loyalty/internal/ledger"
	"github.com/huiyuan-dev/huiyuan/services/loyalty/internal/loyalty"
	"github.com/huiyuan-dev/huiyuan/services/loyalty/loyaltybench"
)

// The store benchmarks record orders through the use cases into the real store, no gRPC, with
// fsync on (LOYALTY_BENCH_NOSYNC=1 turns it off to show the CPU alone). They report orders/s
// and what bbolt wrote per order: pages allocated (tx.Stats().PageCount summed over commits)
// and page writes (Write), from the database's statistics.

// benchMembers is how many members the orders are spread over: a mid-size tenant.
const benchMembers = 100_000

// knownMembers tells the store, as the member service's registration events do, that members
// id(0) to id(n-1) of acme are ACTIVE, a thousand to a transaction, so the benchmarks measure
// orders of members loyalty knows (the lookup of one it does not is the rare path).
func (e *env) knownMembers(b *testing.B, n int, id func(i int) string) {
	b.Helper()
	for first := 0; first < n; first += 1000 {
		if err := e.w.Update(bg, func(tx *bolt.Tx) error {
			return e.store.Apply(tx, "acme", func(t loyalty.Tx) error {
				for i := first; i < min(first+1000, n); i++ {
					if err := loyalty.SetMemberStatus(t, id(i), loyalty.MemberActive); err != nil {
						return err
					}
				}
				return nil
			})
		}); err != nil {
			b.Fatal(err)
		}
	}
}

func benchEnv(b *testing.B) *env {
	e := &env{path: b.TempDir() + "/loyalty.db", clk: clockNow(), dir: &directory{}}
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
	e.knownMembers(b, benchMembers, func(i int) string { return fmt.Sprintf("m%d", i) })
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
	e.knownMembers(b, benchMembers, func(i int) string { return fmt.Sprintf("m%d", i) })
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

// BenchmarkFileBytesPerOrder fills a store with LOYALTY_FILL_ORDERS orders (1,000,000 by
// default) over 100,000 members in batches of 100, on a clock that moves a day every 3,000
// orders (so the orders of a member earn on many days, under the default policy), and reports
// the file's bytes per order as written and after bbolt's compaction (huiyuan compact), the
// compacted bytes per order of each bucket, and what a further order costs in pages on the full
// file, alone and in a batch of 100. Run it once: -benchtime=1x.
func BenchmarkFileBytesPerOrder(b *testing.B) {
	total := 1_000_000
	if s := os.Getenv("LOYALTY_FILL_ORDERS"); s != "" {
		if _, err := fmt.Sscan(s, &total); err != nil {
			b.Fatal(err)
		}
	}
	e := &env{path: b.TempDir() + "/loyalty.db", clk: clockNow(), dir: &directory{}}
	e.open(b)
	b.Cleanup(e.close)
	e.knownMembers(b, benchMembers, func(i int) string { return fmt.Sprintf("m%05d", i) })
	const size = 100
	orders := make([]loyalty.Order, size)
	b.ResetTimer()
	for first := 0; first < total; first += size {
		for i := range orders {
			j := first + i
			orders[i] = order(fmt.Sprintf("order-%07d", j), fmt.Sprintf("m%05d", j%benchMembers), 12_345)
		}
		if _, err := e.svc.RecordOrders(bg, "acme", "key-1", orders, 0); err != nil {
			b.Fatal(err)
		}
		if first%3000 == 0 {
			e.clk.Advance(24 * time.Hour)
		}
	}
	b.StopTimer()
	// A further order, on the full file: pages written alone and in a batch.
	before := e.pages()
	for i := range 1000 {
		e.order(b, "acme", fmt.Sprintf("single-%d", i), fmt.Sprintf("m%05d", (i*7919)%benchMembers), 12_345)
	}
	e.reportPages(b, before, 1000)
	b.ReportMetric(b.Elapsed().Seconds(), "fill-s")
	before = e.pages()
	for first := 0; first < 10_000; first += size {
		for i := range orders {
			j := first + i
			orders[i] = order(fmt.Sprintf("more-%07d", j), fmt.Sprintf("m%05d", (j*7919)%benchMembers), 12_345)
		}
		if _, err := e.svc.RecordOrders(bg, "acme", "key-1", orders, 0); err != nil {
			b.Fatal(err)
		}
	}
	ds := e.db.Bolt().Stats()
	s := ds.TxStats
	b.ReportMetric(float64(s.GetPageCount()-before[0])/10_000, "pages/order-batch100")
	b.ReportMetric(float64(ds.FreelistInuse), "freelist-B")
	n := float64(total + 11_000)
	st, err := os.Stat(e.path)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(st.Size())/n, "file-B/order")
	e.close()
	compacted := e.path + ".compact"
	src, err := bolt.Open(e.path, 0o600, &bolt.Options{ReadOnly: true})
	if err != nil {
		b.Fatal(err)
	}
	dst, err := bolt.Open(compacted, 0o600, nil)
	if err != nil {
		b.Fatal(err)
	}
	if err := bolt.Compact(dst, src, 64<<20); err != nil {
		b.Fatal(err)
	}
	_ = src.Close()
	if st, err = os.Stat(compacted); err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(st.Size())/n, "compacted-B/order")
	err = dst.View(func(tx *bolt.Tx) error {
		return tx.ForEach(func(name []byte, bk *bolt.Bucket) error {
			bs := bk.Stats()
			if used := bs.LeafInuse + bs.BranchInuse; used > 0 {
				b.ReportMetric(float64(used)/n, string(name)+"-B/order")
			}
			return nil
		})
	})
	_ = dst.Close()
	if err != nil {
		b.Fatal(err)
	}
}

// BenchmarkRecordOrderHistoryStore is BenchmarkRecordOrderHistory's comparison without gRPC,
// on one store: 64 members get 10,000 orders each over a year first; then 64 goroutines record
// orders, each for its own one of those members (history) or each order for a new member
// (new), in phases that alternate, 8 rounds of 300 ms each. It reports both rates and their
// ratio. Member ids of both kinds are spread over the key space (loyaltybench.Scattered), so the two
// differ in their history only, not in how their accounts share pages. LOYALTY_BENCH_EXPIRY=days
// runs it under a daily expiry (points last 365 days), where the year leaves a lot per day.
func BenchmarkRecordOrderHistoryStore(b *testing.B) {
	e := benchEnv(b)
	if os.Getenv("LOYALTY_BENCH_EXPIRY") == "days" {
		e.policy(b, "acme", func(p *loyalty.Policy) { p.Expiry = ledger.ExpiryPolicy{Kind: ledger.ExpireAfterDays, N: 365} })
	}
	heavy := func(c int) string { return loyaltybench.Scattered("heavy", int64(c)) }
	// Both kinds are members the member service's events told loyalty of.
	const fresh = 200_000
	e.knownMembers(b, 64, heavy)
	e.knownMembers(b, fresh, func(i int) string { return loyaltybench.Scattered("new", int64(i)) })
	orders := make([]loyalty.Order, 1000)
	for n := 0; n < 64*10_000; n += len(orders) {
		for i := range orders {
			orders[i] = order(fmt.Sprintf("past-%d", n+i), heavy((n+i)%64), 12_345)
		}
		if _, err := e.svc.RecordOrders(bg, "acme", "k", orders, 0); err != nil {
			b.Fatal(err)
		}
		e.clk.Advance(24 * time.Hour * 1000 / 1750)
	}
	var next atomic.Int64
	loyaltybench.HistoryAgainstNew(b, 64, heavy, func() string {
		i := next.Add(1)
		if i > fresh {
			b.Fatalf("more than %d new members wanted", fresh)
		}
		return loyaltybench.Scattered("new", i-1)
	}, func(id, member string) error {
		_, err := e.svc.RecordOrder(bg, "acme", "k", order(id, member, 12_345))
		return err
	})
}
