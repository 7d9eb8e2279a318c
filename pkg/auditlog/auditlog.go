// Package auditlog is the file behind the audit log of personal-data access. Every read of
// personal data writes a record, so the file must not cost a system call per record: writes are
// buffered and flushed on a short interval, and fsynced at Close.
package auditlog

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"sync"
	"time"
)

// DefaultFlushInterval bounds how much of the audit trail a crash can lose.
const DefaultFlushInterval = 100 * time.Millisecond

// File is an append-only audit file safe for concurrent use; it implements io.Writer so a
// slog handler can write to it.
type File struct {
	mu     sync.Mutex
	f      *os.File
	w      *bufio.Writer
	err    error // the first write or flush error; later writes return it
	stop   chan struct{}
	done   chan struct{}
	closed bool
}

// Open opens path for appending (creating it 0600) and flushes it every interval (0 means
// DefaultFlushInterval).
func Open(path string, interval time.Duration) (*File, error) {
	if interval <= 0 {
		interval = DefaultFlushInterval
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return nil, fmt.Errorf("open audit log: %w", err)
	}
	a := &File{f: f, w: bufio.NewWriterSize(f, 64<<10), stop: make(chan struct{}), done: make(chan struct{})}
	go a.flushLoop(interval)
	return a, nil
}

// Write buffers p. It fails once the file has failed or is closed.
func (a *File) Write(p []byte) (int, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.closed {
		return 0, errors.New("audit log closed")
	}
	if a.err != nil {
		return 0, a.err
	}
	n, err := a.w.Write(p)
	if err != nil {
		a.err = fmt.Errorf("write audit log: %w", err)
	}
	return n, err
}

// Flush writes the buffered records to the file.
func (a *File) Flush() error {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.flushLocked()
}

func (a *File) flushLocked() error {
	if a.err != nil || a.w.Buffered() == 0 {
		return a.err
	}
	if err := a.w.Flush(); err != nil {
		a.err = fmt.Errorf("flush audit log: %w", err)
	}
	return a.err
}

func (a *File) flushLoop(interval time.Duration) {
	defer close(a.done)
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-a.stop:
			return
		case <-t.C:
			_ = a.Flush()
		}
	}
}

// Close flushes, syncs and closes the file.
func (a *File) Close() error {
	a.mu.Lock()
	if a.closed {
		a.mu.Unlock()
		return nil
	}
	a.closed = true
	a.mu.Unlock()
	close(a.stop)
	<-a.done
	a.mu.Lock()
	defer a.mu.Unlock()
	return errors.Join(a.flushLocked(), a.f.Sync(), a.f.Close())
}
