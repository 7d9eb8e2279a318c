package boltstore

import (
	"bytes"
	"context"
	"fmt"

	bolt "go.etcd.io/bbolt"

	"github.com/huiyuan-dev/huiyuan/pkg/boltx"
	"github.com/huiyuan-dev/huiyuan/services/coupon/internal/coupon"

	storagev1 "github.com/huiyuan-dev/huiyuan/gen/huiyuan/coupon/storage/v1"
)

func loadBatch(tx *bolt.Tx, tenant, id string) (*coupon.Batch, error) {
	var rec storagev1.CodeBatchRecord
	found, err := boltx.GetProto(tx.Bucket(bucketBatches), boltx.Key(tenant, id), &rec)
	if err != nil {
		return nil, err
	}
	if !found {
		return nil, coupon.BatchNotFound(id)
	}
	return fromBatchRecord(&rec), nil
}

// putBatch stores b and keeps the index of running batches.
func (w *wtx) putBatch(b *coupon.Batch) ([]byte, error) {
	key := boltx.Key(w.tenant, b.ID)
	raw, err := w.put(bucketBatches, key, batchRecord(b))
	if err != nil {
		return nil, err
	}
	running := w.tx.Bucket(bucketRunning)
	if b.State == coupon.BatchRunning {
		return raw, running.Put(key, nil)
	}
	return raw, running.Delete(key)
}

// CreateBatch implements coupon.Store.
func (s *Store) CreateBatch(ctx context.Context, tenant string, b *coupon.Batch, fn func(t *coupon.Template, issued *int64) error) (*coupon.Batch, error) {
	var out *coupon.Batch
	err := s.w.Update(ctx, func(tx *bolt.Tx) error {
		w := s.begin(ctx, tx, tenant)
		if done, err := replayed(w, &out, answerOf(fromBatchRecord)); done {
			return err
		}
		t, issued, err := loadTemplate(tx, tenant, b.TemplateID)
		if err != nil {
			return boltx.Unwritten(err)
		}
		if err := fn(t, &issued); err != nil {
			return boltx.Unwritten(err)
		}
		if err := tx.Bucket(bucketStock).Put(boltx.Key(tenant, t.ID), boltx.U64(uint64(issued))); err != nil {
			return err
		}
		raw, err := w.putBatch(b)
		if err != nil {
			return err
		}
		if err := tx.Bucket(bucketBatchesByTmpl).Put(boltx.Key(tenant, t.ID, b.ID), nil); err != nil {
			return err
		}
		c := *b
		out = &c
		return w.answer(raw)
	})
	return out, err
}

// AddBatchCodes implements coupon.Store.
func (s *Store) AddBatchCodes(ctx context.Context, tenant, id string, coupons []*coupon.Coupon, fn func(b *coupon.Batch, stored int64) []coupon.Event) ([]int, error) {
	var taken []int
	err := s.w.Update(ctx, func(tx *bolt.Tx) error {
		taken = nil
		b, err := loadBatch(tx, tenant, id)
		if err != nil {
			return err
		}
		if b.State != coupon.BatchRunning {
			return nil
		}
		w := s.begin(ctx, tx, tenant)
		codes := tx.Bucket(bucketCodes)
		var stored int64
		for i, c := range coupons {
			if codes.Get(boltx.Key(tenant, c.Code)) != nil {
				taken = append(taken, i)
				continue
			}
			if _, err := w.putCoupon(c, nil); err != nil {
				return err
			}
			stored++
		}
		evs := fn(b, stored)
		if _, err := w.putBatch(b); err != nil {
			return err
		}
		return w.emit(evs)
	})
	return taken, err
}

// GetBatch implements coupon.Store.
func (s *Store) GetBatch(ctx context.Context, tenant, id string) (*coupon.Batch, error) {
	var b *coupon.Batch
	err := s.db.View(ctx, func(tx *bolt.Tx) (err error) {
		b, err = loadBatch(tx, tenant, id)
		return err
	})
	return b, err
}

// ListBatches implements coupon.Store.
func (s *Store) ListBatches(ctx context.Context, tenant, templateID string) ([]*coupon.Batch, error) {
	var out []*coupon.Batch
	prefix := boltx.Key(tenant, templateID, "")
	err := s.db.View(ctx, func(tx *bolt.Tx) error {
		out = nil
		c := tx.Bucket(bucketBatchesByTmpl).Cursor()
		for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix) && len(out) < coupon.MaxPageSize; k, _ = c.Next() {
			b, err := loadBatch(tx, tenant, string(k[len(prefix):]))
			if err != nil {
				return err
			}
			out = append(out, b)
		}
		return nil
	})
	return out, err
}

// RunningBatches implements coupon.Store.
func (s *Store) RunningBatches(ctx context.Context) ([]coupon.Ref, error) {
	var out []coupon.Ref
	err := s.db.View(ctx, func(tx *bolt.Tx) error {
		out = nil
		return tx.Bucket(bucketRunning).ForEach(func(k, _ []byte) error {
			i := indexOf0(k)
			if i < 0 {
				return fmt.Errorf("boltstore: malformed batch key %x", k)
			}
			out = append(out, coupon.Ref{Tenant: string(k[:i]), ID: string(k[i+1:])})
			return nil
		})
	})
	return out, err
}

// BatchCoupons implements coupon.Store.
func (s *Store) BatchCoupons(ctx context.Context, tenant, id, after string, limit int) ([]*coupon.Coupon, error) {
	prefix := boltx.Key(tenant, id, "")
	var start []byte
	if after != "" {
		start = boltx.Key(tenant, id, after)
	}
	var out []*coupon.Coupon
	err := s.db.View(ctx, func(tx *bolt.Tx) error {
		out = nil
		c := tx.Bucket(bucketBatchCoupons).Cursor()
		for k, _ := seek(c, prefix, start); k != nil && bytes.HasPrefix(k, prefix) && len(out) < limit; k, _ = c.Next() {
			cp, err := couponByID(tx, tenant, string(k[len(prefix):]))
			if err != nil {
				return err
			}
			if cp != nil {
				out = append(out, cp)
			}
		}
		return nil
	})
	return out, err
}
