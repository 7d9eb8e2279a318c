package eventlog_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	bolt "go.etcd.io/bbolt"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/wrapperspb"

	iamv1 "github.com/huiyuan-dev/huiyuan/gen/huiyuan/iam/v1"
	opsv1 "github.com/huiyuan-dev/huiyuan/gen/huiyuan/ops/v1"
	"github.com/huiyuan-dev/huiyuan/pkg/auth"
	"github.com/huiyuan-dev/huiyuan/pkg/boltx"
	"github.com/huiyuan-dev/huiyuan/pkg/eventlog"
	"github.com/huiyuan-dev/huiyuan/pkg/natsx/natstest"
	"github.com/huiyuan-dev/huiyuan/pkg/opsapi"
)

var appliedBucket = []byte("applied")

// applied is one event a consumer applied, as its Handler recorded it.
type applied struct {
	Epoch, Seq uint64
	Payload    string
}

// recordApplied is a Handler that records each event under (epoch, sequence) in the consumer's
// own transaction, so what it records is what committed, and fails the test if one is applied
// twice.
func recordApplied(t testing.TB) eventlog.Handler {
	return func(tx *bolt.Tx, d eventlog.Delivery) error {
		var p wrapperspb.StringValue
		if err := proto.Unmarshal(d.Payload, &p); err != nil {
			return err
		}
		b := tx.Bucket(appliedBucket)
		k := fmt.Appendf(nil, "%s/%020d/%020d", d.Tenant, d.Epoch, d.Sequence)
		if b.Get(k) != nil {
			t.Errorf("event %s applied twice", d.ID)
		}
		return b.Put(k, []byte(p.GetValue()))
	}
}

// appliedDB is a consumer's database for recordApplied.
func appliedDB(t testing.TB) *boltx.DB {
	return openDB(t, true, append(eventlog.ConsumerBuckets(), appliedBucket)...)
}

