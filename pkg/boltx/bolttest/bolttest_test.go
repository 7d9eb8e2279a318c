package bolttest_test

import (
	"context"
	"testing"

	bolt "go.etcd.io/bbolt"

	"github.com/huiyuan-dev/huiyuan/pkg/boltx/bolttest"
)

func TestOpen(t *testing.T) {
	db := bolttest.Open(t, []byte("a"), []byte("b"))
	err := db.View(context.Background(), func(tx *bolt.Tx) error {
		for _, name := range []string{"a", "b"} {
			if tx.Bucket([]byte(name)) == nil {
				t.Errorf("bucket %q missing", name)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if other := bolttest.Open(t); other.Path() == db.Path() {
		t.Fatalf("two Opens share %s", db.Path())
	}
}
