package eventlog_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/huiyuan-dev/huiyuan/pkg/eventlog"
	"github.com/huiyuan-dev/huiyuan/pkg/natsx/natstest"
)

// BenchmarkAppend measures Append plus a synced bbolt commit, from parallel goroutines over 8
// tenants, without and with the relay publishing to an embedded JetStream. With the relay,
// the time includes Flush (every event acknowledged by the broker), reported as events/s.
func BenchmarkAppend(b *testing.B) {
	for _, perTx := range []int{1, 100} {
		for _, relay := range []bool{false, true} {
			b.Run(fmt.Sprintf("events_per_tx=%d/relay=%v", perTx, relay), func(b *testing.B) {
				benchAppend(b, perTx, relay)
			})
		}
	}
}

func benchAppend(b *testing.B, perTx int, withRelay bool) {
	l := eventlog.New("loyalty")
	db := openDB(b, false, l.Buckets()...)
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
	b.ResetTimer()
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		tenant := tenants[int(next.Add(1))%len(tenants)]
		for pb.Next() {
			if err := db.Update(context.Background(), func(tx *bolt.Tx) error {
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
	if r != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		if err := r.Flush(ctx); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(b.N*perTx)/time.Since(start).Seconds(), "events/s")
}
