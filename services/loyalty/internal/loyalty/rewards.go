package loyalty

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/huiyuan-dev/huiyuan/pkg/apperr"
	"github.com/huiyuan-dev/huiyuan/pkg/ids"
	"github.com/huiyuan-dev/huiyuan/services/loyalty/internal/ledger"
)

// Limits of the rewards catalogue.
const (
	MaxRewardTitle = 200  // characters
	MaxListed      = 1000 // rewards and redemptions a list returns at most
)

// RewardKind says how a reward is fulfilled.
type RewardKind int

// The reward kinds.
const (
	RewardGoods    RewardKind = iota + 1 // shipped goods with stock: ORDERED → SHIPPED → DELIVERED
	RewardExternal                       // fulfilled by another service; the points are held until it reports
)

// Reward is an item of the rewards catalogue.
type Reward struct {
	ID         string
	Title      string
	Kind       RewardKind
	CostPoints int64
	Stock      int64 // goods only
	Active     bool
	CreateTime time.Time
}

// RedemptionStatus is where a reward redemption is in its fulfilment.
type RedemptionStatus int

// The redemption statuses.
const (
	RedemptionPending   RedemptionStatus = iota + 1 // external: points held, waiting for the fulfiller
	RedemptionOrdered                               // goods: points spent
	RedemptionShipped                               // goods
	RedemptionDelivered                             // goods
	RedemptionFulfilled                             // external: points spent
	RedemptionCancelled                             // goods: points and stock returned
	RedemptionFailed                                // external: points returned
)

// String returns the status's name.
func (s RedemptionStatus) String() string {
	names := [...]string{"", "PENDING", "ORDERED", "SHIPPED", "DELIVERED", "FULFILLED", "CANCELLED", "FAILED"}
	if s > 0 && int(s) < len(names) {
		return names[s]
	}
	return "STATUS_" + strconv.Itoa(int(s))
}

// Redemption is one purchase of a reward with points.
type Redemption struct {
	ID         string
	MemberID   string
	RewardID   string
	Quantity   int64
	Points     int64
	Status     RedemptionStatus
	CreateTime time.Time
	UpdateTime time.Time
}

// CanMove reports whether a redemption may go from status from to status to: goods ORDERED →
// SHIPPED → DELIVERED, cancellable until delivered; external PENDING → FULFILLED or FAILED.
func CanMove(from, to RedemptionStatus) bool {
	switch from {
	case RedemptionOrdered:
		return to == RedemptionShipped || to == RedemptionCancelled
	case RedemptionShipped:
		return to == RedemptionDelivered || to == RedemptionCancelled
	case RedemptionPending:
		return to == RedemptionFulfilled || to == RedemptionFailed
	}
	return false
}

// CreateReward adds r (title, kind, cost, stock for goods, active) to tenant's catalogue under
// a new id. Errors: Invalid on "reward.title", "reward.kind", "reward.cost_points",
// "reward.stock"; Invalid REQUEST_ID_REUSED.
func (s *Service) CreateReward(ctx context.Context, tenant string, r Reward) (*Reward, error) {
	var v apperr.Violations
	if r.Title == "" {
		v.Add("reward.title", "is required")
	}
	CheckText(&v, "reward.title", r.Title, MaxRewardTitle)
	switch r.Kind {
	case RewardGoods:
		if r.Stock < 0 || r.Stock > ledger.MaxPoints {
			v.Add("reward.stock", "must be between 0 and %d", ledger.MaxPoints)
		}
	case RewardExternal:
		if r.Stock != 0 {
			v.Add("reward.stock", "must be empty for an external reward")
		}
	default:
		v.Add("reward.kind", "must be GOODS or EXTERNAL")
	}
	CheckPoints(&v, "reward.cost_points", r.CostPoints)
	if err := v.Err(); err != nil {
		return nil, err
	}
	r.ID, r.CreateTime = ids.New(), s.now()
	res, err := s.store.Update(ctx, tenant, func(tx Tx) (Result, []Event, error) {
		out := r
		return &out, nil, tx.SaveReward(&out)
	})
	if err != nil {
		return nil, err
	}
	return res.(*Reward), nil
}

// ListRewards returns tenant's catalogue, oldest first, at most MaxListed rewards.
func (s *Service) ListRewards(ctx context.Context, tenant string) ([]*Reward, error) {
	var out []*Reward
	err := s.store.View(ctx, tenant, func(v View) (err error) {
		out, err = v.Rewards(MaxListed)
		return err
	})
	return out, err
}

// ListRedemptions returns member's redemptions, newest first, at most MaxListed.
// Errors: Invalid on "member_id".
func (s *Service) ListRedemptions(ctx context.Context, tenant, member string) ([]*Redemption, error) {
	var v apperr.Violations
	CheckToken(&v, "member_id", member)
	if err := v.Err(); err != nil {
		return nil, err
	}
	var out []*Redemption
	err := s.store.View(ctx, tenant, func(v View) (err error) {
		out, err = v.Redemptions(member, MaxListed)
		return err
	})
	return out, err
}

