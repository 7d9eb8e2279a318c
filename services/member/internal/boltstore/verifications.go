package boltstore

import (
	"bytes"
	"context"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"
	"google.golang.org/protobuf/proto"

	"github.com/huiyuan-dev/huiyuan/pkg/boltx"
	"github.com/huiyuan-dev/huiyuan/pkg/eventlog"
	"github.com/huiyuan-dev/huiyuan/pkg/idempotency"
	"github.com/huiyuan-dev/huiyuan/pkg/pii"
	"github.com/huiyuan-dev/huiyuan/services/member/internal/member"

	storagev1 "github.com/huiyuan-dev/huiyuan/gen/huiyuan/member/storage/v1"
	memberv1 "github.com/huiyuan-dev/huiyuan/gen/huiyuan/member/v1"
)

// Pending contact verifications: destination and code sealed under the member's data key, so
// erasure shreds them (and deletes them).
var (
	bucketVerifications = []byte("member_verifications")      // Key(tenant, id, verification) -> VerificationRecord
	bucketVerifyTimes   = []byte("member_verification_times") // U64 expiry + Key(tenant, id, verification) -> nothing
)

func verificationBuckets() [][]byte { return [][]byte{bucketVerifications, bucketVerifyTimes} }

// verificationAAD binds a sealed secret to its verification.
func verificationAAD(tenant, id, vid string) []byte {
	return []byte(scope(tenant, id) + "/verifications/" + vid)
}

// memberVerifications returns member id's stored verifications (secrets sealed).
func memberVerifications(tx *bolt.Tx, tenant, id string) ([]*storagev1.VerificationRecord, error) {
	prefix := append(boltx.Key(tenant, id), 0)
	var out []*storagev1.VerificationRecord
	c := tx.Bucket(bucketVerifications).Cursor()
	for k, v := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
		r := &storagev1.VerificationRecord{}
		if err := proto.Unmarshal(v, r); err != nil {
			return nil, fmt.Errorf("decode verification: %w", err)
		}
		out = append(out, r)
	}
	return out, nil
}

// dropVerification deletes r and its expiry entry.
func dropVerification(tx *bolt.Tx, tenant string, r *storagev1.VerificationRecord) error {
	key := boltx.Key(tenant, r.GetMemberId(), r.GetId())
	if err := tx.Bucket(bucketVerifications).Delete(key); err != nil {
		return err
	}
	return tx.Bucket(bucketVerifyTimes).Delete(append(boltx.U64(uint64(nanos(tm(r.GetExpireTime())))), key...))
}

// putVerification stores r and its expiry entry.
func putVerification(tx *bolt.Tx, tenant string, r *storagev1.VerificationRecord) error {
	key := boltx.Key(tenant, r.GetMemberId(), r.GetId())
	if err := boltx.PutProto(tx.Bucket(bucketVerifications), key, r); err != nil {
		return err
	}
	return tx.Bucket(bucketVerifyTimes).Put(append(boltx.U64(uint64(nanos(tm(r.GetExpireTime())))), key...), nil)
}

// dropVerifications deletes every verification of member id (at erasure).
func dropVerifications(tx *bolt.Tx, tenant, id string) error {
	rs, err := memberVerifications(tx, tenant, id)
	if err != nil {
		return err
	}
	for _, r := range rs {
		if err := dropVerification(tx, tenant, r); err != nil {
			return err
		}
	}
	return nil
}

