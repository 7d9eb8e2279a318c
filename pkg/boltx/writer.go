package boltx

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	bolt "go.etcd.io/bbolt"
)

// DefaultMaxBatch is the default WriterOptions.MaxBatch.
const DefaultMaxBatch = 256

// ErrClosed is returned by Writer.Update after Close.
var ErrClosed = errors.New("boltx: writer closed")

// WriterOptions tune a Writer. The zero value is sensible.
type WriterOptions struct {
	// MaxBatch caps how many functions share one transaction; 0 means DefaultMaxBatch. A cap
	// bounds the work redone when a function in the batch fails.
	MaxBatch int
	// Linger is how long the loop may wait for more functions when fewer are queued than its
	// last transaction ran, if it had been idle until the first of them came; 0 (the default)
	// never waits. Under concurrent load every transaction costs an fsync's CPU and its page
	// writes whatever it holds, so a little wait that lets one transaction take the callers a
	// few microseconds behind is cheaper than committing each small group at once. A lone
	// caller (the last transaction ran one function) is never kept waiting, nor are callers
	// that queued while the writer was busy: then the writer is what they wait for.
	Linger time.Duration
	// Observe, when set, is called by the writer's goroutine after each committed transaction
	// with how many functions it ran and how long it took from its start to the synced
	// commit: for metrics. It must return quickly; the next transaction waits for it.
	Observe func(functions int, took time.Duration)
}

// Writer is the group-commit writer: one goroutine takes every queued function, runs them all
// in one read-write transaction, commits once (one fsync) and then answers each caller. A lone
// caller is committed at once, and callers that arrive during a commit form the next batch;
// with WriterOptions.Linger, a batch smaller than the last one, which found the writer idle,
// waits up to Linger for as many. If a function fails or panics, the transaction is
// rolled back, that caller alone gets the error and the rest are run again without it, so no
// caller sees another's failure and no failed function leaves writes behind.
//
// A Writer is safe for concurrent use. Functions may run more than once (see Updater); hooks
// registered with tx.OnCommit run only for the run that commits. A function must not call
// Update on its own Writer: it would wait for itself.
type Writer struct {
	db       *DB
	maxBatch int
	linger   time.Duration
	observe  func(int, time.Duration)
	last     int // functions the last transaction ran; touched by the loop only

	mu     sync.Mutex
	queue  []*request // guarded by mu
	closed bool       // guarded by mu

	wake chan struct{} // capacity 1: "the queue may be non-empty"
	done chan struct{} // closed when the loop has drained the queue and stopped
	pool sync.Pool     // of *request, reused only when the loop is known to be done with one
}

// request states: the loop claims a queued request before running it; a caller whose context
// ends first abandons it instead. Whoever wins the compare-and-swap decides the answer.
const (
	stateQueued int32 = iota
	stateClaimed
	stateAbandoned
)

type request struct {
	ctx   context.Context
	fn    func(*bolt.Tx) error
	state atomic.Int32
	errc  chan error // capacity 1, written once by the loop
}

var _ Updater = (*Writer)(nil)

// NewWriter starts a Writer on db. Close it before closing db.
func NewWriter(db *DB, opts WriterOptions) *Writer {
	maxBatch := opts.MaxBatch
	if maxBatch <= 0 {
		maxBatch = DefaultMaxBatch
	}
	w := &Writer{
		db:       db,
		maxBatch: maxBatch,
		linger:   max(opts.Linger, 0),
		observe:  opts.Observe,
		wake:     make(chan struct{}, 1),
		done:     make(chan struct{}),
	}
	w.pool.New = func() any { return &request{errc: make(chan error, 1)} }
	go w.loop()
	return w
}