// RedeemReward buys quantity (0: 1) of reward id for member with points, in one update: goods
// take the points at once and lower the stock (ORDERED; bbolt's single writer means no
// overselling); external rewards hold the points, under a hold named after the redemption that
// lasts the tenant's longest hold, until UpdateRedemption reports the outcome (PENDING). It
// records REWARD_REDEEMED. Errors: Invalid on "id", "member_id", "quantity"; NotFound
// REWARD_NOT_FOUND, MEMBER_NOT_FOUND; FailedPrecondition REWARD_INACTIVE, MEMBER_NOT_ACTIVE,
// OUT_OF_STOCK, INSUFFICIENT_POINTS;
// Invalid REQUEST_ID_REUSED.
func (s *Service) RedeemReward(ctx context.Context, tenant, actor, member, id string, quantity int64) (*Redemption, error) {
	if quantity == 0 {
		quantity = 1
	}
	var v apperr.Violations
	CheckToken(&v, "id", id)
	CheckPoints(&v, "quantity", quantity)
	CheckToken(&v, "member_id", member)
	if err := v.Err(); err != nil {
		return nil, err
	}
	now := s.now()
	rid := ids.New()
	res, err := s.memberUpdate(ctx, tenant, func(tx Tx, c *memberCheck) (Result, []Event, error) {
		set, err := s.settings(tx)
		if err != nil {
			return nil, nil, err
		}
		rw, err := tx.Reward(id)
		if err != nil {
			return nil, nil, err
		}
		if rw == nil {
			return nil, nil, rewardNotFound(id)
		}
		if !rw.Active {
			return nil, nil, apperr.E(apperr.FailedPrecondition, ReasonRewardInactive, "reward %s is not active", id)
		}
		if rw.CostPoints <= 0 || quantity > ledger.MaxPoints/rw.CostPoints {
			return nil, nil, apperr.InvalidField("quantity", "the price must be at most %d points", ledger.MaxPoints)
		}
		a, err := tx.Account(member)
		if err != nil {
			return nil, nil, err
		}
		if _, err := c.use(a, "member_id", true); err != nil {
			return nil, nil, err
		}
		points := rw.CostPoints * quantity
		cause := ledger.Cause{Type: ledger.CauseRedemption, Ref: rid, Reason: "reward " + id, Actor: actor}
		red := &Redemption{ID: rid, MemberID: member, RewardID: id, Quantity: quantity, Points: points,
			Status: RedemptionOrdered, CreateTime: now, UpdateTime: now}
		var txns []ledger.Txn
		switch rw.Kind {
		case RewardGoods:
			if rw.Stock < quantity {
				return nil, nil, apperr.E(apperr.FailedPrecondition, ReasonOutOfStock, "reward %s has %d left", id, rw.Stock).
					With("stock", strconv.FormatInt(rw.Stock, 10))
			}
			if txns, err = set.Ledger.Redeem(a.Book, ledger.RedeemRequest{Points: points, Cause: cause, At: now}); err != nil {
				return nil, nil, err
			}
			rw.Stock -= quantity
			if err := tx.SaveReward(rw); err != nil {
				return nil, nil, err
			}
		case RewardExternal:
			red.Status = RedemptionPending
			txns, err = set.Ledger.Hold(a.Book, ledger.HoldRequest{HoldID: rid, Points: points, Cause: cause, At: now,
				ExpiresAt: now.Add(set.MaxHoldTimeout)})
			if err != nil {
				return nil, nil, err
			}
		default:
			return nil, nil, fmt.Errorf("reward %s has unknown kind %d", id, rw.Kind)
		}
		p := newPoster(tx)
		if _, err := p.postTxns(a, txns, nil); err != nil {
			return nil, nil, err
		}
		s.saveAccount(tx, set, a, now)
		if err := tx.SaveRedemption(red); err != nil {
			return nil, nil, err
		}
		return red, append(p.events, RewardRedeemed{Redemption: red}), nil
	})
	if err != nil {
		return nil, err
	}
	return res.(*Redemption), nil
}

