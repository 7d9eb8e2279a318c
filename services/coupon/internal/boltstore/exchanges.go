package boltstore

import (
	"context"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/huiyuan-dev/huiyuan/pkg/boltx"
	"github.com/huiyuan-dev/huiyuan/services/coupon/internal/coupon"

	storagev1 "github.com/huiyuan-dev/huiyuan/gen/huiyuan/coupon/storage/v1"
)

// loadExchange reads exchange id and its coupon in tx.
func loadExchange(tx *bolt.Tx, tenant, id string) (*coupon.Exchange, *coupon.Coupon, error) {
	var rec storagev1.ExchangeRecord
	found, err := boltx.GetProto(tx.Bucket(bucketExchanges), boltx.Key(tenant, id), &rec)
	if err != nil {
		return nil, nil, err
	}
	if !found {
		return nil, nil, coupon.ExchangeNotFound(id)
	}
	x := fromExchangeRecord(&rec)
	c, err := couponByID(tx, tenant, x.CouponID)
	if err != nil {
		return nil, nil, err
	}
	if c == nil {
		return nil, nil, fmt.Errorf("boltstore: coupon %s of exchange %s is missing", x.CouponID, id)
	}
	return x, c, nil
}

// putExchange stores x and keeps the index of unsettled exchanges.
func (w *wtx) putExchange(x *coupon.Exchange) error {
	key := boltx.Key(w.tenant, x.ID)
	if _, err := w.put(bucketExchanges, key, exchangeRecord(x)); err != nil {
		return err
	}
	open := w.tx.Bucket(bucketOpenExchanges)
	if x.State.Final() {
		return open.Delete(key)
	}
	return open.Put(key, boltx.U64(uint64(max(x.UpdateTime.UnixNano(), 0))))
}

// CreateExchange implements coupon.Store. Its request_id answers with the exchange id, so a
// retry finds the exchange as it stands and can drive it on.
func (s *Store) CreateExchange(ctx context.Context, tenant string, x *coupon.Exchange, fn coupon.IssueFunc) (*coupon.Exchange, *coupon.Coupon, bool, error) {
	var out *coupon.Exchange
	var c *coupon.Coupon
	var wasReplayed bool
	err := s.w.Update(ctx, func(tx *bolt.Tx) error {
		w := s.begin(ctx, tx, tenant)
		prev, ok, err := w.replay()
		switch {
		case err != nil:
			return err
		case ok: // the answer is the exchange's id: it is driven on from where it stands
			wasReplayed = true
			out, c, err = loadExchange(tx, tenant, string(prev))
			return err
		}
		wasReplayed = false
		nc, _, refused, err := w.issue(x.TemplateID, x.MemberID, fn)
		switch {
		case refused != nil:
			return boltx.Unwritten(refused)
		case err != nil:
			return err
		}
		next := *x // fn has set the points
		next.CouponID, next.CouponCode = nc.ID, nc.Code
		if err := w.putExchange(&next); err != nil {
			return err
		}
		out, c = &next, nc
		return w.answer([]byte(next.ID))
	})
	return out, c, wasReplayed, err
}

// UpdateExchange implements coupon.Store.
func (s *Store) UpdateExchange(ctx context.Context, tenant, id string, fn coupon.ExchangeFunc) (*coupon.Exchange, *coupon.Coupon, error) {
	var out *coupon.Exchange
	var oc *coupon.Coupon
	err := s.w.Update(ctx, func(tx *bolt.Tx) error {
		x, c, err := loadExchange(tx, tenant, id)
		if err != nil {
			return boltx.Unwritten(err)
		}
		st, err := loadIssue(tx, tenant, x.TemplateID, x.MemberID)
		if err != nil {
			return err
		}
		oldX, oldC, oldSt := *x, c.Clone(), *st
		evs, err := fn(x, c, st)
		if err != nil {
			return boltx.Unwritten(err)
		}
		out, oc = x, c
		if *x == oldX {
			return nil
		}
		w := s.begin(ctx, tx, tenant)
		if st.Issued != oldSt.Issued || st.Usage != oldSt.Usage {
			if err := w.putIssue(st); err != nil {
				return err
			}
		}
		if *c != *oldC {
			if _, err := w.putCoupon(c, oldC); err != nil {
				return err
			}
		}
		if err := w.putExchange(x); err != nil {
			return err
		}
		return w.emit(evs)
	})
	return out, oc, err
}

// GetExchange implements coupon.Store.
func (s *Store) GetExchange(ctx context.Context, tenant, id string) (*coupon.Exchange, *coupon.Coupon, error) {
	var x *coupon.Exchange
	var c *coupon.Coupon
	err := s.db.View(ctx, func(tx *bolt.Tx) (err error) {
		x, c, err = loadExchange(tx, tenant, id)
		return err
	})
	return x, c, err
}

// OpenExchanges implements coupon.Store.
func (s *Store) OpenExchanges(ctx context.Context, before time.Time, limit int) ([]coupon.Ref, error) {
	var out []coupon.Ref
	err := s.db.View(ctx, func(tx *bolt.Tx) error {
		out = nil
		return tx.Bucket(bucketOpenExchanges).ForEach(func(k, v []byte) error {
			if len(out) >= limit || int64(boltx.ParseU64(v)) >= before.UnixNano() {
				return nil
			}
			i := indexOf0(k)
			if i < 0 {
				return fmt.Errorf("boltstore: malformed exchange key %x", k)
			}
			out = append(out, coupon.Ref{Tenant: string(k[:i]), ID: string(k[i+1:])})
			return nil
		})
	})
	return out, err
}

func indexOf0(k []byte) int {
	for i, b := range k {
		if b == 0 {
			return i
		}
	}
	return -1
}