// appliedEvents lists tenant's applied events by epoch, then sequence.
func appliedEvents(t testing.TB, db *boltx.DB, tenant string) []applied {
	t.Helper()
	var out []applied
	prefix := []byte(tenant + "/")
	err := db.View(context.Background(), func(tx *bolt.Tx) error {
		c := tx.Bucket(appliedBucket).Cursor()
		for k, v := c.Seek(prefix); k != nil && len(k) > len(prefix) && string(k[:len(prefix)]) == string(prefix); k, v = c.Next() {
			var a applied
			if _, err := fmt.Sscanf(string(k[len(prefix):]), "%d/%d", &a.Epoch, &a.Seq); err != nil {
				return err
			}
			a.Payload = string(v)
			out = append(out, a)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// withPayload returns the applied events carrying payload.
func withPayload(as []applied, payload string) []applied {
	var out []applied
	for _, a := range as {
		if a.Payload == payload {
			out = append(out, a)
		}
	}
	return out
}

func appendPayloads(t testing.TB, db boltx.Updater, l *eventlog.Log, tenant string, payloads ...string) {
	t.Helper()
	for _, p := range payloads {
		if err := db.Update(context.Background(), func(tx *bolt.Tx) error {
			_, err := l.Append(tx, tenant, "points_earned", wrapperspb.String(p), time.Now())
			return err
		}); err != nil {
			t.Fatal(err)
		}
	}
}

func waitPosition(t testing.TB, c *eventlog.Consumer, tenant string, want eventlog.Position) {
	t.Helper()
	waitUntil(t, 15*time.Second, fmt.Sprintf("%s applied up to %v", tenant, want), func() bool {
		got, err := c.Position(context.Background(), tenant)
		return err == nil && got == want
	})
}

// waitAllAcked waits until the durable consumer has nothing pending or unacknowledged.
func waitAllAcked(t testing.TB, js jetstream.JetStream, stream, consumer string) {
	t.Helper()
	waitUntil(t, 15*time.Second, "every message acknowledged", func() bool {
		cons, err := js.Consumer(context.Background(), stream, consumer)
		if err != nil {
			return false
		}
		info, err := cons.Info(context.Background())
		return err == nil && info.NumAckPending == 0 && info.NumPending == 0
	})
}

func currentEpoch(t testing.TB, l *eventlog.Log, db eventlog.Viewer, tenant string) eventlog.Epoch {
	t.Helper()
	segs, err := l.Epochs(context.Background(), db, tenant)
	if err != nil {
		t.Fatal(err)
	}
	return segs[len(segs)-1]
}

// TestRelayForgedNextEvent: someone with broker access publishes a forged event with the next
// sequence of a tenant. The genuine event with that sequence is still published, and a consumer
// applies it exactly once: under a new epoch when the forgery claims the log's current epoch
// or a newer one, or in the current epoch when it claims an older one (which consumers ignore).
func TestRelayForgedNextEvent(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		// forge turns a copy of event 5's message into the forgery of event 6, given the
		// log's current epoch.
		forge         func(h nats.Header, epoch uint64)
		newEpoch      bool // the relay must start one at 6
		forgedApplied bool // consumers cannot tell the forgery from the producer's event
	}{
		{name: "same_epoch", newEpoch: true, forgedApplied: true, forge: func(h nats.Header, epoch uint64) {
			setForgedID(h, epoch)
		}},
		{name: "newer_epoch", newEpoch: true, forgedApplied: true, forge: func(h nats.Header, epoch uint64) {
			h.Set(eventlog.HeaderEpoch, strconv.FormatUint(epoch+1000, 10))
			h.Set(eventlog.HeaderEpochStart, "6")
			setForgedID(h, epoch+1000)
		}},
		{name: "before_epochs", forge: func(h nats.Header, _ uint64) {
			h.Del(eventlog.HeaderEpoch)
			h.Del(eventlog.HeaderEpochStart)
			h.Del(eventlog.HeaderDigest)
			h.Set(eventlog.HeaderID, legacyID("loyalty", "acme", 6))
			h.Set(eventlog.HeaderMsgID, legacyID("loyalty", "acme", 6))
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			_, nc := natstest.Run(t)
			js := newJS(t, nc)
			l := eventlog.New("loyalty")
			producer := openDB(t, true, l.Buckets()...)
			opts := fastRelay
			opts.AuditInterval = time.Hour // the genuine event's publish must find the forgery
			relay := eventlog.NewRelay(l, producer, js, testLogger(t), opts)
			runBG(t, relay.Run)
			cdb := appliedDB(t)
			cfg := fastConsumer("ledger", "loyalty")
			cfg.Fetcher = eventlog.LogFetcher{Log: l, DB: producer}
			c := eventlog.NewConsumer(js, cdb, cdb, cfg, recordApplied(t), testLogger(t))
			runBG(t, c.Run)

			appendPayloads(t, producer, l, "acme", "e1", "e2", "e3", "e4", "e5")
			e1 := currentEpoch(t, l, producer, "acme")
			waitPosition(t, c, "acme", eventlog.Position{Epoch: e1.Epoch, Sequence: 5})

			// The forger copies event 5's message, as read from the stream, and changes what it
			// must.
			s, err := js.Stream(ctx, "LOYALTY")
			if err != nil {
				t.Fatal(err)
			}
			last, err := s.GetLastMsgForSubject(ctx, eventlog.TenantFilter("acme", "loyalty"))
			if err != nil {
				t.Fatal(err)
			}
			forged := nats.NewMsg(last.Subject)
			forged.Header = last.Header
			forged.Header.Del(jetstream.ExpectedLastSubjSeqHeader)
			forged.Header.Del(jetstream.ExpectedLastSubjSeqSubjHeader)
			forged.Data, _ = proto.Marshal(wrapperspb.String("forged"))
			forged.Header.Set(eventlog.HeaderSequence, "6")
			forged.Header.Set(eventlog.HeaderDigest, eventlog.Digest("points_earned", time.Now(), "google.protobuf.StringValue", forged.Data))
			tt.forge(forged.Header, e1.Epoch)
			if _, err := js.PublishMsg(ctx, forged); err != nil {
				t.Fatal(err)
			}
			waitAllAcked(t, js, "LOYALTY", "ledger")

			appendPayloads(t, producer, l, "acme", "genuine")
			flush(t, relay)
			cur := currentEpoch(t, l, producer, "acme")
			if got := cur != e1; got != tt.newEpoch {
				t.Fatalf("epochs after the forgery: %v, new epoch %v, want %v", cur, got, tt.newEpoch)
			}
			if tt.newEpoch && (cur.Start != 6 || cur.Epoch <= e1.Epoch) {
				t.Fatalf("new epoch %v, want one after %d starting at 6", cur, e1.Epoch)
			}
			waitPosition(t, c, "acme", eventlog.Position{Epoch: cur.Epoch, Sequence: 6})

			// The next event continues the epoch; everything is applied once.
			appendPayloads(t, producer, l, "acme", "after")
			waitPosition(t, c, "acme", eventlog.Position{Epoch: cur.Epoch, Sequence: 7})
			got := appliedEvents(t, cdb, "acme")
			if g := withPayload(got, "genuine"); len(g) != 1 || g[0] != (applied{cur.Epoch, 6, "genuine"}) {
				t.Fatalf("genuine event applied as %v; all applied: %v", g, got)
			}
			if f := withPayload(got, "forged"); (len(f) == 1) != tt.forgedApplied || len(f) > 1 {
				t.Fatalf("forged event applied as %v; all applied: %v", f, got)
			}
			if a := withPayload(got, "after"); len(a) != 1 || a[0] != (applied{cur.Epoch, 7, "after"}) {
				t.Fatalf("next event applied as %v", a)
			}
			if got := streamSeqs(t, js, "loyalty", "acme"); !equalSeqs(got, []uint64{1, 2, 3, 4, 5, 6, 6, 7}) {
				t.Fatalf("stream holds %v", got)
			}
		})
	}
}

func setForgedID(h nats.Header, epoch uint64) {
	id := eventlog.EventID("loyalty", "acme", epoch, 6)
	h.Set(eventlog.HeaderID, id)
	h.Set(eventlog.HeaderMsgID, id)
}

// switchableFetcher reads a producer log whose database a test replaces (a restore).
type switchableFetcher struct {
	mu sync.Mutex
	f  eventlog.Fetcher
}

func (s *switchableFetcher) set(f eventlog.Fetcher) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.f = f
}

func (s *switchableFetcher) ListEvents(ctx context.Context, service, tenant string, after uint64, limit int) ([]eventlog.Delivery, error) {
	s.mu.Lock()
	f := s.f
	s.mu.Unlock()
	return f.ListEvents(ctx, service, tenant, after, limit)
}

// opsFetcher fills gaps through OperationsService.ListEvents, as a subscriber in another
// process would.
func opsFetcher(srv *opsapi.Server) eventlog.Fetcher {
	return fetcherFunc(func(ctx context.Context, service, tenant string, after uint64, limit int) ([]eventlog.Delivery, error) {
		ctx = auth.WithPrincipal(ctx, auth.Principal{Tenant: tenant, Role: iamv1.Role_SERVICE})
		resp, err := srv.ListEvents(ctx, &opsv1.ListEventsRequest{Service: service, AfterSequence: after, PageSize: int32(limit)})
		if err != nil {
			return nil, err
		}
		out := make([]eventlog.Delivery, len(resp.GetEvents()))
		for i, e := range resp.GetEvents() {
			out[i] = eventlog.DeliveryFromEvent(service, tenant, e)
		}
		return out, nil
	})
}

// TestRestoreStartsNewEpoch: a producer's store is restored from a backup taken at event 5,
// after events 6 to 8 were published and applied. The restore starts a new epoch at 6; the
// events appended after it reuse 6 to 9 and are applied exactly once, by the consumer that had
// the lost ones and by a new one that resynchronises through ListEvents.
func TestRestoreStartsNewEpoch(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	_, nc := natstest.Run(t)
	js := newJS(t, nc)
	l := eventlog.New("loyalty")
	path := filepath.Join(t.TempDir(), "loyalty.db")
	producer, err := boltx.Open(path, boltx.Options{NoSync: true}, l.Buckets()...)
	if err != nil {
		t.Fatal(err)
	}
	stopRelay := runBG(t, eventlog.NewRelay(l, producer, js, testLogger(t), fastRelay).Run)
	fetcher := &switchableFetcher{f: eventlog.LogFetcher{Log: l, DB: producer}}
	cdb := appliedDB(t)
	cfg := fastConsumer("ledger", "loyalty")
	cfg.Fetcher = fetcher
	c := eventlog.NewConsumer(js, cdb, cdb, cfg, recordApplied(t), testLogger(t))
	runBG(t, c.Run)

	appendPayloads(t, producer, l, "acme", "e1", "e2", "e3", "e4", "e5")
	old := currentEpoch(t, l, producer, "acme")
	waitPosition(t, c, "acme", eventlog.Position{Epoch: old.Epoch, Sequence: 5})
	backup := filepath.Join(t.TempDir(), "loyalty.bak")
	f, err := os.Create(backup)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := producer.Backup(ctx, f); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	appendPayloads(t, producer, l, "acme", "lost6", "lost7", "lost8")
	waitPosition(t, c, "acme", eventlog.Position{Epoch: old.Epoch, Sequence: 8})

	// Restore, as huiyuan restore does: the process is stopped, the file replaced, new epochs.
	stopRelay()
	if err := producer.Close(); err != nil {
		t.Fatal(err)
	}
	if err := boltx.Restore(backup, path, nil); err != nil {
		t.Fatal(err)
	}
	producer, err = boltx.Open(path, boltx.Options{NoSync: true}, l.Buckets()...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = producer.Close() })
	if err := eventlog.StartNewEpochs(ctx, producer, l); err != nil {
		t.Fatal(err)
	}
	segs, err := l.Epochs(ctx, producer, "acme")
	if err != nil || len(segs) != 2 || segs[0] != old || segs[1].Start != 6 || segs[1].Epoch <= old.Epoch {
		t.Fatalf("epochs after the restore: %v, %v; want %v then one from 6", segs, err, old)
	}
	restored := segs[1]
	fetcher.set(eventlog.LogFetcher{Log: l, DB: producer})
	relay := eventlog.NewRelay(l, producer, js, testLogger(t), fastRelay)
	runBG(t, relay.Run)
	appendPayloads(t, producer, l, "acme", "new6", "new7", "new8", "new9")
	flush(t, relay)
	waitPosition(t, c, "acme", eventlog.Position{Epoch: restored.Epoch, Sequence: 9})
	want := []applied{
		{old.Epoch, 1, "e1"}, {old.Epoch, 2, "e2"}, {old.Epoch, 3, "e3"}, {old.Epoch, 4, "e4"}, {old.Epoch, 5, "e5"},
		{old.Epoch, 6, "lost6"}, {old.Epoch, 7, "lost7"}, {old.Epoch, 8, "lost8"},
		{restored.Epoch, 6, "new6"}, {restored.Epoch, 7, "new7"}, {restored.Epoch, 8, "new8"}, {restored.Epoch, 9, "new9"},
	}
	if got := appliedEvents(t, cdb, "acme"); !slices.Equal(got, want) {
		t.Fatalf("applied %v\nwant    %v", got, want)
	}

	// ListEvents serves the restored history with its epochs.
	srv := opsapi.New(nil, map[string]opsapi.EventSource{"loyalty": {Log: l, DB: producer}})
	evs, err := opsFetcher(srv).ListEvents(ctx, "loyalty", "acme", 0, 100)
	if err != nil || len(evs) != 9 {
		t.Fatalf("ListEvents = %v, %v", evs, err)
	}
	for _, d := range evs {
		e := old
		if d.Sequence >= 6 {
			e = restored
		}
		if d.Epoch != e.Epoch || d.EpochStart != e.Start || d.ID != eventlog.EventID("loyalty", "acme", e.Epoch, d.Sequence) {
			t.Fatalf("ListEvents event %d: epoch %d from %d, id %s; want epoch %v", d.Sequence, d.Epoch, d.EpochStart, d.ID, e)
		}
	}

	// A new subscriber for which the broker lost the new epoch's first events fills them from
	// ListEvents; it also sees the lost future, the broker still has it, and then the new epoch.
	s, err := js.Stream(ctx, "LOYALTY")
	if err != nil {
		t.Fatal(err)
	}
	for next := uint64(1); ; {
		m, err := s.GetMsg(ctx, next, jetstream.WithGetMsgSubject(eventlog.TenantFilter("acme", "loyalty")))
		if err != nil {
			break
		}
		next = m.Sequence + 1
		seq := m.Header.Get(eventlog.HeaderSequence)
		if m.Header.Get(eventlog.HeaderEpoch) == strconv.FormatUint(restored.Epoch, 10) && (seq == "6" || seq == "7") {
			if err := s.DeleteMsg(ctx, m.Sequence); err != nil {
				t.Fatal(err)
			}
		}
	}
	rdb := appliedDB(t)
	rcfg := fastConsumer("resync", "loyalty")
	rcfg.Fetcher = opsFetcher(srv)
	rc := eventlog.NewConsumer(js, rdb, rdb, rcfg, recordApplied(t), testLogger(t))
	runBG(t, rc.Run)
	waitPosition(t, rc, "acme", eventlog.Position{Epoch: restored.Epoch, Sequence: 9})
	if got := appliedEvents(t, rdb, "acme"); !slices.Equal(got, want) {
		t.Fatalf("resync consumer applied %v\nwant    %v", got, want)
	}
}

// TestConsumerIgnoresOlderEpochs: after a consumer moved to a new epoch, redelivered or
// republished events of older epochs (and messages from before epochs) are acknowledged without
// effect, whatever their sequence.
func TestConsumerIgnoresOlderEpochs(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	_, nc := natstest.Run(t)
	js := newJS(t, nc)
	l := eventlog.New("member")
	producer := openDB(t, true, l.Buckets()...)
	stopRelay := runBG(t, eventlog.NewRelay(l, producer, js, nil, fastRelay).Run)
	cdb := appliedDB(t)
	c := eventlog.NewConsumer(js, cdb, cdb, fastConsumer("welcome", "member"), recordApplied(t), testLogger(t))
	runBG(t, c.Run)
	appendPayloads(t, producer, l, "acme", "a1", "a2", "a3")
	first := currentEpoch(t, l, producer, "acme")
	waitPosition(t, c, "acme", eventlog.Position{Epoch: first.Epoch, Sequence: 3})
	oldMsgs, _, err := l.List(ctx, producer, "acme", 0, 10)
	if err != nil {
		t.Fatal(err)
	}

	stopRelay()
	if err := eventlog.StartNewEpochs(ctx, producer, l); err != nil {
		t.Fatal(err)
	}
	second := currentEpoch(t, l, producer, "acme")
	relay := eventlog.NewRelay(l, producer, js, nil, fastRelay)
	runBG(t, relay.Run)
	appendPayloads(t, producer, l, "acme", "b4", "b5")
	flush(t, relay)
	waitPosition(t, c, "acme", eventlog.Position{Epoch: second.Epoch, Sequence: 5})
	before := appliedEvents(t, cdb, "acme")

	// Stale copies: the first epoch's events 2 and 3, one of it claiming 9 (beyond the
	// position), and messages from before epochs at 4 and 9.
	var stale []*nats.Msg
	for _, rec := range oldMsgs[1:] {
		stale = append(stale, eventlog.NewMsg("member", rec))
	}
	beyond := eventlog.NewMsg("member", oldMsgs[2])
	beyond.Header.Set(eventlog.HeaderSequence, "9")
	stale = append(stale, beyond,
		brokerMsg(eventlog.Subject("acme", "member", "points_earned"), 4, nil),
		brokerMsg(eventlog.Subject("acme", "member", "points_earned"), 9, nil))
	for i, m := range stale {
		m.Header.Set(eventlog.HeaderMsgID, fmt.Sprintf("stale-%d", i))
		if _, err := js.PublishMsg(ctx, m); err != nil {
			t.Fatal(err)
		}
	}
	waitAllAcked(t, js, "MEMBER", "welcome")
	if got := appliedEvents(t, cdb, "acme"); !slices.Equal(got, before) {
		t.Fatalf("stale events applied: %v, before %v", got, before)
	}
	if pos, err := c.Position(ctx, "acme"); err != nil || pos != (eventlog.Position{Epoch: second.Epoch, Sequence: 5}) {
		t.Fatalf("position after stale events: %v, %v", pos, err)
	}
	// The relay continues after them: they are history of older epochs.
	appendPayloads(t, producer, l, "acme", "b6")
	waitPosition(t, c, "acme", eventlog.Position{Epoch: second.Epoch, Sequence: 6})
	if got := currentEpoch(t, l, producer, "acme"); got != second {
		t.Fatalf("the relay started epoch %v over stale messages", got)
	}
	want := append(before, applied{second.Epoch, 6, "b6"})
	if got := appliedEvents(t, cdb, "acme"); !slices.Equal(got, want) {
		t.Fatalf("applied %v, want %v", got, want)
	}
}
