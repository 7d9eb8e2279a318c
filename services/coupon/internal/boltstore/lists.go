package boltstore

import (
	"bytes"
	"context"

	bolt "go.etcd.io/bbolt"

	"github.com/huiyuan-dev/huiyuan/pkg/boltx"
	"github.com/huiyuan-dev/huiyuan/services/coupon/internal/coupon"

	storagev1 "github.com/huiyuan-dev/huiyuan/gen/huiyuan/coupon/storage/v1"
)

// indexScan walks an index bucket whose keys are prefix ‖ coupon id and loads the coupons.
type indexScan struct {
	bucket  []byte
	prefix  []byte
	reverse bool // newest first
}

// page returns up to q.Size coupons matching q.Match after the token's key, reading at most
// scanLimit index entries, and the token of the next page ("" at the end).
func (ix indexScan) page(tx *bolt.Tx, tenant string, q coupon.CouponQuery) ([]*coupon.Coupon, string, error) {
	after, err := pageStart(q.Token, ix.prefix)
	if err != nil {
		return nil, "", err
	}
	var out []*coupon.Coupon
	var last []byte
	c := tx.Bucket(ix.bucket).Cursor()
	k, step := ix.first(c, after)
	for scanned := 0; k != nil && bytes.HasPrefix(k, ix.prefix); k, _ = step() {
		if len(out) == q.Size || scanned == scanLimit {
			return out, boltx.EncodePageToken(last), nil
		}
		scanned++
		last = k
		cp, err := couponByID(tx, tenant, string(k[len(ix.prefix):]))
		if err != nil {
			return nil, "", err
		}
		if cp != nil && (q.Match == nil || q.Match(cp)) {
			out = append(out, cp)
		}
	}
	return out, "", nil
}

// first positions c at the first entry of the walk (after the key after, if any) and returns
// the step to the next one.
func (ix indexScan) first(c *bolt.Cursor, after []byte) ([]byte, func() ([]byte, []byte)) {
	if !ix.reverse {
		k, _ := seek(c, ix.prefix, after)
		return k, c.Next
	}
	start := after
	if start == nil {
		start = prefixEnd(ix.prefix)
	}
	k, _ := c.Seek(start)
	if k == nil {
		k, _ = c.Last()
	}
	for k != nil && bytes.Compare(k, start) >= 0 {
		k, _ = c.Prev()
	}
	return k, c.Prev
}

// prefixEnd is the smallest key greater than every key starting with p.
func prefixEnd(p []byte) []byte {
	end := bytes.Clone(p)
	for i := len(end) - 1; i >= 0; i-- {
		if end[i] < 0xff {
			end[i]++
			return end[:i+1]
		}
	}
	return nil
}

// ListMemberCoupons implements coupon.Store.
func (s *Store) ListMemberCoupons(ctx context.Context, tenant, member string, q coupon.CouponQuery) ([]*coupon.Coupon, string, error) {
	var out []*coupon.Coupon
	var next string
	err := s.db.View(ctx, func(tx *bolt.Tx) (err error) {
		out, next, err = indexScan{bucket: bucketByMember, prefix: boltx.Key(tenant, member, ""), reverse: true}.page(tx, tenant, q)
		return err
	})
	return out, next, err
}

// ListTemplateCoupons implements coupon.Store.
func (s *Store) ListTemplateCoupons(ctx context.Context, tenant, templateID string, q coupon.CouponQuery) ([]*coupon.Coupon, string, error) {
	var out []*coupon.Coupon
	var next string
	err := s.db.View(ctx, func(tx *bolt.Tx) (err error) {
		out, next, err = indexScan{bucket: bucketByTemplate, prefix: boltx.Key(tenant, templateID, "")}.page(tx, tenant, q)
		return err
	})
	return out, next, err
}

// Wallet implements coupon.Store.
func (s *Store) Wallet(ctx context.Context, tenant, member string, keep func(*coupon.Coupon) bool, limit int, codes []string) (coupon.Wallet, error) {
	var w coupon.Wallet
	err := s.db.View(ctx, func(tx *bolt.Tx) error {
		w = coupon.Wallet{Templates: map[string]*coupon.Template{}, Zone: zoneOf(tx, tenant), Standing: memberStatusOf(tx, tenant, member)}
		cs, _, err := indexScan{bucket: bucketByMember, prefix: boltx.Key(tenant, member, ""), reverse: true}.
			page(tx, tenant, coupon.CouponQuery{Page: coupon.Page{Size: limit}, Match: keep})
		if err != nil {
			return err
		}
		w.Coupons = cs
		for _, code := range codes {
			c, err := couponByCode(tx, tenant, code)
			if err != nil {
				return err
			}
			if c != nil {
				w.Coupons = append(w.Coupons, c)
				continue
			}
			var rec storagev1.SharedCodeRecord
			found, err := boltx.GetProto(tx.Bucket(bucketShared), boltx.Key(tenant, code), &rec)
			if err != nil {
				return err
			}
			if found {
				w.Shared = append(w.Shared, fromSharedRecord(&rec))
			} else {
				w.Missing = append(w.Missing, code)
			}
		}
		need := map[string]bool{}
		for _, c := range w.Coupons {
			need[c.TemplateID] = true
		}
		for _, sc := range w.Shared {
			need[sc.TemplateID] = true
		}
		for id := range need {
			t, _, err := loadTemplate(tx, tenant, id)
			if err != nil {
				return err
			}
			w.Templates[id] = t
		}
		return nil
	})
	return w, err
}
