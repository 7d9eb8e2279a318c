package eventlog

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	bolt "go.etcd.io/bbolt"

	"github.com/huiyuan-dev/huiyuan/pkg/natsx"
)

// markDirty records that tenant's log grew. Called from commit hooks: it must stay cheap.
func (r *Relay) markDirty(tenant string, seq uint64) {
	r.mu.Lock()
	st := r.state(tenant)
	st.dirty = true
	st.committed = max(st.committed, seq)
	r.enqueue(tenant, st)
	r.mu.Unlock()
	r.signal()
}

func (r *Relay) signal() {
	select {
	case r.wake <- struct{}{}:
	default:
	}
}

// state returns tenant's state, creating it. r.mu must be held.
func (r *Relay) state(tenant string) *tenantState {
	st := r.tenants[tenant]
	if st == nil {
		st = &tenantState{}
		r.tenants[tenant] = st
	}
	return st
}

// enqueue queues tenant for a worker unless one runs or it is queued. r.mu must be held.
func (r *Relay) enqueue(tenant string, st *tenantState) {
	if !st.active && !st.queued {
		st.queued = true
		r.queue = append(r.queue, tenant)
	}
}

// setPosition moves tenant's acknowledged position and wakes Flush waiters.
func (r *Relay) setPosition(st *tenantState, published, streamSeq uint64) {
	r.mu.Lock()
	st.published, st.streamSeq = published, streamSeq
	r.progressAt = time.Now()
	if r.progress != nil {
		close(r.progress)
		r.progress = nil
	}
	r.mu.Unlock()
}

// schedule starts workers for queued tenants while slots are free.
func (r *Relay) schedule(ctx context.Context, wg *sync.WaitGroup) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for len(r.queue) > 0 && r.active < r.opts.Concurrency {
		tenant := r.queue[0]
		r.queue = r.queue[1:]
		st := r.tenants[tenant]
		st.queued, st.active = false, true
		r.active++
		wg.Add(1)
		go r.work(ctx, wg, tenant, st)
	}
	if len(r.queue) == 0 {
		r.queue = nil // let the backing array go
	}
}

// work publishes tenant until nothing is left, retrying failures with backoff.
func (r *Relay) work(ctx context.Context, wg *sync.WaitGroup, tenant string, st *tenantState) {
	defer wg.Done()
	delay := r.opts.RetryDelay
	for {
		r.mu.Lock()
		if ctx.Err() != nil || (!st.dirty && !st.verify) {
			st.active = false
			r.active--
			r.mu.Unlock()
			r.signal() // a slot is free
			return
		}
		verify := st.verify
		st.dirty, st.verify = false, false
		r.mu.Unlock()

		err := r.publishTenant(ctx, tenant, st, verify)
		if err == nil {
			delay = r.opts.RetryDelay
			continue
		}
		if ctx.Err() != nil {
			continue
		}
		r.log.Warn("cannot publish events; retrying", "tenant", tenant, "err", err, "retry_in", delay)
		var na noAudit
		r.mu.Lock()
		st.dirty, st.verify = true, !errors.As(err, &na)
		r.mu.Unlock()
		sleep(ctx, delay)
		delay = min(2*delay, r.opts.MaxRetryDelay)
	}
}

// audit declares the stream again if it vanished, and has every tenant checked against the
// broker and published up to its head.
func (r *Relay) audit(ctx context.Context) {
	actx, cancel := context.WithTimeout(ctx, r.opts.PublishTimeout)
	defer cancel()
	if _, err := r.js.Stream(actx, natsx.StreamName(r.l.service)); errors.Is(err, jetstream.ErrStreamNotFound) {
		r.log.Warn("event stream missing; declaring it again")
		if _, err := r.ensureStream(actx, true); err != nil {
			r.log.Warn("cannot declare the event stream", "err", err)
		}
	}
	heads := make(map[string]uint64)
	err := r.db.View(actx, func(tx *bolt.Tx) error {
		b := tx.Bucket(r.l.heads)
		if b == nil {
			return ErrMissingBuckets
		}
		return b.ForEach(func(k, v []byte) error {
			heads[string(k)] = readU64(v)
			return nil
		})
	})
	if err != nil {
		r.log.Warn("cannot read the event log heads", "err", err)
	}
	r.mu.Lock()
	for t, head := range heads {
		st := r.state(t)
		if head > st.published {
			st.dirty = true
		}
	}
	for t, st := range r.tenants {
		st.verify = true
		r.enqueue(t, st)
	}
	r.mu.Unlock()
	r.signal()
}

// load reads the saved positions and queues every tenant with unpublished events.
func (r *Relay) load(ctx context.Context) error {
	err := r.db.View(ctx, func(tx *bolt.Tx) error {
		cursors, heads := tx.Bucket(r.l.cursors), tx.Bucket(r.l.heads)
		if cursors == nil || heads == nil {
			return ErrMissingBuckets
		}
		r.mu.Lock()
		defer r.mu.Unlock()
		if err := cursors.ForEach(func(k, v []byte) error {
			c, err := decodeCursor(v)
			if err != nil {
				return fmt.Errorf("relay cursor of %q: %w", k, err)
			}
			st := r.state(string(k))
			st.published, st.streamSeq = c.GetPublishedSequence(), c.GetStreamSequence()
			st.saved, st.savedStream = st.published, st.streamSeq
			return nil
		}); err != nil {
			return err
		}
		return heads.ForEach(func(k, v []byte) error {
			st := r.state(string(k))
			if readU64(v) > st.published {
				st.dirty = true
				r.enqueue(string(k), st)
			}
			return nil
		})
	})
	if err != nil {
		return fmt.Errorf("eventlog: relay: load positions: %w", err)
	}
	return nil
}

// ensureStream returns the stream, declaring it when force is set (at most once per
// RetryDelay: many tenants' workers may notice a vanished stream at once).
func (r *Relay) ensureStream(ctx context.Context, force bool) (jetstream.Stream, error) {
	r.streamMu.Lock()
	defer r.streamMu.Unlock()
	if r.stream != nil && (!force || time.Since(r.ensuredAt) < r.opts.RetryDelay) {
		return r.stream, nil
	}
	s, err := natsx.EnsureStream(ctx, r.js, r.l.service, r.opts.StreamOptions...)
	if err != nil {
		return nil, err
	}
	r.stream, r.ensuredAt = s, time.Now()
	return s, nil
}

// sleep waits d or until ctx ends; it reports whether ctx is still live.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
