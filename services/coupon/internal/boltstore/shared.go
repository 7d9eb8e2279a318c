package boltstore

import (
	"bytes"
	"context"
	"fmt"

	bolt "go.etcd.io/bbolt"
	"google.golang.org/protobuf/proto"

	"github.com/huiyuan-dev/huiyuan/pkg/boltx"
	"github.com/huiyuan-dev/huiyuan/services/coupon/internal/coupon"

	storagev1 "github.com/huiyuan-dev/huiyuan/gen/huiyuan/coupon/storage/v1"
	loyaltyv1 "github.com/huiyuan-dev/huiyuan/gen/huiyuan/loyalty/v1"
)

func loadShared(tx *bolt.Tx, tenant, code string) (*coupon.SharedCode, error) {
	var rec storagev1.SharedCodeRecord
	found, err := boltx.GetProto(tx.Bucket(bucketShared), boltx.Key(tenant, code), &rec)
	if err != nil || !found {
		return nil, err
	}
	return fromSharedRecord(&rec), nil
}

// CreateSharedCode implements coupon.Store.
func (s *Store) CreateSharedCode(ctx context.Context, tenant string, sc *coupon.SharedCode, fn func(t *coupon.Template) error) (*coupon.SharedCode, error) {
	var out *coupon.SharedCode
	err := s.w.Update(ctx, func(tx *bolt.Tx) error {
		w := s.begin(ctx, tx, tenant)
		if done, err := replayed(w, &out, answerOf(fromSharedRecord)); done {
			return err
		}
		t, _, err := loadTemplate(tx, tenant, sc.TemplateID)
		if err != nil {
			return boltx.Unwritten(err)
		}
		if err := fn(t); err != nil {
			return boltx.Unwritten(err)
		}
		if tx.Bucket(bucketShared).Get(boltx.Key(tenant, sc.Code)) != nil {
			return boltx.Unwritten(coupon.SharedCodeExists())
		}
		raw, err := w.put(bucketShared, boltx.Key(tenant, sc.Code), sharedRecord(sc))
		if err != nil {
			return err
		}
		c := *sc
		out = &c
		return w.answer(raw)
	})
	return out, err
}

// GetSharedCode implements coupon.Store.
func (s *Store) GetSharedCode(ctx context.Context, tenant, code string) (*coupon.SharedCode, error) {
	var out *coupon.SharedCode
	err := s.db.View(ctx, func(tx *bolt.Tx) (err error) {
		if out, err = loadShared(tx, tenant, code); err == nil && out == nil {
			err = coupon.SharedCodeNotFound()
		}
		return err
	})
	return out, err
}

// ClaimCode implements coupon.Store.
func (s *Store) ClaimCode(ctx context.Context, tenant, code, member string, fn coupon.ClaimCodeFunc) (*coupon.Coupon, error) {
	var out *coupon.Coupon
	err := s.w.Update(ctx, func(tx *bolt.Tx) error {
		w := s.begin(ctx, tx, tenant)
		if done, err := replayed(w, &out, couponAnswer); done {
			return err
		}
		sc, err := loadShared(tx, tenant, code)
		if err != nil {
			return err
		}
		if sc != nil {
			return w.claimShared(sc, member, fn, &out)
		}
		c, err := couponByCode(tx, tenant, code)
		if err != nil {
			return err
		}
		if c == nil {
			return boltx.Unwritten(coupon.CouponNotFound())
		}
		old := c.Clone()
		nc, evs, err := fn(&coupon.CodeClaim{BatchCoupon: c, MemberStatus: memberStatusOf(tx, tenant, member)})
		if err != nil {
			return boltx.Unwritten(err)
		}
		out = nc
		if evs == nil {
			return w.answer(bytes.Clone(tx.Bucket(bucketCoupons).Get(boltx.Key(tenant, c.ID))))
		}
		raw, err := w.putCoupon(nc, old)
		if err != nil {
			return err
		}
		if err := w.emit(evs); err != nil {
			return err
		}
		return w.answer(raw)
	})
	return out, err
}

// claimShared issues a coupon with shared code sc to member.
func (w *wtx) claimShared(sc *coupon.SharedCode, member string, fn coupon.ClaimCodeFunc, out **coupon.Coupon) error {
	useKey := boltx.Key(w.tenant, sc.Code, member)
	st, err := loadIssue(w.tx, w.tenant, sc.TemplateID, member)
	if err != nil {
		return boltx.Unwritten(err)
	}
	cc := &coupon.CodeClaim{Shared: sc, SharedPrior: string(w.tx.Bucket(bucketSharedUses).Get(useKey)), Issue: st}
	c, evs, err := fn(cc)
	if err != nil {
		return boltx.Unwritten(err)
	}
	if err := w.putIssue(st); err != nil {
		return err
	}
	raw, err := w.putCoupon(c, nil)
	if err != nil {
		return err
	}
	if _, err := w.put(bucketShared, boltx.Key(w.tenant, sc.Code), sharedRecord(sc)); err != nil {
		return err
	}
	if err := w.tx.Bucket(bucketSharedUses).Put(useKey, []byte(c.ID)); err != nil {
		return err
	}
	if err := w.emit(evs); err != nil {
		return err
	}
	*out = c
	return w.answer(raw)
}

// ZoneEvents returns the handler of loyalty's loyalty_policy_updated events: it records the
// tenant's time zone, in the consumer's own transaction, so coupon validity ("N days after
// issue") counts days where the tenant's loyalty programme does.
func ZoneEvents() func(tx *bolt.Tx, tenant string, payload []byte) error {
	return func(tx *bolt.Tx, tenant string, payload []byte) error {
		var p loyaltyv1.LoyaltyPolicy
		if err := proto.Unmarshal(payload, &p); err != nil {
			return fmt.Errorf("decode loyalty policy: %w", err)
		}
		if p.GetTimeZone() == "" {
			return nil
		}
		return tx.Bucket(bucketZones).Put(boltx.Key(tenant), []byte(p.GetTimeZone()))
	}
}
