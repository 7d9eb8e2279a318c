package eventlog

import (
	"context"
	"errors"
	"fmt"
	"hash/maphash"
	"log/slog"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	bolt "go.etcd.io/bbolt"

	"github.com/huiyuan-dev/huiyuan/pkg/boltx"
	"github.com/huiyuan-dev/huiyuan/pkg/natsx"
)

// Handler applies one event inside tx, the read-write transaction that also records the event
// as applied. An error rolls the transaction back and the event is redelivered later. It may be
// called more than once for the same event (a transaction retried by the group-commit writer),
// but its effects are committed once.
type Handler func(tx *bolt.Tx, d Delivery) error

// ConsumerConfig configures a Consumer. Zero durations and sizes take the defaults.
type ConsumerConfig struct {
	// Name is the durable JetStream consumer and the key of the applied positions: 1 to 64
	// lowercase letters, digits, dashes or underscores, such as "analytics".
	Name string
	// Service is the producing service whose stream is consumed, such as "loyalty".
	Service string
	// Tenants limits the consumer to these tenants' events; empty means every tenant.
	Tenants []string
	// Types limits the Handler to these event types; empty means all. Events of other types
	// still advance the applied position, so gap detection keeps working.
	Types []string
	// Sparse has the broker deliver only the events of Types, for a consumer whose types are
	// rare among its producer's events: it then costs nothing per event of the other types,
	// which a busy producer writes many of (see the package doc, Sparse consumers). Needs Types,
	// and a broker of 2.11 or later; against an older one the consumer receives every event.
	Sparse bool
	// Fetcher fills a gap from the producer's log, including the events before the oldest one
	// the broker keeps when the consumer first sees a tenant. Without one, an event after a
	// gap is redelivered after GapDelay until the relay has republished what the broker lost,
	// and a consumer new to a tenant starts at the oldest event the broker keeps.
	Fetcher Fetcher
	// AckWait is how long the broker waits for an ack before redelivering (default 30 s).
	AckWait time.Duration
	// MaxAckPending bounds the unacknowledged events in flight (default 1000).
	MaxAckPending int
	// Workers apply events in parallel; a tenant's events always go to the same worker, in order
	// (default 4).
	Workers int
	// MaxBatch is how many waiting events a worker applies in one transaction (default 256:
	// the relay publishes a commit's events together, and under load bursts of more than 64
	// cost a commit, two fsyncs, per 64 events).
	MaxBatch int
	// Linger is how long a worker with fewer than MaxBatch events waits for more before it
	// applies them (default 10 ms; negative: not at all). Under a steady stream one event
	// arrives at a time, and a transaction each (an fsync each) would cost the machine more
	// than the events' own work; waiting a little lets one transaction take many.
	Linger time.Duration
	// IgnoredLinger is how long a worker holding only events of other types than Types waits
	// for more (default 250 ms; negative: not at all). Those events only advance the applied
	// position, so committing it a little later costs nothing but a longer replay after a crash,
	// while a commit per Linger would cost a consumer of one rare type a commit for every few of
	// its producer's events.
	IgnoredLinger time.Duration
	// Backoff is the redelivery delay after a Handler error, doubled per delivery up to
	// MaxBackoff (defaults 1 s and 1 min).
	Backoff, MaxBackoff time.Duration
	// GapDelay is the redelivery delay of an event that follows a gap (default 1 s).
	GapDelay time.Duration
	// CheckInterval is how often the durable consumer's existence is checked, so one lost with
	// the broker's data is created again (default 5 s).
	CheckInterval time.Duration
}

func (c ConsumerConfig) withDefaults() ConsumerConfig {
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&c.AckWait, 30*time.Second)
	def(&c.Backoff, time.Second)
	def(&c.MaxBackoff, time.Minute)
	def(&c.GapDelay, time.Second)
	def(&c.CheckInterval, 5*time.Second)
	if c.Linger == 0 {
		c.Linger = 10 * time.Millisecond
	}
	if c.IgnoredLinger == 0 {
		c.IgnoredLinger = 250 * time.Millisecond
	}
	if c.MaxAckPending <= 0 {
		c.MaxAckPending = 1000
	}
	if c.Workers <= 0 {
		c.Workers = 4
	}
	if c.MaxBatch <= 0 {
		c.MaxBatch = 256
	}
	return c
}

