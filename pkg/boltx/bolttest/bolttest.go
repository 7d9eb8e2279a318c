// Package bolttest opens throwaway boltx databases for tests.
package bolttest

import (
	"path/filepath"
	"testing"

	"github.com/huiyuan-dev/huiyuan/pkg/boltx"
)

// Open opens a fresh database with the given buckets in t.TempDir() and closes it when the test
// ends. Commits skip fsync (boltx.Options.NoSync): a test process does not survive a crash
// anyway, and syncing would make store tests slow. It fails the test if the file cannot be
// opened.
func Open(t testing.TB, buckets ...[]byte) *boltx.DB {
	t.Helper()
	db, err := boltx.Open(filepath.Join(t.TempDir(), "test.db"), boltx.Options{NoSync: true}, buckets...)
	if err != nil {
		t.Fatalf("bolttest: %v", err)
	}
	t.Cleanup(func() {
		if err := db.Close(); err != nil {
			t.Errorf("bolttest: %v", err)
		}
	})
	return db
}
