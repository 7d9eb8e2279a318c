package eventlog

import (
	"context"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"
	"google.golang.org/protobuf/proto"

	platformv1 "github.com/huiyuan-dev/huiyuan/gen/huiyuan/platform/v1"
)

// pruneBatch bounds the deletions of one transaction, to keep write transactions short.
const pruneBatch = 1000

// prune deletes events older than the retention that the broker has acknowledged.
func (r *Relay) prune(ctx context.Context) error {
	cutoff := r.opts.Clock.Now().Add(-r.opts.Retention)
	r.mu.Lock()
	acked := make(map[string]uint64, len(r.tenants))
	for t, st := range r.tenants {
		if st.published > 0 {
			acked[t] = st.published
		}
	}
	r.mu.Unlock()
	total := 0
	for tenant, published := range acked {
		for {
			n := 0
			err := r.db.Update(ctx, func(tx *bolt.Tx) error {
				var err error
				n, err = r.pruneTenant(tx, tenant, published, cutoff)
				return err
			})
			if err != nil {
				return fmt.Errorf("prune %s: %w", tenant, err)
			}
			total += n
			if n < pruneBatch {
				break
			}
		}
	}
	if total > 0 {
		r.log.Debug("pruned the event log", "events", total, "before", cutoff)
	}
	return nil
}

// pruneTenant deletes up to pruneBatch of tenant's oldest events that are at or before
// published and older than cutoff, and returns how many it deleted.
func (r *Relay) pruneTenant(tx *bolt.Tx, tenant string, published uint64, cutoff time.Time) (int, error) {
	b := tx.Bucket(r.l.events)
	if b == nil {
		return 0, ErrMissingBuckets
	}
	prefix := tenantPrefix(tenant)
	var doomed [][]byte
	c := b.Cursor()
	rec := &platformv1.EventRecord{}
	for k, v := c.Seek(prefix); k != nil && len(doomed) < pruneBatch; k, v = c.Next() {
		seq, ok := seqOf(k, prefix)
		if !ok || seq > published {
			break
		}
		if err := proto.Unmarshal(v, rec); err != nil {
			return 0, fmt.Errorf("decode event %d: %w", seq, err)
		}
		if !rec.GetTime().AsTime().Before(cutoff) {
			break // events are in time order; the rest are younger
		}
		doomed = append(doomed, k)
	}
	for _, k := range doomed {
		if err := b.Delete(k); err != nil {
			return 0, err
		}
	}
	return len(doomed), nil
}

// saveCursors writes the positions that moved since the last save.
func (r *Relay) saveCursors(ctx context.Context) error {
	type pos struct {
		st                   *tenantState
		published, streamSeq uint64
	}
	r.mu.Lock()
	var moved map[string]pos
	for t, st := range r.tenants {
		if st.published != st.saved || st.streamSeq != st.savedStream {
			if moved == nil {
				moved = make(map[string]pos)
			}
			moved[t] = pos{st, st.published, st.streamSeq}
		}
	}
	r.mu.Unlock()
	if len(moved) == 0 {
		return nil
	}
	err := r.db.Update(ctx, func(tx *bolt.Tx) error {
		b := tx.Bucket(r.l.cursors)
		if b == nil {
			return ErrMissingBuckets
		}
		for t, p := range moved {
			v, err := proto.MarshalOptions{Deterministic: true}.Marshal(&platformv1.RelayCursor{
				PublishedSequence: p.published, StreamSequence: p.streamSeq,
			})
			if err != nil {
				return err
			}
			if err := b.Put([]byte(t), v); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("eventlog: save relay positions: %w", err)
	}
	r.mu.Lock()
	for _, p := range moved {
		p.st.saved, p.st.savedStream = p.published, p.streamSeq
	}
	r.mu.Unlock()
	return nil
}

func decodeCursor(v []byte) (*platformv1.RelayCursor, error) {
	c := &platformv1.RelayCursor{}
	if err := proto.Unmarshal(v, c); err != nil {
		return nil, err
	}
	return c, nil
}
