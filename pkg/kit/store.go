package kit

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"

	"github.com/huiyuan-dev/huiyuan/pkg/boltx"
	"github.com/huiyuan-dev/huiyuan/pkg/eventlog"
	"github.com/huiyuan-dev/huiyuan/pkg/idempotency"
)

// ServiceDir is a service's own directory under the data directory.
func ServiceDir(dataDir, service string) string { return filepath.Join(dataDir, service) }

// StorePath is a service's bbolt file: <data>/<service>/<service>.db.
func StorePath(dataDir, service string) string {
	return filepath.Join(ServiceDir(dataDir, service), service+".db")
}

// Buckets returns every bucket a service's store needs: its own, and those of its event log,
// idempotency records and consumer positions. Tools that open a store outside the runner (backup
// restore, compaction) use it too.
func Buckets(d Description) [][]byte {
	out := slices.Concat(d.Buckets, idempotency.Buckets(), eventlog.ConsumerBuckets())
	if d.Events {
		out = append(out, eventlog.New(d.Name).Buckets()...)
	}
	return out
}

// legacyFile is the file a service kept directly in the data directory before each service had
// its own directory (the iam service's keys were "keys.db"); "" for services born after.
func legacyFile(service string) string {
	switch service {
	case "iam":
		return "keys.db"
	case "member", "loyalty":
		return service + ".db"
	}
	return ""
}

// migrateLegacy moves a service's file from the old flat layout into its own directory, once, so
// an existing data directory keeps its data.
func migrateLegacy(dataDir, service string) error {
	name := legacyFile(service)
	if name == "" {
		return nil
	}
	old, now := filepath.Join(dataDir, name), StorePath(dataDir, service)
	if _, err := os.Stat(old); errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if _, err := os.Stat(now); err == nil {
		return fmt.Errorf("both %s (old layout) and %s exist: remove the one that is stale", old, now)
	}
	if err := os.MkdirAll(filepath.Dir(now), 0o700); err != nil {
		return err
	}
	if err := os.Rename(old, now); err != nil {
		return fmt.Errorf("move %s to %s: %w", old, now, err)
	}
	return nil
}

// openStore opens a service's store (refusing a damaged file) and its group-commit writer.
func openStore(dataDir string, d Description, opts boltx.Options, wopts boltx.WriterOptions) (*boltx.DB, *boltx.Writer, error) {
	if err := migrateLegacy(dataDir, d.Name); err != nil {
		return nil, nil, fmt.Errorf("%s store: %w", d.Name, err)
	}
	db, err := boltx.Open(StorePath(dataDir, d.Name), opts, Buckets(d)...)
	if err != nil {
		return nil, nil, err
	}
	return db, boltx.NewWriter(db, wopts), nil
}
