package boltx_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/huiyuan-dev/huiyuan/pkg/boltx"
)

// BenchmarkWriter compares the group-commit Writer with one commit per write (DB.Update) on
// the same disk, with real fsync, at 1, 16 and 64 concurrent writers. Each op reads a counter,
// writes it back and appends a ~100-byte entry. Run:
//
//	go test -run x -bench Writer -benchtime 2s ./boltx/
func BenchmarkWriter(b *testing.B) {
	entry := make([]byte, 100)
	impls := []struct {
		name string
		new  func(db *boltx.DB) (boltx.Updater, func())
	}{
		{"group", func(db *boltx.DB) (boltx.Updater, func()) {
			w := boltx.NewWriter(db, boltx.WriterOptions{})
			return w, func() { _ = w.Close() }
		}},
		{"group-linger-2ms", func(db *boltx.DB) (boltx.Updater, func()) {
			w := boltx.NewWriter(db, boltx.WriterOptions{Linger: 2 * time.Millisecond})
			return w, func() { _ = w.Close() }
		}},
		{"serial", func(db *boltx.DB) (boltx.Updater, func()) { return db, func() {} }},
	}
	for _, impl := range impls {
		for _, writers := range []int{1, 16, 64} {
			b.Run(fmt.Sprintf("%s/writers=%d", impl.name, writers), func(b *testing.B) {
				db, err := boltx.Open(filepath.Join(b.TempDir(), "bench.db"), boltx.Options{}, bucketCounter, bucketLog)
				if err != nil {
					b.Fatal(err)
				}
				defer db.Close()
				u, closeU := impl.new(db)
				defer closeU()
				op := func(tx *bolt.Tx) error { _, err := appendEntry(tx, entry); return err }
				ctx := context.Background()

				var left atomic.Int64
				left.Store(int64(b.N))
				var wg sync.WaitGroup
				b.ResetTimer()
				start := time.Now()
				for range writers {
					wg.Go(func() {
						for left.Add(-1) >= 0 {
							if err := u.Update(ctx, op); err != nil {
								b.Error(err)
								return
							}
						}
					})
				}
				wg.Wait()
				b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "ops/s")
			})
		}
	}
}

// BenchmarkFileSync is what the disk under the benchmarks charges for durability: a 4 KiB
// write and a sync of the file (bbolt syncs twice per commit, with fdatasync, which also skips
// the file's times), reporting the median and p99. The rates of fsync-bound benchmarks move
// with it from one run to the next. Run:
//
//	go test -run x -bench FileSync ./pkg/boltx/
func BenchmarkFileSync(b *testing.B) {
	f, err := os.Create(filepath.Join(b.TempDir(), "sync"))
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	page := make([]byte, 4096)
	var took []time.Duration
	i := 0
	for b.Loop() {
		t := time.Now()
		if _, err := f.WriteAt(page, int64(i%256)*4096); err != nil {
			b.Fatal(err)
		}
		if err := f.Sync(); err != nil {
			b.Fatal(err)
		}
		took = append(took, time.Since(t))
		i++
	}
	slices.Sort(took)
	b.ReportMetric(float64(took[len(took)/2].Microseconds()), "p50-µs")
	b.ReportMetric(float64(took[len(took)*99/100].Microseconds()), "p99-µs")
}
