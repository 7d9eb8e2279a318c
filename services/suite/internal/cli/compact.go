package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/huiyuan-dev/huiyuan/pkg/boltx"
	"github.com/huiyuan-dev/huiyuan/pkg/config"
	"github.com/huiyuan-dev/huiyuan/pkg/kit"
)

// compactTxSize bounds one transaction of the copy, so compacting a large file needs little
// memory.
const compactTxSize = 64 << 20

func compact(_ context.Context, args []string, env func(string) string, stdout, stderr io.Writer) error {
	fs := newFlags("compact", "Rewrites <data-dir>/<database>/<database>.db into a fresh file with every page full\n"+
		"(bbolt's Compact) and puts it in place. bbolt never returns freed pages to the file system,\n"+
		"so a file only grows; compaction gives the space back. Stop the process first: a database\n"+
		"in use is refused. The copy is written beside the file and renamed over it when complete.", stderr)
	dataDir := fs.String("data-dir", "./data", "the suite's data directory")
	db := fs.String("database", "loyalty", "database to compact: a service's name")
	if err := config.Parse(fs, args, "HUIYUAN_", env); err != nil {
		return err
	}
	path := kit.StorePath(*dataDir, *db)
	before, after, err := compactFile(path)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "compacted %s: %d bytes -> %d bytes\n", path, before, after)
	return nil
}

// compactFile compacts the bbolt file at path in place and returns its sizes before and after.
// The file is opened through boltx.Open, whose check refuses a damaged or truncated file (bbolt's
// Compact would panic or fault on it, or copy only what the damage leaves readable), and stays
// open, its lock held, until the copy is renamed over it, so a service starting meanwhile waits.
func compactFile(path string) (before, after int64, err error) {
	st, err := os.Stat(path)
	if err != nil {
		return 0, 0, err // boltx.Open would create a missing file
	}
	src, err := boltx.Open(path, boltx.Options{Timeout: time.Second})
	if errors.Is(err, boltx.ErrLocked) {
		return 0, 0, fmt.Errorf("%s is in use: stop the process first", path)
	}
	if err != nil {
		return 0, 0, err
	}
	defer func() {
		if cerr := src.Close(); err == nil && cerr != nil {
			err = cerr
		}
	}()
	tmp := filepath.Join(filepath.Dir(path), "."+filepath.Base(path)+".compact")
	_ = os.Remove(tmp) // a copy a crash left behind
	dst, err := bolt.Open(tmp, st.Mode().Perm(), &bolt.Options{Timeout: time.Second})
	if err != nil {
		return 0, 0, fmt.Errorf("create %s: %w", tmp, err)
	}
	if err := bolt.Compact(dst, src.Bolt(), compactTxSize); err != nil {
		dst.Close()
		os.Remove(tmp)
		return 0, 0, fmt.Errorf("compact %s: %w", path, err)
	}
	if err := dst.Sync(); err != nil {
		dst.Close()
		os.Remove(tmp)
		return 0, 0, err
	}
	if err := dst.Close(); err != nil {
		os.Remove(tmp)
		return 0, 0, err
	}
	if err := boltx.Replace(tmp, path); err != nil {
		os.Remove(tmp)
		return 0, 0, err
	}
	nst, err := os.Stat(path)
	if err != nil {
		return 0, 0, err
	}
	return st.Size(), nst.Size(), nil
}
