package boltx

import (
	"context"
	"errors"
	"path/filepath"
	"sync"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

var bucketT = []byte("t")

func openT(t *testing.T) *DB {
	t.Helper()
	db, err := Open(filepath.Join(t.TempDir(), "w.db"), Options{NoSync: true}, bucketT)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	return db
}

// hold occupies the writer goroutine with a transaction that lasts until release is called,
// so that the test can queue callers behind it.
func hold(t *testing.T, w *Writer) (release func()) {
	t.Helper()
	started, unblock := make(chan struct{}), make(chan struct{})
	done := make(chan error, 1)
	go func() {
		done <- w.Update(context.Background(), func(*bolt.Tx) error {
			close(started)
			<-unblock
			return nil
		})
	}()
	<-started
	return func() {
		close(unblock)
		if err := <-done; err != nil {
			t.Errorf("holding update: %v", err)
		}
	}
}

// waitQueued waits until n callers are queued behind the held transaction.
func waitQueued(t *testing.T, w *Writer, n int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		w.mu.Lock()
		got := len(w.queue)
		w.mu.Unlock()
		if got == n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d queued, want %d", got, n)
		}
		time.Sleep(time.Millisecond)
	}
}

// committedIn records, per caller, the id of the transaction that committed its write.
type committedIn struct {
	mu  sync.Mutex
	ids map[string]int
}

func (c *committedIn) fn(name string, err error, panics bool) func(*bolt.Tx) error {
	return func(tx *bolt.Tx) error {
		if perr := tx.Bucket(bucketT).Put([]byte(name), []byte("v")); perr != nil {
			return perr
		}
		if panics {
			panic("caller bug")
		}
		if err != nil {
			return err
		}
		id := tx.ID()
		tx.OnCommit(func() {
			c.mu.Lock()
			c.ids[name] = id
			c.mu.Unlock()
		})
		return nil
	}
}

type queuedCall struct {
	name   string
	err    error
	panics bool
	want   error
}

// runQueued queues calls in order behind a held transaction, releases it and returns each
// caller's error.
func runQueued(t *testing.T, w *Writer, c *committedIn, calls []queuedCall) map[string]error {
	t.Helper()
	release := hold(t, w)
	var mu sync.Mutex
	got := map[string]error{}
	var wg sync.WaitGroup
	for i, cl := range calls {
		wg.Go(func() {
			err := w.Update(context.Background(), c.fn(cl.name, cl.err, cl.panics))
			mu.Lock()
			got[cl.name] = err
			mu.Unlock()
		})
		waitQueued(t, w, i+1) // keep the queue order deterministic
	}
	release()
	wg.Wait()
	return got
}

func TestWriter_GroupsWaitingCallers(t *testing.T) {
	db := openT(t)
	w := NewWriter(db, WriterOptions{})
	defer w.Close()
	c := &committedIn{ids: map[string]int{}}
	var calls []queuedCall
	for _, n := range []string{"a", "b", "c", "d", "e", "f", "g", "h"} {
		calls = append(calls, queuedCall{name: n})
	}
	got := runQueued(t, w, c, calls)
	for _, cl := range calls {
		if got[cl.name] != nil {
			t.Fatalf("%s: %v", cl.name, got[cl.name])
		}
		if c.ids[cl.name] != c.ids["a"] {
			t.Fatalf("commits %v: callers waiting together must share one commit", c.ids)
		}
	}
}

