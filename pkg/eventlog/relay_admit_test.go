package eventlog

import (
	"context"
	"errors"
	"testing"
	"time"
)

// admitting is a relay as Admit sees it: running, with tenant t1 committed to seq 100 and
// acknowledged to 0, limited to a backlog of 10 and waits of wait.
func admitting(wait time.Duration) (*Log, *Relay, *tenantState) {
	l := New("loyalty")
	r := &Relay{l: l, opts: RelayOptions{MaxBacklog: 10, AdmitWait: wait}.withDefaults(), tenants: map[string]*tenantState{},
		running: true, progressAt: time.Now()}
	l.relay.Store(r)
	r.markDirty("t1", 100)
	return l, r, r.tenants["t1"]
}

// admitted runs Admit in the background; its result arrives on the channel.
func admitted(t *testing.T, ctx context.Context, l *Log, tenant string) <-chan error {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- l.Admit(ctx, tenant) }()
	return done
}

func TestAdmit(t *testing.T) {
	ctx := context.Background()
	t.Run("a backlog within the limit admits at once", func(t *testing.T) {
		l, r, st := admitting(time.Minute)
		r.setPosition(st, 90, 90)
		if err := l.Admit(ctx, "t1"); err != nil {
			t.Fatal(err)
		}
		if err := l.Admit(ctx, "other tenant"); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("a backlog beyond the limit waits for the broker to catch up", func(t *testing.T) {
		l, r, st := admitting(time.Minute)
		done := admitted(t, ctx, l, "t1")
		select {
		case err := <-done:
			t.Fatalf("admitted with 100 events awaiting the broker: %v", err)
		case <-time.After(50 * time.Millisecond):
		}
		r.setPosition(st, 50, 50) // progress, still 50 behind
		select {
		case err := <-done:
			t.Fatalf("admitted 50 behind: %v", err)
		case <-time.After(50 * time.Millisecond):
		}
		r.setPosition(st, 95, 95)
		select {
		case err := <-done:
			if err != nil {
				t.Fatal(err)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("not admitted after the broker caught up")
		}
	})
	t.Run("a relay making no progress admits at once", func(t *testing.T) {
		l, r, _ := admitting(time.Minute)
		r.mu.Lock()
		r.progressAt = time.Now().Add(-2 * progressRecent)
		r.mu.Unlock()
		if err := l.Admit(ctx, "t1"); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("a relay not running admits at once", func(t *testing.T) {
		l, r, _ := admitting(time.Minute)
		r.mu.Lock()
		r.running = false
		r.mu.Unlock()
		if err := l.Admit(ctx, "t1"); err != nil {
			t.Fatal(err)
		}
		if err := New("member").Admit(ctx, "t1"); err != nil { // no relay at all
			t.Fatal(err)
		}
	})
	t.Run("admission turned off", func(t *testing.T) {
		l, r, _ := admitting(time.Minute)
		r.opts.MaxBacklog = -1
		if err := l.Admit(ctx, "t1"); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("the wait is bounded", func(t *testing.T) {
		l, _, _ := admitting(100 * time.Millisecond)
		start := time.Now()
		if err := l.Admit(ctx, "t1"); err != nil {
			t.Fatal(err)
		}
		if d := time.Since(start); d < 100*time.Millisecond {
			t.Fatalf("admitted after %s, before the wait was over", d)
		}
	})
	t.Run("the caller's context ends the wait", func(t *testing.T) {
		l, _, _ := admitting(time.Minute)
		cctx, cancel := context.WithCancel(ctx)
		done := admitted(t, cctx, l, "t1")
		cancel()
		select {
		case err := <-done:
			if !errors.Is(err, context.Canceled) {
				t.Fatalf("Admit: %v", err)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("Admit did not end with its context")
		}
	})
}