// Update queues fn and returns once the transaction that ran it is committed and synced, or
// with fn's error (its writes rolled back), an error wrapping ErrPanicked if fn panicked, or
// the commit error. It returns ErrClosed after Close, and ctx.Err() if ctx ends before fn
// started; once fn has started, Update waits for and reports the real outcome, so a caller is
// never told a write failed when it was committed.
func (w *Writer) Update(ctx context.Context, fn func(tx *bolt.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	r := w.pool.Get().(*request)
	r.ctx, r.fn = ctx, fn
	r.state.Store(stateQueued)

	w.mu.Lock()
	if w.closed {
		w.mu.Unlock()
		r.ctx, r.fn = nil, nil
		w.pool.Put(r)
		return ErrClosed
	}
	w.queue = append(w.queue, r)
	w.mu.Unlock()
	select {
	case w.wake <- struct{}{}:
	default: // a wake-up is already pending
	}

	select {
	case err := <-r.errc:
		r.ctx, r.fn = nil, nil
		w.pool.Put(r)
		return err
	case <-ctx.Done():
		if r.state.CompareAndSwap(stateQueued, stateAbandoned) {
			// The loop will skip r and never touch its channel, but may still hold r in its
			// queue, so r is left to the garbage collector rather than reused.
			return ctx.Err()
		}
		err := <-r.errc // fn has started: its outcome is the answer
		r.ctx, r.fn = nil, nil
		w.pool.Put(r)
		return err
	}
}

// Close stops accepting functions, waits until every queued one is committed and answered,
// and stops the goroutine. It is safe to call more than once; it always returns nil.
func (w *Writer) Close() error {
	w.mu.Lock()
	w.closed = true
	w.mu.Unlock()
	select {
	case w.wake <- struct{}{}:
	default:
	}
	<-w.done
	return nil
}

func (w *Writer) loop() {
	defer close(w.done)
	var batch []*request
	for {
		w.mu.Lock()
		idle := false
		for len(w.queue) == 0 && !w.closed {
			idle = true
			w.mu.Unlock()
			<-w.wake
			w.mu.Lock()
		}
		if len(w.queue) == 0 { // closed and drained
			w.mu.Unlock()
			return
		}
		if idle {
			// The first caller's wake-up hands this goroutine the processor ahead of every
			// other runnable goroutine (Go's scheduler runs a goroutine it just woke next).
			// On one processor that meant committing the first caller alone while the others,
			// woken by the last commit, had not yet run to queue: about one caller per
			// transaction. Yielding once lets them queue first; with nothing else runnable it
			// returns at once. A busy writer (callers already queued) does not yield: it is
			// what they wait for.
			w.mu.Unlock()
			runtime.Gosched()
			w.mu.Lock()
		}
		if want, ok := w.lingerFor(idle, len(w.queue)); ok && !w.closed {
			w.mu.Unlock()
			w.gather(want)
			w.mu.Lock()
		}
		n := min(len(w.queue), w.maxBatch)
		batch = append(batch[:0], w.queue[:n]...)
		rest := copy(w.queue, w.queue[n:])
		clear(w.queue[rest:]) // drop references so answered requests can be collected
		w.queue = w.queue[:rest]
		w.mu.Unlock()

		live := w.claim(batch)
		w.last = len(live)
		w.commit(live)
		clear(batch)
	}
}

// lingerFor decides whether a batch of queued callers waits for more, and for how many: as
// many as the last transaction ran, and only when the loop had to wait for the first of them
// (idle). Callers already queued when the last commit ended mean the writer itself is what
// they wait for; keeping them waiting for more would only idle it.
func (w *Writer) lingerFor(idle bool, queued int) (want int, ok bool) {
	want = min(w.last, w.maxBatch)
	return want, w.linger > 0 && idle && queued < want
}

// gather waits until want functions are queued, the Writer is closed or Linger has passed.
func (w *Writer) gather(want int) {
	timer := time.NewTimer(w.linger)
	defer timer.Stop()
	for {
		select {
		case <-timer.C:
			return
		case <-w.wake:
			w.mu.Lock()
			enough := len(w.queue) >= want || w.closed
			w.mu.Unlock()
			if enough {
				return
			}
		}
	}
}

// claim keeps the requests whose callers are still waiting and marks them started. A request
// whose context has ended is answered with its context error instead of being run.
func (w *Writer) claim(batch []*request) []*request {
	live := batch[:0]
	for _, r := range batch {
		if err := r.ctx.Err(); err != nil {
			if r.state.CompareAndSwap(stateQueued, stateAbandoned) {
				r.errc <- err
			}
			continue
		}
		if r.state.CompareAndSwap(stateQueued, stateClaimed) {
			live = append(live, r)
		}
	}
	return live
}

// commit runs batch in one transaction, removing failed functions and retrying until the rest
// commit, then answers everyone. A failed commit is answered to the whole batch and not
// retried: after a failed fsync the data may still have become visible, and running the
// functions again could apply them twice.
func (w *Writer) commit(batch []*request) {
	for len(batch) > 0 {
		start := time.Now()
		failed, soft, err := w.try(batch)
		if failed < 0 && err == nil && w.observe != nil {
			// Outside try, whose recover would turn a panicking hook into a failure of a
			// batch that is already committed.
			w.observe(len(batch), time.Since(start))
		}
		if failed < 0 {
			for i, r := range batch {
				if e, ok := soft[i]; ok && err == nil {
					r.errc <- e
					continue
				}
				r.errc <- err
			}
			return
		}
		batch[failed].errc <- err
		batch = append(batch[:failed], batch[failed+1:]...)
	}
}

// try runs every function of batch in one transaction. It returns the index of the first
// function that failed (the transaction then rolled back) with its error, or -1 with the
// outcome of beginning and committing. soft holds, by index, the failures of functions that
// declared they wrote nothing (Unwritten): they did not stop the transaction.
func (w *Writer) try(batch []*request) (failed int, soft map[int]error, err error) {
	tx, err := w.db.bolt.Begin(true)
	if err != nil {
		return -1, nil, fmt.Errorf("boltx: begin: %w", err)
	}
	defer func() {
		// bbolt itself panicking (on a page damaged after Open) must not kill the writer.
		if r := recover(); r != nil {
			_ = tx.Rollback()
			failed, soft, err = -1, nil, fmt.Errorf("boltx: %w in bbolt: %v", ErrPanicked, r)
		}
	}()
	for i, r := range batch {
		if err := call(r.fn, tx); err != nil {
			if inner, ok := unwritten(err); ok {
				if soft == nil {
					soft = make(map[int]error)
				}
				soft[i] = inner
				continue
			}
			_ = tx.Rollback()
			return i, nil, err
		}
	}
	if err := tx.Commit(); err != nil {
		return -1, nil, fmt.Errorf("boltx: commit: %w", err)
	}
	return -1, soft, nil
}
