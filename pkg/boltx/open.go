package boltx

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"syscall"
	"time"

	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"
)

// DefaultTimeout is how long Open waits for another process to release the file lock.
const DefaultTimeout = time.Second

// maxReportedProblems caps how many consistency problems an error lists: the first few say
// enough, and a badly damaged file can have thousands.
const maxReportedProblems = 5

var (
	// ErrCorrupt is wrapped by the error Open returns for a file that is corrupt, truncated or not
	// a bbolt file at all. The message names the file and says to run `huiyuan restore`.
	ErrCorrupt = errors.New("database file is corrupt or truncated")
	// ErrLocked is wrapped by the error Open and Restore return when another process (or another
	// open handle in this one) holds the file.
	ErrLocked = errors.New("database file is locked by another process")
)

// Options tune Open. The zero value is what production uses.
type Options struct {
	// Timeout is how long to wait for the file lock; 0 means DefaultTimeout.
	Timeout time.Duration
	// NoSync skips fsync on commit. Only for tests and benchmarks: a crash loses acknowledged
	// writes.
	NoSync bool
	// SkipCheck skips the full consistency check at open (the cheap size and meta checks still
	// run). The check reads every page, so it costs time proportional to the file size.
	SkipCheck bool
}

// DB is an open bbolt file. It is safe for concurrent use.
type DB struct {
	bolt *bolt.DB
	path string
}

// Open opens (creating if needed, with mode 0600 and its parent directories) the bbolt file at
// path, verifies it and creates the given top-level buckets.
//
// Errors: a file held by another process wraps ErrLocked; a corrupt, truncated or foreign file
// wraps ErrCorrupt and the message names the file and suggests `huiyuan restore`; other errors
// are I/O errors. Open never panics on a damaged file.
func Open(path string, opts Options, buckets ...[]byte) (*DB, error) {
	if path == "" {
		return nil, errors.New("boltx: open: empty path")
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("boltx: open %s: %w", path, err)
	}
	creating, err := beginCreate(path)
	if err != nil {
		return nil, err
	}
	// An existing empty file is a truncation, not a new database: bbolt would silently
	// initialise it and the service would start with no data.
	if fi, err := os.Stat(path); err == nil && fi.Size() == 0 && !creating {
		return nil, corrupt(path, errors.New("the file is empty"))
	}
	timeout := opts.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	bdb, err := openBolt(path, &bolt.Options{
		Timeout:      timeout,
		NoSync:       opts.NoSync,
		FreelistType: bolt.FreelistMapType, // faster than the array type on large, fragmented files
	})
	if err != nil {
		return nil, err
	}
	db := &DB{bolt: bdb, path: path}
	if err := db.verify(!opts.SkipCheck); err != nil {
		_ = bdb.Close()
		return nil, err
	}
	if err := db.createBuckets(buckets); err != nil {
		_ = bdb.Close()
		return nil, err
	}
	if creating {
		if err := endCreate(path); err != nil {
			_ = bdb.Close()
			return nil, err
		}
	}
	return db, nil
}

// creatingSuffix names the marker that exists while Open creates a new file. Finding it means an
// earlier first start died before the new, still empty store was ready: that file is started
// over instead of being refused as damaged. A file without the marker is never discarded.
const creatingSuffix = ".creating"

// beginCreate reports whether path is to be created: it does not exist, or an earlier creation
// of it died (its marker is there; the half-made file is removed). It leaves the marker in place
// until endCreate.
func beginCreate(path string) (bool, error) {
	marker := path + creatingSuffix
	if _, err := os.Stat(marker); err == nil {
		if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return false, fmt.Errorf("boltx: open %s: discard unfinished new file: %w", path, err)
		}
	} else if _, err := os.Stat(path); err == nil || !errors.Is(err, fs.ErrNotExist) {
		return false, nil // an existing file (or one we cannot inspect: Open reports it)
	}
	f, err := os.OpenFile(marker, os.O_CREATE|os.O_WRONLY, 0o600)
	if err != nil {
		return false, fmt.Errorf("boltx: open %s: %w", path, err)
	}
	if err := errors.Join(f.Sync(), f.Close(), syncDir(filepath.Dir(path))); err != nil {
		return false, fmt.Errorf("boltx: open %s: %w", path, err)
	}
	return true, nil
}

// endCreate removes the marker once the new file is initialised and synced.
func endCreate(path string) error {
	if err := os.Remove(path + creatingSuffix); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("boltx: open %s: %w", path, err)
	}
	return syncDir(filepath.Dir(path))
}

// replacedTries bounds how often openBolt opens again after finding its file replaced.
const replacedTries = 5

// openBolt opens path with openBoltOnce and checks that the file it holds is still the one at
// path. Open waits for the file's lock on the file it opened by name; a restore or compaction
// that renamed another file over path meanwhile, then let go of the lock, leaves that handle on
// the unlinked old file, where every write would be lost. Such a handle is closed and path
// opened again.
func openBolt(path string, bo *bolt.Options) (*bolt.DB, error) {
	for range replacedTries {
		bdb, file, err := openBoltOnce(path, bo)
		if err != nil {
			return nil, err
		}
		held, err := file.Stat()
		if err == nil {
			var now os.FileInfo
			if now, err = os.Stat(path); err == nil && os.SameFile(held, now) {
				return bdb, nil
			}
		}
		if cerr := bdb.Close(); cerr != nil || err != nil {
			return nil, fmt.Errorf("boltx: open %s: %w", path, errors.Join(err, cerr))
		}
	}
	return nil, fmt.Errorf("boltx: open %s: the file was replaced %d times while opening it", path, replacedTries)
}

