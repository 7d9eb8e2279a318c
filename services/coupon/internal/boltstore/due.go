package boltstore

import (
	"bytes"
	"context"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/huiyuan-dev/huiyuan/pkg/boltx"
	"github.com/huiyuan-dev/huiyuan/pkg/idempotency"
	"github.com/huiyuan-dev/huiyuan/services/coupon/internal/coupon"
)

// DueCoupons implements coupon.Store.
func (s *Store) DueCoupons(ctx context.Context, before time.Time, limit int) ([]coupon.Ref, error) {
	end := boltx.U64(uint64(max(before.UnixNano(), 0)) + 1)
	var out []coupon.Ref
	err := s.db.View(ctx, func(tx *bolt.Tx) error {
		out = nil
		c := tx.Bucket(bucketDue).Cursor()
		for k, _ := c.First(); k != nil && bytes.Compare(k, end) < 0 && len(out) < limit; k, _ = c.Next() {
			r, ok := parseDueKey(k)
			if !ok {
				return fmt.Errorf("boltstore: malformed due key %x", k)
			}
			out = append(out, r)
		}
		return nil
	})
	return out, err
}

func parseDueKey(k []byte) (coupon.Ref, bool) {
	if len(k) < 10 {
		return coupon.Ref{}, false
	}
	rest := k[8:]
	i := bytes.IndexByte(rest, 0)
	if i <= 0 || i == len(rest)-1 {
		return coupon.Ref{}, false
	}
	at := time.Unix(0, int64(boltx.ParseU64(k[:8]))).UTC()
	return coupon.Ref{Tenant: string(rest[:i]), ID: string(rest[i+1:]), At: at}, true
}

// SettleCoupons implements coupon.Store. A coupon fn leaves unchanged has its due entry
// rewritten from its record, so a stale entry never comes back.
func (s *Store) SettleCoupons(ctx context.Context, refs []coupon.Ref, fn func(c *coupon.Coupon) []coupon.Event) (int, error) {
	n := 0
	err := s.w.Update(ctx, func(tx *bolt.Tx) error {
		n = 0
		for _, r := range refs {
			c, err := couponByID(tx, r.Tenant, r.ID)
			if err != nil {
				return err
			}
			if c == nil {
				if err := tx.Bucket(bucketDue).Delete(dueKey(r.At, r.Tenant, r.ID)); err != nil {
					return err
				}
				continue
			}
			old := c.Clone()
			w := s.begin(ctx, tx, r.Tenant)
			evs := fn(c)
			if len(evs) == 0 {
				if err := dropStaleDue(tx, r, c); err != nil {
					return err
				}
				continue
			}
			if _, err := w.putCoupon(c, old); err != nil {
				return err
			}
			if err := w.emit(evs); err != nil {
				return err
			}
			n++
		}
		return nil
	})
	return n, err
}

// dropStaleDue deletes the due entry r was found by unless c's record implies it.
func dropStaleDue(tx *bolt.Tx, r coupon.Ref, c *coupon.Coupon) error {
	if d := c.DueTime(); !d.IsZero() && d.Equal(r.At) {
		return nil
	}
	return tx.Bucket(bucketDue).Delete(dueKey(r.At, r.Tenant, r.ID))
}

// PruneRequests deletes the request_id answers older than idempotency.Retention at now, in
// transactions of 1,000 so the writer is never held long, and returns how many it deleted.
func (s *Store) PruneRequests(ctx context.Context, now time.Time) (int, error) {
	total := 0
	for {
		n := 0
		err := s.w.Update(ctx, func(tx *bolt.Tx) (err error) {
			n, err = idempotency.Prune(tx, now.Add(-idempotency.Retention), 1000)
			return err
		})
		total += n
		if err != nil || n < 1000 {
			return total, err
		}
	}
}
