package boltstore

import (
	"bytes"
	"context"

	bolt "go.etcd.io/bbolt"
	"google.golang.org/protobuf/proto"

	"github.com/huiyuan-dev/huiyuan/pkg/apperr"
	"github.com/huiyuan-dev/huiyuan/pkg/boltx"
	"github.com/huiyuan-dev/huiyuan/services/member/internal/member"

	storagev1 "github.com/huiyuan-dev/huiyuan/gen/huiyuan/member/storage/v1"
)

// sealed is a member read in a transaction whose personal data is decrypted after it, so read
// transactions stay short.
type sealed struct {
	m       *member.Member
	rec     *storagev1.MemberRecord
	wrapped []byte // copy of the wrapped data key; nil for ViewRedacted or an erased member
}

func (s *Store) readOne(tx *bolt.Tx, tenant, id string, view member.View) (*sealed, error) {
	key := boltx.Key(tenant, id)
	rec := &storagev1.MemberRecord{}
	found, err := boltx.GetProto(tx.Bucket(bucketMembers), key, rec)
	if err != nil || !found {
		return nil, err
	}
	r := &sealed{m: fromRecord(rec), rec: rec}
	if view == member.ViewFull {
		r.wrapped = bytes.Clone(tx.Bucket(bucketKeys).Get(key))
	}
	return r, nil
}

func (s *Store) reveal(tenant string, r *sealed) (*member.Member, error) {
	if r.wrapped != nil {
		if _, err := s.open(tenant, r.rec, r.wrapped, r.m); err != nil {
			return nil, err
		}
	}
	return r.m, nil
}

// Get implements member.Store.
func (s *Store) Get(ctx context.Context, tenant, id string, view member.View) (*member.Member, error) {
	var r *sealed
	err := s.db.View(ctx, func(tx *bolt.Tx) (err error) {
		r, err = s.readOne(tx, tenant, id, view)
		return err
	})
	if err != nil {
		return nil, err
	}
	if r == nil {
		return nil, member.NotFoundError(id)
	}
	return s.reveal(tenant, r)
}

// Lookup implements member.Store.
func (s *Store) Lookup(ctx context.Context, tenant string, k member.LookupKey, view member.View) (*member.Member, error) {
	var bucket, idx []byte
	switch k.Kind {
	case member.ByPhone:
		bucket, idx = bucketPhone, s.index(tenant, kindPhone, k.Value)
	case member.ByEmail:
		bucket, idx = bucketEmail, s.index(tenant, kindEmail, k.Value)
	case member.ByIdentifier:
		bucket, idx = bucketIdent, s.identIndex(tenant, k.Identifier)
	default:
		return nil, apperr.E(apperr.Invalid, "INVALID_ARGUMENT", "unknown lookup kind")
	}
	var r *sealed
	err := s.db.View(ctx, func(tx *bolt.Tx) (err error) {
		id := tx.Bucket(bucket).Get(idx)
		if id == nil {
			return nil
		}
		r, err = s.readOne(tx, tenant, string(id), view)
		return err
	})
	if err != nil || r == nil {
		return nil, err
	}
	return s.reveal(tenant, r)
}

// List implements member.Store. It walks the tenant's members in key order (ids are UUIDv7,
// so registration order), applies the filter to the stored non-personal fields, and decrypts
// only the members it returns, after the read transaction.
func (s *Store) List(ctx context.Context, tenant string, q member.ListQuery) ([]*member.Member, string, error) {
	prefix := boltx.TenantPrefix(tenant)
	after, err := boltx.DecodePageToken(q.PageToken)
	if err != nil {
		return nil, "", err
	}
	if after != nil && !bytes.HasPrefix(after, prefix) {
		return nil, "", &apperr.Error{Code: apperr.Invalid, Reason: boltx.ReasonInvalidPageToken,
			Message:    "page_token is not a token this service issued",
			Violations: []apperr.FieldViolation{{Field: "page_token", Description: "not a valid page token"}}}
	}
	var (
		page []*sealed
		next string
	)
	err = s.db.View(ctx, func(tx *bolt.Tx) error {
		page, next = nil, ""
		keys := tx.Bucket(bucketKeys)
		c := tx.Bucket(bucketMembers).Cursor()
		k, v := c.Seek(prefix)
		if after != nil {
			if k, v = c.Seek(after); bytes.Equal(k, after) {
				k, v = c.Next()
			}
		}
		var last []byte // valid until the transaction ends; encoded before it does
		for scanned := 0; k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
			if len(page) == q.PageSize || scanned == s.scanLimit {
				// k exists, so there is more: resume after the last key read.
				next = boltx.EncodePageToken(last)
				return nil
			}
			scanned++
			last = k
			rec := &storagev1.MemberRecord{}
			if err := proto.Unmarshal(v, rec); err != nil {
				return err
			}
			m := fromRecord(rec)
			if !q.Filter.Match(m) {
				continue
			}
			r := &sealed{m: m, rec: rec}
			if q.View == member.ViewFull {
				r.wrapped = bytes.Clone(keys.Get(k))
			}
			page = append(page, r)
		}
		return nil
	})
	if err != nil {
		return nil, "", err
	}
	out := make([]*member.Member, len(page))
	for i, r := range page {
		if out[i], err = s.reveal(tenant, r); err != nil {
			return nil, "", err
		}
	}
	return out, next, nil
}
