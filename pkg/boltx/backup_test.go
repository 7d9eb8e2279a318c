package boltx_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/huiyuan-dev/huiyuan/pkg/boltx"
)

// TestBackupRestore takes a backup while a writer is busy, restores it over another file and
// checks the restored file is a consistent snapshot.
func TestBackupRestore(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	src, err := boltx.Open(filepath.Join(dir, "src.db"), boltx.Options{NoSync: true}, bucketCounter, bucketLog)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	w := boltx.NewWriter(src, boltx.WriterOptions{})
	defer w.Close()
	write := func() error {
		return w.Update(ctx, func(tx *bolt.Tx) error { _, err := appendEntry(tx, bytes.Repeat([]byte("e"), 200)); return err })
	}
	for range 500 {
		if err := write(); err != nil {
			t.Fatal(err)
		}
	}

	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() { // keep writing during the backup
		for {
			select {
			case <-stop:
				return
			default:
				if err := write(); err != nil {
					t.Error(err)
					return
				}
			}
		}
	})
	backupPath := filepath.Join(dir, "backup.db")
	f, err := os.Create(backupPath)
	if err != nil {
		t.Fatal(err)
	}
	n, err := src.Backup(ctx, f)
	close(stop)
	wg.Wait()
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	if fi, _ := os.Stat(backupPath); fi.Size() != n {
		t.Fatalf("Backup reported %d bytes, file has %d", n, fi.Size())
	}

	// The target exists and holds other data; Restore replaces it.
	dbPath := filepath.Join(dir, "restored", "svc.db")
	old, err := boltx.Open(dbPath, boltx.Options{NoSync: true}, []byte("old"))
	if err != nil {
		t.Fatal(err)
	}
	if err := old.Close(); err != nil {
		t.Fatal(err)
	}
	if err := boltx.Restore(backupPath, dbPath, nil); err != nil {
		t.Fatal(err)
	}
	db, err := boltx.Open(dbPath, boltx.Options{})
	if err != nil {
		t.Fatalf("restored file does not open: %v", err)
	}
	defer db.Close()
	err = db.View(ctx, func(tx *bolt.Tx) error {
		if tx.Bucket([]byte("old")) != nil {
			t.Error("the old file's bucket survived the restore")
		}
		c, l := boltx.ParseU64(tx.Bucket(bucketCounter).Get(keyCounter)), tx.Bucket(bucketLog).Stats().KeyN
		if c < 500 || uint64(l) != c {
			t.Errorf("restored snapshot: counter %d, entries %d", c, l)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	assertNoTempFiles(t, filepath.Dir(dbPath))
	if fi, err := os.Stat(dbPath); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("restored file mode: %v, %v", fi.Mode(), err)
	}

	fresh := filepath.Join(dir, "new", "dir", "svc.db") // no file, no directory yet
	if err := boltx.Restore(backupPath, fresh, nil); err != nil {
		t.Fatalf("restore to a new path: %v", err)
	}
	if db, err := boltx.Open(fresh, boltx.Options{}); err != nil {
		t.Fatalf("restored file does not open: %v", err)
	} else {
		_ = db.Close()
	}
}

func TestRestore_Refuses(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.db")
	db, err := boltx.Open(good, boltx.Options{NoSync: true}, bucketA)
	if err != nil {
		t.Fatal(err)
	}
	put(t, db, "k", "v")
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	goodBytes, err := os.ReadFile(good)
	if err != nil {
		t.Fatal(err)
	}
	writeFile := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	truncated := writeFile("truncated.db", goodBytes[:len(goodBytes)/2+100])
	garbage := writeFile("garbage.db", bytes.Repeat([]byte{0xAB}, 64<<10))
	empty := writeFile("empty.db", nil)
	errNotOurs := errors.New("not a backup of this store")

	tests := []struct {
		name   string
		backup string
		locked bool
		accept func(*bolt.Tx) error
		want   error
	}{
		{"truncated backup", truncated, false, nil, boltx.ErrCorrupt},
		{"garbage backup", garbage, false, nil, boltx.ErrCorrupt},
		{"empty backup", empty, false, nil, boltx.ErrCorrupt},
		{"missing backup", filepath.Join(dir, "nope.db"), false, nil, os.ErrNotExist},
		{"target in use", good, true, nil, boltx.ErrLocked},
		{"refused by accept", good, false, func(*bolt.Tx) error { return errNotOurs }, errNotOurs},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			target := filepath.Join(t.TempDir(), "svc.db")
			live, err := boltx.Open(target, boltx.Options{NoSync: true}, []byte("live"))
			if err != nil {
				t.Fatal(err)
			}
			if !tt.locked {
				if err := live.Close(); err != nil {
					t.Fatal(err)
				}
			} else {
				defer live.Close()
			}
			before, err := os.ReadFile(target)
			if err != nil {
				t.Fatal(err)
			}
			if err := boltx.Restore(tt.backup, target, tt.accept); !errors.Is(err, tt.want) {
				t.Fatalf("Restore = %v, want %v", err, tt.want)
			}
			after, err := os.ReadFile(target)
			if err != nil || !bytes.Equal(before, after) {
				t.Fatalf("a refused restore changed the target (%v)", err)
			}
			assertNoTempFiles(t, filepath.Dir(target))
		})
	}
}

