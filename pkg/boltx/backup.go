package boltx

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	bolt "go.etcd.io/bbolt"
)

// restoreCheckTimeout is how long Restore waits on locks: a running service holds its file for
// as long as it runs, so waiting longer would not help.
const restoreCheckTimeout = 100 * time.Millisecond

// Backup writes a consistent copy of the whole file to w while the database stays in use (one
// read transaction; writers carry on). It returns the bytes written and an error from ctx (if
// it ends before or during the copy) or from writing to w.
func (d *DB) Backup(ctx context.Context, w io.Writer) (int64, error) {
	var n int64
	err := d.View(ctx, func(tx *bolt.Tx) error {
		var err error
		n, err = tx.WriteTo(ctxWriter{ctx: ctx, w: w})
		return err
	})
	if err != nil {
		return n, fmt.Errorf("boltx: backup %s: %w", d.path, err)
	}
	return n, nil
}

// ctxWriter stops a long copy once ctx ends.
type ctxWriter struct {
	ctx context.Context
	w   io.Writer
}

func (c ctxWriter) Write(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.w.Write(p)
}

// Restore replaces the file at dbPath with the backup at backupPath. It copies the backup next
// to dbPath, syncs it, opens it with the full consistency check, runs accept (when not nil) on
// it in a read transaction, and only then renames it over dbPath (atomic on POSIX) and syncs the
// directory. accept is the caller's check that the backup is of dbPath's kind, made on the very
// copy that is renamed in. The service that owns dbPath must be stopped: Restore refuses
// (wrapping ErrLocked) while any process holds dbPath.
//
// Errors: a backup that is not a sound bbolt file wraps ErrCorrupt; dbPath in use wraps
// ErrLocked; accept's error; others are I/O errors. On any error dbPath is left as it was.
func Restore(backupPath, dbPath string, accept func(tx *bolt.Tx) error) (err error) {
	if backupPath == "" || dbPath == "" {
		return errors.New("boltx: restore: empty path")
	}
	unlock, err := lockExisting(dbPath)
	if err != nil {
		return fmt.Errorf("boltx: restore %s: %w", dbPath, err)
	}
	defer unlock() // held through the rename: a service starting meanwhile waits, then opens the new file

	dir := filepath.Dir(dbPath)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("boltx: restore %s: %w", dbPath, err)
	}
	tmp, err := copyToTemp(backupPath, dir, filepath.Base(dbPath)+".restore-*")
	if err != nil {
		return fmt.Errorf("boltx: restore %s from %s: %w", dbPath, backupPath, err)
	}
	defer func() {
		if err != nil {
			_ = os.Remove(tmp)
		}
	}()

	db, err := Open(tmp, Options{Timeout: restoreCheckTimeout})
	if err != nil {
		return fmt.Errorf("boltx: restore %s: backup %s failed its check: %w", dbPath, backupPath, err)
	}
	if accept != nil {
		if err := db.View(context.Background(), accept); err != nil {
			_ = db.Close()
			return err
		}
	}
	if err := db.Close(); err != nil {
		return fmt.Errorf("boltx: restore %s: %w", dbPath, err)
	}
	if err := Replace(tmp, dbPath); err != nil {
		return fmt.Errorf("boltx: restore: %w", err)
	}
	return nil
}

// copyToTemp copies src to a new 0600 file in dir and syncs it, returning the new file's path.
func copyToTemp(src, dir, pattern string) (path string, err error) {
	in, err := os.Open(src)
	if err != nil {
		return "", err
	}
	defer in.Close()
	out, err := os.CreateTemp(dir, pattern) // CreateTemp makes the file 0600
	if err != nil {
		return "", err
	}
	defer func() {
		if cerr := out.Close(); err == nil && cerr != nil {
			err = cerr
		}
		if err != nil {
			_ = os.Remove(out.Name())
		}
	}()
	if _, err := io.Copy(out, in); err != nil {
		return "", err
	}
	if err := out.Sync(); err != nil {
		return "", err
	}
	return out.Name(), nil
}

// Replace renames the complete, synced file tmp over path (atomic on POSIX: a reader sees the
// old file or the new one) and syncs their directory, without which a crash soon after may
// bring the old file back. tmp must be in path's directory. A creation marker that a first
// start left when it died goes too: the file now at path is complete, and Open would otherwise
// discard it as the unfinished new file.
func Replace(tmp, path string) error {
	if err := os.Rename(tmp, path); err != nil {
		return err
	}
	if err := os.Remove(path + creatingSuffix); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("%s is replaced, but its creation marker stays: %w", path, err)
	}
	if err := syncDir(filepath.Dir(path)); err != nil {
		return fmt.Errorf("%s is replaced, but its directory cannot be synced: %w", path, err)
	}
	return nil
}

// syncDir makes a rename or a new file in dir durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// lockExisting takes the exclusive lock bbolt takes on path, failing at once with ErrLocked if
// another handle holds it. A missing file needs no lock. The returned function releases it.
func lockExisting(path string) (func(), error) {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if errors.Is(err, fs.ErrNotExist) {
		return func() {}, nil
	}
	if err != nil {
		return nil, err
	}
	if err := tryLock(f); err != nil {
		_ = f.Close()
		return nil, err
	}
	return func() { _ = f.Close() }, nil // closing the descriptor releases the lock
}
