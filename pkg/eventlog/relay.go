package eventlog

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	bolt "go.etcd.io/bbolt"

	"github.com/huiyuan-dev/huiyuan/pkg/clock"
	"github.com/huiyuan-dev/huiyuan/pkg/natsx"
)

// RelayOptions tunes a Relay. Zero values take the defaults.
type RelayOptions struct {
	// Retention is how long published events stay in the log (default 7 days). Events the
	// broker has not acknowledged are never pruned.
	Retention time.Duration
	// PruneInterval is how often the log is pruned (default 10 min).
	PruneInterval time.Duration
	// AuditInterval is how often every tenant's position is checked against the broker, so a
	// broker that lost messages is noticed even when no new event arrives (default 30 s). An
	// audit also runs after the connection reconnects.
	AuditInterval time.Duration
	// SaveInterval is how often published positions are written to the database (default 1 s).
	// A position saved late only costs one extra check with the broker after a restart.
	SaveInterval time.Duration
	// BatchSize is how many events of a tenant are read per read transaction (default 1000),
	// and so the most published per round trip: one atomic batch (nats-server 2.12 and later;
	// capped at the server's 1,000 and 1 MiB), or one window of asynchronous publishes
	// (servers before 2.11).
	BatchSize int
	// Concurrency is how many tenants are published at once (default 16).
	Concurrency int
	// PublishTimeout bounds one publish or broker lookup (default 5 s).
	PublishTimeout time.Duration
	// RetryDelay is the first wait after a failure, doubled up to MaxRetryDelay (defaults
	// 200 ms and 5 s).
	RetryDelay, MaxRetryDelay time.Duration
	// Clock tells the time for retention (default the system clock).
	Clock clock.Clock
	// StreamOptions configure the stream the relay declares (natsx.EnsureStream).
	StreamOptions []natsx.StreamOption
	// MaxBacklog is how many of a tenant's committed events may await the broker before
	// Log.Admit holds writers (default 20,000; negative: never), and AdmitWait the longest it
	// holds one (default 2 s). See relay_admit.go.
	MaxBacklog int
	AdmitWait  time.Duration
}

func (o RelayOptions) withDefaults() RelayOptions {
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&o.Retention, 7*24*time.Hour)
	def(&o.PruneInterval, 10*time.Minute)
	def(&o.AuditInterval, 30*time.Second)
	def(&o.SaveInterval, time.Second)
	def(&o.PublishTimeout, 5*time.Second)
	def(&o.RetryDelay, 200*time.Millisecond)
	def(&o.MaxRetryDelay, 5*time.Second)
	def(&o.AdmitWait, defaultAdmitWait)
	if o.MaxBacklog == 0 {
		o.MaxBacklog = defaultMaxBacklog
	}
	if o.BatchSize <= 0 {
		o.BatchSize = maxBatchEvents
	}
	if o.Concurrency <= 0 {
		o.Concurrency = 16
	}
	if o.Clock == nil {
		o.Clock = clock.System{}
	}
	return o
}

