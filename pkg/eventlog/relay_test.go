package eventlog_test

import (
	"context"
	"errors"
	"strconv"
	"sync"
	"testing"
	"time"

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
	want := map[string]string{
		eventlog.HeaderMsgID:       "loyalty:acme:10",
		eventlog.HeaderSpecVersion: "1.0",
		eventlog.HeaderID:          "loyalty:acme:10",
		eventlog.HeaderType:        "huiyuan.loyalty.v1.points_spent",
		eventlog.HeaderSource:      "huiyuan/loyalty",
		eventlog.HeaderTime:        "2025-05-04T03:02:01Z",
		eventlog.HeaderTenant:      "acme",
		eventlog.HeaderSequence:    "10",
		eventlog.HeaderPayloadType: "google.protobuf.StringValue",
		eventlog.HeaderContentType: "application/protobuf",
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
// relay republishes the lost events before the new one, keeping the stream in order.
func TestRelayDetectsTailLoss(t *testing.T) {
	t.Parallel()
	_, nc := natstest.Run(t)
	js := newJS(t, nc)
	l := eventlog.New("campaign")
	db := openDB(t, true, l.Buckets()...)
	// A long audit interval: the publish itself must notice the loss.
	opts := fastRelay
	opts.AuditInterval = time.Hour
	r := eventlog.NewRelay(l, db, js, testLogger(t), opts)
	runBG(t, r.Run)
	appendN(t, db, l, "acme", "triggered", 10, time.Now())
	appendN(t, db, l, "other", "triggered", 3, time.Now())
	flush(t, r)

	ctx := context.Background()
	s, err := js.Stream(ctx, "CAMPAIGN")
	if err != nil {
		t.Fatal(err)
	}
	for range 3 { // acme's events 8, 9, 10
		m, err := s.GetLastMsgForSubject(ctx, "huiyuan.acme.campaign.v1.>")
		if err != nil {
			t.Fatal(err)
		}
		if err := s.DeleteMsg(ctx, m.Sequence); err != nil {
			t.Fatal(err)
		}
	}
	appendN(t, db, l, "acme", "triggered", 2, time.Now())
	flush(t, r)
	if got := streamSeqs(t, js, "campaign", "acme"); !equalSeqs(got, seq1toN(12)) {
		t.Fatalf("acme after the tail loss: %v", got)
	}
	if got := streamSeqs(t, js, "campaign", "other"); !equalSeqs(got, seq1toN(3)) {
		t.Fatalf("other tenant disturbed: %v", got)
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

// TestRelayForeignPublisher: another relay instance (or a stray publisher) writing the same
// tenant's events moves the broker ahead; the relay adopts the broker's position instead of
// duplicating.
func TestRelayAdoptsBrokerAhead(t *testing.T) {
	t.Parallel()
	_, nc := natstest.Run(t)
	js := newJS(t, nc)
	ctx := context.Background()
	if _, err := natsx.EnsureStream(ctx, js, "loyalty"); err != nil {
		t.Fatal(err)
	}
	// The broker already holds events 1..3 of acme (published by a previous life of the log).
	for i := 1; i <= 3; i++ {
		if _, err := js.PublishMsg(ctx, brokerMsg("huiyuan.acme.loyalty.v1.points_earned", uint64(i), nil)); err != nil {
			t.Fatal(err)
		}
	}
	l := eventlog.New("loyalty")
	db := openDB(t, true, l.Buckets()...)
	appendN(t, db, l, "acme", "points_earned", 5, time.Now())
	r := eventlog.NewRelay(l, db, js, nil, fastRelay)
	runBG(t, r.Run)
	flush(t, r)
	if got := streamSeqs(t, js, "loyalty", "acme"); !equalSeqs(got, seq1toN(5)) {
		t.Fatalf("stream holds %v", got)
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
