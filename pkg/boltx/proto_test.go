package boltx_test

import (
	"context"
	"testing"

	bolt "go.etcd.io/bbolt"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/structpb"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/huiyuan-dev/huiyuan/pkg/boltx"
	"github.com/huiyuan-dev/huiyuan/pkg/boltx/bolttest"
)

func TestPutGetProto(t *testing.T) {
	db := bolttest.Open(t, bucketA)
	ctx := context.Background()
	in, err := structpb.NewStruct(map[string]any{"z": 1, "a": "x", "m": true, "b": []any{1, "two"}})
	if err != nil {
		t.Fatal(err)
	}
	err = db.Update(ctx, func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketA)
		if err := boltx.PutProto(b, []byte("s"), in); err != nil {
			return err
		}
		return boltx.PutProto(b, []byte("bad"), wrapperspb.String("not a struct\xff"))
	})
	if err == nil {
		t.Fatal("PutProto accepted invalid UTF-8 in a string field")
	}
	if err := db.Update(ctx, func(tx *bolt.Tx) error { return boltx.PutProto(tx.Bucket(bucketA), []byte("s"), in) }); err != nil {
		t.Fatal(err)
	}

	var first []byte
	for range 20 { // map order must not change the stored bytes
		if err := db.Update(ctx, func(tx *bolt.Tx) error { return boltx.PutProto(tx.Bucket(bucketA), []byte("s"), in) }); err != nil {
			t.Fatal(err)
		}
		v := get(t, db, "s")
		if first == nil {
			first = v
		} else if string(v) != string(first) {
			t.Fatal("marshalling is not deterministic")
		}
	}

	out := &structpb.Struct{}
	var found, missing bool
	err = db.View(ctx, func(tx *bolt.Tx) error {
		var err error
		if found, err = boltx.GetProto(tx.Bucket(bucketA), []byte("s"), out); err != nil {
			return err
		}
		missing, err = boltx.GetProto(tx.Bucket(bucketA), []byte("nope"), &structpb.Struct{})
		return err
	})
	if err != nil || !found || missing {
		t.Fatalf("GetProto: found=%v missing=%v err=%v", found, missing, err)
	}
	if !proto.Equal(in, out) {
		t.Fatalf("round trip: got %v, want %v", out, in)
	}

	put(t, db, "junk", "\xff\xff\xff")
	err = db.View(ctx, func(tx *bolt.Tx) error {
		_, err := boltx.GetProto(tx.Bucket(bucketA), []byte("junk"), &structpb.Struct{})
		return err
	})
	if err == nil {
		t.Fatal("GetProto decoded junk")
	}
}

func TestProto_NilBucket(t *testing.T) {
	if err := boltx.PutProto(nil, []byte("k"), &structpb.Struct{}); err == nil {
		t.Error("PutProto(nil bucket) = nil")
	}
	if _, err := boltx.GetProto(nil, []byte("k"), &structpb.Struct{}); err == nil {
		t.Error("GetProto(nil bucket) = nil")
	}
}
