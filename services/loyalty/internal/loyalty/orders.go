package loyalty

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/huiyuan-dev/huiyuan/pkg/apperr"
	"github.com/huiyuan-dev/huiyuan/pkg/ids"
	"github.com/huiyuan-dev/huiyuan/services/loyalty/internal/ledger"
)

// MaxBatch is the most orders one RecordOrders call takes.
const MaxBatch = 1000

// RecordOrder records order in (CreateTime zero for now) and credits the points it earns
// (Settings.PointsFor) to its member, if it has one, as an EARN with cause (order, in.ID,
// actor). An order id is unique per tenant: recording the same order again returns it as it
// was recorded, without acting again. It records ORDER_RECORDED (and the events of what the
// earning settled first: expiries, maturities, hold timeouts).
// Errors: Invalid on "order.<field>"; AlreadyExists ORDER_EXISTS on "order.id" when the id
// holds a different order; NotFound MEMBER_NOT_FOUND and FailedPrecondition MEMBER_NOT_ACTIVE
// (an order with a member needs an ACTIVE one); the ledger's (FailedPrecondition
// POINTS_LIMIT_EXCEEDED); Invalid REQUEST_ID_REUSED; the member lookup's (Unavailable).
func (s *Service) RecordOrder(ctx context.Context, tenant, actor string, in Order) (*Order, error) {
	now := s.now()
	var v apperr.Violations
	CheckOrder(&v, "order.", &in, now)
	if err := v.Err(); err != nil {
		return nil, err
	}
	res, err := s.memberUpdate(ctx, tenant, func(tx Tx, c *memberCheck) (Result, []Event, error) {
		set, err := s.settings(tx)
		if err != nil {
			return nil, nil, err
		}
		p := newPoster(tx)
		o, err := s.recordOrder(p, c, set, actor, &in, "order.", now)
		return o, p.events, err
	})
	if err != nil {
		return nil, err
	}
	return res.(*Order), nil
}

// RecordOrders records a batch of orders (at most MaxBatch) in one transaction, each on its
// own as RecordOrder would: an order that fails (validation, ORDER_EXISTS, the member checks,
// its member's lookup, the ledger) gets its error in its outcome and the others are recorded.
// first is the index of orders[0] in the caller's request or stream: field names are
// "orders[<index>].<field>". The answer comes once the transaction is durable. A retried
// request_id records nothing twice: it runs the batch again, and every order already recorded
// answers as it was recorded.
// Errors: Invalid on "orders" for an empty or too large batch; Invalid REQUEST_ID_REUSED;
// storage errors (then no order of the batch is recorded).
func (s *Service) RecordOrders(ctx context.Context, tenant, actor string, orders []Order, first int) (*BatchResult, error) {
	if len(orders) == 0 || len(orders) > MaxBatch {
		return nil, apperr.InvalidField("orders", "must hold 1 to %d orders", MaxBatch)
	}
	now := s.now()
	checked := make([]OrderOutcome, len(orders))
	prefixes := make([]string, len(orders))
	for i := range orders {
		prefixes[i] = "orders[" + strconv.Itoa(first+i) + "]."
		var v apperr.Violations
		CheckOrder(&v, prefixes[i], &orders[i], now)
		checked[i].Err = v.Err()
	}
	res, err := s.memberUpdate(ctx, tenant, func(tx Tx, c *memberCheck) (Result, []Event, error) {
		set, err := s.settings(tx)
		if err != nil {
			return nil, nil, err
		}
		p := newPoster(tx)
		out := &BatchResult{Outcomes: append([]OrderOutcome(nil), checked...)}
		for i := range orders {
			if out.Outcomes[i].Err != nil {
				continue
			}
			o, err := s.recordOrder(p, c, set, actor, &orders[i], prefixes[i], now)
			switch {
			case err == nil:
				out.Outcomes[i].Order = o
			case errors.Is(err, errUnheard):
				continue // memberUpdate asks about every such member of the batch at once
			case domainError(err):
				out.Outcomes[i].Err = err // nothing of this order was written
			default:
				return nil, nil, fmt.Errorf("order %s: %w", orders[i].ID, err)
			}
		}
		return out, p.events, nil
	})
	if err != nil {
		return nil, err
	}
	return res.(*BatchResult), nil
}

// recordOrder records one validated order in p's transaction; prefix names it in the request
// ("order.", "orders[3].") and its fields after it. An order with a member needs an ACTIVE one
// (c). It writes nothing when it fails with a caller's error.
func (s *Service) recordOrder(p *poster, c *memberCheck, set *Settings, actor string, in *Order, prefix string, now time.Time) (*Order, error) {
	prev, err := p.tx.Order(in.ID)
	if err != nil {
		return nil, err
	}
	if prev != nil {
		if !prev.Same(in) {
			return nil, OrderExists(in.ID, prefix+"id")
		}
		return prev, nil
	}
	if err := set.AcceptOrder(in, prefix, now); err != nil {
		return nil, err
	}
	o := Order{ID: in.ID, MemberID: in.MemberID, AmountMinor: in.AmountMinor, Currency: in.Currency, StoreID: in.StoreID,
		Items: in.Items, CreateTime: in.CreateTime.UTC()}
	if in.CreateTime.IsZero() {
		o.CreateTime, o.TimeDefaulted = now, true
	}
	var a *Account
	tier, learned := "", false
	if o.MemberID != "" {
		if a, err = p.tx.Account(o.MemberID); err != nil {
			return nil, err
		}
		if learned, err = c.use(a, prefix+"member_id", true); err != nil {
			return nil, err
		}
		tier = a.Tier
	}
	pct, err := TierPercent(p.tx, set, tier)
	if err != nil {
		return nil, err
	}
	o.PointsEarned = set.PointsFor(&o, pct)
	recorded := func(e *Entry) Event { return OrderRecorded{Entry: e} }
	if o.PointsEarned == 0 {
		if err := p.fact(&Entry{Time: now, MemberID: o.MemberID, Order: &o}, recorded); err != nil {
			return nil, err
		}
		if learned {
			s.saveAccount(p.tx, set, a, now) // keep what the member service answered
		}
		out := o
		return &out, nil
	}
	txns, err := set.Ledger.Earn(a.Book, ledger.EarnRequest{Points: o.PointsEarned, At: now, PendingUntil: set.PendingUntil(now),
		Cause: ledger.Cause{Type: ledger.CauseOrder, Ref: o.ID, Actor: actor}})
	if err != nil {
		return nil, err
	}
	if _, err := p.postTxns(a, txns, func(e *Entry) Event { e.Order = &o; return recorded(e) }); err != nil {
		return nil, err
	}
	s.saveAccount(p.tx, set, a, now)
	out := o
	return &out, nil
}

