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
	"github.com/huiyuan-dev/huiyuan/services/member/internal/member"

	storagev1 "github.com/huiyuan-dev/huiyuan/gen/huiyuan/member/storage/v1"
	memberv1 "github.com/huiyuan-dev/huiyuan/gen/huiyuan/member/v1"
)

// Member token buckets: no tokens are kept, only what revokes them.
var (
	bucketTokenGen     = []byte("member_token_generations")      // Key(tenant, id) -> U64 generation
	bucketTokenRevoked = []byte("member_token_revocations")      // Key(tenant, id, token) -> U64 keep-until nanos
	bucketTokenExpiry  = []byte("member_token_revocation_times") // U64 keep-until + Key(tenant, id, token) -> nothing
)

func tokenBuckets() [][]byte { return [][]byte{bucketTokenGen, bucketTokenRevoked, bucketTokenExpiry} }

// TokenState implements member.Store: one short read of the member's record, generation and the
// token's own revocation.
func (s *Store) TokenState(ctx context.Context, tenant, id, tokenID string) (member.TokenState, error) {
	var st member.TokenState
	err := s.db.View(ctx, func(tx *bolt.Tx) error {
		var err error
		st, err = tokenState(tx, tenant, id, tokenID)
		return err
	})
	return st, err
}

func tokenState(tx *bolt.Tx, tenant, id, tokenID string) (member.TokenState, error) {
	var rec storagev1.MemberRecord
	found, err := boltx.GetProto(tx.Bucket(bucketMembers), boltx.Key(tenant, id), &rec)
	if err != nil {
		return member.TokenState{}, err
	}
	if !found {
		return member.TokenState{}, member.NotFoundError(id)
	}
	st := member.TokenState{Status: member.Status(rec.GetStatus()), Generation: boltx.ParseU64(tx.Bucket(bucketTokenGen).Get(boltx.Key(tenant, id)))}
	if tokenID != "" {
		st.Revoked = tx.Bucket(bucketTokenRevoked).Get(boltx.Key(tenant, id, tokenID)) != nil
	}
	return st, nil
}

// RevokeTokens implements member.Store.
func (s *Store) RevokeTokens(ctx context.Context, tenant, id string, fn func(member.TokenState) (member.TokensRevoked, error)) (member.TokensRevoked, error) {
	var out member.TokensRevoked
	err := s.w.Update(ctx, func(tx *bolt.Tx) error {
		var r storagev1.TokenRevocationRecord
		if replay, err := replayed(ctx, tx, &r); err != nil || replay {
			out = fromRevocationRecord(&r)
			return err
		}
		st, err := tokenState(tx, tenant, id, "")
		if err != nil {
			return boltx.Unwritten(err)
		}
		rev, err := fn(st)
		if err != nil {
			return boltx.Unwritten(err)
		}
		if err := s.revoke(tx, tenant, rev); err != nil {
			return err
		}
		raw, err := marshal.Marshal(toRevocationRecord(rev))
		if err != nil {
			return fmt.Errorf("marshal revocation: %w", err)
		}
		out = rev
		return idempotency.Save(tx, ctx, raw, s.clock.Now())
	})
	return out, err
}

// revoke applies rev in tx and records its event: every token of the member by raising its
// generation, one token by remembering its id until it has surely expired.
func (s *Store) revoke(tx *bolt.Tx, tenant string, rev member.TokensRevoked) error {
	if rev.TokenID == "" {
		b, key := tx.Bucket(bucketTokenGen), boltx.Key(tenant, rev.MemberID)
		if err := b.Put(key, boltx.U64(boltx.ParseU64(b.Get(key))+1)); err != nil {
			return err
		}
	} else {
		key := boltx.Key(tenant, rev.MemberID, rev.TokenID)
		b := tx.Bucket(bucketTokenRevoked)
		if old := b.Get(key); old != nil { // revoked again: move its expiry entry
			if err := tx.Bucket(bucketTokenExpiry).Delete(append(bytes.Clone(old), key...)); err != nil {
				return err
			}
		}
		keep := boltx.U64(uint64(nanos(rev.KeepUntil)))
		if err := b.Put(key, keep); err != nil {
			return err
		}
		if err := tx.Bucket(bucketTokenExpiry).Put(append(keep, key...), nil); err != nil {
			return err
		}
	}
	payload := &memberv1.MemberTokensRevokedEvent{MemberId: rev.MemberID, TokenId: rev.TokenID,
		Cause: memberv1.MemberTokensRevokedEvent_Cause(rev.Cause), RevokeTime: ts(rev.At)}
	name := eventlog.TypeName(memberv1.EventType_MEMBER_TOKENS_REVOKED)
	if _, err := s.log.Append(tx, tenant, name, payload, rev.At); err != nil {
		return fmt.Errorf("append %s: %w", name, err)
	}
	return nil
}

// PruneTokenRevocations forgets up to limit single-token revocations that no longer matter at
// now (their tokens have expired) and returns how many it forgot.
func (s *Store) PruneTokenRevocations(ctx context.Context, now time.Time, limit int) (int, error) {
	return s.pruneExpired(ctx, bucketTokenExpiry, bucketTokenRevoked, now, limit)
}

// pruneExpired deletes, in one transaction, up to limit entries of index (U64 time + key, as
// written with the entries) before now, and the entries under key in data; it returns how many.
func (s *Store) pruneExpired(ctx context.Context, index, data []byte, now time.Time, limit int) (int, error) {
	n := 0
	err := s.w.Update(ctx, func(tx *bolt.Tx) error {
		n = 0
		end := boltx.U64(uint64(now.UnixNano()))
		c := tx.Bucket(index).Cursor()
		entries := tx.Bucket(data)
		for k, _ := c.First(); k != nil && bytes.Compare(k, end) < 0 && n < limit; k, _ = c.First() {
			if len(k) > 8 {
				if err := entries.Delete(k[8:]); err != nil {
					return err
				}
			}
			if err := c.Delete(); err != nil {
				return err
			}
			n++
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("prune %s: %w", data, err)
	}
	return n, nil
}

func toRevocationRecord(r member.TokensRevoked) *storagev1.TokenRevocationRecord {
	return &storagev1.TokenRevocationRecord{MemberId: r.MemberID, TokenId: r.TokenID,
		Cause: storagev1.TokenRevocationRecord_StoredCause(r.Cause), RevokeTime: ts(r.At), KeepUntil: ts(r.KeepUntil)}
}

func fromRevocationRecord(r *storagev1.TokenRevocationRecord) member.TokensRevoked {
	return member.TokensRevoked{MemberID: r.GetMemberId(), TokenID: r.GetTokenId(), Cause: member.RevokeCause(r.GetCause()),
		At: tm(r.GetRevokeTime()), KeepUntil: tm(r.GetKeepUntil())}
}

// replayed decodes into answer the answer stored for the request in ctx, reporting whether there
// was one (the mutation then does nothing else).
func replayed(ctx context.Context, tx *bolt.Tx, answer proto.Message) (bool, error) {
	prev, ok, err := idempotency.Lookup(tx, ctx)
	if err != nil || !ok {
		return false, err
	}
	if err := proto.Unmarshal(prev, answer); err != nil {
		return true, fmt.Errorf("decode idempotent result: %w", err)
	}
	return true, nil
}