func (c ConsumerConfig) validate() error {
	if !natsx.ValidToken(c.Name) { // it names the durable in subjects and permissions
		return fmt.Errorf("eventlog: consumer name %q must be 1 to 64 of [a-z0-9_-]", c.Name)
	}
	if err := natsx.ValidateService(c.Service); err != nil {
		return err
	}
	for _, t := range c.Tenants {
		if err := ValidateTenant(t); err != nil {
			return err
		}
	}
	for _, t := range c.Types {
		if err := ValidateEventType(t); err != nil {
			return err
		}
	}
	if c.Sparse && len(c.Types) == 0 {
		return fmt.Errorf("eventlog: consumer %q is sparse but names no event types", c.Name)
	}
	return nil
}

// consumerBucket holds every consumer's applied positions, keyed name 0x00 service 0x00 tenant.
var consumerBucket = []byte("eventlog.consumers")

// ConsumerBuckets names the bbolt buckets consumers need; pass them when opening the database.
func ConsumerBuckets() [][]byte { return [][]byte{consumerBucket} }

// Consumer applies another service's events exactly once: a durable JetStream pull consumer
// with explicit acks, whose Handler runs in the same bbolt transaction that advances the
// consumer's applied Position for (producer service, tenant): an epoch and a sequence. Events
// of its epoch at or below the position, and events of older epochs, are acknowledged without
// running the Handler; an event of a newer epoch moves the position into it (see the package
// doc); an event after a gap waits for the missing ones (from the Fetcher, or redelivery).
type Consumer struct {
	js    jetstream.JetStream
	db    Viewer
	w     boltx.Updater
	cfg   ConsumerConfig
	h     Handler
	log   *slog.Logger
	types map[string]bool
	seed  maphash.Seed // spreads tenants over workers
	err   error        // invalid construction, returned by Run
}

// NewConsumer returns a consumer reading with js, checking positions through db and writing
// through w (the service's group-commit writer, or the database itself). A nil logger discards
// logs. Invalid arguments do not panic: Run returns the error.
func NewConsumer(js jetstream.JetStream, db Viewer, w boltx.Updater, cfg ConsumerConfig, h Handler, log *slog.Logger) *Consumer {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	c := &Consumer{js: js, db: db, w: w, cfg: cfg.withDefaults(), h: h, seed: maphash.MakeSeed(),
		log: log.With("component", "eventlog.consumer", "consumer", cfg.Name, "producer", cfg.Service)}
	c.err = cfg.validate()
	if c.err == nil && (js == nil || db == nil || w == nil || h == nil) {
		c.err = errors.New("eventlog: consumer needs a JetStream, a database, an updater and a handler")
	}
	if len(cfg.Types) > 0 {
		c.types = make(map[string]bool, len(cfg.Types))
		for _, t := range cfg.Types {
			c.types[t] = true
		}
	}
	return c
}

// Applied returns the highest sequence of tenant's events the consumer has applied (0: none),
// in the producer's epoch Position reports. It returns the database's error, or the
// construction error Run would return.
func (c *Consumer) Applied(ctx context.Context, tenant string) (uint64, error) {
	p, err := c.Position(ctx, tenant)
	return p.Sequence, err
}

// Position returns how far the consumer has applied tenant's events: the producer's epoch and
// the highest sequence applied in it. It returns the database's error, or the construction
// error Run would return.
func (c *Consumer) Position(ctx context.Context, tenant string) (Position, error) {
	if c.err != nil {
		return Position{}, c.err
	}
	var p Position
	err := c.db.View(ctx, func(tx *bolt.Tx) error {
		var err error
		p, err = readApplied(tx.Bucket(consumerBucket), c.cursorKey(tenant))
		return err
	})
	return p, err
}

