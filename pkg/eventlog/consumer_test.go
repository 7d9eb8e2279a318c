package eventlog_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	bolt "go.etcd.io/bbolt"

	"github.com/huiyuan-dev/huiyuan/pkg/boltx"
	"github.com/huiyuan-dev/huiyuan/pkg/eventlog"
	"github.com/huiyuan-dev/huiyuan/pkg/natsx"
	"github.com/huiyuan-dev/huiyuan/pkg/natsx/natstest"
)

var effectsBucket = []byte("effects")

// recorder is a Handler that writes one effect per event in the consumer's transaction and
// fails the test if an event is applied twice or out of order.
type recorder struct {
	t       testing.TB
	failFor func(d eventlog.Delivery) bool // fail this delivery once (before it is applied)

	mu     sync.Mutex
	failed map[string]bool
	calls  int
}

func (r *recorder) handle(tx *bolt.Tx, d eventlog.Delivery) error {
	r.mu.Lock()
	r.calls++
	if r.failFor != nil && r.failFor(d) && !r.failed[d.ID] {
		if r.failed == nil {
			r.failed = make(map[string]bool)
		}
		r.failed[d.ID] = true
		r.mu.Unlock()
		return errors.New("injected failure")
	}
	r.mu.Unlock()
	b := tx.Bucket(effectsBucket)
	key := []byte(fmt.Sprintf("%s/%s/%020d", d.Service, d.Tenant, d.Sequence))
	if b.Get(key) != nil {
		r.t.Errorf("event %s applied twice", d.ID)
	}
	if d.Sequence > 1 {
		prev := []byte(fmt.Sprintf("%s/%s/%020d", d.Service, d.Tenant, d.Sequence-1))
		if b.Get(prev) == nil {
			r.t.Errorf("event %s applied before its predecessor", d.ID)
		}
	}
	if d.ID != eventlog.EventID(d.Service, d.Tenant, d.Epoch, d.Sequence) && (d.Epoch != 0 || d.ID != legacyID(d.Service, d.Tenant, d.Sequence)) {
		r.t.Errorf("delivery id %q does not match %s/%s/%d", d.ID, d.Service, d.Tenant, d.Sequence)
	}
	return b.Put(key, []byte(d.Type))
}

