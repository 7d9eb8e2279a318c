package ledger

import (
	"time"

	"github.com/huiyuan-dev/huiyuan/pkg/apperr"
)

// take is part of a lot a debit consumes, by index in Book.Lots.
type take struct {
	lot    int
	points int64
}

// planTake picks points from the settled book's spendable lots in consumption order. The
// caller has checked that enough are available.
func (b *Book) planTake(s *settlement, points int64) []take {
	b.revealSpendable(s, points)
	var out []take
	for i := range b.Lots {
		if points == 0 {
			break
		}
		if n := min(s.spendable(&b.Lots[i]), points); n > 0 {
			out = append(out, take{lot: i, points: n})
			points -= n
		}
	}
	return out
}

// consume takes the planned points out of their lots.
func (b *Book) consume(takes []take) {
	for _, t := range takes {
		b.Lots[t.lot].Remaining -= t.points
	}
}

// RedeemRequest spends Points.
type RedeemRequest struct {
	Points int64
	Cause  Cause // redemption or order
	At     time.Time
}

// Redeem spends r.Points of the available points, from the lots that expire first (never-
// expiring lots last, ties by earn time). It returns the settlement transactions and then one
// REDEEM transaction (available → redeemed).
// Errors: Invalid on "points", "cause.*", "time"; FailedPrecondition INSUFFICIENT_POINTS.
func (l *Ledger) Redeem(b *Book, r RedeemRequest) ([]Txn, error) {
	if b == nil {
		return nil, errNilBook
	}
	var v apperr.Violations
	at := opTime(b, r.At, &v)
	validatePoints(r.Points, "points", &v)
	validateCause(r.Cause, "cause", &v, CauseRedemption, CauseOrder)
	if err := v.Err(); err != nil {
		return nil, err
	}
	return l.debit(b, at, r.Points, KindRedeem, r.Cause, Redeemed)
}

// debit moves points from available to the account to, consuming lots in order.
func (l *Ledger) debit(b *Book, at time.Time, points int64, kind Kind, cause Cause, to Account) ([]Txn, error) {
	s := planSettle(b, at)
	if have := s.available(b); have < points {
		return nil, insufficient(points, have)
	}
	takes := b.planTake(&s, points)
	txns := s.txns(l, b, make([]Txn, 0, 2))
	txns = append(txns, l.txn(b, kind, cause, at, Posting{Available, -points}, Posting{to, points}))
	return b.commit(&s, txns, 0, func() { b.consume(takes) })
}