// firstRetry is how long Run first waits before it tries again.
const firstRetry = 50 * time.Millisecond

// Run consumes until ctx ends, then returns nil. It creates (or updates) the durable consumer,
// waiting for the producer's stream to exist, and creates it again if the broker loses it. It
// returns an error only for an invalid configuration; broker and storage failures are logged
// and retried.
func (c *Consumer) Run(ctx context.Context) error {
	if c.err != nil {
		return c.err
	}
	// The first retries come soon, so a consumer that started before its producer's stream
	// (every fresh start of the one-process suite) follows the first events within moments
	// rather than a fifth of the check interval later; they double up to the interval.
	delay := min(firstRetry, c.cfg.CheckInterval)
	for {
		err := c.consume(ctx)
		if ctx.Err() != nil {
			return nil
		}
		if errors.Is(err, jetstream.ErrStreamNotFound) {
			// The producer declares its stream when its relay starts: at a fresh start the
			// consumer may simply be first. Declaring it here could override the producer's
			// stream settings, so wait for it.
			c.log.Info("producer's stream not there yet; waiting", "retry_in", delay)
		} else {
			c.log.Warn("consumer stopped; starting again", "err", err, "retry_in", delay)
		}
		if !sleep(ctx, delay) {
			return nil
		}
		delay = min(2*delay, c.cfg.CheckInterval)
	}
}

// consume runs one life of the durable consumer: until ctx ends or the consumer is gone.
func (c *Consumer) consume(ctx context.Context) error {
	stream := natsx.StreamName(c.cfg.Service)
	sparse := c.sparse()
	filters := c.filters(sparse)
	cfg := jetstream.ConsumerConfig{
		Durable:       c.cfg.Name,
		AckPolicy:     jetstream.AckExplicitPolicy,
		AckWait:       c.cfg.AckWait,
		MaxDeliver:    -1,
		MaxAckPending: c.cfg.MaxAckPending,
		DeliverPolicy: jetstream.DeliverAllPolicy,
	}
	if sparse {
		cfg.MaxAckPending = 1 // one event in flight: delivered and redelivered in stream order
	}
	// One filter goes in the singular field: servers before 2.10 reject FilterSubjects
	// altogether (found against the distribution's 2.9 server); several need 2.10 or later.
	if len(filters) == 1 {
		cfg.FilterSubject = filters[0]
	} else {
		cfg.FilterSubjects = filters
	}
	cctx, cancel := context.WithTimeout(ctx, c.cfg.CheckInterval)
	cons, err := c.js.CreateOrUpdateConsumer(cctx, stream, cfg)
	cancel()
	if err != nil {
		return fmt.Errorf("create consumer on %s: %w", stream, err)
	}

	runCtx, stop := context.WithCancel(ctx)
	defer stop()
	queues := make([]chan item, c.cfg.Workers)
	var wg sync.WaitGroup
	for i := range queues {
		queues[i] = make(chan item, c.cfg.MaxBatch)
		wg.Add(1)
		go func() {
			defer wg.Done()
			c.work(runCtx, queues[i])
		}()
	}
	check := make(chan struct{}, 1)
	cc, err := cons.Consume(func(m jetstream.Msg) { c.dispatch(runCtx, queues, m, sparse) },
		jetstream.PullMaxMessages(min(cfg.MaxAckPending, 500)),
		jetstream.ConsumeErrHandler(func(_ jetstream.ConsumeContext, err error) {
			c.log.Debug("consume error", "err", err)
			select { // the consumer may be gone: check now
			case check <- struct{}{}:
			default:
			}
		}))
	if err != nil {
		stop()
		wg.Wait()
		return fmt.Errorf("consume %s: %w", stream, err)
	}
	defer func() {
		stop() // first: unblocks a callback waiting for a busy worker
		cc.Stop()
		wg.Wait()
	}()
	ticker := time.NewTicker(c.cfg.CheckInterval)
	defer ticker.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-cc.Closed():
			return errors.New("consume stopped")
		case <-check:
		case <-ticker.C:
		}
		ictx, cancel := context.WithTimeout(ctx, c.cfg.CheckInterval)
		_, err := cons.Info(ictx)
		cancel()
		if errors.Is(err, jetstream.ErrConsumerNotFound) || errors.Is(err, jetstream.ErrStreamNotFound) {
			return fmt.Errorf("durable consumer lost: %w", err)
		}
	}
}

