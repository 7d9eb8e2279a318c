package eventlog_test

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/huiyuan-dev/huiyuan/pkg/boltx"
	"github.com/huiyuan-dev/huiyuan/pkg/eventlog"
	"github.com/huiyuan-dev/huiyuan/pkg/natsx"
	"github.com/huiyuan-dev/huiyuan/pkg/natsx/natstest"
)

// sparseLog appends, for tenant acme, rounds of many points_earned events and one
// policy_updated, and returns the policy events' sequences.
func sparseLog(t *testing.T, producer boltx.Updater, l *eventlog.Log, rounds, per int) []uint64 {
	t.Helper()
	var policies []uint64
	for range rounds {
		appendN(t, producer, l, "acme", "points_earned", per, time.Now())
		appendN(t, producer, l, "acme", "policy_updated", 1, time.Now())
		policies = append(policies, uint64(len(policies)+1)*uint64(per+1))
	}
	return policies
}

// sparseHandler records the sequences it applies, in order, failing the first delivery of each
// sequence in fail.
type sparseHandler struct {
	mu      sync.Mutex
	applied []uint64
	fail    map[uint64]bool
}

func (h *sparseHandler) handle(tx *bolt.Tx, d eventlog.Delivery) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.fail[d.Sequence] {
		delete(h.fail, d.Sequence)
		return context.DeadlineExceeded // any error: the event is redelivered
	}
	if d.Type != "policy_updated" {
		return nil // the recorder below fails the test for it
	}
	h.applied = append(h.applied, d.Sequence)
	return tx.Bucket(effectsBucket).Put([]byte(d.ID), nil)
}

func (h *sparseHandler) seen() []uint64 {
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.Clone(h.applied)
}

// TestSparseConsumer: a sparse consumer of a rare type gets only that type's events from the
// broker, applies each once and in order, with its position jumping over the other types;
// an event whose Handler fails holds back the later ones until it is applied.
func TestSparseConsumer(t *testing.T) {
	t.Parallel()
	js, l, producer, cdb, cw := lingerSetup(t)
	const rounds, per = 6, 40
	want := sparseLog(t, producer, l, rounds, per)
	h := &sparseHandler{fail: map[uint64]bool{want[1]: true}}
	cfg := fastConsumer("coupon", "loyalty")
	cfg.Types, cfg.Sparse = []string{"policy_updated"}, true
	c := eventlog.NewConsumer(js, cdb, cw, cfg, func(tx *bolt.Tx, d eventlog.Delivery) error {
		if d.Type != "policy_updated" {
			t.Errorf("a sparse consumer was delivered a %s event (%d)", d.Type, d.Sequence)
		}
		return h.handle(tx, d)
	}, nil)
	stop := runBG(t, c.Run)
	t.Cleanup(func() { stop(); _ = cw.Close() })

	waitApplied(t, c, "acme", want[len(want)-1])
	if got := h.seen(); !equalSeqs(got, want) {
		t.Fatalf("applied %v, want %v in order", got, want)
	}
	info, err := js.Consumer(context.Background(), natsx.StreamName("loyalty"), "coupon")
	if err != nil {
		t.Fatal(err)
	}
	ci, err := info.Info(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if f := ci.Config.FilterSubject; f != eventlog.Subject("*", "loyalty", "policy_updated") {
		t.Errorf("filter %q, want only the policy events", f)
	}
	if ci.Config.MaxAckPending != 1 {
		t.Errorf("MaxAckPending %d, want 1", ci.Config.MaxAckPending)
	}
	// Every policy event once, and the failed one again.
	if got := ci.Delivered.Consumer; got != uint64(rounds+1) {
		t.Errorf("%d deliveries, want %d", got, rounds+1)
	}
}

// TestSparseConsumerTakesOver: a consumer that received every event becomes sparse under the
// same durable and applied position, and then applies the rest of its type once each; a new
// sparse consumer of a tenant whose early events the broker no longer keeps fills them from
// the producer's log.
func TestSparseConsumerTakesOver(t *testing.T) {
	t.Parallel()
	t.Run("from_a_full_consumer", func(t *testing.T) {
		t.Parallel()
		js, l, producer, cdb, cw := lingerSetup(t)
		t.Cleanup(func() { _ = cw.Close() })
		first := sparseLog(t, producer, l, 2, 30)
		h := &sparseHandler{}
		cfg := fastConsumer("coupon", "loyalty")
		cfg.Types = []string{"policy_updated"}
		full := eventlog.NewConsumer(js, cdb, cw, cfg, h.handle, nil)
		stop := runBG(t, full.Run)
		waitApplied(t, full, "acme", first[len(first)-1])
		stop()

		appendN(t, producer, l, "acme", "points_earned", 10, time.Now())
		appendN(t, producer, l, "acme", "policy_updated", 1, time.Now())
		appendN(t, producer, l, "acme", "points_earned", 10, time.Now())
		appendN(t, producer, l, "acme", "policy_updated", 1, time.Now())
		last := first[len(first)-1]
		want := append(slices.Clone(first), last+11, last+22)
		cfg.Sparse = true
		sparse := eventlog.NewConsumer(js, cdb, cw, cfg, h.handle, nil)
		runBG(t, sparse.Run)
		waitApplied(t, sparse, "acme", want[len(want)-1])
		if got := h.seen(); !equalSeqs(got, want) {
			t.Fatalf("applied %v, want %v", got, want)
		}
	})
	t.Run("fills_before_its_first_event", func(t *testing.T) {
		t.Parallel()
		_, nc := natstest.Run(t)
		js := newJS(t, nc)
		l := eventlog.New("loyalty")
		producer := openDB(t, true, l.Buckets()...)
		want := sparseLog(t, producer, l, 3, 5) // policies at 6, 12, 18
		publishLogged(t, js, l, producer, "acme", seqRange(8, 18)...)
		cdb := consumerDB(t)
		h := &sparseHandler{}
		cfg := fastConsumer("coupon", "loyalty")
		cfg.Types, cfg.Sparse, cfg.Fetcher = []string{"policy_updated"}, true, eventlog.LogFetcher{Log: l, DB: producer}
		c := eventlog.NewConsumer(js, cdb, cdb, cfg, h.handle, nil)
		runBG(t, c.Run)
		waitApplied(t, c, "acme", 18)
		if got := h.seen(); !equalSeqs(got, want) {
			t.Fatalf("applied %v, want %v", got, want)
		}
	})
}

func seqRange(from, to uint64) []uint64 {
	var out []uint64
	for s := from; s <= to; s++ {
		out = append(out, s)
	}
	return out
}
