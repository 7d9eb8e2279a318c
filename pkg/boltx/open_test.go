package boltx_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/huiyuan-dev/huiyuan/pkg/boltx"
)

var (
	bucketA      = []byte("a")
	bucketNested = []byte("nested")
)

const (
	pageSize       = 4096 // os.Getpagesize() on the platforms we run; checked in sampleDB
	pageHeaderSize = 16   // bbolt page header: id, flags, count, overflow
)

// sampleDB writes a file with enough data for branch pages, overflow pages and a nested
// bucket, closes it and returns its path and the ids of its in-use pages by type.
func sampleDB(t *testing.T) (string, map[string][]int) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "sample.db")
	db, err := boltx.Open(path, boltx.Options{NoSync: true}, bucketA, bucketNested)
	if err != nil {
		t.Fatal(err)
	}
	err = db.Update(context.Background(), func(tx *bolt.Tx) error {
		a := tx.Bucket(bucketA)
		for i := range 2000 {
			if err := a.Put(fmt.Appendf(nil, "key-%05d", i), bytes.Repeat([]byte{'v'}, 100)); err != nil {
				return err
			}
		}
		if err := a.Put([]byte("big"), bytes.Repeat([]byte{'b'}, 3*pageSize)); err != nil {
			return err
		}
		child, err := tx.Bucket(bucketNested).CreateBucketIfNotExists([]byte("child"))
		if err != nil {
			return err
		}
		for i := range 500 {
			if err := child.Put(boltx.U64(uint64(i)), bytes.Repeat([]byte{'c'}, 64)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	pages := map[string][]int{}
	err = db.View(context.Background(), func(tx *bolt.Tx) error {
		if got := tx.DB().Info().PageSize; got != pageSize {
			t.Skipf("page size %d, tests assume %d", got, pageSize)
		}
		for id := 2; ; id++ {
			info, err := tx.Page(id)
			if err != nil {
				return err
			}
			if info == nil {
				return nil
			}
			pages[info.Type] = append(pages[info.Type], id)
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	for _, typ := range []string{"leaf", "branch", "freelist"} {
		if len(pages[typ]) == 0 {
			t.Fatalf("sample has no %s page: %v", typ, pages)
		}
	}
	return path, pages
}

func TestOpen_CreatesFileAndBuckets(t *testing.T) {
	path := filepath.Join(t.TempDir(), "deep", "dir", "svc.db")
	db, err := boltx.Open(path, boltx.Options{}, []byte("x"), []byte("y"))
	if err != nil {
		t.Fatal(err)
	}
	if got := db.Path(); got != path {
		t.Errorf("Path() = %q, want %q", got, path)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if got := fi.Mode().Perm(); got != 0o600 {
		t.Errorf("mode = %v, want 0600", got)
	}
	ctx := context.Background()
	if err := db.Update(ctx, func(tx *bolt.Tx) error { return tx.Bucket([]byte("x")).Put([]byte("k"), []byte("v")) }); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	db, err = boltx.Open(path, boltx.Options{}, []byte("x"), []byte("z"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	err = db.View(ctx, func(tx *bolt.Tx) error {
		for _, b := range []string{"x", "y", "z"} {
			if tx.Bucket([]byte(b)) == nil {
				t.Errorf("bucket %q missing", b)
			}
		}
		if got := string(tx.Bucket([]byte("x")).Get([]byte("k"))); got != "v" {
			t.Errorf("k = %q after reopen, want v", got)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestOpen_Locked(t *testing.T) {
	path := filepath.Join(t.TempDir(), "svc.db")
	db, err := boltx.Open(path, boltx.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	start := time.Now()
	_, err = boltx.Open(path, boltx.Options{Timeout: 60 * time.Millisecond})
	if !errors.Is(err, boltx.ErrLocked) {
		t.Fatalf("second Open: err = %v, want ErrLocked", err)
	}
	if errors.Is(err, boltx.ErrCorrupt) {
		t.Fatalf("a locked file reported as corrupt: %v", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("second Open took %v", d)
	}
}

func TestOpen_Empty(t *testing.T) {
	for _, name := range []string{"", "   "} {
		if _, err := boltx.Open(strings.TrimSpace(name), boltx.Options{}); err == nil {
			t.Fatalf("Open(%q) succeeded", name)
		}
	}
}

// TestOpen_RefusesDamage damages a good file in the ways disks and people do and checks that
// Open refuses each with ErrCorrupt, naming the file and the restore command, without panicking
// and without leaving the file locked.
func TestOpen_RefusesDamage(t *testing.T) {
	good, pages := sampleDB(t)
	orig, err := os.ReadFile(good)
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	random := func(n int) []byte {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(rng.Uint32())
		}
		return b
	}
	scribble := func(page int, with []byte) func([]byte) []byte {
		return func(b []byte) []byte {
			copy(b[page*pageSize:(page+1)*pageSize], with)
			return b
		}
	}
	hwm := pageSize * (1 + slicesMax(pages))

	type damage struct {
		name string
		mod  func([]byte) []byte
	}
	tests := []damage{
		{"empty", func([]byte) []byte { return nil }},
		{"tiny", func(b []byte) []byte { return b[:100] }},
		{"two pages", func(b []byte) []byte { return b[:2*pageSize] }},
		{"half", func(b []byte) []byte { return b[:len(b)/2] }},
		{"last used page cut", func(b []byte) []byte { return b[:hwm-pageSize] }},
		{"not bolt", func(b []byte) []byte { return random(len(b)) }},
		{"both metas zeroed", func(b []byte) []byte { clear(b[:2*pageSize]); return b }},
		{"both metas scribbled", func(b []byte) []byte { copy(b, random(2*pageSize)); return b }},
		// A pointer outside the file faults on access (SIGSEGV) rather than panicking; the
		// check must still turn it into an error.
		{"branch child pointer outside the file", func(b []byte) []byte {
			off := pages["branch"][0]*pageSize + pageHeaderSize + 8 // first element's pgid
			binary.LittleEndian.PutUint64(b[off:], 1<<20)
			return b
		}},
	}
	for _, typ := range []string{"leaf", "branch", "freelist"} {
		for _, id := range spread(pages[typ], 12) {
			tests = append(tests,
				damage{fmt.Sprintf("%s page %d scribbled", typ, id), scribble(id, random(pageSize))},
				damage{fmt.Sprintf("%s page %d zeroed", typ, id), scribble(id, make([]byte, pageSize))},
			)
		}
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "svc.db")
			if err := os.WriteFile(path, tt.mod(bytes.Clone(orig)), 0o600); err != nil {
				t.Fatal(err)
			}
			for attempt := range 2 { // the second attempt proves the first released the lock
				db, err := boltx.Open(path, boltx.Options{Timeout: 60 * time.Millisecond})
				if err == nil {
					db.Close()
					t.Fatalf("attempt %d: Open accepted a damaged file", attempt)
				}
				if !errors.Is(err, boltx.ErrCorrupt) {
					t.Fatalf("attempt %d: err = %v, want ErrCorrupt", attempt, err)
				}
				if msg := err.Error(); !strings.Contains(msg, path) || !strings.Contains(msg, "huiyuan restore") {
					t.Fatalf("attempt %d: message %q must name the file and `huiyuan restore`", attempt, msg)
				}
			}
		})
	}
}

func TestOpen_SkipCheckStillRefusesTruncation(t *testing.T) {
	good, pages := sampleDB(t)
	hwm := pageSize * (1 + slicesMax(pages))
	if err := os.Truncate(good, int64(hwm-pageSize)); err != nil {
		t.Fatal(err)
	}
	_, err := boltx.Open(good, boltx.Options{SkipCheck: true})
	if !errors.Is(err, boltx.ErrCorrupt) {
		t.Fatalf("err = %v, want ErrCorrupt", err)
	}
}

func TestOpen_GoodSampleVerifies(t *testing.T) {
	good, _ := sampleDB(t)
	db, err := boltx.Open(good, boltx.Options{})
	if err != nil {
		t.Fatalf("a sound file was refused: %v", err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
}

func slicesMax(pages map[string][]int) int {
	m := 0
	for typ, ids := range pages {
		if typ == "free" {
			continue
		}
		for _, id := range ids {
			m = max(m, id)
		}
	}
	return m
}

// spread picks at most n ids spread evenly over ids, keeping the first and the last, to keep
// the test fast while still hitting pages of every depth.
func spread(ids []int, n int) []int {
	if len(ids) <= n {
		return ids
	}
	out := make([]int, 0, n)
	for i := range n {
		out = append(out, ids[i*(len(ids)-1)/(n-1)])
	}
	return out
}

// TestOpenAfterDiedFirstStart: a first start that died while creating the file leaves the marker
// and an empty or half-written file; the next Open starts it over. Without the marker, an empty
// file is still refused (TestOpenRefusesDamage).
func TestOpenAfterDiedFirstStart(t *testing.T) {
	for _, content := range [][]byte{nil, bytes.Repeat([]byte{0}, 100), bytes.Repeat([]byte{0xAB}, 8192)} {
		path := filepath.Join(t.TempDir(), "svc.db")
		if err := os.WriteFile(path, content, 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path+".creating", nil, 0o600); err != nil {
			t.Fatal(err)
		}
		db, err := boltx.Open(path, boltx.Options{}, []byte("b"))
		if err != nil {
			t.Fatalf("%d bytes left by a died first start: %v", len(content), err)
		}
		db.Close()
		if _, err := os.Stat(path + ".creating"); !errors.Is(err, os.ErrNotExist) {
			t.Fatalf("marker left behind: %v", err)
		}
		// Reopening is an ordinary open of a good file.
		db, err = boltx.Open(path, boltx.Options{}, []byte("b"))
		if err != nil {
			t.Fatal(err)
		}
		db.Close()
	}
}
