package eventlog_test

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go/jetstream"
	bolt "go.etcd.io/bbolt"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/huiyuan-dev/huiyuan/pkg/boltx"
	"github.com/huiyuan-dev/huiyuan/pkg/eventlog"
	"github.com/huiyuan-dev/huiyuan/pkg/natsx"
	"github.com/huiyuan-dev/huiyuan/pkg/natsx/natstest"
)

// fastRelay keeps test waits short.
var fastRelay = eventlog.RelayOptions{
	AuditInterval:  200 * time.Millisecond,
	SaveInterval:   50 * time.Millisecond,
	RetryDelay:     20 * time.Millisecond,
	MaxRetryDelay:  200 * time.Millisecond,
	PublishTimeout: time.Second,
}

func flush(t testing.TB, r *eventlog.Relay) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	if err := r.Flush(ctx); err != nil {
		t.Fatal(err)
	}
}

func TestRelayPublishesInOrderWithHeaders(t *testing.T) {
	t.Parallel()
	_, nc := natstest.Run(t)
	js := newJS(t, nc)
	l := eventlog.New("loyalty")
	db := openDB(t, true, l.Buckets()...)
	at := time.Date(2025, 5, 4, 3, 2, 1, 0, time.UTC)
	appendN(t, db, l, "acme", "points_earned", 3, at) // committed before the relay starts
	r := eventlog.NewRelay(l, db, js, nil, fastRelay)
	runBG(t, r.Run)
	appendN(t, db, l, "globex", "points_spent", 40, at)
	appendN(t, db, l, "acme", "points_spent", 7, at)
	flush(t, r)

	if got := streamSeqs(t, js, "loyalty", "acme"); !equalSeqs(got, seq1toN(10)) {
		t.Fatalf("acme in the stream: %v", got)
	}
	if got := streamSeqs(t, js, "loyalty", "globex"); !equalSeqs(got, seq1toN(40)) {
		t.Fatalf("globex in the stream: %v", got)
	}
	s, err := js.Stream(context.Background(), "LOYALTY")
	if err != nil {
		t.Fatal(err)
	}
	m, err := s.GetLastMsgForSubject(context.Background(), "huiyuan.acme.loyalty.v1.>")
	if err != nil {
		t.Fatal(err)
	}
	recs, _, err := l.List(context.Background(), db, "acme", 9, 1)
	if err != nil || len(recs) != 1 {
		t.Fatalf("List = %v, %v", recs, err)
	}
	rec := recs[0]
	epoch := strconv.FormatUint(rec.GetEpoch(), 10)
	want := map[string]string{
		eventlog.HeaderMsgID:       "loyalty:acme:" + epoch + ":10",
		eventlog.HeaderSpecVersion: "1.0",
		eventlog.HeaderID:          "loyalty:acme:" + epoch + ":10",
		eventlog.HeaderType:        "huiyuan.loyalty.v1.points_spent",
		eventlog.HeaderSource:      "huiyuan/loyalty",
		eventlog.HeaderTime:        "2025-05-04T03:02:01Z",
		eventlog.HeaderTenant:      "acme",
		eventlog.HeaderSequence:    "10",
		eventlog.HeaderEpoch:       epoch,
		eventlog.HeaderEpochStart:  "1",
		eventlog.HeaderDigest:      eventlog.Digest("points_spent", at, "google.protobuf.StringValue", rec.GetPayload()),
		eventlog.HeaderPayloadType: "google.protobuf.StringValue",
		eventlog.HeaderContentType: "application/protobuf",
	}
	if rec.GetEpoch() == 0 || rec.GetId() != want[eventlog.HeaderID] {
		t.Errorf("record %v: want a new tenant's epoch and id %s", rec, want[eventlog.HeaderID])
	}
	for k, v := range want {
		if got := m.Header.Get(k); got != v {
			t.Errorf("header %s = %q, want %q", k, got, v)
		}
	}
	var p wrapperspb.StringValue
	if err := proto.Unmarshal(m.Data, &p); err != nil || p.GetValue() != "acme/6" {
		t.Errorf("payload = %q, %v", p.GetValue(), err)
	}
}

