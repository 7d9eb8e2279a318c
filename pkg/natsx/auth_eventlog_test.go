package natsx_test

import (
	"context"
	"errors"
	"log/slog"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	bolt "go.etcd.io/bbolt"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/huiyuan-dev/huiyuan/pkg/boltx"
	"github.com/huiyuan-dev/huiyuan/pkg/eventlog"
	"github.com/huiyuan-dev/huiyuan/pkg/natsx"
)

// problems collects what must not happen on a connection that holds a sufficient grant: the
// broker's asynchronous errors (permission violations) and warnings logged by the relay or
// consumer (failed publishes, lookups, consumer creation).
type problems struct {
	mu   sync.Mutex
	list []string
}

func (p *problems) add(s string) {
	p.mu.Lock()
	p.list = append(p.list, s)
	p.mu.Unlock()
}

func (p *problems) get() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.list...)
}

func (p *problems) errorHandler() nats.Option {
	return nats.ErrorHandler(func(_ *nats.Conn, _ *nats.Subscription, err error) { p.add(err.Error()) })
}

// Enabled, Handle, WithAttrs and WithGroup make problems a slog.Handler of warnings and errors.
func (p *problems) Enabled(_ context.Context, l slog.Level) bool { return l >= slog.LevelWarn }

// Handle records log lines that speak of permissions. Others (a request timing out on a loaded
// machine, retried) are not about credentials; a denied request also shows as the server's
// permissions violation, which the error handler records.
func (p *problems) Handle(_ context.Context, r slog.Record) error {
	msg := r.Message
	r.Attrs(func(a slog.Attr) bool { msg += " " + a.String(); return true })
	lower := strings.ToLower(msg)
	if strings.Contains(lower, "permission") || strings.Contains(lower, "authoriz") || strings.Contains(lower, "denied") {
		p.add(msg)
	}
	return nil
}

func (p *problems) WithAttrs([]slog.Attr) slog.Handler { return p }
func (p *problems) WithGroup(string) slog.Handler      { return p }

// TestEventlogWithServiceCredentials runs eventlog's relay (member) and a durable consumer
// (loyalty reading member) with their service credentials in operator mode, and checks that
// what they are granted is all they use: events flow, audits and consumer checks run, and
// neither connection meets a permission violation nor logs a failure.
func TestEventlogWithServiceCredentials(t *testing.T) {
	t.Parallel()
	e := startAuthServer(t)
	var trouble problems
	logger := slog.New(&trouble)
	connect := func(c *natsx.Credential) jetstream.JetStream {
		nc, err := natsx.ConnectInProcess(e.ns, natsx.WithCredential(c), natsx.WithLogger(nil), trouble.errorHandler())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(nc.Close)
		return jetStream(t, nc)
	}
	memberJS, loyaltyJS := connect(e.member), connect(e.loyalty)

	l := eventlog.New("member")
	memberDB := openDB(t, l.Buckets()...)
	relay := eventlog.NewRelay(l, memberDB, memberJS, logger, eventlog.RelayOptions{AuditInterval: 20 * time.Millisecond})
	run(t, relay.Run)

	effects := []byte("effects")
	loyaltyDB := openDB(t, append(eventlog.ConsumerBuckets(), effects)...)
	consumer := eventlog.NewConsumer(loyaltyJS, loyaltyDB, loyaltyDB,
		eventlog.ConsumerConfig{Name: "loyalty", Service: "member", CheckInterval: 50 * time.Millisecond},
		func(tx *bolt.Tx, d eventlog.Delivery) error {
			return tx.Bucket(effects).Put([]byte(d.ID), []byte(d.Type))
		}, logger)
	run(t, consumer.Run)

	want := map[string]uint64{"acme": 3, "beta": 2}
	for tenant, n := range want {
		for i := range n {
			if err := memberDB.Update(context.Background(), func(tx *bolt.Tx) error {
				_, err := l.Append(tx, tenant, "member_updated", wrapperspb.String(strconv.FormatUint(i, 10)), time.Now())
				return err
			}); err != nil {
				t.Fatal(err)
			}
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := relay.Flush(ctx); err != nil {
		t.Fatalf("relay flush: %v (problems: %v)", err, trouble.get())
	}
	waitFor(t, func() bool { // the consumer applies every event
		for tenant, n := range want {
			if got, err := consumer.Applied(ctx, tenant); err != nil || got != n {
				return false
			}
		}
		return true
	})

	// Let audits (stream info, last message per tenant) and consumer checks (consumer info) run
	// a few times: the server's API counter proves they did.
	apiTotal := func() uint64 {
		info, err := e.ns.Jsz(nil)
		if err != nil {
			t.Fatal(err)
		}
		return info.API.Total
	}
	before := apiTotal()
	waitFor(t, func() bool { return apiTotal() >= before+20 })
	if p := trouble.get(); len(p) > 0 {
		t.Fatalf("the relay or consumer met problems with their credentials:\n%v", p)
	}

	// The consumer's gap check reads the oldest message of a tenant (consumer_gap.go): no gap
	// arose above, so make the same calls with its credential here.
	ctx, cancel = context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	s, err := loyaltyJS.Stream(ctx, natsx.StreamName("member"))
	if err != nil {
		t.Fatalf("consumer reads the producer's stream info: %v", err)
	}
	first, err := s.GetMsg(ctx, 1, jetstream.WithGetMsgSubject(eventlog.TenantFilter("beta", "member")))
	if err != nil || first.Header.Get(eventlog.HeaderSequence) != "1" {
		t.Fatalf("consumer's first-message lookup: %v, %v", first, err)
	}
	if _, err := s.GetLastMsgForSubject(ctx, eventlog.TenantFilter("acme", "member")); err != nil {
		t.Fatalf("last-message lookup: %v", err)
	}
	if p := trouble.get(); len(p) > 0 {
		t.Fatalf("lookups met problems:\n%v", p)
	}
}

func openDB(t *testing.T, buckets ...[]byte) *boltx.DB {
	t.Helper()
	db, err := boltx.Open(filepath.Join(t.TempDir(), "test.db"), boltx.Options{NoSync: true}, buckets...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	return db
}

// run runs fn until the test ends, then stops it and checks its error.
func run(t *testing.T, fn func(context.Context) error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- fn(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil && !errors.Is(err, context.Canceled) {
			t.Errorf("run: %v", err)
		}
	})
}