// effects lists the sequences of tenant's effects in key order.
func effects(t testing.TB, db *boltx.DB, service, tenant string) []uint64 {
	t.Helper()
	var out []uint64
	prefix := service + "/" + tenant + "/"
	err := db.View(context.Background(), func(tx *bolt.Tx) error {
		c := tx.Bucket(effectsBucket).Cursor()
		for k, _ := c.Seek([]byte(prefix)); k != nil && len(k) > len(prefix) && string(k[:len(prefix)]) == prefix; k, _ = c.Next() {
			var seq uint64
			if _, err := fmt.Sscanf(string(k[len(prefix):]), "%d", &seq); err != nil {
				return err
			}
			out = append(out, seq)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func consumerDB(t testing.TB) *boltx.DB {
	return openDB(t, true, append(eventlog.ConsumerBuckets(), effectsBucket)...)
}

func fastConsumer(name, service string) eventlog.ConsumerConfig {
	return eventlog.ConsumerConfig{
		Name: name, Service: service,
		AckWait: 2 * time.Second, Backoff: 10 * time.Millisecond, MaxBackoff: 50 * time.Millisecond,
		GapDelay: 20 * time.Millisecond, CheckInterval: 100 * time.Millisecond,
	}
}

func waitApplied(t testing.TB, c *eventlog.Consumer, tenant string, want uint64) {
	t.Helper()
	waitUntil(t, 15*time.Second, fmt.Sprintf("%s applied up to %d", tenant, want), func() bool {
		got, err := c.Applied(context.Background(), tenant)
		return err == nil && got >= want
	})
}

// TestConsumerExactlyOnceInOrder: events appended concurrently by many goroutines to several
// tenants reach a durable consumer in order and apply once, despite handler failures,
// duplicated messages on the broker and a malformed message.
func TestConsumerExactlyOnceInOrder(t *testing.T) {
	t.Parallel()
	_, nc := natstest.Run(t)
	js := newJS(t, nc)
	l := eventlog.New("loyalty")
	producer := openDB(t, true, l.Buckets()...)
	pw := boltx.NewWriter(producer, boltx.WriterOptions{}) // group commit: OnCommit must still wake the relay
	t.Cleanup(func() { _ = pw.Close() })
	relay := eventlog.NewRelay(l, producer, js, nil, fastRelay)
	runBG(t, relay.Run)

	cdb := consumerDB(t)
	cw := boltx.NewWriter(cdb, boltx.WriterOptions{})
	rec := &recorder{t: t, failFor: func(d eventlog.Delivery) bool { return d.Sequence%7 == 0 || d.Sequence == 1 }}
	cfg := fastConsumer("analytics", "loyalty")
	cfg.Workers = 3
	c := eventlog.NewConsumer(js, cdb, cw, cfg, rec.handle, nil)
	stopConsumer := runBG(t, c.Run)
	t.Cleanup(func() { stopConsumer(); _ = cw.Close() })

	tenants := []string{"acme", "globex", "initech", "umbrella"}
	const perTenant = 60
	var wg sync.WaitGroup
	for g := range 8 { // two goroutines per tenant
		wg.Go(func() { appendN(t, pw, l, tenants[g%len(tenants)], "points_earned", perTenant/2, time.Now()) })
	}
	wg.Wait()
	flush(t, relay)
	for _, tenant := range tenants {
		waitApplied(t, c, tenant, perTenant)
	}

	// Duplicates on the broker (a second copy of acme's first 10 events, under new message ids)
	// and a malformed message are acknowledged without effects.
	ctx := context.Background()
	if _, err := js.Publish(ctx, "huiyuan.acme.loyalty.v1.points_earned", []byte("garbage")); err != nil {
		t.Fatal(err)
	}
	for seq := uint64(1); seq <= 10; seq++ {
		m := brokerMsg("huiyuan.acme.loyalty.v1.points_earned", seq, nil)
		m.Header.Set(eventlog.HeaderMsgID, fmt.Sprintf("dup-%d", seq))
		if _, err := js.PublishMsg(ctx, m); err != nil {
			t.Fatal(err)
		}
	}
	appendN(t, producer, l, "acme", "points_spent", 1, time.Now())
	flush(t, relay)
	waitApplied(t, c, "acme", perTenant+1)
	waitUntil(t, 10*time.Second, "every message acknowledged", func() bool {
		cons, err := js.Consumer(ctx, "LOYALTY", "analytics")
		if err != nil {
			return false
		}
		info, err := cons.Info(ctx)
		return err == nil && info.NumAckPending == 0 && info.NumPending == 0
	})
	for _, tenant := range tenants {
		want := perTenant
		if tenant == "acme" {
			want++
		}
		if got := effects(t, cdb, "loyalty", tenant); !equalSeqs(got, seq1toN(want)) {
			t.Errorf("%s effects %v, want 1..%d", tenant, got, want)
		}
	}
	rec.mu.Lock()
	defer rec.mu.Unlock()
	if len(rec.failed) == 0 {
		t.Error("no handler failure was injected")
	}
}

// TestConsumerTypes: a consumer interested in one type still advances past the others.
func TestConsumerTypes(t *testing.T) {
	t.Parallel()
	_, nc := natstest.Run(t)
	js := newJS(t, nc)
	l := eventlog.New("member")
	producer := openDB(t, true, l.Buckets()...)
	relay := eventlog.NewRelay(l, producer, js, nil, fastRelay)
	runBG(t, relay.Run)
	appendN(t, producer, l, "acme", "registered", 2, time.Now())
	appendN(t, producer, l, "acme", "updated", 3, time.Now())
	appendN(t, producer, l, "acme", "registered", 1, time.Now())

	cdb := consumerDB(t)
	var mu sync.Mutex
	var seen []uint64
	cfg := fastConsumer("welcome", "member")
	cfg.Types = []string{"registered"}
	c := eventlog.NewConsumer(js, cdb, cdb, cfg, func(_ *bolt.Tx, d eventlog.Delivery) error {
		mu.Lock()
		defer mu.Unlock()
		if d.Type != "registered" {
			t.Errorf("handler got a %s event", d.Type)
		}
		seen = append(seen, d.Sequence)
		return nil
	}, nil)
	runBG(t, c.Run)
	waitApplied(t, c, "acme", 6)
	mu.Lock()
	defer mu.Unlock()
	if !equalSeqs(seen, []uint64{1, 2, 6}) {
		t.Fatalf("handler saw %v", seen)
	}
}

// publishSeqs puts tenant's events with the given sequences on the broker directly.
func publishSeqs(t testing.TB, js jetstream.JetStream, service, tenant string, seqs ...uint64) {
	t.Helper()
	ctx := context.Background()
	if _, err := natsx.EnsureStream(ctx, js, service); err != nil {
		t.Fatal(err)
	}
	for _, seq := range seqs {
		if _, err := js.PublishMsg(ctx, brokerMsg(eventlog.Subject(tenant, service, "happened"), seq, nil)); err != nil {
			t.Fatal(err)
		}
	}
}

// publishLogged puts the log's own messages of tenant's events with the given sequences on the
// broker, as a relay would have published them.
func publishLogged(t testing.TB, js jetstream.JetStream, l *eventlog.Log, db *boltx.DB, tenant string, seqs ...uint64) {
	t.Helper()
	ctx := context.Background()
	if _, err := natsx.EnsureStream(ctx, js, l.Service()); err != nil {
		t.Fatal(err)
	}
	for _, seq := range seqs {
		recs, _, err := l.List(ctx, db, tenant, seq-1, 1)
		if err != nil || len(recs) != 1 || recs[0].GetSequence() != seq {
			t.Fatalf("event %d of the log: %v, %v", seq, recs, err)
		}
		if _, err := js.PublishMsg(ctx, eventlog.NewMsg(l.Service(), recs[0])); err != nil {
			t.Fatal(err)
		}
	}
}

// TestConsumerGapWithoutFetcher: an event after a gap waits until the missing one arrives.
func TestConsumerGapWithoutFetcher(t *testing.T) {
	t.Parallel()
	_, nc := natstest.Run(t)
	js := newJS(t, nc)
	publishSeqs(t, js, "coupon", "acme", 1, 3)
	cdb := consumerDB(t)
	rec := &recorder{t: t}
	c := eventlog.NewConsumer(js, cdb, cdb, fastConsumer("gapless", "coupon"), rec.handle, nil)
	runBG(t, c.Run)
	waitApplied(t, c, "acme", 1)
	time.Sleep(300 * time.Millisecond) // many GapDelays: 3 must still wait
	if got, _ := c.Applied(context.Background(), "acme"); got != 1 {
		t.Fatalf("applied %d across a gap", got)
	}
	publishSeqs(t, js, "coupon", "acme", 2)
	waitApplied(t, c, "acme", 3)
	if got := effects(t, cdb, "coupon", "acme"); !equalSeqs(got, seq1toN(3)) {
		t.Fatalf("effects %v", got)
	}
}

// TestConsumerFreshStartWithoutFetcher: a consumer that never saw a tenant starts at the oldest
// event the broker still has.
func TestConsumerFreshStartWithoutFetcher(t *testing.T) {
	t.Parallel()
	_, nc := natstest.Run(t)
	js := newJS(t, nc)
	publishSeqs(t, js, "coupon", "acme", 5, 6)
	cdb := consumerDB(t)
	c := eventlog.NewConsumer(js, cdb, cdb, fastConsumer("late", "coupon"),
		func(*bolt.Tx, eventlog.Delivery) error { return nil }, nil)
	runBG(t, c.Run)
	waitApplied(t, c, "acme", 6)
}

// fetcherFunc adapts a function to eventlog.Fetcher.
type fetcherFunc func(ctx context.Context, service, tenant string, after uint64, limit int) ([]eventlog.Delivery, error)

func (f fetcherFunc) ListEvents(ctx context.Context, service, tenant string, after uint64, limit int) ([]eventlog.Delivery, error) {
	return f(ctx, service, tenant, after, limit)
}

// TestConsumerFillsGapsFromFetcher: events the broker lacks come from the producer's log, in
// order, whether the gap is at the start or in the middle; events the producer pruned too are
// skipped rather than blocking the tenant forever.
func TestConsumerFillsGapsFromFetcher(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		onBus   []uint64
		logHas  int  // producer log holds 1..logHas
		pruned  bool // the fetcher returns nothing: the producer pruned them
		wantEff []uint64
	}{
		{name: "middle", onBus: []uint64{1, 2, 6}, logHas: 6, wantEff: seq1toN(6)},
		{name: "start", onBus: []uint64{4, 5}, logHas: 5, wantEff: seq1toN(5)},
		{name: "long", onBus: []uint64{1, 1500}, logHas: 1500, wantEff: seq1toN(1500)},
		{name: "pruned", onBus: []uint64{1, 2, 6}, pruned: true, wantEff: []uint64{1, 2, 6}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, nc := natstest.Run(t)
			js := newJS(t, nc)
			l := eventlog.New("loyalty")
			producer := openDB(t, true, l.Buckets()...)
			var f eventlog.Fetcher = eventlog.LogFetcher{Log: l, DB: producer}
			if tt.pruned {
				f = fetcherFunc(func(context.Context, string, string, uint64, int) ([]eventlog.Delivery, error) { return nil, nil })
			} else if err := producer.Update(context.Background(), func(tx *bolt.Tx) error {
				for range tt.logHas {
					if _, err := l.Append(tx, "acme", "happened", brokerPayload(), time.Now()); err != nil {
						return err
					}
				}
				return nil
			}); err != nil {
				t.Fatal(err)
			}
			if tt.pruned {
				publishSeqs(t, js, "loyalty", "acme", tt.onBus...)
			} else {
				publishLogged(t, js, l, producer, "acme", tt.onBus...)
			}
			cdb := consumerDB(t)
			rec := &recorder{t: t}
			cfg := fastConsumer("filler", "loyalty")
			cfg.Fetcher = f
			c := eventlog.NewConsumer(js, cdb, cdb, cfg, func(tx *bolt.Tx, d eventlog.Delivery) error {
				if tt.pruned {
					return tx.Bucket(effectsBucket).Put([]byte(fmt.Sprintf("%s/%s/%020d", d.Service, d.Tenant, d.Sequence)), nil)
				}
				return rec.handle(tx, d)
			}, nil)
			runBG(t, c.Run)
			last := tt.wantEff[len(tt.wantEff)-1]
			waitApplied(t, c, "acme", last)
			if got := effects(t, cdb, "loyalty", "acme"); !equalSeqs(got, tt.wantEff) {
				t.Fatalf("effects %v, want %v", got, tt.wantEff)
			}
		})
	}
}

// TestConsumerSurvivesBrokerDataLoss: NATS restarts with an emptied store; the relay
// republishes, the consumer's durable is created again, and every event applies exactly once.
func TestConsumerSurvivesBrokerDataLoss(t *testing.T) {
	t.Parallel()
	srv := natstest.Start(t)
	js := newJS(t, srv.Connect())
	l := eventlog.New("campaign")
	producer := openDB(t, true, l.Buckets()...)
	relay := eventlog.NewRelay(l, producer, js, nil, fastRelay)
	runBG(t, relay.Run)
	cdb := consumerDB(t)
	rec := &recorder{t: t}
	c := eventlog.NewConsumer(js, cdb, cdb, fastConsumer("reporter", "campaign"), rec.handle, nil)
	runBG(t, c.Run)

	appendN(t, producer, l, "acme", "triggered", 20, time.Now())
	appendN(t, producer, l, "globex", "triggered", 5, time.Now())
	waitApplied(t, c, "acme", 20)
	waitApplied(t, c, "globex", 5)

	srv.Restart(true)
	appendN(t, producer, l, "acme", "triggered", 10, time.Now())
	flush(t, relay)
	waitApplied(t, c, "acme", 30)
	if got := effects(t, cdb, "campaign", "acme"); !equalSeqs(got, seq1toN(30)) {
		t.Fatalf("acme effects %v", got)
	}
	if got := effects(t, cdb, "campaign", "globex"); !equalSeqs(got, seq1toN(5)) {
		t.Fatalf("globex effects %v", got)
	}
}

func TestConsumerConfigErrors(t *testing.T) {
	t.Parallel()
	_, nc := natstest.Run(t)
	js := newJS(t, nc)
	cdb := consumerDB(t)
	h := func(*bolt.Tx, eventlog.Delivery) error { return nil }
	tests := []struct {
		name string
		cfg  eventlog.ConsumerConfig
		h    eventlog.Handler
	}{
		{name: "no_name", cfg: eventlog.ConsumerConfig{Service: "loyalty"}, h: h},
		{name: "dotted_name", cfg: eventlog.ConsumerConfig{Name: "a.b", Service: "loyalty"}, h: h},
		{name: "bad_service", cfg: eventlog.ConsumerConfig{Name: "a", Service: "Loyalty"}, h: h},
		{name: "bad_tenant", cfg: eventlog.ConsumerConfig{Name: "a", Service: "loyalty", Tenants: []string{"*"}}, h: h},
		{name: "bad_type", cfg: eventlog.ConsumerConfig{Name: "a", Service: "loyalty", Types: []string{"A"}}, h: h},
		{name: "no_handler", cfg: eventlog.ConsumerConfig{Name: "a", Service: "loyalty"}},
		{name: "sparse_without_types", cfg: eventlog.ConsumerConfig{Name: "a", Service: "loyalty", Sparse: true}, h: h},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := eventlog.NewConsumer(js, cdb, cdb, tt.cfg, tt.h, nil).Run(context.Background())
			if err == nil {
				t.Fatal("Run succeeded")
			}
		})
	}
}

