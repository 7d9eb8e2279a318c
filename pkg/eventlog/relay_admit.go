package eventlog

import (
	"context"
	"time"
)

// Admission. The outbox lets a service go on writing while the broker is away, but when the
// broker is up and merely slower than the writers (a till's backlog posted in batches at the
// rate of the store, on a machine the broker shares), the broker's lag would grow for as long
// as the writers keep up their pace. Admit holds a writer while its tenant's backlog exceeds
// RelayOptions.MaxBacklog, so the writers are paced by the broker and the lag stays bounded;
// it holds no one while the relay is not making progress (the broker down or refusing), for
// then writing into the log is what the log is for.

// Defaults of admission (RelayOptions.MaxBacklog, AdmitWait, and how recent the relay's
// progress must be for it to count as keeping up).
const (
	defaultMaxBacklog = 20_000
	defaultAdmitWait  = 2 * time.Second
	progressRecent    = time.Second
)

// Admit waits while more than MaxBacklog of tenant's committed events await the broker's
// acknowledgement, the relay running and acknowledging events (some position moved within the
// last second). It waits at most AdmitWait, and returns ctx's error if ctx ends first. A log
// without a running relay admits at once.
func (l *Log) Admit(ctx context.Context, tenant string) error {
	if r := l.relay.Load(); r != nil {
		return r.admit(ctx, tenant)
	}
	return nil
}

func (r *Relay) admit(ctx context.Context, tenant string) error {
	if r.err != nil || r.opts.MaxBacklog < 0 {
		return nil
	}
	var deadline time.Time
	r.mu.Lock()
	defer r.mu.Unlock()
	for {
		st := r.tenants[tenant]
		if st == nil || !r.running || st.committed <= st.published+uint64(r.opts.MaxBacklog) ||
			time.Since(r.progressAt) > progressRecent {
			return nil
		}
		now := time.Now()
		if deadline.IsZero() {
			deadline = now.Add(r.opts.AdmitWait)
		}
		if !now.Before(deadline) {
			return nil
		}
		if r.progress == nil {
			r.progress = make(chan struct{})
		}
		ch := r.progress
		r.mu.Unlock()
		t := time.NewTimer(deadline.Sub(now))
		select {
		case <-ctx.Done():
			t.Stop()
			r.mu.Lock()
			return ctx.Err()
		case <-ch:
		case <-t.C:
		}
		t.Stop()
		r.mu.Lock()
	}
}
