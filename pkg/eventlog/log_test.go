package eventlog_test

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/huiyuan-dev/huiyuan/pkg/boltx"
	"github.com/huiyuan-dev/huiyuan/pkg/eventlog"
)

func TestAppendRecord(t *testing.T) {
	t.Parallel()
	l := eventlog.New("loyalty")
	db := openDB(t, true, l.Buckets()...)
	at := time.Date(2025, 3, 1, 8, 0, 0, 123, time.UTC)
	var rec1, rec2 proto.Message
	err := db.Update(context.Background(), func(tx *bolt.Tx) error {
		r, err := l.Append(tx, "acme", "points_earned", wrapperspb.Int64(50), at)
		rec1 = r
		if err != nil {
			return err
		}
		if r.GetSequence() != 1 || r.GetEpoch() == 0 || r.GetEpochStart() != 1 ||
			r.GetId() != "loyalty:acme:"+strconv.FormatUint(r.GetEpoch(), 10)+":1" || r.GetSubject() != "huiyuan.acme.loyalty.v1.points_earned" ||
			r.GetType() != "points_earned" || r.GetTenant() != "acme" || !r.GetTime().AsTime().Equal(at) ||
			r.GetPayloadType() != "google.protobuf.Int64Value" {
			t.Errorf("unexpected record %v", r)
		}
		var p wrapperspb.Int64Value
		if err := proto.Unmarshal(r.GetPayload(), &p); err != nil || p.GetValue() != 50 {
			t.Errorf("payload = %v, %v", &p, err)
		}
		r2, err := l.Append(tx, "acme", "points_spent", wrapperspb.Int64(20), at)
		rec2 = r2
		if err == nil && (r2.GetSequence() != 2 || r2.GetEpoch() != r.GetEpoch() || r2.GetEpochStart() != 1) {
			t.Errorf("second event in the same tx: %v, want sequence 2 in epoch %d", r2, r.GetEpoch())
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	got, last, err := l.List(context.Background(), db, "acme", 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	if last != 2 || len(got) != 2 || !proto.Equal(got[0], rec1) || !proto.Equal(got[1], rec2) {
		t.Fatalf("List = %v, last %d", got, last)
	}
}

func TestAppendErrors(t *testing.T) {
	t.Parallel()
	l := eventlog.New("loyalty")
	db := openDB(t, true, l.Buckets()...)
	bare := openDB(t, true) // no buckets
	now := time.Now()
	tests := []struct {
		name      string
		log       *eventlog.Log
		db        *boltx.DB
		readOnly  bool
		tenant    string
		eventType string
		payload   proto.Message
		want      error
	}{
		{name: "bad_tenant", log: l, db: db, tenant: "Acme", eventType: "x", payload: wrapperspb.Int64(1), want: eventlog.ErrInvalidTenant},
		{name: "dot_tenant", log: l, db: db, tenant: "a.b", eventType: "x", payload: wrapperspb.Int64(1), want: eventlog.ErrInvalidTenant},
		{name: "bad_type", log: l, db: db, tenant: "acme", eventType: "Points", payload: wrapperspb.Int64(1), want: eventlog.ErrInvalidEventType},
		{name: "wildcard_type", log: l, db: db, tenant: "acme", eventType: ">", payload: wrapperspb.Int64(1), want: eventlog.ErrInvalidEventType},
		{name: "nil_payload", log: l, db: db, tenant: "acme", eventType: "x"},
		{name: "read_only", log: l, db: db, readOnly: true, tenant: "acme", eventType: "x", payload: wrapperspb.Int64(1)},
		{name: "no_buckets", log: l, db: bare, tenant: "acme", eventType: "x", payload: wrapperspb.Int64(1), want: eventlog.ErrMissingBuckets},
		{name: "bad_service", log: eventlog.New("Bad.Service"), db: db, tenant: "acme", eventType: "x", payload: wrapperspb.Int64(1)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fn := func(tx *bolt.Tx) error {
				_, err := tt.log.Append(tx, tt.tenant, tt.eventType, tt.payload, now)
				return err
			}
			var err error
			if tt.readOnly {
				err = tt.db.View(context.Background(), fn)
			} else {
				err = tt.db.Update(context.Background(), fn)
			}
			if err == nil {
				t.Fatal("Append succeeded")
			}
			if tt.want != nil && !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
		})
	}
	if _, last, err := l.List(context.Background(), db, "acme", 0, 10); err != nil || last != 0 {
		t.Fatalf("failed appends left events: last %d, %v", last, err)
	}
}

// TestSequencesGapFreePerTenant appends from many goroutines to several tenants, with some
// transactions rolled back, and checks that each tenant's sequences are 1..n with no gap and
// independent of the other tenants.
func TestSequencesGapFreePerTenant(t *testing.T) {
	t.Parallel()
	l := eventlog.New("member")
	db := openDB(t, true, l.Buckets()...)
	tenants := []string{"acme", "globex", "initech"}
	const goroutines, perG = 12, 25
	errRollback := errors.New("rollback")
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Go(func() {
			tenant := tenants[g%len(tenants)]
			for i := range perG {
				err := db.Update(context.Background(), func(tx *bolt.Tx) error {
					if _, err := l.Append(tx, tenant, "registered", wrapperspb.String(fmt.Sprint(g, i)), time.Now()); err != nil {
						return err
					}
					if i%5 == 4 {
						return errRollback // a failed use case: its sequence must not be used up
					}
					return nil
				})
				if err != nil && !errors.Is(err, errRollback) {
					t.Error(err)
				}
			}
		})
	}
	wg.Wait()
	want := goroutines / len(tenants) * perG * 4 / 5
	for _, tenant := range tenants {
		var seqs []uint64
		var after uint64
		for {
			recs, last, err := l.List(context.Background(), db, tenant, after, 7) // small pages
			if err != nil {
				t.Fatal(err)
			}
			if last != uint64(want) {
				t.Fatalf("%s: last = %d, want %d", tenant, last, want)
			}
			if len(recs) == 0 {
				break
			}
			for _, r := range recs {
				if r.GetTenant() != tenant {
					t.Fatalf("List(%s) returned %s's event", tenant, r.GetTenant())
				}
				seqs = append(seqs, r.GetSequence())
			}
			after = recs[len(recs)-1].GetSequence()
		}
		if !equalSeqs(seqs, seq1toN(want)) {
			t.Fatalf("%s: sequences %v, want 1..%d", tenant, seqs, want)
		}
	}
}

func TestListBounds(t *testing.T) {
	t.Parallel()
	l := eventlog.New("coupon")
	db := openDB(t, true, l.Buckets()...)
	err := db.Update(context.Background(), func(tx *bolt.Tx) error {
		for range 1005 {
			if _, err := l.Append(tx, "acme", "claimed", wrapperspb.Bool(true), time.Now()); err != nil {
				return err
			}
		}
		// A tenant whose name is a prefix of the other's must not leak into it.
		_, err := l.Append(tx, "acm", "claimed", wrapperspb.Bool(true), time.Now())
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name      string
		tenant    string
		after     uint64
		limit     int
		wantN     int
		wantFirst uint64
	}{
		{name: "default_limit", tenant: "acme", limit: 0, wantN: eventlog.DefaultListLimit, wantFirst: 1},
		{name: "capped", tenant: "acme", limit: 5000, wantN: eventlog.MaxListLimit, wantFirst: 1},
		{name: "after", tenant: "acme", after: 1000, limit: 100, wantN: 5, wantFirst: 1001},
		{name: "past_end", tenant: "acme", after: 1005, limit: 10, wantN: 0},
		{name: "prefix_tenant", tenant: "acm", limit: 10, wantN: 1, wantFirst: 1},
		{name: "unknown_tenant", tenant: "nobody", limit: 10, wantN: 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			recs, _, err := l.List(context.Background(), db, tt.tenant, tt.after, tt.limit)
			if err != nil {
				t.Fatal(err)
			}
			if len(recs) != tt.wantN || (tt.wantN > 0 && recs[0].GetSequence() != tt.wantFirst) {
				t.Fatalf("got %d events, first %v", len(recs), recs)
			}
		})
	}
	if _, _, err := l.List(context.Background(), db, "Bad", 0, 1); !errors.Is(err, eventlog.ErrInvalidTenant) {
		t.Fatalf("List with a bad tenant: %v", err)
	}
}