// TestRelayRestartDoesNotDuplicate stops the relay and starts a new one on the same database:
// it continues after what the broker has, publishing nothing twice.
func TestRelayRestartDoesNotDuplicate(t *testing.T) {
	t.Parallel()
	_, nc := natstest.Run(t)
	js := newJS(t, nc)
	l := eventlog.New("member")
	db := openDB(t, true, l.Buckets()...)
	r1 := eventlog.NewRelay(l, db, js, nil, fastRelay)
	stop := runBG(t, r1.Run)
	appendN(t, db, l, "acme", "registered", 5, time.Now())
	flush(t, r1)
	stop()

	appendN(t, db, l, "acme", "registered", 5, time.Now())
	r2 := eventlog.NewRelay(l, db, js, nil, fastRelay)
	runBG(t, r2.Run)
	flush(t, r2)
	if got := streamSeqs(t, js, "member", "acme"); !equalSeqs(got, seq1toN(10)) {
		t.Fatalf("stream holds %v", got)
	}
}

// TestRelaySurvivesBrokerDataLoss restarts NATS with an emptied store: the relay declares the
// stream again and republishes every tenant's events from its log, including an idle tenant's
// (found by the audit) and events appended while the broker was down.
func TestRelaySurvivesBrokerDataLoss(t *testing.T) {
	t.Parallel()
	srv := natstest.Start(t)
	js := newJS(t, srv.Connect())
	l := eventlog.New("coupon")
	db := openDB(t, true, l.Buckets()...)
	r := eventlog.NewRelay(l, db, js, nil, fastRelay)
	runBG(t, r.Run)
	appendN(t, db, l, "acme", "claimed", 20, time.Now())
	appendN(t, db, l, "idle", "claimed", 4, time.Now())
	flush(t, r)

	srv.Restart(true)
	appendN(t, db, l, "acme", "redeemed", 5, time.Now())
	flush(t, r)
	if got := streamSeqs(t, js, "coupon", "acme"); !equalSeqs(got, seq1toN(25)) {
		t.Fatalf("acme after the loss: %v", got)
	}
	waitUntil(t, 10*time.Second, "the idle tenant republished", func() bool {
		return equalSeqs(streamSeqs(t, js, "coupon", "idle"), seq1toN(4))
	})
}

// TestRelayDetectsTailLoss removes a tenant's newest messages from the stream, as a broker crash
// before its periodic fsync would: the next publish fails its expected-sequence check, and the
// relay republishes the lost events before the new ones, keeping the stream in order. The
// broker still remembers the lost events' ids, so they go out under ids of their own. With a
// backlog the publishes are atomic batches, whose check fails just the same.
func TestRelayDetectsTailLoss(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name          string
		before, after int
	}{
		{name: "one_by_one", before: 10, after: 2},
		{name: "batches", before: 600, after: 300},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, nc := natstest.Run(t)
			js := newJS(t, nc)
			l := eventlog.New("campaign")
			db := openDB(t, true, l.Buckets()...)
			appendN(t, db, l, "acme", "triggered", tt.before, time.Now()) // a backlog when the relay starts
			appendN(t, db, l, "other", "triggered", 3, time.Now())
			// A long audit interval: the publish itself must notice the loss.
			opts := fastRelay
			opts.AuditInterval = time.Hour
			r := eventlog.NewRelay(l, db, js, testLogger(t), opts)
			runBG(t, r.Run)
			flush(t, r)

			ctx := context.Background()
			s, err := js.Stream(ctx, "CAMPAIGN")
			if err != nil {
				t.Fatal(err)
			}
			for range 3 { // acme's last three events
				m, err := s.GetLastMsgForSubject(ctx, "huiyuan.acme.campaign.v1.>")
				if err != nil {
					t.Fatal(err)
				}
				if err := s.DeleteMsg(ctx, m.Sequence); err != nil {
					t.Fatal(err)
				}
			}
			if err := db.Update(ctx, func(tx *bolt.Tx) error { // one transaction: one backlog
				for range tt.after {
					if _, err := l.Append(tx, "acme", "triggered", brokerPayload(), time.Now()); err != nil {
						return err
					}
				}
				return nil
			}); err != nil {
				t.Fatal(err)
			}
			flush(t, r)
			if got := streamSeqs(t, js, "campaign", "acme"); !equalSeqs(got, seq1toN(tt.before+tt.after)) {
				t.Fatalf("acme after the tail loss: %d events, want 1..%d", len(got), tt.before+tt.after)
			}
			if got := streamSeqs(t, js, "campaign", "other"); !equalSeqs(got, seq1toN(3)) {
				t.Fatalf("other tenant disturbed: %v", got)
			}
			// The first lost event went out again under an id of its own.
			lost := uint64(tt.before - 2)
			recs, _, err := l.List(ctx, db, "acme", lost-1, 1)
			if err != nil {
				t.Fatal(err)
			}
			for next := uint64(1); ; {
				m, err := s.GetMsg(ctx, next, jetstream.WithGetMsgSubject("huiyuan.acme.campaign.v1.>"))
				if err != nil {
					t.Fatalf("event %d not found: %v", lost, err)
				}
				next = m.Sequence + 1
				if m.Header.Get(eventlog.HeaderSequence) != strconv.FormatUint(lost, 10) {
					continue
				}
				if id := m.Header.Get(eventlog.HeaderMsgID); m.Header.Get(eventlog.HeaderID) != recs[0].GetId() || !strings.HasPrefix(id, recs[0].GetId()+"~") {
					t.Fatalf("republished event %d: Nats-Msg-Id %q, ce-id %q", lost, id, m.Header.Get(eventlog.HeaderID))
				}
				break
			}
		})
	}
}