func TestBackup_ContextDone(t *testing.T) {
	db, err := boltx.Open(filepath.Join(t.TempDir(), "svc.db"), boltx.Options{NoSync: true}, bucketA)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	var buf bytes.Buffer
	if _, err := db.Backup(ctx, &buf); !errors.Is(err, context.Canceled) {
		t.Fatalf("Backup(done ctx) = %v", err)
	}
}

func assertNoTempFiles(t *testing.T, dir string) {
	t.Helper()
	matches, err := filepath.Glob(filepath.Join(dir, "*.restore-*"))
	if err != nil || len(matches) > 0 {
		t.Fatalf("temporary files left behind: %v %v", matches, err)
	}
}

// TestRestore_OverDiedFirstStart: a first start that died while creating the file leaves its
// creation marker; the restored file must not be taken for that unfinished one and discarded
// at the next Open.
func TestRestore_OverDiedFirstStart(t *testing.T) {
	dir := t.TempDir()
	backup := filepath.Join(dir, "backup.db")
	src, err := boltx.Open(backup, boltx.Options{NoSync: true}, bucketA)
	if err != nil {
		t.Fatal(err)
	}
	put(t, src, "k", "v")
	if err := src.Close(); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "svc.db")
	for _, name := range []string{path, path + ".creating"} { // what the died first start left
		if err := os.WriteFile(name, nil, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if err := boltx.Restore(backup, path, nil); err != nil {
		t.Fatal(err)
	}
	db, err := boltx.Open(path, boltx.Options{NoSync: true}, bucketA)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if got := get(t, db, "k"); string(got) != "v" {
		t.Fatalf("restored k = %q, want v", got)
	}
}

// TestOpen_FileReplacedWhileWaiting: a service that starts while a restore (or compaction)
// holds the lock has opened the old file by name; once the new file is renamed over it and the
// lock let go, Open must hold the new file, not the unlinked old one, where writes are lost.
func TestOpen_FileReplacedWhileWaiting(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "svc.db")
	holder, err := boltx.Open(path, boltx.Options{NoSync: true}, bucketA) // the lock a restore holds
	if err != nil {
		t.Fatal(err)
	}
	next := filepath.Join(dir, "next.db")
	nx, err := boltx.Open(next, boltx.Options{NoSync: true}, bucketA)
	if err != nil {
		t.Fatal(err)
	}
	put(t, nx, "restored", "yes")
	if err := nx.Close(); err != nil {
		t.Fatal(err)
	}

	type opened struct {
		db  *boltx.DB
		err error
	}
	started := make(chan opened, 1)
	go func() {
		db, err := boltx.Open(path, boltx.Options{Timeout: 10 * time.Second}, bucketA)
		started <- opened{db, err}
	}()
	time.Sleep(200 * time.Millisecond) // the service has opened the old file and waits for its lock
	if err := boltx.Replace(next, path); err != nil {
		t.Fatal(err)
	}
	if err := holder.Close(); err != nil {
		t.Fatal(err)
	}
	o := <-started
	if o.err != nil {
		t.Fatal(o.err)
	}
	put(t, o.db, "ack", "1")
	if err := o.db.Close(); err != nil {
		t.Fatal(err)
	}
	db, err := boltx.Open(path, boltx.Options{NoSync: true}, bucketA)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if string(get(t, db, "restored")) != "yes" || string(get(t, db, "ack")) != "1" {
		t.Fatalf("after the replace: restored=%q ack=%q, want yes and 1", get(t, db, "restored"), get(t, db, "ack"))
	}
}
