package idempotency

import (
	"bytes"
	"context"
	"crypto/subtle"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/huiyuan-dev/huiyuan/pkg/apperr"
	"github.com/huiyuan-dev/huiyuan/pkg/boltx"

	platformv1 "github.com/huiyuan-dev/huiyuan/gen/huiyuan/platform/v1"
)

const (
	bucketRecords = "idempotency"         // boltx.Key(tenant, method, request_id) -> IdempotencyRecord
	bucketByTime  = "idempotency_by_time" // U64(unix nanos) + record key -> nothing, for Prune
)

// Bucket returns the name of the bucket holding the records.
func Bucket() []byte { return []byte(bucketRecords) }

// Buckets returns every bucket the package uses, for boltx.Open. Save also creates them.
func Buckets() [][]byte { return [][]byte{[]byte(bucketRecords), []byte(bucketByTime)} }

func recordKey(k Key) []byte { return boltx.Key(k.Tenant, k.Method, k.RequestID) }

// Lookup is Find with the key ctx carries (FromContext); it reports false when ctx has none.
// Call it first in the mutation's transaction; on a hit return the stored result and do nothing
// else. Prefer Find and Replay, which take the key explicitly.
func Lookup(tx *bolt.Tx, ctx context.Context) ([]byte, bool, error) {
	k, ok := FromContext(ctx)
	if !ok {
		return nil, false, nil
	}
	return Find(tx, k)
}

// Find returns the result Put (or Save) stored for k. It reports false for a Key without a
// request_id (the zero Key) and for a request_id not seen before. The returned bytes are a
// copy, valid after tx ends.
//
// Errors: Invalid on field "request_id" with reason REQUEST_ID_REUSED when the id was used
// before for a different request (other body or method); an error for an undecodable record.
func Find(tx *bolt.Tx, k Key) ([]byte, bool, error) {
	if k.RequestID == "" {
		return nil, false, nil
	}
	b := tx.Bucket([]byte(bucketRecords))
	if b == nil {
		return nil, false, nil
	}
	rec := &platformv1.IdempotencyRecord{}
	found, err := boltx.GetProto(b, recordKey(k), rec)
	if err != nil {
		return nil, false, fmt.Errorf("idempotency: lookup: %w", err)
	}
	if !found {
		return nil, false, nil
	}
	if subtle.ConstantTimeCompare(rec.GetRequestHash(), k.Hash[:]) != 1 {
		return nil, false, errReused()
	}
	return rec.GetResult(), true, nil
}

// Replay decodes the answer stored for k into out and reports whether there was one; out is
// left alone when there was none. Call it first in the mutation's transaction and, on a hit,
// answer out without acting again.
//
// Errors: Find's; an error when the stored answer does not decode into out.
func Replay(tx *bolt.Tx, k Key, out proto.Message) (bool, error) {
	raw, hit, err := Find(tx, k)
	if err != nil || !hit {
		return false, err
	}
	if err := proto.Unmarshal(raw, out); err != nil {
		return false, fmt.Errorf("idempotency: decode the answer to %s: %w", k.RequestID, err)
	}
	return true, nil
}

// SaveProto stores m (deterministically encoded) as the answer to k, written at time at, in the
// mutation's own transaction; it does nothing for a Key without a request_id.
//
// Errors: encoding and bbolt errors.
func SaveProto(tx *bolt.Tx, k Key, m proto.Message, at time.Time) error {
	if k.RequestID == "" {
		return nil
	}
	raw, err := proto.MarshalOptions{Deterministic: true}.Marshal(m)
	if err != nil {
		return fmt.Errorf("idempotency: encode the answer to %s: %w", k.RequestID, err)
	}
	return Put(tx, k, raw, at)
}

func errReused() error {
	return &apperr.Error{
		Code:    apperr.Invalid,
		Reason:  ReasonRequestIDReused,
		Message: "request_id was already used for a different request",
		Violations: []apperr.FieldViolation{{
			Field:       FieldName,
			Description: "already used for a different request; use a new request_id",
		}},
	}
}

// Save is Put with the key ctx carries (FromContext); it does nothing when ctx has none. Prefer
// Put and SaveProto, which take the key explicitly.
func Save(tx *bolt.Tx, ctx context.Context, result []byte, at time.Time) error {
	k, ok := FromContext(ctx)
	if !ok {
		return nil
	}
	return Put(tx, k, result, at)
}

// Put records result as the answer to k, written at time at. It does nothing for a Key without
// a request_id. Call it in the same transaction as the mutation, after it succeeded.
//
// Errors: bbolt errors (a read-only transaction, ...).
func Put(tx *bolt.Tx, k Key, result []byte, at time.Time) error {
	if k.RequestID == "" {
		return nil
	}
	recs, err := tx.CreateBucketIfNotExists([]byte(bucketRecords))
	if err != nil {
		return fmt.Errorf("idempotency: save: %w", err)
	}
	byTime, err := tx.CreateBucketIfNotExists([]byte(bucketByTime))
	if err != nil {
		return fmt.Errorf("idempotency: save: %w", err)
	}
	key := recordKey(k)
	if old := recs.Get(key); old != nil {
		// Overwriting: drop the old time index entry, or Prune would delete the new record early.
		prev := &platformv1.IdempotencyRecord{}
		if err := proto.Unmarshal(old, prev); err == nil {
			if err := byTime.Delete(timeKey(prev.GetCreateTime().AsTime(), key)); err != nil {
				return fmt.Errorf("idempotency: save: %w", err)
			}
		}
	}
	rec := &platformv1.IdempotencyRecord{RequestHash: k.Hash[:], Result: result, CreateTime: timestamppb.New(at)}
	if err := boltx.PutProto(recs, key, rec); err != nil {
		return fmt.Errorf("idempotency: save: %w", err)
	}
	if err := byTime.Put(timeKey(at, key), nil); err != nil {
		return fmt.Errorf("idempotency: save: %w", err)
	}
	return nil
}

// timeKey is the index key: the time in big-endian unix nanoseconds (times before 1970 count
// as 0), then the record key.
func timeKey(at time.Time, key []byte) []byte {
	ns := at.UnixNano()
	if ns < 0 {
		ns = 0
	}
	return append(boltx.U64(uint64(ns)), key...)
}

// Prune deletes up to limit records written before before (all of them when limit <= 0) and
// returns how many it deleted. Callers keep records at least Retention: pass
// now.Add(-Retention). It walks a time index, so it costs in proportion to what it deletes; pass
// a limit and call again while it returns limit, so that no single transaction holds the writer
// for long.
//
// Errors: bbolt errors.
func Prune(tx *bolt.Tx, before time.Time, limit int) (int, error) {
	recs, byTime := tx.Bucket([]byte(bucketRecords)), tx.Bucket([]byte(bucketByTime))
	if recs == nil || byTime == nil {
		return 0, nil
	}
	end := timeKey(before, nil)
	c := byTime.Cursor()
	n := 0
	for k, _ := c.First(); k != nil && bytes.Compare(k, end) < 0 && (limit <= 0 || n < limit); k, _ = c.First() {
		if len(k) >= 8 {
			if err := recs.Delete(k[8:]); err != nil {
				return n, fmt.Errorf("idempotency: prune: %w", err)
			}
		}
		if err := c.Delete(); err != nil {
			return n, fmt.Errorf("idempotency: prune: %w", err)
		}
		n++
	}
	return n, nil
}