// TestRelayBatchesBacklog publishes backlogs of many tenants, two event types interleaved, in
// atomic batches: against the server's defaults, a server that allows only small batches (the
// relay halves its batches), and one that allows few batches in flight (refused batches are
// retried). Every tenant's stream is its log, in order.
func TestRelayBatchesBacklog(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		limits server.JSLimitOpts
	}{
		{name: "defaults"},
		{name: "small_batches", limits: server.JSLimitOpts{MaxBatchSize: 300}},
		{name: "few_in_flight", limits: server.JSLimitOpts{MaxBatchInflightPerStream: 2}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ns, err := server.NewServer(&server.Options{
				JetStream: true, StoreDir: t.TempDir(), DontListen: true, NoLog: true, NoSigs: true,
				JetStreamLimits: tt.limits,
			})
			if err != nil {
				t.Fatal(err)
			}
			ns.Start()
			t.Cleanup(func() { ns.Shutdown(); ns.WaitForShutdown() })
			if !ns.ReadyForConnections(10 * time.Second) {
				t.Fatal("server not ready")
			}
			nc, err := natsx.ConnectInProcess(ns, natsx.WithLogger(nil))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(nc.Close)
			js := newJS(t, nc)
			l := eventlog.New("loyalty")
			db := openDB(t, true, l.Buckets()...)
			tenants := []string{"a", "b", "c"}
			const perTenant = 1200 // two batches at the server's default limit, the second over 128
			if err := db.Update(context.Background(), func(tx *bolt.Tx) error {
				for i := range perTenant {
					for _, tenant := range tenants {
						eventType := []string{"points_earned", "points_spent"}[i%2]
						if _, err := l.Append(tx, tenant, eventType, wrapperspb.Int64(int64(i)), time.Now()); err != nil {
							return err
						}
					}
				}
				return nil
			}); err != nil {
				t.Fatal(err)
			}
			r := eventlog.NewRelay(l, db, js, testLogger(t), fastRelay)
			runBG(t, r.Run)
			flush(t, r)
			s, err := js.Stream(context.Background(), "LOYALTY")
			if err != nil {
				t.Fatal(err)
			}
			for _, tenant := range tenants {
				if got := streamSeqs(t, js, "loyalty", tenant); !equalSeqs(got, seq1toN(perTenant)) {
					t.Errorf("%s: %d events in the stream, want 1..%d in order", tenant, len(got), perTenant)
				}
				m, err := s.GetLastMsgForSubject(context.Background(), eventlog.TenantFilter(tenant, "loyalty"))
				if err != nil || m.Header.Get("Nats-Batch-Id") == "" {
					t.Errorf("%s's last event was not published in a batch: %v %v", tenant, m.Header, err)
				}
			}
		})
	}
}