// openBoltOnce calls bolt.Open, turning its panics and memory faults on a damaged file into
// ErrCorrupt errors, and returns the file it opened. bbolt does not clean up after such a
// panic, so the file is captured here, unlocked and closed (its memory map is left behind:
// bbolt does not expose it).
func openBoltOnce(path string, bo *bolt.Options) (bdb *bolt.DB, file *os.File, err error) {
	var fileErr error
	bo.OpenFile = func(name string, flag int, mode fs.FileMode) (*os.File, error) {
		file, fileErr = os.OpenFile(name, flag, 0o600)
		return file, fileErr
	}
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer func() {
		if r := recover(); r != nil {
			if file != nil {
				unlock(file)
				_ = file.Close()
			}
			bdb, file, err = nil, nil, corrupt(path, fmt.Errorf("bbolt panicked: %v", r))
		}
	}()
	bdb, err = bolt.Open(path, 0o600, bo)
	switch {
	case err == nil:
		return bdb, file, nil
	case errors.Is(err, berrors.ErrTimeout):
		return nil, nil, fmt.Errorf("boltx: open %s: %w (waited %s; is another huiyuan running?)", path, ErrLocked, bo.Timeout)
	case fileErr != nil || isIOError(err):
		return nil, nil, fmt.Errorf("boltx: open %s: %w", path, err)
	default:
		return nil, nil, corrupt(path, err)
	}
}

// isIOError tells an operating-system error (permissions, disk) from a complaint about the
// file's contents.
func isIOError(err error) bool {
	var pe *fs.PathError
	var errno syscall.Errno
	return errors.As(err, &pe) || errors.As(err, &errno)
}

// verify refuses a truncated file and, when full is set, walks every key and value and runs
// bbolt's consistency check. The walk runs first, on this goroutine with faults turned into
// panics, so that a page pointer leading outside the file is caught here; tx.Check runs on a
// goroutine of its own, where a fault would kill the process.
func (d *DB) verify(full bool) (err error) {
	fi, err := os.Stat(d.path)
	if err != nil {
		return fmt.Errorf("boltx: open %s: %w", d.path, err)
	}
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer func() {
		if r := recover(); r != nil {
			err = corrupt(d.path, fmt.Errorf("bbolt panicked: %v", r))
		}
	}()
	return d.bolt.View(func(tx *bolt.Tx) error {
		if want := tx.Size(); fi.Size() < want {
			return corrupt(d.path, fmt.Errorf("the file has %d bytes but its metadata needs %d", fi.Size(), want))
		}
		if !full {
			return nil
		}
		var sum byte
		err := tx.ForEach(func(_ []byte, b *bolt.Bucket) error {
			s, err := touchBucket(b)
			sum ^= s
			return err
		})
		runtime.KeepAlive(sum)
		if err != nil {
			return corrupt(d.path, err)
		}
		var problems []error
		for cerr := range tx.Check() { // drain fully: Check's goroutine blocks until read
			if len(problems) < maxReportedProblems {
				problems = append(problems, cerr)
			}
		}
		if len(problems) > 0 {
			return corrupt(d.path, errors.Join(problems...))
		}
		return nil
	})
}

// touchBucket reads the first and last byte of every key and value under b, recursively, so
// that every page the tree references is read at least once. It returns the bytes folded
// together only so that the compiler cannot drop the reads.
func touchBucket(b *bolt.Bucket) (byte, error) {
	if b == nil {
		return 0, errors.New("a top-level entry is not a bucket")
	}
	var sum byte
	c := b.Cursor()
	for k, v := c.First(); k != nil; k, v = c.Next() {
		if len(k) == 0 {
			return 0, errors.New("empty key")
		}
		sum ^= k[0] ^ k[len(k)-1]
		if v == nil {
			child := b.Bucket(k)
			if child == nil {
				return 0, fmt.Errorf("key %x has no value and is not a bucket", k)
			}
			s, err := touchBucket(child)
			if err != nil {
				return 0, err
			}
			sum ^= s
			continue
		}
		if len(v) > 0 {
			sum ^= v[0] ^ v[len(v)-1]
		}
	}
	return sum, nil
}

func (d *DB) createBuckets(buckets [][]byte) error {
	if len(buckets) == 0 {
		return nil
	}
	err := d.bolt.Update(func(tx *bolt.Tx) error {
		for _, name := range buckets {
			if _, err := tx.CreateBucketIfNotExists(name); err != nil {
				return fmt.Errorf("create bucket %q: %w", name, err)
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("boltx: open %s: %w", d.path, err)
	}
	return nil
}

func corrupt(path string, cause error) error {
	return fmt.Errorf("boltx: %s: %w: %w; refusing to use it: stop the service and run `huiyuan restore` with a backup of this file",
		path, ErrCorrupt, cause)
}
