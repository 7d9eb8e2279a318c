package boltstore

import (
	"bytes"
	"context"
	"fmt"
	"slices"

	bolt "go.etcd.io/bbolt"

	"github.com/huiyuan-dev/huiyuan/pkg/boltx"
	"github.com/huiyuan-dev/huiyuan/pkg/idempotency"
	"github.com/huiyuan-dev/huiyuan/pkg/pii"
	"github.com/huiyuan-dev/huiyuan/services/member/internal/member"
)

// Create implements member.Store. The data key, sealing and blind indexes are computed before
// the write transaction, so the single writer only checks, puts and appends. In the same
// transaction the member is enrolled in the tier programme (at the entry tier, which the
// record and the registration event then carry) and the member its referral code names is
// credited.
func (s *Store) Create(ctx context.Context, tenant string, m *member.Member, ev member.Event) (*member.Member, error) {
	sc := scope(tenant, m.ID)
	wrapped, dk, err := s.keys.NewDataKey(sc)
	if err != nil {
		return nil, fmt.Errorf("new data key: %w", err)
	}
	rec, err := s.seal(tenant, m, dk)
	if err != nil {
		return nil, err
	}
	key := boltx.Key(tenant, m.ID)
	identIdx := make([][]byte, len(m.Identifiers))
	for i, id := range m.Identifiers {
		identIdx[i] = s.identIndex(tenant, id)
	}
	var out *member.Member
	err = s.w.Update(ctx, func(tx *bolt.Tx) error {
		out = nil
		if prev, ok, err := s.replayRequest(ctx, tx, tenant); err != nil || ok {
			out = prev
			return err
		}
		if rec.PhoneIndex != nil {
			if err := claim(tx.Bucket(bucketPhone), indexKey(tenant, rec.PhoneIndex), m.ID, "phone", "member.phone", ""); err != nil {
				return err
			}
		}
		if rec.EmailIndex != nil {
			if err := claim(tx.Bucket(bucketEmail), indexKey(tenant, rec.EmailIndex), m.ID, "email", "member.email", ""); err != nil {
				return err
			}
		}
		for i, idx := range identIdx {
			if err := claim(tx.Bucket(bucketIdent), idx, m.ID, "identifier", member.IdentifierField(i), m.Identifiers[i].Type); err != nil {
				return err
			}
		}
		if err := tx.Bucket(bucketKeys).Put(key, wrapped); err != nil {
			return err
		}
		if err := s.enroll(tx, tenant, m, rec); err != nil {
			return err
		}
		raw, err := marshal.Marshal(rec) // with the tier enroll set
		if err != nil {
			return fmt.Errorf("marshal member: %w", err)
		}
		if err := s.persist(ctx, tx, tenant, key, raw, ev, m, dk); err != nil {
			return err
		}
		out = m.Clone()
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// Update implements member.Store.
func (s *Store) Update(ctx context.Context, tenant, id string, fn member.ChangeFunc) (*member.Member, error) {
	var out *member.Member
	err := s.w.Update(ctx, func(tx *bolt.Tx) error {
		out = nil
		if prev, ok, err := s.replayRequest(ctx, tx, tenant); err != nil || ok {
			out = prev
			return err
		}
		rec, m, dk, err := s.load(tx, tenant, id, true)
		if err != nil {
			return err
		}
		before := m.Clone()
		ev, err := fn(m)
		if err != nil {
			return err
		}
		key := boltx.Key(tenant, id)
		if ev == nil {
			out = m
			return s.saveAnswer(ctx, tx, tenant, id, tx.Bucket(bucketMembers).Get(key), dk)
		}
		if dk == nil {
			// Only an erased member has no data key, and the domain refuses to change one.
			return fmt.Errorf("member %s has no data key", id)
		}
		next, err := s.seal(tenant, m, dk)
		if err != nil {
			return err
		}
		if err := s.reindex(tx, tenant, rec.GetPhoneIndex(), next.GetPhoneIndex(), bucketPhone, id, "phone", "member.phone"); err != nil {
			return err
		}
		if err := s.reindex(tx, tenant, rec.GetEmailIndex(), next.GetEmailIndex(), bucketEmail, id, "email", "member.email"); err != nil {
			return err
		}
		if err := s.reindexIdentifiers(tx, tenant, id, before.Identifiers, m.Identifiers); err != nil {
			return err
		}
		raw, err := marshal.Marshal(next)
		if err != nil {
			return fmt.Errorf("marshal member: %w", err)
		}
		if err := s.persist(ctx, tx, tenant, key, raw, ev, m, dk); err != nil {
			return err
		}
		out = m
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// reindex moves a phone or email blind index from old to new (either may be empty); a new one
// another member holds is AlreadyExists on field.
func (s *Store) reindex(tx *bolt.Tx, tenant string, old, new []byte, bucket []byte, id, kind, field string) error {
	if bytes.Equal(old, new) {
		return nil
	}
	b := tx.Bucket(bucket)
	if len(old) > 0 {
		if err := release(b, indexKey(tenant, old), id); err != nil {
			return err
		}
	}
	if len(new) > 0 {
		return claim(b, indexKey(tenant, new), id, kind, field, "")
	}
	return nil
}

func (s *Store) reindexIdentifiers(tx *bolt.Tx, tenant, id string, before, after []member.Identifier) error {
	b := tx.Bucket(bucketIdent)
	for _, x := range before {
		if !slices.Contains(after, x) {
			if err := release(b, s.identIndex(tenant, x), id); err != nil {
				return err
			}
		}
	}
	for _, x := range after {
		if !slices.Contains(before, x) {
			if err := claim(b, s.identIndex(tenant, x), id, "identifier", "identifier", x.Type); err != nil {
				return err
			}
		}
	}
	return nil
}

// Erase implements member.Store: it deletes the wrapped data key, so every sealed copy of the
// member's personal data (the record and any idempotency snapshot) becomes unreadable, and
// releases the blind indexes so the phone, email and identifiers can register again.
func (s *Store) Erase(ctx context.Context, tenant, id string, fn member.ChangeFunc) (*member.Member, error) {
	var out *member.Member
	err := s.w.Update(ctx, func(tx *bolt.Tx) error {
		out = nil
		if prev, ok, err := s.replayRequest(ctx, tx, tenant); err != nil || ok {
			out = prev
			return err
		}
		rec, m, _, err := s.load(tx, tenant, id, false)
		if err != nil {
			return err
		}
		ev, err := fn(m)
		if err != nil {
			return err
		}
		key := boltx.Key(tenant, id)
		if ev == nil {
			out = m
			return s.saveAnswer(ctx, tx, tenant, id, tx.Bucket(bucketMembers).Get(key), nil)
		}
		if err := tx.Bucket(bucketKeys).Delete(key); err != nil {
			return err
		}
		if err := dropVerifications(tx, tenant, id); err != nil {
			return err
		}
		if len(rec.GetPhoneIndex()) > 0 {
			if err := release(tx.Bucket(bucketPhone), indexKey(tenant, rec.GetPhoneIndex()), id); err != nil {
				return err
			}
		}
		if len(rec.GetEmailIndex()) > 0 {
			if err := release(tx.Bucket(bucketEmail), indexKey(tenant, rec.GetEmailIndex()), id); err != nil {
				return err
			}
		}
		for _, x := range rec.GetIdentifiers() { // their values are sealed: release by the stored index
			if err := release(tx.Bucket(bucketIdent), indexKey(tenant, x.GetIndex()), id); err != nil {
				return err
			}
		}
		raw, err := marshal.Marshal(toRecord(m))
		if err != nil {
			return fmt.Errorf("marshal member: %w", err)
		}
		if err := s.persist(ctx, tx, tenant, key, raw, ev, m, nil); err != nil {
			return err
		}
		out = m
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// persist stores a member's record and, in the same transaction, the event the change caused and
// the request's answer, sealed under dk (nil after erasure): the tail every mutation shares.
func (s *Store) persist(ctx context.Context, tx *bolt.Tx, tenant string, key, raw []byte, ev member.Event, m *member.Member, dk *pii.DataKey) error {
	if err := tx.Bucket(bucketMembers).Put(key, raw); err != nil {
		return err
	}
	if err := s.appendEvent(tx, tenant, ev, m); err != nil {
		return err
	}
	return s.saveAnswer(ctx, tx, tenant, m.ID, raw, dk)
}

// saveAnswer records the request's answer, member id's record raw, sealed under dk when there
// is one (see answer). It does nothing for a request without request_id.
func (s *Store) saveAnswer(ctx context.Context, tx *bolt.Tx, tenant, id string, raw []byte, dk *pii.DataKey) error {
	if _, ok := idempotency.FromContext(ctx); !ok {
		return nil
	}
	a, err := s.answer(tenant, id, raw, dk)
	if err != nil {
		return err
	}
	return idempotency.Save(tx, ctx, a, s.clock.Now())
}

// replayRequest answers a retried request_id from the snapshot its first run stored: ok reports
// a replay (or err a request_id reused for another request), and the mutation then does nothing
// else in its transaction.
func (s *Store) replayRequest(ctx context.Context, tx *bolt.Tx, tenant string) (*member.Member, bool, error) {
	prev, ok, err := idempotency.Lookup(tx, ctx)
	if err != nil || !ok {
		return nil, ok, err
	}
	m, err := s.replay(tx, tenant, prev)
	return m, true, err
}
