package boltx

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"

	bolt "go.etcd.io/bbolt"
)

// ErrPanicked is wrapped by the error returned when a transaction function panics. The
// transaction is rolled back; the message carries the panic value and stack for the log.
var ErrPanicked = errors.New("transaction function panicked")

var _ Updater = (*DB)(nil)

// Update runs fn in a read-write transaction of its own and commits it (one fsync per call).
// It returns ctx.Err() without running fn if ctx is already done, fn's error (after rolling
// back) if fn fails, an error wrapping ErrPanicked if fn panics, or the commit error. For
// concurrent writers prefer a Writer, which shares one commit among many callers.
func (d *DB) Update(ctx context.Context, fn func(tx *bolt.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	err := d.bolt.Update(func(tx *bolt.Tx) error { return call(fn, tx) })
	inner, _ := unwritten(err) // alone in its transaction, an Unwritten failure rolls back as any other
	return inner
}

// View runs fn in a read-only transaction. It returns ctx.Err() without running fn if ctx is
// already done, fn's error, or an error wrapping ErrPanicked if fn panics. Keep fn short: a
// long read transaction holds back the writer when the file must grow.
func (d *DB) View(ctx context.Context, fn func(tx *bolt.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return d.bolt.View(func(tx *bolt.Tx) error { return call(fn, tx) })
}

// Bolt returns the underlying bbolt handle, for what this package does not wrap.
func (d *DB) Bolt() *bolt.DB { return d.bolt }

// Path returns the file's path as given to Open.
func (d *DB) Path() string { return d.path }

// Close closes the file and releases its lock. It waits for open transactions to finish.
// Close any Writer on d first.
func (d *DB) Close() error {
	if err := d.bolt.Close(); err != nil {
		return fmt.Errorf("boltx: close %s: %w", d.path, err)
	}
	return nil
}

// call runs fn, turning a panic into an error so that the transaction is rolled back through
// the ordinary error path and the caller, not the process, deals with it.
func call(fn func(*bolt.Tx) error, tx *bolt.Tx) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("boltx: %w: %v\n%s", ErrPanicked, r, debug.Stack())
		}
	}()
	return fn(tx)
}
