package eventlog

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Epoch is one segment of a tenant's log: the events from Start on, up to the next segment's
// Start, belong to epoch Epoch. Epochs only grow from one segment to the next.
//
// A new epoch says "from Start on, this is the history": the events before Start are shared
// with the older epochs, and whatever an older epoch held from Start on (a restored store's lost
// future, a forged message) is replaced. A log from before epochs is in epoch 0 from sequence 1.
type Epoch struct {
	Epoch uint64
	Start uint64
}

// legacyEpoch is the epoch of a tenant without segments: a log written before epochs existed.
var legacyEpoch = Epoch{Epoch: 0, Start: 1}

// epochKey is tenant 0x00 big-endian(start): a tenant's segments sort by first sequence.
func epochKey(tenant string, start uint64) []byte { return eventKey(tenant, start) }

// tenantEpochs returns tenant's segments in order; a tenant without any is in legacyEpoch.
func tenantEpochs(b *bolt.Bucket, tenant string) []Epoch {
	prefix := tenantPrefix(tenant)
	var out []Epoch
	c := b.Cursor()
	for k, v := c.Seek(prefix); k != nil; k, v = c.Next() {
		start, ok := seqOf(k, prefix)
		if !ok {
			break
		}
		out = append(out, Epoch{Epoch: readU64(v), Start: start})
	}
	if len(out) == 0 || out[0].Start > 1 {
		out = append([]Epoch{legacyEpoch}, out...)
	}
	return out
}

// epochAt returns the segment holding seq in segs (as tenantEpochs returns them).
func epochAt(segs []Epoch, seq uint64) Epoch {
	e := segs[0]
	for _, s := range segs[1:] {
		if s.Start > seq {
			break
		}
		e = s
	}
	return e
}

// epochOf returns the segment of tenant's log holding seq, reading one key.
func epochOf(b *bolt.Bucket, tenant string, seq uint64) Epoch {
	prefix := tenantPrefix(tenant)
	key := epochKey(tenant, seq)
	c := b.Cursor()
	k, v := c.Seek(key)
	switch {
	case k == nil: // past every key: the last one may be tenant's
		k, v = c.Last()
	case string(k) != string(key):
		k, v = c.Prev()
	}
	if start, ok := seqOf(k, prefix); ok {
		return Epoch{Epoch: readU64(v), Start: start}
	}
	return legacyEpoch
}

// currentEpoch is the segment new events of tenant go into.
func currentEpoch(b *bolt.Bucket, tenant string) Epoch { return epochOf(b, tenant, math.MaxUint64) }

// nextEpoch returns a new epoch number: the time in milliseconds shifted left 16 bits with 16
// random bits below (so two stores restored in the same millisecond differ), and at least
// atLeast. Time makes epochs of unrelated lifetimes of a store grow too.
func nextEpoch(atLeast uint64, now time.Time) uint64 {
	e := uint64(max(now.UnixMilli(), 0))<<16 | uint64(rand.N(1<<16))
	return max(e, atLeast)
}

// startEpoch starts a new epoch for tenant at sequence from, greater than every epoch of the
// tenant and at least atLeast, and returns it. Segments starting at or after from are replaced:
// their events are relabelled, which is sound only for events no consumer can have applied
// under the old label (the caller's concern).
func startEpoch(b *bolt.Bucket, tenant string, from, atLeast uint64, now time.Time) (Epoch, error) {
	if from == 0 {
		return Epoch{}, errors.New("eventlog: an epoch starts at sequence 1 or later")
	}
	segs := tenantEpochs(b, tenant)
	e := Epoch{Epoch: nextEpoch(max(atLeast, segs[len(segs)-1].Epoch+1), now), Start: from}
	for _, s := range segs {
		if s.Start >= from && s != legacyEpoch {
			if err := b.Delete(epochKey(tenant, s.Start)); err != nil {
				return Epoch{}, err
			}
		}
	}
	if err := b.Put(epochKey(tenant, from), u64(e.Epoch)); err != nil {
		return Epoch{}, err
	}
	return e, nil
}

// Epochs returns tenant's epoch segments in order (a log from before epochs: one, epoch 0 from
// sequence 1). It returns an error wrapping ErrInvalidTenant, ErrMissingBuckets, or the
// storage's error.
func (l *Log) Epochs(ctx context.Context, db Viewer, tenant string) ([]Epoch, error) {
	if l.err != nil {
		return nil, l.err
	}
	if err := ValidateTenant(tenant); err != nil {
		return nil, err
	}
	var segs []Epoch
	err := db.View(ctx, func(tx *bolt.Tx) error {
		b := tx.Bucket(l.epochs)
		if b == nil {
			return ErrMissingBuckets
		}
		segs = tenantEpochs(b, tenant)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("eventlog: epochs of %s/%s: %w", l.service, tenant, err)
	}
	return segs, nil
}

// StartNewEpochs starts a new epoch at head+1 for every tenant of each log in db. The restore
// path calls it after replacing a store with an older copy: the broker may hold events this
// copy has lost, and the events appended from now on reuse their sequence numbers. Under the
// new epoch, consumers keep what they applied up to the head and apply the new events, and the
// relay treats the broker's newer-looking messages as history. Logs that have no events in db
// are skipped. The process that owns db must not be running.
func StartNewEpochs(ctx context.Context, db DB, logs ...*Log) error {
	now := time.Now()
	for _, l := range logs {
		if l == nil {
			return errors.New("eventlog: start new epochs: nil log")
		}
		if l.err != nil {
			return l.err
		}
		err := db.Update(ctx, func(tx *bolt.Tx) error {
			heads := tx.Bucket(l.heads)
			if heads == nil {
				return nil // the log never held an event here
			}
			b, err := tx.CreateBucketIfNotExists(l.epochs)
			if err != nil {
				return err
			}
			return heads.ForEach(func(k, v []byte) error {
				_, err := startEpoch(b, string(k), readU64(v)+1, 0, now)
				return err
			})
		})
		if err != nil {
			return fmt.Errorf("eventlog: start new %s epochs: %w", l.service, err)
		}
	}
	return nil
}
