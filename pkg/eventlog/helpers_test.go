package eventlog_test

import (
	"context"
	"log/slog"
	"path/filepath"
	"strconv"
	"strings"
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

// openDB opens a boltx database in t.TempDir() with buckets; noSync skips fsync for speed.
func openDB(t testing.TB, noSync bool, buckets ...[]byte) *boltx.DB {
	t.Helper()
	db, err := boltx.Open(filepath.Join(t.TempDir(), "test.db"), boltx.Options{NoSync: noSync}, buckets...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	return db
}

// appendN appends n events of eventType to tenant, one transaction each, with payload "<tenant>/<i>".
func appendN(t testing.TB, db boltx.Updater, l *eventlog.Log, tenant, eventType string, n int, at time.Time) {
	t.Helper()
	for i := 0; i < n; i++ {
		if err := db.Update(context.Background(), func(tx *bolt.Tx) error {
			_, err := l.Append(tx, tenant, eventType, wrapperspb.String(tenant+"/"+strconv.Itoa(i)), at)
			return err
		}); err != nil {
			t.Fatal(err)
		}
	}
}

func newJS(t testing.TB, nc *nats.Conn) jetstream.JetStream {
	t.Helper()
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	return js
}

// runBG runs fn in a goroutine until the test ends, then waits for it and checks its error.
func runBG(t testing.TB, fn func(ctx context.Context) error) context.CancelFunc {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- fn(ctx) }()
	stopped := false
	stop := func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		if err := <-done; err != nil {
			t.Errorf("run: %v", err)
		}
	}
	t.Cleanup(stop)
	return stop
}

// streamSeqs returns, in stream order, the Huiyuan-Sequence of every message of tenant's
// subjects held by service's stream.
func streamSeqs(t testing.TB, js jetstream.JetStream, service, tenant string) []uint64 {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	s, err := js.Stream(ctx, natsx.StreamName(service))
	if err != nil {
		t.Fatal(err)
	}
	var out []uint64
	var next uint64 = 1
	for {
		m, err := s.GetMsg(ctx, next, jetstream.WithGetMsgSubject(eventlog.TenantFilter(tenant, service)))
		if err != nil {
			break // ErrMsgNotFound: no more
		}
		seq, err := strconv.ParseUint(m.Header.Get(eventlog.HeaderSequence), 10, 64)
		if err != nil {
			t.Fatalf("message %d: bad sequence header: %v", m.Sequence, err)
		}
		out = append(out, seq)
		next = m.Sequence + 1
	}
	return out
}

// seq1toN is 1..n.
func seq1toN(n int) []uint64 {
	out := make([]uint64, n)
	for i := range out {
		out[i] = uint64(i + 1)
	}
	return out
}

func equalSeqs(a, b []uint64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func waitUntil(t testing.TB, d time.Duration, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", d, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// brokerMsg builds an event message shaped like a relay's from before epochs (no epoch, no
// digest, the old id), for tests that play the broker's past or feed a consumer directly.
func brokerMsg(subject string, seq uint64, data []byte) *nats.Msg {
	tenant, service, _, _ := eventlog.ParseSubject(subject)
	msg := nats.NewMsg(subject)
	msg.Data = data
	msg.Header.Set(eventlog.HeaderMsgID, legacyID(service, tenant, seq))
	msg.Header.Set(eventlog.HeaderID, legacyID(service, tenant, seq))
	msg.Header.Set(eventlog.HeaderTenant, tenant)
	msg.Header.Set(eventlog.HeaderSequence, strconv.FormatUint(seq, 10))
	msg.Header.Set(eventlog.HeaderTime, time.Now().UTC().Format(time.RFC3339Nano))
	return msg
}

// legacyID is an event id from before epochs.
func legacyID(service, tenant string, seq uint64) string {
	return service + ":" + tenant + ":" + strconv.FormatUint(seq, 10)
}

// testLogger writes to the test's log.
func testLogger(t testing.TB) *slog.Logger {
	return slog.New(slog.NewTextHandler(tWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

type tWriter struct{ t testing.TB }

func (w tWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

func brokerPayload() *wrapperspb.StringValue { return wrapperspb.String("x") }
