package cli_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	bolt "go.etcd.io/bbolt"

	"github.com/huiyuan-dev/huiyuan/pkg/boltx"
	"github.com/huiyuan-dev/huiyuan/pkg/kit"
)

// TestCompactRefusesDamagedFile: compact checks the file as a service's start does and refuses
// a damaged or truncated one with the advice to restore it, leaving it as it was; bbolt's
// Compact on its own panicked on the damaged page and died of SIGBUS on the truncated file.
func TestCompactRefusesDamagedFile(t *testing.T) {
	tests := []struct {
		name   string
		damage func(t *testing.T, path string, size int64)
	}{
		{"a page overwritten", func(t *testing.T, path string, size int64) {
			f, err := os.OpenFile(path, os.O_RDWR, 0)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			page := int64(os.Getpagesize())
			if _, err := f.WriteAt(bytes.Repeat([]byte{0xAB}, 64), size/page/2*page); err != nil {
				t.Fatal(err)
			}
		}},
		{"truncated", func(t *testing.T, path string, size int64) {
			if err := os.Truncate(path, size*6/10/4096*4096); err != nil {
				t.Fatal(err)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			path := kit.StorePath(dir, "loyalty")
			writeKeys(t, path, 20000)
			st, err := os.Stat(path)
			if err != nil {
				t.Fatal(err)
			}
			tt.damage(t, path, st.Size())
			before, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			code, out := run("compact", "--data-dir", dir, "--database", "loyalty")
			if code != 1 || !strings.Contains(out, "corrupt or truncated") || !strings.Contains(out, "huiyuan restore") {
				t.Fatalf("exit %d, want 1 naming the damage and huiyuan restore:\n%s", code, out)
			}
			if after, err := os.ReadFile(path); err != nil || !bytes.Equal(before, after) {
				t.Fatalf("a refused compaction changed the file (%v)", err)
			}
			if left, _ := filepath.Glob(filepath.Join(filepath.Dir(path), ".*.compact")); len(left) > 0 {
				t.Fatalf("the copy was left behind: %v", left)
			}
		})
	}
}

// writeKeys writes a bbolt file at path holding n keys in one bucket, some hundreds of pages.
func writeKeys(t *testing.T, path string, n int) {
	t.Helper()
	db, err := boltx.Open(path, boltx.Options{NoSync: true}, []byte("b"))
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Update(context.Background(), func(tx *bolt.Tx) error {
		b := tx.Bucket([]byte("b"))
		for i := range n {
			if err := b.Put(fmt.Appendf(nil, "key-%06d", i), fmt.Appendf(nil, "value-%06d-%s", i, strings.Repeat("x", 24))); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
}