// TestRelayAuditFindsLossWithoutNewEvents: when the broker loses a tenant's tail and nothing new
// is appended, the periodic audit republishes it.
func TestRelayAuditFindsLossWithoutNewEvents(t *testing.T) {
	t.Parallel()
	_, nc := natstest.Run(t)
	js := newJS(t, nc)
	l := eventlog.New("member")
	db := openDB(t, true, l.Buckets()...)
	r := eventlog.NewRelay(l, db, js, nil, fastRelay)
	runBG(t, r.Run)
	appendN(t, db, l, "acme", "registered", 6, time.Now())
	flush(t, r)
	ctx := context.Background()
	s, err := js.Stream(ctx, "MEMBER")
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Purge(ctx, jetstream.WithPurgeSubject("huiyuan.acme.member.v1.>"), jetstream.WithPurgeKeep(2)); err != nil {
		t.Fatal(err)
	}
	// Purge keeps the two newest; drop those too, so the broker has nothing for acme.
	for range 2 {
		m, err := s.GetLastMsgForSubject(ctx, "huiyuan.acme.member.v1.>")
		if err != nil {
			t.Fatal(err)
		}
		if err := s.DeleteMsg(ctx, m.Sequence); err != nil {
			t.Fatal(err)
		}
	}
	waitUntil(t, 10*time.Second, "the audit to republish", func() bool {
		return equalSeqs(streamSeqs(t, js, "member", "acme"), seq1toN(6))
	})
}

// TestRelayAdoptsBrokerAhead: the broker already holds the log's first events (a previous life
// of the relay published them, its saved position is lost): the relay continues after them
// instead of duplicating. A log from before epochs is continued the same way from messages that
// carry neither epoch nor digest.
func TestRelayAdoptsBrokerAhead(t *testing.T) {
	t.Parallel()
	for _, legacy := range []bool{false, true} {
		t.Run(fmt.Sprintf("legacy=%v", legacy), func(t *testing.T) {
			t.Parallel()
			_, nc := natstest.Run(t)
			js := newJS(t, nc)
			ctx := context.Background()
			if _, err := natsx.EnsureStream(ctx, js, "loyalty"); err != nil {
				t.Fatal(err)
			}
			l := eventlog.New("loyalty")
			db := openDB(t, true, l.Buckets()...)
			appendN(t, db, l, "acme", "points_earned", 5, time.Now())
			if legacy {
				dropEpochs(t, db, "loyalty")
			}
			recs, _, err := l.List(ctx, db, "acme", 0, 3)
			if err != nil {
				t.Fatal(err)
			}
			for _, rec := range recs {
				m := eventlog.NewMsg("loyalty", rec)
				if legacy {
					m = brokerMsg(rec.GetSubject(), rec.GetSequence(), rec.GetPayload())
				}
				if _, err := js.PublishMsg(ctx, m); err != nil {
					t.Fatal(err)
				}
			}
			r := eventlog.NewRelay(l, db, js, testLogger(t), fastRelay)
			runBG(t, r.Run)
			flush(t, r)
			if got := streamSeqs(t, js, "loyalty", "acme"); !equalSeqs(got, seq1toN(5)) {
				t.Fatalf("stream holds %v", got)
			}
			if eps, err := l.Epochs(ctx, db, "acme"); err != nil || len(eps) != 1 || (eps[0].Epoch == 0) != legacy {
				t.Fatalf("epochs %v, %v: no new epoch expected", eps, err)
			}
		})
	}
}

// dropEpochs removes service's epoch segments, turning its log into one from before epochs.
func dropEpochs(t testing.TB, db *boltx.DB, service string) {
	t.Helper()
	if err := db.Update(context.Background(), func(tx *bolt.Tx) error {
		name := []byte("eventlog." + service + ".epochs")
		if err := tx.DeleteBucket(name); err != nil {
			return err
		}
		_, err := tx.CreateBucket(name)
		return err
	}); err != nil {
		t.Fatal(err)
	}
}

