package kit

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// storeMetrics are the metrics of a process's stores: their group commits (how long a commit
// takes, fsyncs included, and how many writes share it) and their outboxes (events the broker
// has not acknowledged yet). An operator reads from them whether the disk or the broker is
// what holds the writes back.
type storeMetrics struct {
	seconds *prometheus.HistogramVec
	writes  *prometheus.HistogramVec
	outbox  *outboxCollector
}

// newStoreMetrics registers the store metrics on reg, or takes the ones already there (a
// second process on one registry, in tests). With a nil reg, or one that refuses them, the
// metrics count into nothing.
func newStoreMetrics(reg prometheus.Registerer, log *slog.Logger) *storeMetrics {
	m := &storeMetrics{
		seconds: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "huiyuan_store_commit_seconds",
			Help:    "Time of a store's group commit, from the start of its transaction to the synced commit.",
			Buckets: prometheus.ExponentialBuckets(0.0001, 2, 16), // 100 µs to 3.3 s
		}, []string{"store"}),
		writes: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "huiyuan_store_commit_writes",
			Help:    "Writes (callers) that shared one group commit of a store.",
			Buckets: prometheus.ExponentialBuckets(1, 2, 10), // 1 to 512
		}, []string{"store"}),
		outbox: &outboxCollector{desc: prometheus.NewDesc("huiyuan_outbox_backlog_events",
			"Events a service has committed that the broker has not acknowledged yet.", []string{"service"}, nil),
			log: log},
	}
	if reg == nil {
		return m
	}
	m.seconds = register(reg, m.seconds, log)
	m.writes = register(reg, m.writes, log)
	m.outbox = register(reg, m.outbox, log)
	return m
}

// register registers c on reg and returns it, or the collector of the same kind already there.
func register[C prometheus.Collector](reg prometheus.Registerer, c C, log *slog.Logger) C {
	err := reg.Register(c)
	if err == nil {
		return c
	}
	var are prometheus.AlreadyRegisteredError
	if errors.As(err, &are) {
		if existing, ok := are.ExistingCollector.(C); ok {
			return existing
		}
	}
	log.Warn("metrics not registered", "err", err)
	return c
}

// observer is the commit hook of store's writer.
func (m *storeMetrics) observer(store string) func(int, time.Duration) {
	seconds, writes := m.seconds.WithLabelValues(store), m.writes.WithLabelValues(store)
	return func(n int, took time.Duration) {
		seconds.Observe(took.Seconds())
		writes.Observe(float64(n))
	}
}

// outboxScrapeTimeout bounds the read of one outbox at a scrape.
const outboxScrapeTimeout = time.Second

// outboxCollector reports each relay's backlog when scraped, reading it then: the count is a
// walk of the log's positions, too dear for every commit and cheap once a scrape.
type outboxCollector struct {
	desc *prometheus.Desc
	log  *slog.Logger

	mu      sync.Mutex
	backlog map[string]func(context.Context) (uint64, error) // by service
}

// watch adds service's outbox.
func (c *outboxCollector) watch(service string, backlog func(context.Context) (uint64, error)) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.backlog == nil {
		c.backlog = make(map[string]func(context.Context) (uint64, error))
	}
	c.backlog[service] = backlog
}

// Describe implements prometheus.Collector.
func (c *outboxCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.desc }

// Collect implements prometheus.Collector. An outbox that cannot be read (its store closed)
// is left out of the scrape.
func (c *outboxCollector) Collect(ch chan<- prometheus.Metric) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for service, backlog := range c.backlog {
		ctx, cancel := context.WithTimeout(context.Background(), outboxScrapeTimeout)
		n, err := backlog(ctx)
		cancel()
		if err != nil {
			c.log.Debug("outbox backlog not read", "service", service, "err", err)
			continue
		}
		ch <- prometheus.MustNewConstMetric(c.desc, prometheus.GaugeValue, float64(n), service)
	}
}
