package boltstore

import (
	"bytes"
	"context"
	"fmt"
	"strconv"
	"time"

	bolt "go.etcd.io/bbolt"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/huiyuan-dev/huiyuan/pkg/apperr"
	"github.com/huiyuan-dev/huiyuan/pkg/boltx"
	"github.com/huiyuan-dev/huiyuan/pkg/ids"
	"github.com/huiyuan-dev/huiyuan/services/loyalty/internal/ledger"
	"github.com/huiyuan-dev/huiyuan/services/loyalty/internal/loyalty"

	loyaltyv1 "github.com/huiyuan-dev/huiyuan/gen/huiyuan/loyalty/v1"
)

// MaxListed bounds ListRewards and ListRedemptions: the newest this many.
const MaxListed = 1000

// CreateReward adds r (validated: title, kind, cost_points, stock, active) to tenant's
// catalogue under a new id and returns it. Errors: Invalid REQUEST_ID_REUSED; storage errors.
func (s *Store) CreateReward(ctx context.Context, tenant string, r *loyaltyv1.Reward) (*loyaltyv1.Reward, error) {
	now := s.clock.Now().UTC()
	out := &loyaltyv1.Reward{}
	err := s.runIdem(ctx, out, func(tx *bolt.Tx) error {
		proto.Merge(out, r)
		out.Id, out.CreateTime = ids.New(), timestamppb.New(now)
		if out.Kind != loyaltyv1.Reward_GOODS {
			out.Stock = 0
		}
		return boltx.PutProto(tx.Bucket(bucketRewards), boltx.Key(tenant, out.Id), out)
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// ListRewards returns tenant's catalogue, oldest first, at most MaxListed rewards.
// Errors: storage errors.
func (s *Store) ListRewards(ctx context.Context, tenant string) ([]*loyaltyv1.Reward, error) {
	var out []*loyaltyv1.Reward
	err := s.db.View(ctx, func(tx *bolt.Tx) error {
		out = out[:0]
		prefix := boltx.TenantPrefix(tenant)
		c := tx.Bucket(bucketRewards).Cursor()
		for k, v := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix) && len(out) < MaxListed; k, v = c.Next() {
			r := &loyaltyv1.Reward{}
			if err := proto.Unmarshal(v, r); err != nil {
				return fmt.Errorf("decode reward %q: %w", k[len(prefix):], err)
			}
			out = append(out, r)
		}
		return nil
	})
	return out, err
}

// rtx is a write transaction's access to a tenant's rewards and redemptions.
type rtx struct {
	*wtx
}

func (r rtx) reward(id string) (*loyaltyv1.Reward, error) {
	out := &loyaltyv1.Reward{}
	found, err := boltx.GetProto(r.tx.Bucket(bucketRewards), boltx.Key(r.tenant, id), out)
	if err != nil {
		return nil, fmt.Errorf("load reward %s: %w", id, err)
	}
	if !found {
		return nil, apperr.E(apperr.NotFound, loyalty.ReasonRewardNotFound, "reward %s not found", id)
	}
	return out, nil
}

func (r rtx) saveRedemption(red *loyaltyv1.RewardRedemption, eventType string) error {
	if err := boltx.PutProto(r.tx.Bucket(bucketRedemptions), boltx.Key(r.tenant, red.Id), red); err != nil {
		return fmt.Errorf("save redemption %s: %w", red.Id, err)
	}
	idx := append(boltx.Key(r.tenant, red.MemberId), 0)
	if err := r.tx.Bucket(bucketMemberRedemptions).Put(append(idx, red.Id...), nil); err != nil {
		return err
	}
	return r.emit(eventType, red, r.now)
}

// apply runs a ledger operation on member's book and posts and saves what it did.
func (r rtx) apply(member string, op func(b *ledger.Book) ([]ledger.Txn, error)) error {
	b, due, err := r.book(member)
	if err != nil {
		return err
	}
	txns, err := op(b)
	if err != nil {
		return err
	}
	if _, err := r.post(b, txns); err != nil {
		return err
	}
	return r.saveBook(b, due)
}

// RedeemReward buys quantity of reward id for member with points, in one write transaction:
// goods take the points at once and lower the stock (ORDERED); external rewards hold the
// points, under a hold named after the redemption that lasts the tenant's longest hold
// timeout, until UpdateRedemption reports the outcome (PENDING). It records reward_redeemed.
// Errors: NotFound REWARD_NOT_FOUND; FailedPrecondition REWARD_INACTIVE, OUT_OF_STOCK,
// INSUFFICIENT_POINTS; Invalid "quantity" when the price overflows; Invalid
// REQUEST_ID_REUSED; storage errors.
func (s *Store) RedeemReward(ctx context.Context, tenant, member, id string, quantity int64, actor string) (*loyaltyv1.RewardRedemption, error) {
	now := s.clock.Now().UTC()
	rid := ids.New()
	out := &loyaltyv1.RewardRedemption{}
	err := s.runIdem(ctx, out, func(tx *bolt.Tx) error {
		set, err := s.tenantSettings(tx, tenant)
		if err != nil {
			return err
		}
		r := rtx{s.begin(tx, tenant, set, now)}
		rw, err := r.reward(id)
		if err != nil {
			return err
		}
		if !rw.Active {
			return apperr.E(apperr.FailedPrecondition, loyalty.ReasonRewardInactive, "reward %s is not active", id)
		}
		if rw.CostPoints <= 0 || quantity > ledger.MaxPoints/rw.CostPoints {
			return apperr.InvalidField("quantity", "the price must be at most %d points", ledger.MaxPoints)
		}
		points := rw.CostPoints * quantity
		cause := ledger.Cause{Type: ledger.CauseRedemption, Ref: rid, Reason: "reward " + id, Actor: actor}
		status := loyaltyv1.RewardRedemption_ORDERED
		switch rw.Kind {
		case loyaltyv1.Reward_GOODS:
			if rw.Stock < quantity {
				return apperr.E(apperr.FailedPrecondition, loyalty.ReasonOutOfStock, "reward %s has %d left", id, rw.Stock).
					With("stock", strconv.FormatInt(rw.Stock, 10))
			}
			err = r.apply(member, func(b *ledger.Book) ([]ledger.Txn, error) {
				return set.Ledger.Redeem(b, ledger.RedeemRequest{Points: points, Cause: cause, At: now})
			})
			if err != nil {
				return err
			}
			rw.Stock -= quantity
			if err := boltx.PutProto(tx.Bucket(bucketRewards), boltx.Key(tenant, id), rw); err != nil {
				return fmt.Errorf("save reward %s: %w", id, err)
			}
		case loyaltyv1.Reward_EXTERNAL:
			status = loyaltyv1.RewardRedemption_PENDING
			err = r.apply(member, func(b *ledger.Book) ([]ledger.Txn, error) {
				return set.Ledger.Hold(b, ledger.HoldRequest{HoldID: rid, Points: points, Cause: cause, At: now,
					ExpiresAt: now.Add(max(set.MaxHoldTimeout, time.Minute))})
			})
			if err != nil {
				return err
			}
		default:
			return fmt.Errorf("reward %s has unknown kind %v", id, rw.Kind)
		}
		ts := timestamppb.New(now)
		*out = loyaltyv1.RewardRedemption{Id: rid, MemberId: member, RewardId: id, Quantity: quantity, Points: points,
			Status: status, CreateTime: ts, UpdateTime: ts}
		return r.saveRedemption(out, "reward_redeemed")
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// canMove reports whether a redemption may go from status from to status to.
func canMove(from, to loyaltyv1.RewardRedemption_Status) bool {
	switch from {
	case loyaltyv1.RewardRedemption_ORDERED:
		return to == loyaltyv1.RewardRedemption_SHIPPED || to == loyaltyv1.RewardRedemption_CANCELLED
	case loyaltyv1.RewardRedemption_SHIPPED:
		return to == loyaltyv1.RewardRedemption_DELIVERED || to == loyaltyv1.RewardRedemption_CANCELLED
	case loyaltyv1.RewardRedemption_PENDING:
		return to == loyaltyv1.RewardRedemption_FULFILLED || to == loyaltyv1.RewardRedemption_FAILED
	}
	return false
}

// UpdateRedemption moves redemption id to status in one write transaction. Cancelling goods
// credits the points back (an ADJUST by actor) and restores the stock; FULFILLED captures the
// external reward's hold and FAILED releases it. Asking for the status it already has
// changes nothing, so a fulfiller's retry never captures twice. It records
// reward_redemption_updated. Errors: NotFound REDEMPTION_NOT_FOUND; FailedPrecondition
// INVALID_STATUS_TRANSITION, HOLD_EXPIRED (the points' hold timed out before FULFILLED);
// Invalid REQUEST_ID_REUSED; storage errors.
func (s *Store) UpdateRedemption(ctx context.Context, tenant, id string, status loyaltyv1.RewardRedemption_Status, actor string) (*loyaltyv1.RewardRedemption, error) {
	now := s.clock.Now().UTC()
	if actor == "" {
		actor = "system"
	}
	out := &loyaltyv1.RewardRedemption{}
	err := s.runIdem(ctx, out, func(tx *bolt.Tx) error {
		set, err := s.tenantSettings(tx, tenant)
		if err != nil {
			return err
		}
		r := rtx{s.begin(tx, tenant, set, now)}
		found, err := boltx.GetProto(tx.Bucket(bucketRedemptions), boltx.Key(tenant, id), out)
		if err != nil {
			return fmt.Errorf("load redemption %s: %w", id, err)
		}
		if !found {
			return apperr.E(apperr.NotFound, loyalty.ReasonRedemptionNotFound, "redemption %s not found", id)
		}
		if out.Status == status {
			return nil
		}
		if !canMove(out.Status, status) {
			return apperr.E(apperr.FailedPrecondition, loyalty.ReasonStatusTransition, "redemption %s is %s and cannot become %s",
				id, out.Status, status).With("status", out.Status.String())
		}
		switch status {
		case loyaltyv1.RewardRedemption_CANCELLED:
			err = r.apply(out.MemberId, func(b *ledger.Book) ([]ledger.Txn, error) {
				return set.Ledger.Adjust(b, ledger.AdjustRequest{Points: out.Points, Reason: "reward redemption cancelled",
					Actor: actor, Ref: id, At: now})
			})
			if err == nil {
				err = r.restock(out.RewardId, out.Quantity)
			}
		case loyaltyv1.RewardRedemption_FULFILLED:
			err = r.apply(out.MemberId, func(b *ledger.Book) ([]ledger.Txn, error) {
				return set.Ledger.Capture(b, ledger.CaptureRequest{HoldID: id, At: now})
			})
		case loyaltyv1.RewardRedemption_FAILED:
			err = r.apply(out.MemberId, func(b *ledger.Book) ([]ledger.Txn, error) {
				return set.Ledger.Release(b, ledger.ReleaseRequest{HoldID: id, Reason: "reward fulfilment failed", Actor: actor, At: now})
			})
		}
		if err != nil {
			return err
		}
		out.Status, out.UpdateTime = status, timestamppb.New(now)
		return r.saveRedemption(out, "reward_redemption_updated")
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// restock returns quantity to reward id's stock; a reward no longer in the catalogue is
// skipped.
func (r rtx) restock(id string, quantity int64) error {
	rw, err := r.reward(id)
	if err != nil {
		if apperr.CodeOf(err) == apperr.NotFound {
			return nil
		}
		return err
	}
	rw.Stock += quantity
	return boltx.PutProto(r.tx.Bucket(bucketRewards), boltx.Key(r.tenant, id), rw)
}

// ListRedemptions returns member's redemptions, newest first, at most MaxListed.
// Errors: storage errors.
func (s *Store) ListRedemptions(ctx context.Context, tenant, member string) ([]*loyaltyv1.RewardRedemption, error) {
	var out []*loyaltyv1.RewardRedemption
	prefix := append(boltx.Key(tenant, member), 0)
	err := s.db.View(ctx, func(tx *bolt.Tx) error {
		out = out[:0]
		c := tx.Bucket(bucketMemberRedemptions).Cursor()
		k, _ := c.Seek(append(bytes.Clone(prefix), 0xff))
		if k == nil {
			k, _ = c.Last()
		} else {
			k, _ = c.Prev()
		}
		for ; k != nil && bytes.HasPrefix(k, prefix) && len(out) < MaxListed; k, _ = c.Prev() {
			red := &loyaltyv1.RewardRedemption{}
			if _, err := boltx.GetProto(tx.Bucket(bucketRedemptions), boltx.Key(tenant, string(k[len(prefix):])), red); err != nil {
				return fmt.Errorf("load redemption %q: %w", k[len(prefix):], err)
			}
			out = append(out, red)
		}
		return nil
	})
	return out, err
}
