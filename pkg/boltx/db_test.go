package boltx_test

import (
	"context"
	"errors"
	"testing"

	bolt "go.etcd.io/bbolt"

	"github.com/huiyuan-dev/huiyuan/pkg/boltx"
	"github.com/huiyuan-dev/huiyuan/pkg/boltx/bolttest"
)

// TestUpdaters runs the Updater contract against both implementations.
func TestUpdaters(t *testing.T) {
	errBoom := errors.New("boom")
	tests := []struct {
		name    string
		fn      func(tx *bolt.Tx) error
		wantErr error // matched with errors.Is
		wantKey bool  // whether "k" is present afterwards
	}{
		{"ok", func(tx *bolt.Tx) error { return tx.Bucket(bucketA).Put([]byte("k"), []byte("v")) }, nil, true},
		{"error rolls back", func(tx *bolt.Tx) error {
			_ = tx.Bucket(bucketA).Put([]byte("k"), []byte("v"))
			return errBoom
		}, errBoom, false},
		{"panic rolls back", func(tx *bolt.Tx) error {
			_ = tx.Bucket(bucketA).Put([]byte("k"), []byte("v"))
			panic("bad")
		}, boltx.ErrPanicked, false},
	}
	impls := map[string]func(t *testing.T, db *boltx.DB) boltx.Updater{
		"DB": func(_ *testing.T, db *boltx.DB) boltx.Updater { return db },
		"Writer": func(t *testing.T, db *boltx.DB) boltx.Updater {
			w := boltx.NewWriter(db, boltx.WriterOptions{})
			t.Cleanup(func() { _ = w.Close() })
			return w
		},
	}
	for implName, newUpdater := range impls {
		for _, tt := range tests {
			t.Run(implName+"/"+tt.name, func(t *testing.T) {
				db := bolttest.Open(t, bucketA)
				u := newUpdater(t, db)
				err := u.Update(context.Background(), tt.fn)
				if !errors.Is(err, tt.wantErr) || (tt.wantErr == nil) != (err == nil) {
					t.Fatalf("Update: err = %v, want %v", err, tt.wantErr)
				}
				if got := get(t, db, "k") != nil; got != tt.wantKey {
					t.Fatalf("key present = %v, want %v", got, tt.wantKey)
				}
			})
		}
		t.Run(implName+"/done context", func(t *testing.T) {
			db := bolttest.Open(t, bucketA)
			u := newUpdater(t, db)
			ctx, cancel := context.WithCancel(context.Background())
			cancel()
			ran := false
			err := u.Update(ctx, func(*bolt.Tx) error { ran = true; return nil })
			if !errors.Is(err, context.Canceled) || ran {
				t.Fatalf("err = %v, ran = %v; want context.Canceled and not run", err, ran)
			}
		})
	}
}

func TestView(t *testing.T) {
	db := bolttest.Open(t, bucketA)
	put(t, db, "k", "v")
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := db.View(ctx, func(*bolt.Tx) error { t.Error("ran"); return nil }); !errors.Is(err, context.Canceled) {
		t.Fatalf("View(done ctx) = %v", err)
	}
	err := db.View(context.Background(), func(*bolt.Tx) error { panic("bad") })
	if !errors.Is(err, boltx.ErrPanicked) {
		t.Fatalf("View(panic) = %v, want ErrPanicked", err)
	}
	if db.Bolt() == nil {
		t.Fatal("Bolt() = nil")
	}
	if got := string(get(t, db, "k")); got != "v" {
		t.Fatalf("k = %q", got)
	}
}

func put(t testing.TB, db *boltx.DB, k, v string) {
	t.Helper()
	err := db.Update(context.Background(), func(tx *bolt.Tx) error { return tx.Bucket(bucketA).Put([]byte(k), []byte(v)) })
	if err != nil {
		t.Fatal(err)
	}
}

func get(t testing.TB, db *boltx.DB, k string) []byte {
	t.Helper()
	var v []byte
	err := db.View(context.Background(), func(tx *bolt.Tx) error {
		if b := tx.Bucket(bucketA).Get([]byte(k)); b != nil {
			v = append([]byte{}, b...)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return v
}
