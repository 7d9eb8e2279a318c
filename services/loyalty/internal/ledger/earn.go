package ledger

import (
	"time"

	"github.com/huiyuan-dev/huiyuan/pkg/apperr"
)

// EarnRequest credits Points to a member.
type EarnRequest struct {
	Points int64
	// Cause is order (Ref: the order id, which refunds use), campaign (Ref: the campaign id;
	// the points come from its budget account), checkin or reward.
	Cause Cause
	At    time.Time
	// ExpiresAt is the lot's expiry, after At; zero means the tenant's policy from At.
	ExpiresAt time.Time
	// NeverExpires makes a lot that never expires, whatever the policy; ExpiresAt must be zero.
	NeverExpires bool
	// PendingUntil, when after At, credits the points to pending until then (a return window).
	PendingUntil time.Time
}

// Earn credits r.Points: first to the member's debt, if any, then as a new lot in available
// (or in pending until r.PendingUntil). It returns the settlement transactions and then one
// EARN transaction (issued or the campaign's budget → debt, available or pending).
// Errors: Invalid on "points", "cause.*", "time", "expire_time"; FailedPrecondition
// POINTS_LIMIT_EXCEEDED.
func (l *Ledger) Earn(b *Book, r EarnRequest) ([]Txn, error) {
	if b == nil {
		return nil, errNilBook
	}
	var v apperr.Violations
	at := opTime(b, r.At, &v)
	validatePoints(r.Points, "points", &v)
	validateCause(r.Cause, "cause", &v, CauseOrder, CauseCampaign, CauseCheckIn, CauseReward)
	expires := r.ExpiresAt.UTC()
	switch {
	case r.NeverExpires && !r.ExpiresAt.IsZero():
		v.Add("expire_time", "must be empty for points that never expire")
	case r.NeverExpires:
	case r.ExpiresAt.IsZero():
		expires = l.expiry.ExpiresAt(at, l.loc)
	case !r.ExpiresAt.After(at):
		v.Add("expire_time", "must be after the time the points are earned")
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	source := Issued
	if r.Cause.Type == CauseCampaign {
		source = CampaignBudget(r.Cause.Ref)
	}
	lot := Lot{EarnedAt: at, ExpiresAt: expires}
	if r.PendingUntil.After(at) {
		lot.Pending, lot.PendingUntil = true, r.PendingUntil.UTC()
	}
	if r.Cause.Type == CauseOrder {
		lot.Order = r.Cause.Ref
	}
	return l.credit(b, at, r.Points, KindEarn, r.Cause, source, r.Points, []Lot{lot})
}

// AdjustRequest is an admin correction: positive Points credit, negative debit.
type AdjustRequest struct {
	Points int64  // signed, non-zero
	Reason string // required
	Actor  string // required: who made the correction
	Ref    string // optional: a ticket or case id
	At     time.Time
}

// Adjust posts an admin correction against the adjustments account. A positive adjustment
// repays debt first, then credits a lot with the tenant's expiry policy; a negative one
// consumes lots like a redemption and never takes available below zero. It returns the
// settlement transactions and then one ADJUST transaction.
// Errors: Invalid on "points", "reason", "actor", "ref", "time";
// FailedPrecondition INSUFFICIENT_POINTS, POINTS_LIMIT_EXCEEDED.
func (l *Ledger) Adjust(b *Book, r AdjustRequest) ([]Txn, error) {
	if b == nil {
		return nil, errNilBook
	}
	var v apperr.Violations
	at := opTime(b, r.At, &v)
	if r.Points == 0 || r.Points > MaxPoints || r.Points < -MaxPoints {
		v.Add("points", "must be non-zero and at most %d either way", MaxPoints)
	}
	cause := Cause{Type: CauseAdmin, Ref: r.Ref, Reason: r.Reason, Actor: r.Actor}
	validateCause(cause, "", &v, CauseAdmin)
	if err := v.Err(); err != nil {
		return nil, err
	}
	if r.Points < 0 {
		return l.debit(b, at, -r.Points, KindAdjust, cause, Adjustments)
	}
	lot := Lot{EarnedAt: at, ExpiresAt: l.expiry.ExpiresAt(at, l.loc)}
	return l.credit(b, at, r.Points, KindAdjust, cause, Adjustments, 0, []Lot{lot})
}

// credit posts points from source to the member: debt first, then available or pending as
// lots. lots are templates in consumption order, their Points summing to points (a single
// template may leave Points zero to take all); debt repayment eats the first ones. earned is
// added to LifetimeEarned.
func (l *Ledger) credit(b *Book, at time.Time, points int64, kind Kind, cause Cause, source Account,
	earned int64, lots []Lot) ([]Txn, error) {
	s := planSettle(b, at)
	repay := min(points, s.owed(b)) // the settlement may have repaid some already
	target := Available
	if len(lots) == 1 && lots[0].Pending {
		target = Pending
	}
	txns := s.txns(l, b, make([]Txn, 0, 2))
	t := l.txn(b, kind, cause, at, Posting{source, -points}, Posting{Debt, repay}, Posting{target, points - repay})
	txns = append(txns, t)
	if len(lots) == 1 && lots[0].Points == 0 {
		lots[0].Points = points
	}
	return b.commit(&s, txns, earned, func() {
		skip := repay
		for _, lot := range lots {
			n := lot.Points - min(lot.Points, skip)
			skip -= lot.Points - n
			if n == 0 {
				continue
			}
			lot.ID, lot.Points, lot.Remaining = b.nextLotID(), n, n
			b.insertLot(lot)
		}
		b.LifetimeEarned += earned
	})
}