// RequestVerification implements member.Store.
func (s *Store) RequestVerification(ctx context.Context, tenant, id string, fn member.RequestFunc) (*member.Verification, error) {
	var out *member.Verification
	err := s.w.Update(ctx, func(tx *bolt.Tx) error {
		out = nil
		var r storagev1.VerificationRecord
		if replay, err := replayed(ctx, tx, &r); err != nil || replay {
			if err == nil {
				out = fromVerificationRecord(&r)
			}
			return err
		}
		_, m, dk, err := s.load(tx, tenant, id, true)
		if err != nil {
			return boltx.Unwritten(err)
		}
		stored, err := memberVerifications(tx, tenant, id)
		if err != nil {
			return err
		}
		pending := make([]member.Verification, len(stored))
		for i, r := range stored {
			pending[i] = *fromVerificationRecord(r)
		}
		v, err := fn(m, pending)
		if err != nil {
			return boltx.Unwritten(err)
		}
		if dk == nil {
			return fmt.Errorf("member %s has no data key", id) // erased: the domain refuses first
		}
		for _, r := range stored {
			if member.Medium(r.GetMedium()) == v.Medium { // the new code replaces the old
				if err := dropVerification(tx, tenant, r); err != nil {
					return err
				}
			}
		}
		rec, err := sealVerification(tenant, v, dk)
		if err != nil {
			return err
		}
		if err := putVerification(tx, tenant, rec); err != nil {
			return err
		}
		ev := v.Requested()
		payload := &memberv1.VerificationCodeRequestedEvent{MemberId: ev.MemberID, VerificationId: ev.VerificationID,
			Channel: memberv1.ContactVerification_Medium(ev.Medium), ExpireTime: ts(ev.ExpireTime)}
		name := eventlog.TypeName(memberv1.EventType_VERIFICATION_CODE_REQUESTED)
		if _, err := s.log.Append(tx, tenant, name, payload, ev.At); err != nil {
			return fmt.Errorf("append %s: %w", name, err)
		}
		answer := proto.CloneOf(rec)
		answer.SealedSecret = nil // the answer shows neither destination nor code
		raw, err := marshal.Marshal(answer)
		if err != nil {
			return fmt.Errorf("marshal verification: %w", err)
		}
		out = v
		return idempotency.Save(tx, ctx, raw, s.clock.Now())
	})
	return out, err
}

// ConfirmVerification implements member.Store.
func (s *Store) ConfirmVerification(ctx context.Context, tenant, id, vid string, fn member.ConfirmFunc) (*member.Member, error) {
	var (
		out     *member.Member
		refusal error
	)
	err := s.w.Update(ctx, func(tx *bolt.Tx) error {
		out, refusal = nil, nil
		if prev, ok, err := s.replayRequest(ctx, tx, tenant); err != nil || ok {
			out = prev
			return err
		}
		rec, m, dk, err := s.load(tx, tenant, id, true)
		if err != nil {
			return boltx.Unwritten(err)
		}
		vrec, v, err := s.loadVerification(tx, tenant, id, vid, dk)
		if err != nil {
			return boltx.Unwritten(err)
		}
		before := m.Clone()
		ev, err := fn(m, v)
		if err != nil {
			// The attempt counts: commit what fn left of v, and answer the refusal after.
			refusal = err
			if v.AttemptsLeft <= 0 {
				return dropVerification(tx, tenant, vrec)
			}
			vrec.AttemptsLeft = int32(v.AttemptsLeft)
			return putVerification(tx, tenant, vrec)
		}
		next, err := s.seal(tenant, m, dk)
		if err != nil {
			return err
		}
		for _, x := range []struct {
			old, new, bucket []byte
			kind             string
		}{{rec.GetPhoneIndex(), next.GetPhoneIndex(), bucketPhone, "phone"}, {rec.GetEmailIndex(), next.GetEmailIndex(), bucketEmail, "email"}} {
			if err := s.reindex(tx, tenant, x.old, x.new, x.bucket, id, x.kind, "verification_id"); err != nil {
				return err
			}
		}
		if err := s.reindexIdentifiers(tx, tenant, id, before.Identifiers, m.Identifiers); err != nil {
			return err
		}
		if err := dropVerification(tx, tenant, vrec); err != nil {
			return err
		}
		raw, err := marshal.Marshal(next)
		if err != nil {
			return fmt.Errorf("marshal member: %w", err)
		}
		if err := s.persist(ctx, tx, tenant, boltx.Key(tenant, id), raw, ev, m, dk); err != nil {
			return err
		}
		out = m
		return nil
	})
	if err != nil {
		return nil, err
	}
	if refusal != nil {
		return nil, refusal
	}
	return out, nil
}