// UpdateRedemption moves redemption id to status (SHIPPED, DELIVERED or CANCELLED for goods;
// FULFILLED or FAILED for external rewards) in one update. Cancelling goods credits the points
// back (an ADJUST by actor) and restores the stock; FULFILLED captures the external reward's
// hold and FAILED releases it (or, when the hold timed out already, moves no points). Asking
// for the status a redemption already has changes nothing, so a fulfiller's retry never
// captures twice. It records REWARD_REDEMPTION_UPDATED.
// Errors: Invalid on "id", "status"; NotFound REDEMPTION_NOT_FOUND; FailedPrecondition
// INVALID_STATUS_TRANSITION, HOLD_EXPIRED (the hold timed out before FULFILLED: the
// redemption stays PENDING, and FAILED closes it); Invalid REQUEST_ID_REUSED.
func (s *Service) UpdateRedemption(ctx context.Context, tenant, actor, id string, status RedemptionStatus) (*Redemption, error) {
	var v apperr.Violations
	CheckToken(&v, "id", id)
	switch status {
	case RedemptionShipped, RedemptionDelivered, RedemptionCancelled, RedemptionFulfilled, RedemptionFailed:
	default:
		v.Add("status", "must be SHIPPED, DELIVERED, CANCELLED, FULFILLED or FAILED")
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	if actor == "" {
		actor = "system"
	}
	now := s.now()
	res, err := s.store.Update(ctx, tenant, func(tx Tx) (Result, []Event, error) {
		set, err := s.settings(tx)
		if err != nil {
			return nil, nil, err
		}
		red, err := tx.Redemption(id)
		if err != nil {
			return nil, nil, err
		}
		if red == nil {
			return nil, nil, apperr.E(apperr.NotFound, ReasonRedemptionNotFound, "redemption %s not found", id)
		}
		if red.Status == status {
			return red, nil, nil
		}
		if !CanMove(red.Status, status) {
			return nil, nil, apperr.E(apperr.FailedPrecondition, ReasonStatusTransition, "redemption %s is %s and cannot become %s",
				id, red.Status, status).With("status", red.Status.String())
		}
		p := newPoster(tx)
		if err := s.settleRedemption(tx, p, set, red, status, actor, now); err != nil {
			return nil, nil, err
		}
		red.Status, red.UpdateTime = status, now
		if err := tx.SaveRedemption(red); err != nil {
			return nil, nil, err
		}
		return red, append(p.events, RedemptionUpdated{Redemption: red}), nil
	})
	if err != nil {
		return nil, err
	}
	return res.(*Redemption), nil
}

// settleRedemption does to the member's points what moving red to status means.
func (s *Service) settleRedemption(tx Tx, p *poster, set *Settings, red *Redemption, status RedemptionStatus, actor string, now time.Time) error {
	var op func(b *ledger.Book) ([]ledger.Txn, error)
	switch status {
	case RedemptionCancelled:
		op = func(b *ledger.Book) ([]ledger.Txn, error) {
			return set.Ledger.Adjust(b, ledger.AdjustRequest{Points: red.Points, Reason: "reward redemption cancelled",
				Actor: actor, Ref: red.ID, At: now})
		}
	case RedemptionFulfilled:
		op = func(b *ledger.Book) ([]ledger.Txn, error) {
			// A hold the settlement already timed out is EXPIRED (and, past the retention,
			// forgotten); the ledger would call it HOLD_CLOSED or HOLD_NOT_FOUND, but to the
			// fulfiller it is the same late answer as one that timed out a moment ago.
			if h, ok := b.FindHold(red.ID); !ok || h.Status == ledger.HoldExpired {
				return nil, apperr.E(apperr.FailedPrecondition, ledger.ReasonHoldExpired,
					"the hold of redemption %s timed out and was released", red.ID).With("hold_id", red.ID)
			}
			return set.Ledger.Capture(b, ledger.CaptureRequest{HoldID: red.ID, At: now})
		}
	case RedemptionFailed:
		op = func(b *ledger.Book) ([]ledger.Txn, error) {
			// A hold that timed out (or was released, or forgotten since) holds nothing any
			// more: the failure has nothing left to give back, and must still close the
			// redemption rather than leave it PENDING for ever.
			if h, ok := b.FindHold(red.ID); !ok || h.Status == ledger.HoldExpired || h.Status == ledger.HoldReleased {
				return nil, nil
			}
			return set.Ledger.Release(b, ledger.ReleaseRequest{HoldID: red.ID, Reason: "reward fulfilment failed", Actor: actor, At: now})
		}
	default:
		return nil // shipping and delivery move no points
	}
	a, err := tx.Account(red.MemberID)
	if err != nil {
		return err
	}
	txns, err := op(a.Book)
	if err != nil {
		return err
	}
	if _, err := p.postTxns(a, txns, nil); err != nil {
		return err
	}
	s.saveAccount(tx, set, a, now)
	if status != RedemptionCancelled {
		return nil
	}
	rw, err := tx.Reward(red.RewardID)
	if err != nil || rw == nil {
		return err // a reward no longer in the catalogue is not restocked
	}
	rw.Stock += red.Quantity
	return tx.SaveReward(rw)
}

func rewardNotFound(id string) error {
	return apperr.E(apperr.NotFound, ReasonRewardNotFound, "reward %s not found", id)
}
