package boltx

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"
)

// lingering returns a Writer with the given linger whose last transaction ran four callers.
func lingering(t *testing.T, linger time.Duration) (*Writer, *committedIn) {
	t.Helper()
	w := NewWriter(openT(t), WriterOptions{Linger: linger})
	t.Cleanup(func() { _ = w.Close() })
	c := &committedIn{ids: map[string]int{}}
	var calls []queuedCall
	for i := range 4 {
		calls = append(calls, queuedCall{name: fmt.Sprintf("warm-%d", i)})
	}
	for name, err := range runQueued(t, w, c, calls) {
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
	}
	if c.ids["warm-0"] != c.ids["warm-3"] {
		t.Fatalf("the four warm-up callers took transactions %v: want one", c.ids)
	}
	return w, c
}

// TestWriterLingerFor: the rule, case by case.
func TestWriterLingerFor(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name          string
		linger        time.Duration
		last, queued  int
		idle          bool
		wantN         int
		wantLingering bool
	}{
		{name: "fewer_than_last_after_idling", linger: time.Millisecond, last: 10, queued: 3, idle: true, wantN: 10, wantLingering: true},
		{name: "callers_queued_while_busy", linger: time.Millisecond, last: 10, queued: 3, idle: false, wantN: 10},
		{name: "as_many_as_last", linger: time.Millisecond, last: 10, queued: 10, idle: true, wantN: 10},
		{name: "a_lone_caller_after_a_lone_caller", linger: time.Millisecond, last: 1, queued: 1, idle: true, wantN: 1},
		{name: "first_batch", linger: time.Millisecond, last: 0, queued: 1, idle: true, wantN: 0},
		{name: "capped_by_max_batch", linger: time.Millisecond, last: 400, queued: 100, idle: true, wantN: DefaultMaxBatch, wantLingering: true},
		{name: "no_linger", last: 10, queued: 3, idle: true, wantN: 10},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := &Writer{linger: tt.linger, last: tt.last, maxBatch: DefaultMaxBatch}
			n, ok := w.lingerFor(tt.idle, tt.queued)
			if n != tt.wantN || ok != tt.wantLingering {
				t.Fatalf("lingerFor(idle=%v, queued=%d) = %d, %v; want %d, %v", tt.idle, tt.queued, n, ok, tt.wantN, tt.wantLingering)
			}
		})
	}
}

func TestWriterLinger(t *testing.T) {
	t.Parallel()
	t.Run("gathers_as_many_as_last_time", func(t *testing.T) {
		t.Parallel()
		w, c := lingering(t, time.Minute)
		start := time.Now()
		var wg sync.WaitGroup
		for i := range 4 {
			wg.Go(func() {
				if err := w.Update(context.Background(), c.fn(fmt.Sprintf("late-%d", i), nil, false)); err != nil {
					t.Error(err)
				}
			})
			time.Sleep(20 * time.Millisecond) // callers a little behind each other
		}
		wg.Wait()
		if d := time.Since(start); d > 30*time.Second {
			t.Fatalf("four callers took %s: the writer waited out its linger though they came", d)
		}
		c.mu.Lock()
		defer c.mu.Unlock()
		for i := 1; i < 4; i++ {
			if c.ids[fmt.Sprintf("late-%d", i)] != c.ids["late-0"] {
				t.Fatalf("callers 20 ms apart took transactions %v: want one", c.ids)
			}
		}
	})
	t.Run("waits_at_most_linger_then_not_for_a_lone_caller", func(t *testing.T) {
		t.Parallel()
		const linger = 50 * time.Millisecond
		w, c := lingering(t, linger)
		start := time.Now()
		if err := w.Update(context.Background(), c.fn("alone-1", nil, false)); err != nil {
			t.Fatal(err)
		}
		if d := time.Since(start); d < linger {
			t.Fatalf("a caller after a transaction of four was committed after %s: want a wait of %s for more", d, linger)
		}
		w.linger = time.Minute // now a wait would show
		start = time.Now()
		for i := range 3 {
			if err := w.Update(context.Background(), c.fn(fmt.Sprintf("alone-%d", i+2), nil, false)); err != nil {
				t.Fatal(err)
			}
		}
		if d := time.Since(start); d > 30*time.Second {
			t.Fatalf("three lone callers took %s: a lone caller waited", d)
		}
	})
	t.Run("close_ends_the_wait", func(t *testing.T) {
		t.Parallel()
		w, c := lingering(t, time.Minute)
		done := make(chan error, 1)
		go func() { done <- w.Update(context.Background(), c.fn("before-close", nil, false)) }()
		waitQueued(t, w, 1) // the loop, whose last transaction ran four, waits for more
		start := time.Now()
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		if err := <-done; err != nil {
			t.Fatalf("the lingering caller got %v: Close commits what is queued", err)
		}
		if d := time.Since(start); d > 30*time.Second {
			t.Fatalf("Close took %s: it waited out the linger", d)
		}
		c.mu.Lock()
		defer c.mu.Unlock()
		if _, ok := c.ids["before-close"]; !ok {
			t.Fatal("the write queued before Close was not committed")
		}
	})
}
