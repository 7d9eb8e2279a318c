package boltstore

import (
	"context"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/huiyuan-dev/huiyuan/pkg/apperr"
	"github.com/huiyuan-dev/huiyuan/pkg/boltx"
	"github.com/huiyuan-dev/huiyuan/pkg/idempotency"
	"github.com/huiyuan-dev/huiyuan/pkg/ids"
	"github.com/huiyuan-dev/huiyuan/services/loyalty/internal/ledger"
	"github.com/huiyuan-dev/huiyuan/services/loyalty/internal/loyalty"

	storagev1 "github.com/huiyuan-dev/huiyuan/gen/huiyuan/loyalty/storage/v1"
)

// bookOp is a ledger operation on one book at now.
type bookOp func(set *loyalty.Settings, b *ledger.Book, now time.Time) ([]ledger.Txn, error)

// resultOf builds a request's answer from the book after the operation and what it posted.
type resultOf func(b *ledger.Book, posted []loyalty.Txn) (*storagev1.ResultRecord, error)

// mutate runs op on member's book in one write transaction: a retried request_id answers from
// its stored result; otherwise the book is loaded, op applied, its transactions posted and the
// book saved, and the answer stored with the request_id.
func (s *Store) mutate(ctx context.Context, tenant, member string, op bookOp, result resultOf) (*storagev1.ResultRecord, error) {
	now := s.clock.Now().UTC()
	var out *storagev1.ResultRecord
	err := s.w.Update(ctx, func(tx *bolt.Tx) error {
		out = nil
		if prev, ok, err := idempotency.Lookup(tx, ctx); err != nil || ok {
			if err == nil {
				out, err = replayed(prev)
			}
			return err
		}
		set, err := s.tenantSettings(tx, tenant)
		if err != nil {
			return err
		}
		w := s.begin(tx, tenant, set, now)
		b, due, err := w.book(member)
		if err != nil {
			return err
		}
		txns, err := op(set, b, now)
		if err != nil {
			// Nothing is written before op: let the rest of the writer's batch commit without
			// a rollback (many redemptions beyond a balance would otherwise re-run the batch).
			return boltx.Unwritten(err)
		}
		posted, err := w.post(b, txns)
		if err != nil {
			return err
		}
		if err := w.saveBook(b, due); err != nil {
			return err
		}
		if out, err = result(b, posted); err != nil {
			return err
		}
		return w.saveResult(ctx, out)
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// txnResult answers with the operation's own transaction.
func txnResult(_ *ledger.Book, posted []loyalty.Txn) (*storagev1.ResultRecord, error) {
	t := last(posted)
	return &storagev1.ResultRecord{Result: &storagev1.ResultRecord_Transaction{Transaction: toTxnRecord(&t)}}, nil
}

// holdResult answers with hold id as the book now has it.
func holdResult(id string) resultOf {
	return func(b *ledger.Book, _ []loyalty.Txn) (*storagev1.ResultRecord, error) {
		h, ok := b.FindHold(id)
		if !ok {
			return nil, fmt.Errorf("hold %s vanished from member %s's book", id, b.MemberID)
		}
		return &storagev1.ResultRecord{Result: &storagev1.ResultRecord_Hold{Hold: &storagev1.HoldResultRecord{
			MemberId: b.MemberID, Hold: toHoldRecord(&h)}}}, nil
	}
}

func txnOf(r *storagev1.ResultRecord) loyalty.Txn { return fromTxnRecord(r.GetTransaction()) }

func holdOf(r *storagev1.ResultRecord) loyalty.Hold {
	h := r.GetHold()
	return loyalty.Hold{MemberID: h.GetMemberId(), Hold: fromHoldRecord(h.GetHold())}
}

// Balance returns member's balance now (as if the book were settled now). A member with no
// book has a zero balance. Errors: storage errors.
func (s *Store) Balance(ctx context.Context, tenant, member string) (loyalty.Balance, error) {
	var rec storagev1.BookRecord
	var found bool
	var set *loyalty.Settings
	err := s.db.View(ctx, func(tx *bolt.Tx) (err error) {
		if set, err = s.tenantSettings(tx, tenant); err != nil {
			return err
		}
		found, err = boltx.GetProto(tx.Bucket(bucketBooks), boltx.Key(tenant, member), &rec)
		return err
	})
	if err != nil {
		return loyalty.Balance{}, err
	}
	out := loyalty.Balance{MemberID: member}
	if found {
		out.BalanceView = set.Ledger.Balance(fromBookRecord(&rec), s.clock.Now())
	}
	return out, nil
}

// Redeem spends points of member's available points, soonest-expiring lots first, with cause
// (redemption, reason, actor). Errors: FailedPrecondition INSUFFICIENT_POINTS; Invalid from the
// ledger; Invalid REQUEST_ID_REUSED.
func (s *Store) Redeem(ctx context.Context, tenant, member string, points int64, reason, actor string) (loyalty.Txn, error) {
	r, err := s.mutate(ctx, tenant, member, func(set *loyalty.Settings, b *ledger.Book, now time.Time) ([]ledger.Txn, error) {
		return set.Ledger.Redeem(b, ledger.RedeemRequest{Points: points, At: now,
			Cause: ledger.Cause{Type: ledger.CauseRedemption, Reason: reason, Actor: actor}})
	}, txnResult)
	if err != nil {
		return loyalty.Txn{}, err
	}
	return txnOf(r), nil
}

// Adjust posts an admin correction of signed points with reason by actor.
// Errors: FailedPrecondition INSUFFICIENT_POINTS (a debit beyond the available points),
// POINTS_LIMIT_EXCEEDED; Invalid from the ledger; Invalid REQUEST_ID_REUSED.
func (s *Store) Adjust(ctx context.Context, tenant, member string, points int64, reason, actor string) (loyalty.Txn, error) {
	r, err := s.mutate(ctx, tenant, member, func(set *loyalty.Settings, b *ledger.Book, now time.Time) ([]ledger.Txn, error) {
		return set.Ledger.Adjust(b, ledger.AdjustRequest{Points: points, Reason: reason, Actor: actor, At: now})
	}, txnResult)
	if err != nil {
		return loyalty.Txn{}, err
	}
	return txnOf(r), nil
}

// Hold reserves points of member's available points until expires (zero: the tenant's
// default hold timeout from now) under a new hold id, with the caller's reference.
// Errors: FailedPrecondition INSUFFICIENT_POINTS; Invalid on "expire_time" when it is not
// after now or beyond the tenant's longest hold; Invalid REQUEST_ID_REUSED.
func (s *Store) Hold(ctx context.Context, tenant, member string, points int64, expires time.Time, reference, actor string) (loyalty.Hold, error) {
	id := ids.New()
	r, err := s.mutate(ctx, tenant, member, func(set *loyalty.Settings, b *ledger.Book, now time.Time) ([]ledger.Txn, error) {
		until := expires
		if until.IsZero() {
			until = now.Add(set.HoldTimeout)
		}
		if set.MaxHoldTimeout > 0 && until.After(now.Add(set.MaxHoldTimeout)) {
			return nil, apperr.InvalidField("expire_time", "must be at most %s from now", set.MaxHoldTimeout)
		}
		return set.Ledger.Hold(b, ledger.HoldRequest{HoldID: id, Points: points, At: now, ExpiresAt: until,
			Cause: ledger.Cause{Type: ledger.CauseRedemption, Ref: reference, Actor: actor}})
	}, holdResult(id))
	if err != nil {
		return loyalty.Hold{}, err
	}
	return holdOf(r), nil
}

// Capture spends points (0: all) of member's open hold id and releases the rest.
// Errors: NotFound HOLD_NOT_FOUND; FailedPrecondition HOLD_CLOSED, HOLD_EXPIRED; Invalid
// "points" beyond what is held; Invalid REQUEST_ID_REUSED.
func (s *Store) Capture(ctx context.Context, tenant, member, id string, points int64) (loyalty.Hold, error) {
	r, err := s.mutate(ctx, tenant, member, func(set *loyalty.Settings, b *ledger.Book, now time.Time) ([]ledger.Txn, error) {
		return set.Ledger.Capture(b, ledger.CaptureRequest{HoldID: id, Points: points, At: now})
	}, holdResult(id))
	if err != nil {
		return loyalty.Hold{}, err
	}
	return holdOf(r), nil
}

// Release gives member's open hold id back; a hold that timed out meanwhile is released by
// the settlement and comes back EXPIRED. Errors: NotFound HOLD_NOT_FOUND; FailedPrecondition
// HOLD_CLOSED; Invalid REQUEST_ID_REUSED.
func (s *Store) Release(ctx context.Context, tenant, member, id, actor string) (loyalty.Hold, error) {
	r, err := s.mutate(ctx, tenant, member, func(set *loyalty.Settings, b *ledger.Book, now time.Time) ([]ledger.Txn, error) {
		return set.Ledger.Release(b, ledger.ReleaseRequest{HoldID: id, Actor: actor, At: now})
	}, holdResult(id))
	if err != nil {
		return loyalty.Hold{}, err
	}
	return holdOf(r), nil
}