// GetOrder returns order id with its refunds so far. Errors: Invalid on "id"; NotFound
// ORDER_NOT_FOUND.
func (s *Service) GetOrder(ctx context.Context, tenant, id string) (*Order, error) {
	var v apperr.Violations
	CheckToken(&v, "id", id)
	if err := v.Err(); err != nil {
		return nil, err
	}
	var o *Order
	err := s.store.View(ctx, tenant, func(v View) (err error) {
		o, err = v.Order(id)
		return err
	})
	if err != nil {
		return nil, err
	}
	if o == nil {
		return nil, NotFoundOrder(id)
	}
	return o, nil
}

// RefundOrder refunds amount of order id and takes back the points due under the tenant's
// refund policy (ledger.Reverse), cumulatively, so partial refunds together reverse what one
// full refund would. It records ORDER_REFUNDED with the reversal.
// Errors: Invalid on "id", "amount_minor"; NotFound ORDER_NOT_FOUND; Invalid
// REFUND_EXCEEDS_ORDER on "amount_minor" when refunds would total more than the order; the
// ledger's; Invalid REQUEST_ID_REUSED.
func (s *Service) RefundOrder(ctx context.Context, tenant, actor, id string, amount int64) (*RefundResult, error) {
	var v apperr.Violations
	CheckToken(&v, "id", id)
	if amount <= 0 || amount > ledger.MaxAmountMinor {
		v.Add("amount_minor", "must be between 1 and %d", int64(ledger.MaxAmountMinor))
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	now := s.now()
	refundID := ids.New()
	res, err := s.store.Update(ctx, tenant, func(tx Tx) (Result, []Event, error) {
		set, err := s.settings(tx)
		if err != nil {
			return nil, nil, err
		}
		o, err := tx.Order(id)
		if err != nil {
			return nil, nil, err
		}
		if o == nil {
			return nil, nil, NotFoundOrder(id)
		}
		if err := ledger.CheckRefund(o.AmountMinor, o.RefundedMinor, amount, "amount_minor"); err != nil {
			return nil, nil, err
		}
		var rev ledger.Reversal
		var a *Account
		if o.MemberID != "" && o.PointsEarned > 0 {
			if a, err = tx.Account(o.MemberID); err != nil {
				return nil, nil, err
			}
			rev, err = set.Ledger.Reverse(a.Book, ledger.ReverseRequest{Order: id, RefundID: refundID, Earned: o.PointsEarned,
				OrderAmount: o.AmountMinor, RefundedBefore: o.RefundedMinor, RefundAmount: amount, Policy: set.Policy.Refund, At: now})
			if err != nil {
				return nil, nil, err
			}
		}
		o.RefundedMinor += amount
		o.PointsReversed += rev.Reversed
		o.PointsToDebt += rev.Debt
		o.RefundCount++
		if err := tx.SaveRefunds(o); err != nil {
			return nil, nil, err
		}
		refund := &Refund{OrderID: id, AmountMinor: amount, RefundedTotal: o.RefundedMinor, PointsReversed: rev.Reversed,
			PointsToDebt: rev.Debt, ReversedTotal: o.PointsReversed, ToDebtTotal: o.PointsToDebt}
		after := *o
		refunded := func(e *Entry) Event { e.Refund = refund; return OrderRefunded{Entry: e, Order: &after} }
		for i := range rev.Txns {
			if rev.Txns[i].Kind == ledger.KindReverse {
				rev.Txns[i].Cause.Actor = actor // the ledger leaves the actor to the caller
			}
		}
		// The refund rides on its reversal, which comes last; settlements posted before it are
		// facts of their own, and a refund that took nothing back is an entry of its own.
		attached := false
		p := newPoster(tx)
		last, err := p.postTxns(a, rev.Txns, func(e *Entry) Event {
			if e.Txn.Kind != ledger.KindReverse {
				return PointsChanged{Entry: e}
			}
			attached = true
			return refunded(e)
		})
		if err == nil && !attached {
			last = &Entry{Time: now, MemberID: o.MemberID}
			err = p.fact(last, refunded)
		}
		if err != nil {
			return nil, nil, err
		}
		if a != nil {
			s.saveAccount(tx, set, a, now)
		}
		return &RefundResult{Order: after, PointsReversed: rev.Reversed, PointsToDebt: rev.Debt, Sequence: last.Sequence}, p.events, nil
	})
	if err != nil {
		return nil, err
	}
	return res.(*RefundResult), nil
}
