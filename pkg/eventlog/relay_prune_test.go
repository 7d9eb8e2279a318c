package eventlog

import (
	"context"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	bolt "go.etcd.io/bbolt"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/huiyuan-dev/huiyuan/pkg/boltx/bolttest"
	"github.com/huiyuan-dev/huiyuan/pkg/clock"
)

// TestPruneKeepsUnpublishedAndYoung checks retention: events older than the retention are
// deleted only once the broker acknowledged them; younger ones always stay.
func TestPruneKeepsUnpublishedAndYoung(t *testing.T) {
	t.Parallel()
	l := New("loyalty")
	db := bolttest.Open(t, l.Buckets()...)
	t0 := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	clk := clock.NewFake(t0)
	const n = 2500 // more than one prune transaction
	if err := db.Update(context.Background(), func(tx *bolt.Tx) error {
		for i := range n {
			at := t0.Add(time.Duration(i) * time.Second)
			for _, tenant := range []string{"acme", "globex"} {
				if _, err := l.Append(tx, tenant, "points_earned", wrapperspb.Int64(int64(i)), at); err != nil {
					return err
				}
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	r := NewRelay(l, db, jetstreamStub{}, nil, RelayOptions{Retention: time.Hour, Clock: clk})
	// acme: the broker acknowledged everything; globex: only up to 100.
	r.state("acme").published = n
	r.state("globex").published = 100

	tests := []struct {
		name                 string
		now                  time.Time
		wantAcme, wantGlobex uint64 // first sequence left
	}{
		{name: "nothing_old", now: t0.Add(time.Hour), wantAcme: 1, wantGlobex: 1},
		{name: "some_old", now: t0.Add(time.Hour + 50*time.Second), wantAcme: 51, wantGlobex: 51},
		{name: "all_old", now: t0.Add(10 * time.Hour), wantAcme: 0, wantGlobex: 101},
	}
	for _, tt := range tests {
		clk.Set(tt.now)
		if err := r.prune(context.Background()); err != nil {
			t.Fatal(err)
		}
		for tenant, want := range map[string]uint64{"acme": tt.wantAcme, "globex": tt.wantGlobex} {
			recs, last, err := l.List(context.Background(), db, tenant, 0, 1)
			if err != nil {
				t.Fatal(err)
			}
			if last != n {
				t.Fatalf("%s: %s head = %d, want %d", tt.name, tenant, last, n)
			}
			var first uint64
			if len(recs) > 0 {
				first = recs[0].GetSequence()
			}
			if first != want {
				t.Errorf("%s: %s first event = %d, want %d", tt.name, tenant, first, want)
			}
		}
	}
	// The next sequence continues after pruning everything.
	if err := db.Update(context.Background(), func(tx *bolt.Tx) error {
		rec, err := l.Append(tx, "acme", "points_earned", wrapperspb.Int64(1), clk.Now())
		if err == nil && rec.GetSequence() != n+1 {
			t.Errorf("sequence after pruning = %d, want %d", rec.GetSequence(), n+1)
		}
		return err
	}); err != nil {
		t.Fatal(err)
	}
}

// jetstreamStub satisfies jetstream.JetStream for tests that never reach the broker.
type jetstreamStub struct{ jetstream.JetStream }
