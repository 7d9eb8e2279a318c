package boltx_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/huiyuan-dev/huiyuan/pkg/boltx"
	"github.com/huiyuan-dev/huiyuan/pkg/boltx/bolttest"
)

var errNoStock = errors.New("out of stock")

// TestWriterUnwrittenFailuresKeepTheBatch queues a batch in which most functions fail before
// writing (declared with Unwritten) and a few write: every function runs once, the writes commit
// in one transaction, and each failing caller gets its own error without the wrapper.
func TestWriterUnwrittenFailuresKeepTheBatch(t *testing.T) {
	bucket := []byte("stock")
	db := bolttest.Open(t, bucket)
	w := boltx.NewWriter(db, boltx.WriterOptions{})
	defer w.Close()

	// Hold the writer busy so the whole batch queues up behind it.
	release := make(chan struct{})
	started := make(chan struct{})
	go func() {
		_ = w.Update(context.Background(), func(*bolt.Tx) error {
			close(started)
			<-release
			return nil
		})
	}()
	<-started

	const callers, stock = 64, 5
	var runs, commits atomic.Int64
	errs := make([]error, callers)
	var wg, ready sync.WaitGroup
	for i := 0; i < callers; i++ {
		wg.Add(1)
		ready.Add(1)
		go func() {
			defer wg.Done()
			ready.Done()
			errs[i] = w.Update(context.Background(), func(tx *bolt.Tx) error {
				runs.Add(1)
				b := tx.Bucket(bucket)
				sold := boltx.ParseU64(b.Get([]byte("sold")))
				if sold >= stock {
					return boltx.Unwritten(fmt.Errorf("caller %d: %w", i, errNoStock))
				}
				tx.OnCommit(func() { commits.Add(1) })
				return b.Put([]byte("sold"), boltx.U64(sold+1))
			})
		}()
	}
	ready.Wait()
	time.Sleep(100 * time.Millisecond) // let every caller reach the queue behind the busy writer
	close(release)
	wg.Wait()

	failed := 0
	for i, err := range errs {
		switch {
		case err == nil:
		case errors.Is(err, errNoStock) && err.Error() == fmt.Sprintf("caller %d: out of stock", i):
			failed++
		default:
			t.Fatalf("caller %d: %v", i, err)
		}
	}
	if failed != callers-stock {
		t.Fatalf("%d callers refused, want %d", failed, callers-stock)
	}
	if got := runs.Load(); got != callers {
		t.Fatalf("functions ran %d times for %d callers: failures re-ran the batch", got, callers)
	}
	var sold uint64
	_ = db.View(context.Background(), func(tx *bolt.Tx) error {
		sold = boltx.ParseU64(tx.Bucket(bucket).Get([]byte("sold")))
		return nil
	})
	if sold != stock || commits.Load() != stock {
		t.Fatalf("sold %d with %d commit hooks, want %d", sold, commits.Load(), stock)
	}
}

// TestUnwrittenAlone: through DB.Update the wrapper is stripped too, and a nil stays nil.
func TestUnwrittenAlone(t *testing.T) {
	db := bolttest.Open(t)
	err := db.Update(context.Background(), func(*bolt.Tx) error { return boltx.Unwritten(errNoStock) })
	if err != errNoStock {
		t.Fatalf("DB.Update returned %#v, want the bare error", err)
	}
	if boltx.Unwritten(nil) != nil {
		t.Fatal("Unwritten(nil) is not nil")
	}
}
