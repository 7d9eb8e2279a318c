package eventlog_test

import (
	"context"
	"crypto/rand"
	"os"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/huiyuan-dev/huiyuan/pkg/boltx"
	"github.com/huiyuan-dev/huiyuan/pkg/eventlog"
	"github.com/huiyuan-dev/huiyuan/pkg/natsx"
)

var externalApplied, externalSparse = []byte("external_applied"), []byte("external_sparse")

// TestExternalNATS runs the relay and a durable consumer against the NATS server at NATS_URL
// (`make test-nats`), so the event path is proven on a separately run broker as well as on the
// embedded one. A sparse consumer of one of the types runs beside it: filtered on a 2.11+
// server, receiving everything on an older one; either way it applies each of its events once.
// It uses a fresh service name, hence a fresh stream, and deletes it afterwards.
func TestExternalNATS(t *testing.T) {
	url := os.Getenv("NATS_URL")
	if url == "" {
		t.Skip("NATS_URL is not set")
	}
	nc, err := natsx.Connect(url, natsx.WithLogger(nil))
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js := newJS(t, nc)
	service := "ext" + strings.ToLower(strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' {
			return r
		}
		return 'x'
	}, rand.Text()))[:8]
	t.Cleanup(func() { _ = js.DeleteStream(context.Background(), strings.ToUpper(service)) })

	l := eventlog.New(service)
	db := openDB(t, true, append(append(l.Buckets(), eventlog.ConsumerBuckets()...), externalApplied, externalSparse)...)
	stopRelay := runBG(t, eventlog.NewRelay(l, db, js, testLogger(t), eventlog.RelayOptions{}).Run)
	defer stopRelay()
	// Two event types interleaved: the relay's expected-sequence check spans the tenant's
	// subjects, not one subject.
	const trickle, backlog = 50, 1500
	for i := 0; i < trickle/10; i++ {
		appendN(t, db, l, "acme", "thing_happened", 5, time.Now())
		appendN(t, db, l, "acme", "other_thing", 5, time.Now())
	}
	// A backlog in one transaction: published in windows (pipelined on servers before 2.11,
	// atomic batches from 2.12).
	if err := db.Update(context.Background(), func(tx *bolt.Tx) error {
		for i := range backlog {
			if _, err := l.Append(tx, "acme", []string{"thing_happened", "other_thing"}[i%2], wrapperspb.Int64(int64(i)), time.Now()); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	const n = trickle + backlog

	count := func(bucket []byte) eventlog.Handler {
		return func(tx *bolt.Tx, d eventlog.Delivery) error {
			b := tx.Bucket(bucket)
			k := boltx.U64(d.Sequence)
			return b.Put(k, boltx.U64(boltx.ParseU64(b.Get(k))+1))
		}
	}
	cons := eventlog.NewConsumer(js, db, db, eventlog.ConsumerConfig{Name: "external-test", Service: service}, count(externalApplied), testLogger(t))
	stopConsumer := runBG(t, cons.Run)
	defer stopConsumer()
	sparse := eventlog.NewConsumer(js, db, db, eventlog.ConsumerConfig{Name: "external-sparse", Service: service,
		Types: []string{"other_thing"}, Sparse: true}, count(externalSparse), testLogger(t))
	stopSparse := runBG(t, sparse.Run)
	defer stopSparse()

	applied := func(bucket []byte) map[uint64]uint64 {
		out := map[uint64]uint64{}
		_ = db.View(context.Background(), func(tx *bolt.Tx) error {
			return tx.Bucket(bucket).ForEach(func(k, v []byte) error {
				out[boltx.ParseU64(k)] = boltx.ParseU64(v)
				return nil
			})
		})
		return out
	}
	waitUntil(t, 30*time.Second, "every event applied", func() bool { return len(applied(externalApplied)) == n })
	for seq, c := range applied(externalApplied) {
		if seq < 1 || seq > n || c != 1 {
			t.Fatalf("event %d applied %d times", seq, c)
		}
	}
	// other_thing is every other event of the trickle's pairs of five and of the backlog.
	waitUntil(t, 60*time.Second, "every other_thing event applied by the sparse consumer", func() bool {
		return len(applied(externalSparse)) == n/2
	})
	for seq, c := range applied(externalSparse) {
		if seq < 1 || seq > n || c != 1 {
			t.Fatalf("event %d applied %d times by the sparse consumer", seq, c)
		}
	}
}
