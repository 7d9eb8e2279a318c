package loyaltyd_test

import (
	"context"
	"encoding/binary"
	"fmt"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/huiyuan-dev/huiyuan/pkg/boltx"
	"github.com/huiyuan-dev/huiyuan/pkg/clock"
	"github.com/huiyuan-dev/huiyuan/pkg/kittest"

	iamv1 "github.com/huiyuan-dev/huiyuan/gen/huiyuan/iam/v1"
	loyaltyv1 "github.com/huiyuan-dev/huiyuan/gen/huiyuan/loyalty/v1"
)

// The RecordOrder benchmarks compare the service with the bbolt work it cannot avoid.
//
//   - BenchmarkRecordOrderGRPC64: 64 concurrent clients record orders over gRPC on loopback
//     TCP through the full grpcx chain (logging, metrics, errors, API-key auth, idempotency),
//     into a bbolt file that fsyncs every commit through the group-commit writer.
//   - BenchmarkRecordOrderRawGroupCommit64: 64 writers run, through the same group-commit
//     writer on the same kind of file, a transaction of the same shape without the service:
//     read a balance, write it back, append two postings.
//   - BenchmarkRecordOrderGRPCSerial and BenchmarkRecordOrderRawSerial: the same with one
//     client, the raw side committing with plain bbolt Update.
//
// Each reports orders/s and the p50 and p99 latency in milliseconds. The event log's share of
// the cost is measured in internal/boltstore (BenchmarkRecordOrderStore*).

// benchMembers is how many members the orders are spread over: a mid-size tenant, whose
// books stay small as a real one's do (one lot per order earned).
const benchMembers = 100_000

// noSync reports whether LOYALTY_BENCH_NOSYNC is set: the files then skip fsync, which shows
// the CPU cost alone. Production syncs every commit, as the benchmarks do by default.
func noSync() bool { return os.Getenv("LOYALTY_BENCH_NOSYNC") != "" }

// measure runs op b.N times spread over clients goroutines and reports throughput and latency.
func measure(b *testing.B, clients int, op func(i int64) error) {
	b.Helper()
	var next atomic.Int64
	lat := make([][]time.Duration, clients)
	var wg sync.WaitGroup
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	for c := range clients {
		wg.Go(func() {
			for {
				i := next.Add(1)
				if i > int64(b.N) {
					return
				}
				t := time.Now()
				if err := op(i); err != nil {
					b.Error(err)
					return
				}
				lat[c] = append(lat[c], time.Since(t))
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	b.StopTimer()
	all := slices.Concat(lat...)
	if len(all) == 0 {
		return
	}
	slices.Sort(all)
	pct := func(p float64) float64 { return float64(all[int(p*float64(len(all)-1))]) / float64(time.Millisecond) }
	b.ReportMetric(float64(len(all))/elapsed.Seconds(), "orders/s")
	b.ReportMetric(pct(0.50), "p50-ms")
	b.ReportMetric(pct(0.99), "p99-ms")
}

func benchRecordOrder(b *testing.B, clients int) {
	h := start(b, kittest.Options{Clock: clock.System{}, Sync: !noSync()})
	ctx := h.As(iamv1.Role_SERVICE)
	// One call first, so connection setup is not measured.
	h.order(b, "warmup", "m0", 100)
	measure(b, clients, func(i int64) error {
		_, err := h.points().RecordOrder(ctx, &loyaltyv1.RecordOrderRequest{RequestId: fmt.Sprintf("r-%d", i), Order: &loyaltyv1.Order{
			Id: fmt.Sprintf("order-%d", i), MemberId: fmt.Sprintf("m%d", i%benchMembers), AmountMinor: 12_345,
			Currency: "CNY", StoreId: "sh-001"}})
		return err
	})
}

func BenchmarkRecordOrderGRPC64(b *testing.B)     { benchRecordOrder(b, 64) }
func BenchmarkRecordOrderGRPCSerial(b *testing.B) { benchRecordOrder(b, 1) }

// rawEarn is the irreducible transaction of an earn: read the member's balance, write it back
// with the points added, append two postings under the next sequence.
func rawEarn(i int64) func(tx *bolt.Tx) error {
	member := []byte(fmt.Sprintf("acme\x00m%d", i%benchMembers))
	return func(tx *bolt.Tx) error {
		bal := tx.Bucket([]byte("balances"))
		v := boltx.ParseU64(bal.Get(member))
		if err := bal.Put(member, boltx.U64(v+123)); err != nil {
			return err
		}
		post := tx.Bucket([]byte("postings"))
		seq, err := post.NextSequence()
		if err != nil {
			return err
		}
		for leg, pts := range []int64{-123, 123} {
			val := binary.AppendVarint(append([]byte(nil), member...), pts)
			if err := post.Put(boltx.U64(seq*2+uint64(leg)), val); err != nil {
				return err
			}
		}
		return nil
	}
}

func rawDB(b *testing.B) *boltx.DB {
	db, err := boltx.Open(b.TempDir()+"/raw.db", boltx.Options{NoSync: noSync()}, []byte("balances"), []byte("postings"))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = db.Close() })
	return db
}

func BenchmarkRecordOrderRawGroupCommit64(b *testing.B) {
	db := rawDB(b)
	w := boltx.NewWriter(db, boltx.WriterOptions{})
	defer w.Close()
	ctx := context.Background()
	measure(b, 64, func(i int64) error { return w.Update(ctx, rawEarn(i)) })
}

func BenchmarkRecordOrderRawSerial(b *testing.B) {
	db := rawDB(b)
	ctx := context.Background()
	measure(b, 1, func(i int64) error { return db.Update(ctx, rawEarn(i)) })
}
