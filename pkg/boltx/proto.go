package boltx

import (
	"errors"
	"fmt"

	bolt "go.etcd.io/bbolt"
	"google.golang.org/protobuf/proto"
)

// deterministic makes equal messages encode to equal bytes (map order), which keeps values
// comparable and request fingerprints stable.
var deterministic = proto.MarshalOptions{Deterministic: true}

// errNilBucket is returned instead of panicking when a bucket lookup came back nil.
var errNilBucket = errors.New("boltx: nil bucket (was it created at Open?)")

// PutProto stores m under key in b, marshalled deterministically. It returns an error for a nil
// bucket, a marshal failure, or bbolt's Put error (read-only transaction, key too large, ...).
func PutProto(b *bolt.Bucket, key []byte, m proto.Message) error {
	if b == nil {
		return errNilBucket
	}
	v, err := deterministic.Marshal(m)
	if err != nil {
		return fmt.Errorf("boltx: marshal %T: %w", m, err)
	}
	if err := b.Put(key, v); err != nil {
		return fmt.Errorf("boltx: put %T: %w", m, err)
	}
	return nil
}

// GetProto reads the value under key in b into m. It returns false (and leaves m alone) when
// the key is absent, an error for a nil bucket or a value that does not decode as m. m does not
// alias the transaction's memory, so it stays valid after the transaction ends.
func GetProto(b *bolt.Bucket, key []byte, m proto.Message) (bool, error) {
	if b == nil {
		return false, errNilBucket
	}
	v := b.Get(key)
	if v == nil {
		return false, nil
	}
	if err := proto.Unmarshal(v, m); err != nil {
		return false, fmt.Errorf("boltx: unmarshal %T: %w", m, err)
	}
	return true, nil
}