// loadVerification reads member id's verification vid and opens its secret with dk.
// Errors: NotFound (VERIFICATION_NOT_FOUND).
func (s *Store) loadVerification(tx *bolt.Tx, tenant, id, vid string, dk *pii.DataKey) (*storagev1.VerificationRecord, *member.Verification, error) {
	rec := &storagev1.VerificationRecord{}
	found, err := boltx.GetProto(tx.Bucket(bucketVerifications), boltx.Key(tenant, id, vid), rec)
	if err != nil {
		return nil, nil, err
	}
	if !found || dk == nil {
		return nil, nil, member.VerificationNotFound(vid)
	}
	v, err := openVerification(tenant, rec, dk)
	return rec, v, err
}

// Verification implements member.Store.
func (s *Store) Verification(ctx context.Context, tenant, id, vid string) (*member.Verification, error) {
	var (
		rec     *storagev1.VerificationRecord
		wrapped []byte
	)
	err := s.db.View(ctx, func(tx *bolt.Tx) error {
		rec = &storagev1.VerificationRecord{}
		found, err := boltx.GetProto(tx.Bucket(bucketVerifications), boltx.Key(tenant, id, vid), rec)
		if err != nil {
			return err
		}
		if !found {
			rec = nil
			return nil
		}
		wrapped = bytes.Clone(tx.Bucket(bucketKeys).Get(boltx.Key(tenant, id)))
		return nil
	})
	if err != nil {
		return nil, err
	}
	if rec == nil || wrapped == nil {
		return nil, member.VerificationNotFound(vid)
	}
	dk, err := s.keys.OpenDataKey(scope(tenant, id), wrapped)
	if err != nil {
		return nil, fmt.Errorf("open data key of member %s: %w", id, err)
	}
	return openVerification(tenant, rec, dk)
}

// PruneVerifications deletes up to limit verifications expired at now and returns how many.
func (s *Store) PruneVerifications(ctx context.Context, now time.Time, limit int) (int, error) {
	return s.pruneExpired(ctx, bucketVerifyTimes, bucketVerifications, now, limit)
}

func sealVerification(tenant string, v *member.Verification, dk *pii.DataKey) (*storagev1.VerificationRecord, error) {
	secret, err := marshal.Marshal(&storagev1.VerificationSecret{Destination: v.Destination, Code: v.Code})
	if err != nil {
		return nil, fmt.Errorf("marshal verification secret: %w", err)
	}
	sealed, err := dk.Seal(secret, verificationAAD(tenant, v.MemberID, v.ID))
	if err != nil {
		return nil, fmt.Errorf("seal verification secret: %w", err)
	}
	return &storagev1.VerificationRecord{Id: v.ID, MemberId: v.MemberID, Medium: storagev1.VerificationRecord_StoredMedium(v.Medium),
		SealedSecret: sealed, CreateTime: ts(v.CreateTime), ExpireTime: ts(v.ExpireTime), AttemptsLeft: int32(v.AttemptsLeft)}, nil
}

func openVerification(tenant string, r *storagev1.VerificationRecord, dk *pii.DataKey) (*member.Verification, error) {
	v := fromVerificationRecord(r)
	plain, err := dk.Open(r.GetSealedSecret(), verificationAAD(tenant, r.GetMemberId(), r.GetId()))
	if err != nil {
		return nil, fmt.Errorf("open verification %s: %w", r.GetId(), err)
	}
	var sec storagev1.VerificationSecret
	if err := proto.Unmarshal(plain, &sec); err != nil {
		return nil, fmt.Errorf("decode verification %s: %w", r.GetId(), err)
	}
	v.Destination, v.Code = sec.GetDestination(), sec.GetCode()
	return v, nil
}

// fromVerificationRecord is r without its secret.
func fromVerificationRecord(r *storagev1.VerificationRecord) *member.Verification {
	return &member.Verification{ID: r.GetId(), MemberID: r.GetMemberId(), Medium: member.Medium(r.GetMedium()),
		CreateTime: tm(r.GetCreateTime()), ExpireTime: tm(r.GetExpireTime()), AttemptsLeft: int(r.GetAttemptsLeft())}
}