// Relay publishes a Log to the service's JetStream stream.
//
// Each tenant's events are published strictly in sequence, each window of them checked with
// Nats-Expected-Last-Subject-Sequence against the stream sequence of the tenant's previous event
// (over the tenant's subjects, Nats-Expected-Last-Subject-Sequence-Subject). So the broker
// stores an event only right after its predecessor. A backlog goes out in atomic batches (up to
// BatchSize events, the server's 1,000 and 1 MiB) whose first message carries the check: the
// broker commits the whole batch right after the predecessor, or none of it. A few events go
// out one at a time, which costs the broker less. Servers before 2.11 cannot check a tenant's
// subjects: there the relay pipelines asynchronous publishes, in order, and its audit finds what
// the broker lost. Tenants are published concurrently.
//
// When the check fails (the broker lost messages, or holds others), the relay reads the
// tenant's last message on the broker and judges it by its epoch, id and Huiyuan-Digest: the
// log's own event (continue after it, republishing what was lost), history of an older epoch
// (continue after it), or a message the log cannot continue (a forgery, a restored store's lost
// future): then it starts a new epoch at the first sequence it cannot confirm and publishes from
// there (see resync). Periodic and post-reconnect audits do the same when no event is flowing,
// and a stream that disappeared is declared again.
//
// Nats-Msg-Id is the event id, except for an event the broker lost but still remembers in its
// de-duplication window: that one is republished as "<id>~<stream sequence>" so the broker
// stores it again (ce-id and Huiyuan-Sequence are unchanged; consumers de-duplicate on those).
//
// Within a tenant, only one check (one event or one batch) is in flight: the next window cannot
// name its predecessor's stream sequence before the broker assigns it, and a window without a
// check could land after a broker restart that lost its predecessor.
type Relay struct {
	err  error // invalid construction, returned by Run and Flush
	l    *Log
	db   DB
	js   jetstream.JetStream
	log  *slog.Logger
	opts RelayOptions

	wake chan struct{} // capacity 1: "there is scheduling to do"

	mu         sync.Mutex
	tenants    map[string]*tenantState
	queue      []string      // tenants waiting for a worker
	active     int           // running workers
	progress   chan struct{} // closed when a position moves; nil unless Flush or Admit waits
	progressAt time.Time     // when a position last moved
	running    bool

	streamMu  sync.Mutex
	stream    jetstream.Stream
	ensuredAt time.Time

	warnedOldServer atomic.Bool  // the older-server warning is logged once
	batchLimit      atomic.Int64 // the most events per atomic batch; halved when the server refuses
}

// tenantState is one tenant's publishing state. published and streamSeq are written only by
// the tenant's worker (or before workers start), always under Relay.mu.
type tenantState struct {
	published, streamSeq uint64 // last event the broker acknowledged, and its stream sequence
	committed            uint64 // newest event known committed since the relay was made (Admit)
	saved, savedStream   uint64 // what the database holds
	dirty                bool   // the log may have events after published
	verify               bool   // compare with the broker before publishing
	queued, active       bool
}

// NewRelay returns the relay of l, reading and writing db (the database holding l's buckets)
// and publishing with js. It attaches itself to l, so l's commits wake it; create one Relay per
// Log. A nil logger discards logs. Nothing runs until Run. Nil arguments do not panic: Run and
// Flush return an error.
func NewRelay(l *Log, db DB, js jetstream.JetStream, log *slog.Logger, opts RelayOptions) *Relay {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if l == nil || db == nil || js == nil {
		return &Relay{err: errors.New("eventlog: relay needs a log, a database and a JetStream")}
	}
	r := &Relay{
		err:     l.err,
		l:       l,
		db:      db,
		js:      js,
		log:     log.With("component", "eventlog.relay", "service", l.service),
		opts:    opts.withDefaults(),
		wake:    make(chan struct{}, 1),
		tenants: make(map[string]*tenantState),
	}
	r.batchLimit.Store(maxBatchEvents)
	l.relay.Store(r)
	return r
}

// Run publishes until ctx ends, then saves the published positions and returns nil. It returns
// an error, without publishing, for an invalid construction (such as a Log with an invalid
// service), a relay already running, or when the database cannot be read at start. Broker failures are logged and retried, never
// returned.
func (r *Relay) Run(ctx context.Context) error {
	if r.err != nil {
		return r.err
	}
	r.mu.Lock()
	if r.running {
		r.mu.Unlock()
		return errors.New("eventlog: relay already running")
	}
	r.running = true
	r.mu.Unlock()
	defer func() {
		r.mu.Lock()
		r.running = false
		r.mu.Unlock()
	}()

	if err := r.load(ctx); err != nil {
		return err
	}
	for delay := r.opts.RetryDelay; ; delay = min(2*delay, r.opts.MaxRetryDelay) {
		_, err := r.ensureStream(ctx, true)
		if err == nil {
			break
		}
		r.log.Warn("cannot declare the event stream; retrying", "err", err)
		if !sleep(ctx, delay) {
			return nil
		}
	}

	workCtx, stop := context.WithCancel(ctx)
	var wg sync.WaitGroup
	defer func() {
		stop()
		wg.Wait()
		// The caller's ctx is over; give the final save a moment of its own.
		saveCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), r.opts.PublishTimeout)
		defer cancel()
		if err := r.saveCursors(saveCtx); err != nil {
			r.log.Error("cannot save relay positions", "err", err)
		}
	}()

	audit := time.NewTicker(r.opts.AuditInterval)
	defer audit.Stop()
	prune := time.NewTicker(r.opts.PruneInterval)
	defer prune.Stop()
	save := time.NewTicker(r.opts.SaveInterval)
	defer save.Stop()
	poll := time.NewTicker(time.Second)
	defer poll.Stop()
	reconnects := r.reconnects()
	for {
		r.schedule(workCtx, &wg)
		select {
		case <-ctx.Done():
			return nil
		case <-r.wake:
		case <-audit.C:
			r.audit(ctx)
		case <-poll.C:
			if n := r.reconnects(); n != reconnects {
				reconnects = n
				r.log.Info("nats reconnected; auditing the stream")
				r.audit(ctx)
			}
		case <-save.C:
			if err := r.saveCursors(ctx); err != nil && ctx.Err() == nil {
				r.log.Warn("cannot save relay positions", "err", err)
			}
		case <-prune.C:
			if err := r.prune(ctx); err != nil && ctx.Err() == nil {
				r.log.Warn("cannot prune the event log", "err", err)
			}
		}
	}
}

