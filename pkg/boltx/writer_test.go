package boltx_test

import (
	"context"
	"encoding/binary"
	"errors"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/huiyuan-dev/huiyuan/pkg/boltx"
	"github.com/huiyuan-dev/huiyuan/pkg/boltx/bolttest"
)

var (
	bucketCounter = []byte("counter")
	bucketLog     = []byte("log")
	keyCounter    = []byte("n")
)

// appendEntry is the benchmark and test workload: read a counter, write it back incremented,
// and append an entry under the new value.
func appendEntry(tx *bolt.Tx, entry []byte) (uint64, error) {
	c := tx.Bucket(bucketCounter)
	n := boltx.ParseU64(c.Get(keyCounter)) + 1
	if err := c.Put(keyCounter, boltx.U64(n)); err != nil {
		return 0, err
	}
	return n, tx.Bucket(bucketLog).Put(boltx.U64(n), entry)
}

// TestWriter_Concurrent has 64 goroutines write through one Writer while readers check that
// every snapshot is consistent; at the end every write is present exactly once.
func TestWriter_Concurrent(t *testing.T) {
	const goroutines, perG = 64, 40
	db := bolttest.Open(t, bucketCounter, bucketLog)
	w := boltx.NewWriter(db, boltx.WriterOptions{})
	ctx := context.Background()

	var commits sync.Map // tx id -> struct{}
	stop := make(chan struct{})
	var readers sync.WaitGroup
	for range 2 {
		readers.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				err := db.View(ctx, func(tx *bolt.Tx) error {
					n := boltx.ParseU64(tx.Bucket(bucketCounter).Get(keyCounter))
					if got := uint64(tx.Bucket(bucketLog).Stats().KeyN); got != n {
						t.Errorf("snapshot: counter %d, entries %d", n, got)
					}
					return nil
				})
				if err != nil {
					t.Error(err)
				}
			}
		})
	}

	var writers sync.WaitGroup
	for g := range goroutines {
		writers.Go(func() {
			for i := range perG {
				entry := binary.BigEndian.AppendUint32(binary.BigEndian.AppendUint32(nil, uint32(g)), uint32(i))
				err := w.Update(ctx, func(tx *bolt.Tx) error {
					commits.Store(tx.ID(), struct{}{})
					_, err := appendEntry(tx, entry)
					return err
				})
				if err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	writers.Wait()
	close(stop)
	readers.Wait()
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}

	seen := map[[8]byte]bool{}
	err := db.View(ctx, func(tx *bolt.Tx) error {
		if n := boltx.ParseU64(tx.Bucket(bucketCounter).Get(keyCounter)); n != goroutines*perG {
			t.Errorf("counter = %d, want %d", n, goroutines*perG)
		}
		return tx.Bucket(bucketLog).ForEach(func(_, v []byte) error {
			seen[[8]byte(v)] = true
			return nil
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(seen) != goroutines*perG {
		t.Fatalf("%d distinct entries, want %d", len(seen), goroutines*perG)
	}
	n := 0
	commits.Range(func(any, any) bool { n++; return true })
	t.Logf("%d writes in %d commits", goroutines*perG, n)
	if n >= goroutines*perG {
		t.Fatalf("%d commits for %d writes: nothing was grouped", n, goroutines*perG)
	}
}

// TestWriter_AnswersAfterCommit checks that a caller is answered only once its transaction
// is committed and synced: commit hooks have run, and the data survives reopening the file.
func TestWriter_AnswersAfterCommit(t *testing.T) {
	path := filepath.Join(t.TempDir(), "svc.db")
	db, err := boltx.Open(path, boltx.Options{}, bucketCounter, bucketLog) // real fsync
	if err != nil {
		t.Fatal(err)
	}
	w := boltx.NewWriter(db, boltx.WriterOptions{})
	var wg sync.WaitGroup
	for range 16 {
		wg.Go(func() {
			var committed atomic.Bool
			err := w.Update(context.Background(), func(tx *bolt.Tx) error {
				tx.OnCommit(func() { committed.Store(true) })
				_, err := appendEntry(tx, []byte("x"))
				return err
			})
			if err != nil || !committed.Load() {
				t.Errorf("Update returned (err=%v) before its commit hook ran (%v)", err, committed.Load())
			}
		})
	}
	wg.Wait()
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	db, err = boltx.Open(path, boltx.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	err = db.View(context.Background(), func(tx *bolt.Tx) error {
		if n := boltx.ParseU64(tx.Bucket(bucketCounter).Get(keyCounter)); n != 16 {
			t.Errorf("after reopen counter = %d, want 16", n)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestWriter_ContextEndsWhileRunning: once fn has run, the caller gets the real outcome, not
// the context's error.
func TestWriter_ContextEndsWhileRunning(t *testing.T) {
	db := bolttest.Open(t, bucketCounter, bucketLog)
	w := boltx.NewWriter(db, boltx.WriterOptions{})
	defer w.Close()
	ctx, cancel := context.WithCancel(context.Background())
	err := w.Update(ctx, func(tx *bolt.Tx) error {
		cancel()
		_, err := appendEntry(tx, []byte("x"))
		return err
	})
	if err != nil {
		t.Fatalf("Update = %v, want nil: the write was committed", err)
	}
	if err := db.View(context.Background(), func(tx *bolt.Tx) error {
		if tx.Bucket(bucketLog).Get(boltx.U64(1)) == nil {
			t.Error("write missing")
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
}

func TestWriter_UpdateAfterClose(t *testing.T) {
	db := bolttest.Open(t, bucketCounter, bucketLog)
	w := boltx.NewWriter(db, boltx.WriterOptions{})
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatalf("second Close = %v", err)
	}
	err := w.Update(context.Background(), func(*bolt.Tx) error { t.Error("ran after Close"); return nil })
	if !errors.Is(err, boltx.ErrClosed) {
		t.Fatalf("Update after Close = %v, want ErrClosed", err)
	}
}

func TestWriter_ClosedDB(t *testing.T) {
	db, err := boltx.Open(filepath.Join(t.TempDir(), "svc.db"), boltx.Options{NoSync: true}, bucketLog)
	if err != nil {
		t.Fatal(err)
	}
	w := boltx.NewWriter(db, boltx.WriterOptions{})
	defer w.Close()
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	if err := w.Update(context.Background(), func(*bolt.Tx) error { return nil }); err == nil {
		t.Fatal("Update on a closed DB succeeded")
	}
}

// TestWriter_Observe: the hook hears of every committed transaction, with the functions it
// ran; a function that failed (and was rolled back) is not among them.
func TestWriter_Observe(t *testing.T) {
	var mu sync.Mutex
	var commits, functions int
	db := bolttest.Open(t, bucketCounter, bucketLog)
	w := boltx.NewWriter(db, boltx.WriterOptions{Observe: func(n int, took time.Duration) {
		mu.Lock()
		defer mu.Unlock()
		if n < 1 || took <= 0 {
			t.Errorf("observed %d functions in %s", n, took)
		}
		commits++
		functions += n
	}})
	var wg sync.WaitGroup
	for i := range 40 {
		wg.Go(func() {
			err := w.Update(context.Background(), func(tx *bolt.Tx) error {
				if i%10 == 0 {
					return errors.New("refused")
				}
				_, err := appendEntry(tx, []byte("x"))
				return err
			})
			if (err != nil) != (i%10 == 0) {
				t.Errorf("update %d: %v", i, err)
			}
		})
	}
	wg.Wait()
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if functions != 36 || commits < 1 || commits > 36 {
		t.Fatalf("observed %d functions in %d commits, want the 36 that succeeded", functions, commits)
	}
}
