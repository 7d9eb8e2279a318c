package eventlog_test

import (
	"context"
	"os"
	"sync/atomic"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/huiyuan-dev/huiyuan/pkg/eventlog"
	"github.com/huiyuan-dev/huiyuan/pkg/natsx"
)

func BenchmarkScratch(b *testing.B) {
	dir, _ := os.MkdirTemp("/dev/shm", "js")
	defer os.RemoveAll(dir)
	ns, err := natsx.StartEmbedded(natsx.EmbeddedConfig{DontListen: true, StoreDir: dir})
	if err != nil {
		b.Fatal(err)
	}
	defer ns.Shutdown()
	nc, _ := natsx.ConnectInProcess(ns)
	l := eventlog.New("loyalty")
	db := openDB(b, false, l.Buckets()...)
	r := eventlog.NewRelay(l, db, newJS(b, nc), nil, eventlog.RelayOptions{})
	if os.Getenv("RELAY") == "1" {
		runBG(b, r.Run)
	}
	tenants := []string{"t0", "t1", "t2", "t3", "t4", "t5", "t6", "t7"}
	var next atomic.Int64
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		tenant := tenants[int(next.Add(1))%len(tenants)]
		for pb.Next() {
			_ = db.Update(context.Background(), func(tx *bolt.Tx) error {
				_, err := l.Append(tx, tenant, "points_earned", wrapperspb.Int64(1), time.Now())
				return err
			})
		}
	})
}