func (r *Relay) reconnects() uint64 {
	if nc := r.js.Conn(); nc != nil {
		return nc.Stats().Reconnects
	}
	return 0
}

// Flush waits until every event committed before the call has been acknowledged by the broker,
// for a graceful shutdown. It needs Run to be running. It returns ctx's error if ctx ends first,
// or the database's error.
func (r *Relay) Flush(ctx context.Context) error {
	if r.err != nil {
		return r.err
	}
	want, _, err := r.positions(ctx, false)
	if err != nil {
		return fmt.Errorf("eventlog: flush: %w", err)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	for {
		for t, head := range want {
			if st := r.tenants[t]; st != nil && st.published >= head {
				delete(want, t)
			}
		}
		if len(want) == 0 {
			return nil
		}
		if r.progress == nil {
			r.progress = make(chan struct{})
		}
		ch := r.progress
		r.mu.Unlock()
		select {
		case <-ctx.Done():
			r.mu.Lock()
			return fmt.Errorf("eventlog: flush: %d tenants not yet acknowledged: %w", len(want), ctx.Err())
		case <-ch:
		}
		r.mu.Lock()
	}
}

// Backlog returns how many committed events the broker has not yet acknowledged, over every
// tenant of the log: what a monitor watches to see that the broker keeps up. It reads the
// log's heads and the saved positions, so it answers before Run and after it too.
func (r *Relay) Backlog(ctx context.Context) (uint64, error) {
	if r.err != nil {
		return 0, r.err
	}
	heads, saved, err := r.positions(ctx, true)
	if err != nil {
		return 0, fmt.Errorf("eventlog: backlog: %w", err)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	var n uint64
	for t, head := range heads {
		published := saved[t]
		if st := r.tenants[t]; st != nil {
			published = max(published, st.published)
		}
		if head > published {
			n += head - published
		}
	}
	return n, nil
}

// positions reads each tenant's newest committed sequence and, with saved, the published
// sequence the relay last saved.
func (r *Relay) positions(ctx context.Context, saved bool) (heads, published map[string]uint64, err error) {
	heads = make(map[string]uint64)
	if saved {
		published = make(map[string]uint64)
	}
	err = r.db.View(ctx, func(tx *bolt.Tx) error {
		hb, cb := tx.Bucket(r.l.heads), tx.Bucket(r.l.cursors)
		if hb == nil || cb == nil {
			return ErrMissingBuckets
		}
		if err := hb.ForEach(func(k, v []byte) error {
			heads[string(k)] = readU64(v)
			return nil
		}); err != nil || !saved {
			return err
		}
		return cb.ForEach(func(k, v []byte) error {
			c, err := decodeCursor(v)
			if err != nil {
				return fmt.Errorf("relay cursor of %q: %w", k, err)
			}
			published[string(k)] = c.GetPublishedSequence()
			return nil
		})
	})
	return heads, published, err
}
