package eventlog_test

import (
	"context"
	"fmt"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/huiyuan-dev/huiyuan/pkg/boltx"
	"github.com/huiyuan-dev/huiyuan/pkg/eventlog"
	"github.com/huiyuan-dev/huiyuan/pkg/natsx/natstest"
)

// BenchmarkAppend measures Append plus a synced commit from 16 goroutines over 8 tenants,
// without and with the relay publishing to an embedded JetStream (file storage on the same
// disk). Commits go straight to the database (one fsync each) or through the group-commit
// Writer. ns/op and append_events/s cover the appends; with the relay, acked_events/s also
// includes the Flush that waits until the broker acknowledged every event.
func BenchmarkAppend(b *testing.B) {
	cases := []struct {
		commit string
		perTx  int
	}{
		{"db", 1}, {"writer", 1}, {"db", 100},
	}
	for _, c := range cases {
		for _, relay := range []bool{false, true} {
			name := fmt.Sprintf("commit=%s/events_per_tx=%d/relay=%v", c.commit, c.perTx, relay)
			b.Run(name, func(b *testing.B) { benchAppend(b, c.commit == "writer", c.perTx, relay) })
		}
	}
}

func benchAppend(b *testing.B, groupCommit bool, perTx int, withRelay bool) {
	l := eventlog.New("loyalty")
	db := openDB(b, false, l.Buckets()...)
	var up boltx.Updater = db
	if groupCommit {
		w := boltx.NewWriter(db, boltx.WriterOptions{})
		b.Cleanup(func() { _ = w.Close() })
		up = w
	}
	var r *eventlog.Relay
	if withRelay {
		_, nc := natstest.Run(b)
		r = eventlog.NewRelay(l, db, newJS(b, nc), nil, eventlog.RelayOptions{})
		runBG(b, r.Run)
	}
	tenants := []string{"t0", "t1", "t2", "t3", "t4", "t5", "t6", "t7"}
	payload := wrapperspb.Int64(42)
	var next atomic.Int64
	b.ReportAllocs()
	b.SetParallelism(8)
	b.ResetTimer()
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		tenant := tenants[int(next.Add(1))%len(tenants)]
		for pb.Next() {
			if err := up.Update(context.Background(), func(tx *bolt.Tx) error {
				for range perTx {
					if _, err := l.Append(tx, tenant, "points_earned", payload, time.Now()); err != nil {
						return err
					}
				}
				return nil
			}); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.StopTimer()
	events := float64(b.N * perTx)
	b.ReportMetric(events/time.Since(start).Seconds(), "append_events/s")
	if r != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		if err := r.Flush(ctx); err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(events/time.Since(start).Seconds(), "acked_events/s")
	}
}

// BenchmarkRelay measures the relay alone: a log of 100,000 events already committed (one
// tenant, or spread over 16) is published to an embedded JetStream (file storage) by a relay
// started for the measurement; one op is the whole log, from Run to the Flush that sees every
// event acknowledged. acked_events/s is the throughput.
func BenchmarkRelay(b *testing.B) {
	const total = 100_000
	for _, tenants := range []int{1, 16} {
		b.Run(fmt.Sprintf("tenants=%d", tenants), func(b *testing.B) {
			var elapsed time.Duration
			for range b.N {
				b.StopTimer()
				l := eventlog.New("loyalty")
				db := openDB(b, true, l.Buckets()...)
				fillLog(b, db, l, tenants, total)
				_, nc := natstest.Run(b)
				r := eventlog.NewRelay(l, db, newJS(b, nc), nil, eventlog.RelayOptions{})
				b.StartTimer()
				start := time.Now()
				stop := runBG(b, r.Run)
				ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
				err := r.Flush(ctx)
				cancel()
				elapsed += time.Since(start)
				b.StopTimer()
				stop()
				if err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N*total)/elapsed.Seconds(), "acked_events/s")
		})
	}
}

// fillLog appends total events spread round-robin over tenants, 1,000 per transaction.
func fillLog(b *testing.B, db *boltx.DB, l *eventlog.Log, tenants, total int) {
	b.Helper()
	payload := wrapperspb.Int64(42)
	at := time.Now()
	for done := 0; done < total; {
		err := db.Update(context.Background(), func(tx *bolt.Tx) error {
			for i := 0; i < 1000 && done < total; i, done = i+1, done+1 {
				if _, err := l.Append(tx, "t"+strconv.Itoa(done%tenants), "points_earned", payload, at); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
	}
}