// item is an event to apply: a broker message, or (msg nil) an event fetched to fill a gap.
type item struct {
	msg jetstream.Msg
	d   Delivery
	// epoch and start place the item in the producer's history: the delivery's own, except for
	// events fetched to fill a gap, which belong to the history of the event after the gap.
	epoch, start uint64
	force        bool // apply even after a gap: the missing events are gone for good
	sparse       bool // delivered by a sparse consumer: the events before it of other types never come
}

// dispatch routes a message to its tenant's worker, terminating malformed ones.
func (c *Consumer) dispatch(ctx context.Context, queues []chan item, m jetstream.Msg, sparse bool) {
	d, err := parseDelivery(m.Subject(), m.Headers(), m.Data())
	if err == nil && d.Service != c.cfg.Service {
		err = fmt.Errorf("%w: %s is not a %s event", errBadMessage, m.Subject(), c.cfg.Service)
	}
	if err != nil {
		c.log.Error("dropping a malformed event message", "err", err)
		_ = m.Term()
		return
	}
	select {
	case queues[maphash.String(c.seed, d.Tenant)%uint64(len(queues))] <- item{msg: m, d: d, epoch: d.Epoch, start: d.EpochStart, sparse: sparse}:
	case <-ctx.Done(): // not acked: redelivered after AckWait
	}
}

// work applies its queue's events, as many as are waiting per transaction, or as arrive within
// Linger of the first the Handler wants. A batch holding only events of other types than Types
// (which only advance the position) waits up to IgnoredLinger and grows to ignoredBatch: a
// consumer of a rare type should not pay a commit per few events of its producer's busy ones.
func (c *Consumer) work(ctx context.Context, q <-chan item) {
	batch := make([]item, 0, c.cfg.MaxBatch)
	linger := time.NewTimer(time.Hour)
	linger.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case it := <-q:
			batch = append(batch[:0], it)
		}
		wanted := c.wants(batch[0])
		limit, wait := c.ignoredBatch(), c.cfg.IgnoredLinger
		if wanted {
			limit, wait = c.cfg.MaxBatch, c.cfg.Linger
			if batch[0].sparse {
				wait = 0 // nothing more comes before this one is acknowledged
			}
		}
		if wait > 0 {
			linger.Reset(wait)
		}
	fill:
		for len(batch) < limit {
			var it item
			select {
			case it = <-q:
			default:
				if wait <= 0 {
					break fill
				}
				select {
				case it = <-q:
				case <-linger.C:
					break fill
				case <-ctx.Done():
					return // not acked: redelivered
				}
			}
			batch = append(batch, it)
			if !wanted && c.wants(it) {
				// The Handler's first event of the batch: applied within Linger of its arrival.
				wanted, limit, wait = true, c.cfg.MaxBatch, c.cfg.Linger
				if wait <= 0 {
					break fill
				}
				linger.Reset(wait)
			}
		}
		linger.Stop()
		c.apply(ctx, batch, true)
	}
}

// wants reports whether the Handler runs for it.
func (c *Consumer) wants(it item) bool { return c.types == nil || c.types[it.d.Type] }

// ignoredBatch is the most events of other types than Types a worker holds before applying
// them: its share of MaxAckPending, halved so the broker keeps delivering to the others.
func (c *Consumer) ignoredBatch() int {
	return max(c.cfg.MaxBatch, c.cfg.MaxAckPending/(2*c.cfg.Workers))
}
