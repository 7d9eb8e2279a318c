// Package coupon holds the coupon domain: templates and their rules (types, scope, stacking,
// validity, stock, per-member limits, issuance, status), coupons and their life (issue, lock,
// redeem, release, restore, void, expire), codes, cart validation and discount arithmetic, and
// the use cases over a Store and the loyalty service's points (Points). It imports neither
// gRPC, bbolt, NATS nor the generated API.
package coupon

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/huiyuan-dev/huiyuan/pkg/clock"
)

// Points holds, captures and releases a member's points of tenant: the loyalty service.
// requestID makes each call idempotent there, so a retry after a crash learns the first answer.
//
// Errors: an *apperr.Error with code Unavailable when the outcome is unknown (the call may or
// may not have acted: retry with the same requestID); any other error when the call was refused
// and did nothing.
type Points interface {
	// Hold reserves points of member and returns the hold id.
	Hold(ctx context.Context, tenant, member string, points int64, requestID, reference string) (string, error)
	// Capture spends the whole hold. It returns nil when the hold is captured, now or before.
	Capture(ctx context.Context, tenant, member, holdID, requestID string) error
	// Release gives the hold back. It returns nil when the hold no longer holds points and was
	// not captured (released now or before, or timed out).
	Release(ctx context.Context, tenant, member, holdID, requestID string) error
}

// Options tune a Service.
type Options struct {
	// ExchangeGrace is how long an unsettled exchange is left to the request driving it before
	// recovery takes it over (0: 30 s).
	ExchangeGrace time.Duration
	// Logger receives what background work cannot return (nil discards).
	Logger *slog.Logger
}

// Service implements the coupon use cases. It is safe for concurrent use.
type Service struct {
	store   Store
	clock   clock.Clock
	points  Points
	grace   time.Duration
	log     *slog.Logger
	zones   zones
	soldOut soldOut
	batches chan struct{} // wakes the batch worker
}

// NewService returns a Service. points may be nil when no exchange is ever made (tests of the
// rest). It fails on a nil store or clock.
func NewService(store Store, clk clock.Clock, points Points, o Options) (*Service, error) {
	if store == nil || clk == nil {
		return nil, errors.New("coupon.NewService: nil dependency")
	}
	if o.ExchangeGrace <= 0 {
		o.ExchangeGrace = 30 * time.Second
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return &Service{store: store, clock: clk, points: points, grace: o.ExchangeGrace, log: o.Logger,
		soldOut: soldOut{m: map[string]*soldOutEntry{}}, batches: make(chan struct{}, 1)}, nil
}

func (s *Service) now() time.Time { return s.clock.Now().UTC() }

// soldOut remembers, per (tenant, template), that the stock is used up, so that a claim storm
// after sell-out is answered from memory. It is set only from what a committed transaction saw
// (a claim that took the last coupon, or a refusal for stock, which the group-commit writer
// answers only after its batch committed) and cleared whenever stock comes back (raised, or
// given back by a failed exchange). Each clear starts a new epoch; a setter names the epoch it
// read before its transaction, so a sell-out seen before a raise can never be set after it.
type soldOut struct {
	mu sync.Mutex
	m  map[string]*soldOutEntry
}

type soldOutEntry struct {
	epoch uint64
	out   bool
	err   error // the refusal, made once and shared: errors are never changed after they are made
}

func soldOutKey(tenant, template string) string { return tenant + "\x00" + template }

// state returns the current epoch of key and, when it is sold out, the refusal to answer with.
func (so *soldOut) state(key string) (uint64, error) {
	so.mu.Lock()
	defer so.mu.Unlock()
	e := so.m[key]
	if e == nil || !e.out {
		if e == nil {
			return 0, nil
		}
		return e.epoch, nil
	}
	return e.epoch, e.err
}

// mark sets key sold out, answering err, if its epoch is still epoch.
func (so *soldOut) mark(key string, epoch uint64, err error) {
	so.mu.Lock()
	defer so.mu.Unlock()
	e := so.m[key]
	if e == nil {
		e = &soldOutEntry{}
		so.m[key] = e
	}
	if e.epoch == epoch {
		e.out, e.err = true, err
	}
}

// clear says stock came back for key.
func (so *soldOut) clear(key string) {
	so.mu.Lock()
	defer so.mu.Unlock()
	e := so.m[key]
	if e == nil {
		e = &soldOutEntry{}
		so.m[key] = e
	}
	e.epoch++
	e.out, e.err = false, nil
}