// lingerSetup starts a broker, a relayed loyalty log and a consumer's database with its
// group-commit writer, as the linger tests use them.
func lingerSetup(t *testing.T) (jetstream.JetStream, *eventlog.Log, *boltx.DB, *boltx.DB, *boltx.Writer) {
	t.Helper()
	_, nc := natstest.Run(t)
	js := newJS(t, nc)
	l := eventlog.New("loyalty")
	producer := openDB(t, true, l.Buckets()...)
	relay := eventlog.NewRelay(l, producer, js, nil, fastRelay)
	runBG(t, relay.Run)
	cdb := consumerDB(t)
	return js, l, producer, cdb, boltx.NewWriter(cdb, boltx.WriterOptions{})
}

// trickle appends n points_earned events of tenant acme a couple of milliseconds apart: a steady
// stream, not a burst.
func trickle(t *testing.T, producer boltx.Updater, l *eventlog.Log, n int) {
	t.Helper()
	for range n {
		appendN(t, producer, l, "acme", "points_earned", 1, time.Now())
		time.Sleep(2 * time.Millisecond)
	}
}

// TestConsumerLinger: events that arrive one at a time, a few milliseconds apart, are applied
// many to a transaction (each transaction is an fsync), in order and once; without a linger
// each would take one of its own.
func TestConsumerLinger(t *testing.T) {
	t.Parallel()
	js, l, producer, cdb, cw := lingerSetup(t)
	rec := &recorder{t: t}
	var mu sync.Mutex
	txs := map[*bolt.Tx]bool{}
	cfg := fastConsumer("analytics", "loyalty")
	cfg.Linger = 200 * time.Millisecond
	c := eventlog.NewConsumer(js, cdb, cw, cfg, func(tx *bolt.Tx, d eventlog.Delivery) error {
		mu.Lock()
		txs[tx] = true
		mu.Unlock()
		return rec.handle(tx, d)
	}, nil)
	stopConsumer := runBG(t, c.Run)
	t.Cleanup(func() { stopConsumer(); _ = cw.Close() })

	const n = 40
	trickle(t, producer, l, n)
	waitApplied(t, c, "acme", n)
	if got := effects(t, cdb, "loyalty", "acme"); !equalSeqs(got, seq1toN(n)) {
		t.Fatalf("effects %v, want 1..%d", got, n)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(txs) > n/2 {
		t.Fatalf("%d events took %d transactions: the worker did not wait for more", n, len(txs))
	}
}

// countingUpdater counts the write transactions a consumer asks for.
type countingUpdater struct {
	boltx.Updater
	n atomic.Int64
}

func (u *countingUpdater) Update(ctx context.Context, fn func(*bolt.Tx) error) error {
	u.n.Add(1)
	return u.Updater.Update(ctx, fn)
}

// A consumer of one rare type commits the positions of the other types' events seldom, and
// still applies its own type within Linger.
func TestConsumerIgnoredLinger(t *testing.T) {
	t.Parallel()
	js, l, producer, cdb, cw := lingerSetup(t)
	counted := &countingUpdater{Updater: cw}
	cfg := fastConsumer("coupon", "loyalty")
	cfg.Types = []string{"policy_updated"}
	cfg.Linger = 20 * time.Millisecond
	cfg.IgnoredLinger = time.Second
	c := eventlog.NewConsumer(js, cdb, counted, cfg, func(tx *bolt.Tx, d eventlog.Delivery) error {
		return tx.Bucket(effectsBucket).Put(fmt.Appendf(nil, "%s/%s/%020d", d.Service, d.Tenant, d.Sequence), []byte(d.Type))
	}, nil)
	stopConsumer := runBG(t, c.Run)
	t.Cleanup(func() { stopConsumer(); _ = cw.Close() })

	const n = 60
	trickle(t, producer, l, n)
	appendN(t, producer, l, "acme", "policy_updated", 1, time.Now())
	waitApplied(t, c, "acme", n+1)
	if got := effects(t, cdb, "loyalty", "acme"); !equalSeqs(got, []uint64{n + 1}) {
		t.Fatalf("effects %v, want only the policy event %d", got, n+1)
	}
	if got := counted.n.Load(); got > 6 {
		t.Fatalf("%d events of another type took %d transactions: the worker did not wait for more", n, got)
	}
}