func TestRelayFlushNeedsRun(t *testing.T) {
	t.Parallel()
	_, nc := natstest.Run(t)
	l := eventlog.New("loyalty")
	db := openDB(t, true, l.Buckets()...)
	r := eventlog.NewRelay(l, db, newJS(t, nc), nil, fastRelay)
	appendN(t, db, l, "acme", "points_earned", 1, time.Now())
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if err := r.Flush(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Flush without Run = %v, want deadline exceeded", err)
	}
	// Nothing committed: Flush returns at once.
	l2 := eventlog.New("coupon")
	db2 := openDB(t, true, l2.Buckets()...)
	if err := eventlog.NewRelay(l2, db2, newJS(t, nc), nil, fastRelay).Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
}

func TestRelayRunErrors(t *testing.T) {
	t.Parallel()
	_, nc := natstest.Run(t)
	js := newJS(t, nc)
	bad := eventlog.New("Bad")
	if err := eventlog.NewRelay(bad, openDB(t, true), js, nil, fastRelay).Run(context.Background()); err == nil {
		t.Fatal("Run with an invalid service succeeded")
	}
	l := eventlog.New("member")
	if err := eventlog.NewRelay(l, openDB(t, true), js, nil, fastRelay).Run(context.Background()); !errors.Is(err, eventlog.ErrMissingBuckets) {
		t.Fatalf("Run without buckets = %v", err)
	}
	noJS := eventlog.NewRelay(l, openDB(t, true, l.Buckets()...), nil, nil, fastRelay)
	if err := noJS.Run(context.Background()); err == nil {
		t.Fatal("Run without a JetStream succeeded")
	}
	if err := noJS.Flush(context.Background()); err == nil {
		t.Fatal("Flush without a JetStream succeeded")
	}
}

// TestRelayFlushUnderConcurrentAppends: many goroutines append and Flush at once; after each
// Flush, the broker holds the goroutine's own event (and so everything before it).
func TestRelayFlushUnderConcurrentAppends(t *testing.T) {
	t.Parallel()
	_, nc := natstest.Run(t)
	js := newJS(t, nc)
	l := eventlog.New("loyalty")
	db := openDB(t, true, l.Buckets()...)
	w := boltx.NewWriter(db, boltx.WriterOptions{})
	t.Cleanup(func() { _ = w.Close() })
	opts := fastRelay
	opts.Concurrency = 2 // fewer workers than tenants: tenants must queue for a slot
	r := eventlog.NewRelay(l, db, js, nil, opts)
	runBG(t, r.Run)
	s, err := natsx.EnsureStream(context.Background(), js, "loyalty")
	if err != nil {
		t.Fatal(err)
	}
	tenants := []string{"a", "b", "c", "d", "e"}
	var wg sync.WaitGroup
	for g := range 10 {
		wg.Go(func() {
			tenant := tenants[g%len(tenants)]
			for range 5 {
				var seq uint64
				if err := w.Update(context.Background(), func(tx *bolt.Tx) error {
					rec, err := l.Append(tx, tenant, "points_earned", wrapperspb.Int64(1), time.Now())
					seq = rec.GetSequence()
					return err
				}); err != nil {
					t.Error(err)
					return
				}
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				err := r.Flush(ctx)
				cancel()
				if err != nil {
					t.Error(err)
					return
				}
				m, err := s.GetLastMsgForSubject(context.Background(), eventlog.TenantFilter(tenant, "loyalty"))
				if err != nil {
					t.Error(err)
					return
				}
				if got, _ := strconv.ParseUint(m.Header.Get(eventlog.HeaderSequence), 10, 64); got < seq {
					t.Errorf("after Flush the broker's last %s event is %d, want >= %d", tenant, got, seq)
				}
			}
		})
	}
	wg.Wait()
	for _, tenant := range tenants {
		if got := streamSeqs(t, js, "loyalty", tenant); !equalSeqs(got, seq1toN(10)) {
			t.Errorf("%s in the stream: %v", tenant, got)
		}
	}
	// A second Run on the same relay is refused while the first runs.
	if err := r.Run(context.Background()); err == nil {
		t.Error("a second Run succeeded")
	}
}
