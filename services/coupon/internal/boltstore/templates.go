package boltstore

import (
	"bytes"
	"context"
	"fmt"

	bolt "go.etcd.io/bbolt"
	"google.golang.org/protobuf/proto"

	"github.com/huiyuan-dev/huiyuan/pkg/apperr"
	"github.com/huiyuan-dev/huiyuan/pkg/boltx"
	"github.com/huiyuan-dev/huiyuan/services/coupon/internal/coupon"

	storagev1 "github.com/huiyuan-dev/huiyuan/gen/huiyuan/coupon/storage/v1"
)

// loadTemplate reads template id and its issued count in tx.
func loadTemplate(tx *bolt.Tx, tenant, id string) (*coupon.Template, int64, error) {
	key := boltx.Key(tenant, id)
	var rec storagev1.TemplateRecord
	found, err := boltx.GetProto(tx.Bucket(bucketTemplates), key, &rec)
	if err != nil {
		return nil, 0, err
	}
	if !found {
		return nil, 0, coupon.TemplateNotFound(id)
	}
	return fromTemplateRecord(&rec), int64(boltx.ParseU64(tx.Bucket(bucketStock).Get(key))), nil
}

// templateReplay answers a retried template mutation: the template as first answered, with the
// issued count as it is now.
func templateReplay(tenant string) func(*bolt.Tx, []byte) (coupon.TemplateView, error) {
	decode := answerOf(fromTemplateRecord)
	return func(tx *bolt.Tx, prev []byte) (coupon.TemplateView, error) {
		t, err := decode(tx, prev)
		if err != nil {
			return coupon.TemplateView{}, err
		}
		return coupon.TemplateView{Template: t, Issued: int64(boltx.ParseU64(tx.Bucket(bucketStock).Get(boltx.Key(tenant, t.ID))))}, nil
	}
}

// CreateTemplate implements coupon.Store.
func (s *Store) CreateTemplate(ctx context.Context, tenant string, t *coupon.Template, evs []coupon.Event) (*coupon.Template, error) {
	var out *coupon.Template
	err := s.w.Update(ctx, func(tx *bolt.Tx) error {
		w := s.begin(ctx, tx, tenant)
		var tv coupon.TemplateView
		if done, err := replayed(w, &tv, templateReplay(tenant)); done {
			out = tv.Template
			return err
		}
		raw, err := w.put(bucketTemplates, boltx.Key(tenant, t.ID), templateRecord(t))
		if err != nil {
			return err
		}
		if err := w.emit(evs); err != nil {
			return err
		}
		out = t.Clone()
		return w.answer(raw)
	})
	return out, err
}

// UpdateTemplate implements coupon.Store.
func (s *Store) UpdateTemplate(ctx context.Context, tenant, id string, fn func(t *coupon.Template, issued int64) ([]coupon.Event, error)) (coupon.TemplateView, error) {
	var out coupon.TemplateView
	err := s.w.Update(ctx, func(tx *bolt.Tx) error {
		w := s.begin(ctx, tx, tenant)
		if done, err := replayed(w, &out, templateReplay(tenant)); done {
			return err
		}
		t, issued, err := loadTemplate(tx, tenant, id)
		if err != nil {
			return boltx.Unwritten(err)
		}
		evs, err := fn(t, issued)
		if err != nil {
			return boltx.Unwritten(err)
		}
		out = coupon.TemplateView{Template: t, Issued: issued}
		key := boltx.Key(tenant, id)
		if evs == nil {
			return w.answer(bytes.Clone(tx.Bucket(bucketTemplates).Get(key)))
		}
		raw, err := w.put(bucketTemplates, key, templateRecord(t))
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

// GetTemplate implements coupon.Store.
func (s *Store) GetTemplate(ctx context.Context, tenant, id string) (coupon.TemplateView, error) {
	var out coupon.TemplateView
	err := s.db.View(ctx, func(tx *bolt.Tx) error {
		t, issued, err := loadTemplate(tx, tenant, id)
		out = coupon.TemplateView{Template: t, Issued: issued}
		return err
	})
	return out, err
}

// ListTemplates implements coupon.Store.
func (s *Store) ListTemplates(ctx context.Context, tenant string, status coupon.Status, p coupon.Page) ([]coupon.TemplateView, string, error) {
	prefix := boltx.TenantPrefix(tenant)
	after, err := pageStart(p.Token, prefix)
	if err != nil {
		return nil, "", err
	}
	var out []coupon.TemplateView
	var next string
	err = s.db.View(ctx, func(tx *bolt.Tx) error {
		out, next = nil, ""
		stock := tx.Bucket(bucketStock)
		c := tx.Bucket(bucketTemplates).Cursor()
		var last []byte
		scanned := 0
		for k, v := seek(c, prefix, after); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
			if len(out) == p.Size || scanned == scanLimit {
				next = boltx.EncodePageToken(last)
				return nil
			}
			scanned++
			last = k
			var rec storagev1.TemplateRecord
			if err := proto.Unmarshal(v, &rec); err != nil {
				return fmt.Errorf("decode template: %w", err)
			}
			t := fromTemplateRecord(&rec)
			if status != coupon.StatusUnspecified && t.Status != status {
				continue
			}
			out = append(out, coupon.TemplateView{Template: t, Issued: int64(boltx.ParseU64(stock.Get(k)))})
		}
		return nil
	})
	return out, next, err
}

// pageStart decodes a page token and checks it belongs under prefix (the tenant's, or narrower).
func pageStart(token string, prefix []byte) ([]byte, error) {
	after, err := boltx.DecodePageToken(token)
	if err != nil {
		return nil, err
	}
	if after != nil && !bytes.HasPrefix(after, prefix) {
		return nil, &apperr.Error{Code: apperr.Invalid, Reason: boltx.ReasonInvalidPageToken,
			Message:    "page_token is not a token this service issued",
			Violations: []apperr.FieldViolation{{Field: "page_token", Description: "not a valid page token"}}}
	}
	return after, nil
}

// seek positions c at the first key after after (or at prefix when after is nil).
func seek(c *bolt.Cursor, prefix, after []byte) ([]byte, []byte) {
	if after == nil {
		return c.Seek(prefix)
	}
	k, v := c.Seek(after)
	if bytes.Equal(k, after) {
		return c.Next()
	}
	return k, v
}
