package ledger

import (
	"time"

	"github.com/huiyuan-dev/huiyuan/pkg/apperr"
)

// RefundPolicy is a tenant's return policy: what a refund takes back of the points its order
// earned.
type RefundPolicy string

// The refund policies.
const (
	// RefundOnlyPending reverses only the order's points still pending; the rest is forgiven.
	RefundOnlyPending RefundPolicy = "ONLY_PENDING"
	// RefundWithinAvailable reverses the order's pending points, then available points, up to
	// what is there; the rest is forgiven.
	RefundWithinAvailable RefundPolicy = "WITHIN_AVAILABLE"
	// RefundFullWithDebt reverses in full: what pending and available points cannot cover is
	// booked on the member's debt account, which later credits, and points coming back to
	// available from holds or pending, repay first.
	RefundFullWithDebt RefundPolicy = "FULL_WITH_DEBT"
)

// Valid reports whether p is one of the refund policies.
func (p RefundPolicy) Valid() bool {
	switch p {
	case RefundOnlyPending, RefundWithinAvailable, RefundFullWithDebt:
		return true
	}
	return false
}

// CheckRefund checks that a refund of refund minor units fits in what is left of an order of
// amount of which before was refunded already; field names the refund's amount in the caller's
// request. Errors: Invalid REFUND_EXCEEDS_ORDER with a violation on field.
func CheckRefund(amount, before, refund int64, field string) error {
	if before <= amount && refund <= amount-before {
		return nil
	}
	e := apperr.E(apperr.Invalid, ReasonRefundExceedsOrder, "a refund of %d exceeds the %d left of the order", refund, max(amount-before, 0))
	e.Violations = []apperr.FieldViolation{{Field: field, Description: "exceeds what is left of the order"}}
	return e
}

// ReverseRequest reverses the points of an order for one refund of it. Amounts are the
// order's currency's minor units.
type ReverseRequest struct {
	Order          string // the order id: the Cause.Ref of the EARN that credited it
	RefundID       string // recorded as the transaction's cause ref
	Earned         int64  // points the order earned
	OrderAmount    int64  // the order's amount
	RefundedBefore int64  // the order's earlier refunds, in total
	RefundAmount   int64  // this refund
	Policy         RefundPolicy
	At             time.Time
}

// Reversal is what a refund did to the points.
type Reversal struct {
	Due      int64 // the points this refund should take back (PointsToReverse)
	Reversed int64 // taken from the member's pending and available points
	Debt     int64 // booked on the debt account
	Forgiven int64 // Due - Reversed - Debt: left with the member under the policy
	Txns     []Txn // the settlement transactions, then one REVERSE transaction if anything was reversed
}

// PointsToReverse returns the points one refund takes back of an order that earned earned
// points on amount: floor(earned × (before+refund) / amount) − floor(earned × before / amount).
// Computing it cumulatively makes any series of partial refunds reverse exactly what one full
// refund would. Inputs outside 0 <= before, 0 <= refund, before+refund <= amount, 0 < amount,
// 0 <= earned give 0.
func PointsToReverse(earned, amount, before, refund int64) int64 {
	if earned <= 0 || amount <= 0 || before < 0 || refund < 0 || before > amount || refund > amount-before {
		return 0
	}
	return mulDiv(earned, before+refund, amount) - mulDiv(earned, before, amount)
}

// Reverse takes back the points due for a refund under r.Policy: first the order's own
// pending points, then (WITHIN_AVAILABLE, FULL_WITH_DEBT) available points from the lots that
// expire first, then (FULL_WITH_DEBT) the rest as debt. The points go back to issued.
// LifetimeEarned drops by what was reversed or booked as debt.
// Errors: Invalid on "order", "refund_id", "earned", "order_amount", "refunded_before",
// "refund_amount", "policy", "time"; Invalid REFUND_EXCEEDS_ORDER when refunds would total
// more than the order; FailedPrecondition POINTS_LIMIT_EXCEEDED.
func (l *Ledger) Reverse(b *Book, r ReverseRequest) (Reversal, error) {
	if b == nil {
		return Reversal{}, errNilBook
	}
	var v apperr.Violations
	at := opTime(b, r.At, &v)
	validateID(r.Order, "order", &v)
	validateID(r.RefundID, "refund_id", &v)
	if r.Earned < 0 || r.Earned > MaxPoints {
		v.Add("earned", "must be between 0 and %d", MaxPoints)
	}
	if r.OrderAmount <= 0 {
		v.Add("order_amount", "must be positive")
	}
	if r.RefundedBefore < 0 {
		v.Add("refunded_before", "must not be negative")
	}
	if r.RefundAmount <= 0 {
		v.Add("refund_amount", "must be positive")
	}
	if !r.Policy.Valid() {
		v.Add("policy", "must be ONLY_PENDING, WITHIN_AVAILABLE or FULL_WITH_DEBT")
	}
	if err := v.Err(); err != nil {
		return Reversal{}, err
	}
	if err := CheckRefund(r.OrderAmount, r.RefundedBefore, r.RefundAmount, "refund_amount"); err != nil {
		return Reversal{}, err
	}

	out := Reversal{Due: PointsToReverse(r.Earned, r.OrderAmount, r.RefundedBefore, r.RefundAmount)}
	s := planSettle(b, at)
	if r.Policy != RefundOnlyPending {
		// Before lots are picked by index: planTake would read hidden lots in among them.
		b.revealSpendable(&s, out.Due)
	}
	rest := out.Due
	var fromPending []take
	for i := range b.Lots {
		lot := &b.Lots[i]
		if rest == 0 {
			break
		}
		if lot.ofOrder(r.Order) && s.pending(lot) && !s.due(lot) {
			if n := min(s.remaining(lot), rest); n > 0 {
				fromPending = append(fromPending, take{lot: i, points: n})
				rest -= n
			}
		}
	}
	pendingPts := out.Due - rest
	var fromAvail []take
	var availPts int64
	if r.Policy != RefundOnlyPending && rest > 0 {
		availPts = min(rest, s.available(b))
		fromAvail = b.planTake(&s, availPts)
		rest -= availPts
	}
	if r.Policy == RefundFullWithDebt {
		out.Debt, rest = rest, 0
	}
	out.Reversed, out.Forgiven = pendingPts+availPts, rest

	txns := s.txns(l, b, make([]Txn, 0, 2))
	if back := out.Reversed + out.Debt; back > 0 {
		txns = append(txns, l.txn(b, KindReverse, Cause{Type: CauseRefund, Ref: r.RefundID}, at,
			Posting{Pending, -pendingPts}, Posting{Available, -availPts}, Posting{Debt, -out.Debt}, Posting{Issued, back}))
	}
	if len(txns) == 0 {
		return out, nil
	}
	var err error
	out.Txns, err = b.commit(&s, txns, 0, func() {
		b.consume(fromPending)
		b.consume(fromAvail)
		b.LifetimeEarned = max(0, b.LifetimeEarned-out.Reversed-out.Debt)
	})
	if err != nil {
		return Reversal{}, err
	}
	return out, nil
}