func TestWriter_FailureIsolation(t *testing.T) {
	errBoom := errors.New("boom")
	db := openT(t)
	w := NewWriter(db, WriterOptions{})
	defer w.Close()
	c := &committedIn{ids: map[string]int{}}
	calls := []queuedCall{
		{name: "ok1"},
		{name: "fail", err: errBoom, want: errBoom},
		{name: "ok2"},
		{name: "panic", panics: true, want: ErrPanicked},
		{name: "fail2", err: errBoom, want: errBoom},
		{name: "ok3"},
	}
	got := runQueued(t, w, c, calls)
	err := db.View(context.Background(), func(tx *bolt.Tx) error {
		for _, cl := range calls {
			if !errors.Is(got[cl.name], cl.want) || (cl.want == nil) != (got[cl.name] == nil) {
				t.Errorf("%s: err = %v, want %v", cl.name, got[cl.name], cl.want)
			}
			present := tx.Bucket(bucketT).Get([]byte(cl.name)) != nil
			if present != (cl.want == nil) {
				t.Errorf("%s: written = %v, want %v", cl.name, present, cl.want == nil)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if c.ids["ok1"] != c.ids["ok2"] || c.ids["ok2"] != c.ids["ok3"] {
		t.Fatalf("commits %v: the survivors must still share one commit", c.ids)
	}
}

func TestWriter_MaxBatch(t *testing.T) {
	db := openT(t)
	w := NewWriter(db, WriterOptions{MaxBatch: 4})
	defer w.Close()
	c := &committedIn{ids: map[string]int{}}
	var calls []queuedCall
	for _, n := range []string{"0", "1", "2", "3", "4", "5", "6", "7", "8", "9"} {
		calls = append(calls, queuedCall{name: n})
	}
	runQueued(t, w, c, calls)
	sizes := map[int]int{}
	for _, id := range c.ids {
		sizes[id]++
	}
	if len(c.ids) != 10 || len(sizes) != 3 {
		t.Fatalf("commit sizes %v for 10 callers, want 4+4+2", sizes)
	}
	for _, n := range sizes {
		if n > 4 {
			t.Fatalf("a commit of %d exceeds MaxBatch 4", n)
		}
	}
}

func TestWriter_ContextEndsWhileQueued(t *testing.T) {
	db := openT(t)
	w := NewWriter(db, WriterOptions{})
	defer w.Close()
	release := hold(t, w)
	ctx, cancel := context.WithCancel(context.Background())
	ran := make(chan struct{}, 1)
	errc := make(chan error, 1)
	go func() { errc <- w.Update(ctx, func(*bolt.Tx) error { ran <- struct{}{}; return nil }) }()
	waitQueued(t, w, 1)
	cancel()
	if err := <-errc; !errors.Is(err, context.Canceled) {
		t.Fatalf("Update = %v, want context.Canceled", err)
	}
	release()
	// A later caller proves the loop has moved past the abandoned request.
	if err := w.Update(context.Background(), func(*bolt.Tx) error { return nil }); err != nil {
		t.Fatal(err)
	}
	select {
	case <-ran:
		t.Fatal("an abandoned function ran")
	default:
	}
}

func TestWriter_CloseDrainsQueue(t *testing.T) {
	db := openT(t)
	w := NewWriter(db, WriterOptions{})
	release := hold(t, w)
	const n = 5
	errs := make(chan error, n)
	for i := range n {
		go func() {
			errs <- w.Update(context.Background(), func(tx *bolt.Tx) error {
				return tx.Bucket(bucketT).Put(U64(uint64(i)), nil)
			})
		}()
	}
	waitQueued(t, w, n)
	closed := make(chan struct{})
	go func() { _ = w.Close(); close(closed) }()
	for { // wait until Close has stopped intake
		w.mu.Lock()
		c := w.closed
		w.mu.Unlock()
		if c {
			break
		}
		time.Sleep(time.Millisecond)
	}
	if err := w.Update(context.Background(), func(*bolt.Tx) error { return nil }); !errors.Is(err, ErrClosed) {
		t.Fatalf("Update while closing = %v, want ErrClosed", err)
	}
	select {
	case <-closed:
		t.Fatal("Close returned before the queue drained")
	default:
	}
	release()
	<-closed
	for range n {
		if err := <-errs; err != nil {
			t.Fatalf("queued update: %v", err)
		}
	}
	if err := db.View(context.Background(), func(tx *bolt.Tx) error {
		if k := tx.Bucket(bucketT).Stats().KeyN; k != n {
			t.Errorf("%d keys, want %d", k, n)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
}
