package ledger

import (
	"slices"
	"time"

	"github.com/huiyuan-dev/huiyuan/pkg/apperr"
)

// HoldStatus is where a hold is in its life.
type HoldStatus string

// The hold statuses. Only an open hold holds points.
const (
	HoldOpen     HoldStatus = "OPEN"
	HoldCaptured HoldStatus = "CAPTURED"
	HoldReleased HoldStatus = "RELEASED"
	HoldExpired  HoldStatus = "EXPIRED" // released because its timeout passed
)

// String returns the status name.
func (s HoldStatus) String() string { return string(s) }

// Portion is part of a lot that a hold took.
type Portion struct {
	LotID  string
	Points int64
}

// Hold reserves points for a checkout: they leave available for held until the hold is
// captured (spent), released, or times out.
type Hold struct {
	ID        string
	Cause     Cause // the hold's purpose; a capture posts with it
	Amount    int64 // points held at creation
	Points    int64 // points held now: Amount while open, 0 once closed
	Captured  int64 // points spent by the capture
	Portions  []Portion
	CreatedAt time.Time
	ExpiresAt time.Time // the hold is released automatically at this time
	ClosedAt  time.Time // zero while open
	Status    HoldStatus
}

// HoldRequest asks to hold Points until ExpiresAt under the caller's HoldID (unique per book,
// such as a checkout id).
type HoldRequest struct {
	HoldID    string
	Points    int64
	Cause     Cause // redemption or order
	At        time.Time
	ExpiresAt time.Time // after At
}

// Hold moves r.Points from available to held, taking them from the lots that expire first
// and remembering exactly which portions it took. It returns the settlement transactions and
// then one HOLD transaction.
// Errors: Invalid on "hold_id", "points", "cause.*", "time", "expire_time"; AlreadyExists
// HOLD_EXISTS; FailedPrecondition INSUFFICIENT_POINTS.
func (l *Ledger) Hold(b *Book, r HoldRequest) ([]Txn, error) {
	if b == nil {
		return nil, errNilBook
	}
	var v apperr.Violations
	at := opTime(b, r.At, &v)
	validateID(r.HoldID, "hold_id", &v)
	validatePoints(r.Points, "points", &v)
	validateCause(r.Cause, "cause", &v, CauseRedemption, CauseOrder)
	if !r.ExpiresAt.After(at) {
		v.Add("expire_time", "must be after the hold's time")
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	if b.holdIndex(r.HoldID) >= 0 {
		return nil, apperr.E(apperr.AlreadyExists, ReasonHoldExists, "hold %q already exists", r.HoldID).
			With("hold_id", r.HoldID)
	}
	s := planSettle(b, at)
	if have := s.available(b); have < r.Points {
		return nil, insufficient(r.Points, have)
	}
	takes := b.planTake(&s, r.Points)
	txns := s.txns(l, b, make([]Txn, 0, 2))
	txns = append(txns, l.txn(b, KindHold, r.Cause, at, Posting{Available, -r.Points}, Posting{Held, r.Points}))
	return b.commit(&s, txns, 0, func() {
		h := Hold{ID: r.HoldID, Cause: r.Cause, Amount: r.Points, Points: r.Points, CreatedAt: at,
			ExpiresAt: r.ExpiresAt.UTC(), Status: HoldOpen, Portions: make([]Portion, 0, len(takes))}
		for _, t := range takes {
			lot := &b.Lots[t.lot]
			lot.Remaining -= t.points
			lot.Held += t.points
			h.Portions = append(h.Portions, Portion{LotID: lot.ID, Points: t.points})
		}
		b.Holds = append(b.Holds, h)
	})
}

// CaptureRequest spends Points of hold HoldID (0: all of it).
type CaptureRequest struct {
	HoldID string
	Points int64
	At     time.Time
}

// Capture spends r.Points of an open hold and closes it: the captured points go to redeemed,
// taken from the hold's portions that expire first, and the rest of the hold is released back
// to the lots it came from (a partial capture does not keep the remainder held), repaying
// debt first. It returns the settlement transactions and then one CAPTURE transaction
// (cause: the hold's).
// Errors: Invalid on "hold_id", "points" (more than held), "time"; NotFound HOLD_NOT_FOUND;
// FailedPrecondition HOLD_CLOSED, HOLD_EXPIRED (its timeout passed before At).
func (l *Ledger) Capture(b *Book, r CaptureRequest) ([]Txn, error) {
	if b == nil {
		return nil, errNilBook
	}
	var v apperr.Violations
	at := opTime(b, r.At, &v)
	validateID(r.HoldID, "hold_id", &v)
	if r.Points < 0 || r.Points > MaxPoints {
		v.Add("points", "must be between 0 (all) and %d", MaxPoints)
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	i, err := b.openHold(r.HoldID, at)
	if err != nil {
		return nil, err
	}
	h := &b.Holds[i]
	capture := r.Points
	if capture == 0 {
		capture = h.Points
	}
	if capture > h.Points {
		return nil, apperr.InvalidField("points", "must be at most the %d points held", h.Points)
	}
	s := planSettle(b, at)
	repay := s.giveBack(b, h, capture)
	txns := s.txns(l, b, make([]Txn, 0, 2))
	txns = append(txns, l.txn(b, KindCapture, h.Cause, at,
		Posting{Held, -h.Points}, Posting{Redeemed, capture}, Posting{Debt, repay}, Posting{Available, h.Points - capture - repay}))
	return b.commit(&s, txns, 0, func() { b.closeHold(i, HoldCaptured, capture, at) })
}

// ReleaseRequest gives hold HoldID back.
type ReleaseRequest struct {
	HoldID string
	Reason string // optional, recorded on the transaction
	Actor  string // optional
	At     time.Time
}

// Release returns an open hold's portions to the lots they came from (a lot that expired
// meanwhile expires at the next settlement) and closes it; what returns to a lot still
// spendable repays debt first. A hold whose timeout passed is
// released by the settlement instead, and Release then succeeds with that transaction.
// Errors: Invalid on "hold_id", "reason", "actor", "time"; NotFound HOLD_NOT_FOUND;
// FailedPrecondition HOLD_CLOSED.
func (l *Ledger) Release(b *Book, r ReleaseRequest) ([]Txn, error) {
	if b == nil {
		return nil, errNilBook
	}
	var v apperr.Violations
	at := opTime(b, r.At, &v)
	validateID(r.HoldID, "hold_id", &v)
	cause := Cause{Type: CauseHold, Ref: r.HoldID, Reason: r.Reason, Actor: r.Actor}
	validateCause(cause, "", &v, CauseHold)
	if err := v.Err(); err != nil {
		return nil, err
	}
	i, err := b.openHold(r.HoldID, at)
	if apperr.ReasonOf(err) == ReasonHoldExpired {
		return l.Settle(b, at) // releases it, as the caller asked
	}
	if err != nil {
		return nil, err
	}
	h := &b.Holds[i]
	s := planSettle(b, at)
	repay := s.giveBack(b, h, 0)
	txns := s.txns(l, b, make([]Txn, 0, 2))
	txns = append(txns, l.txn(b, KindRelease, cause, at, Posting{Held, -h.Points}, Posting{Debt, repay}, Posting{Available, h.Points - repay}))
	return b.commit(&s, txns, 0, func() { b.closeHold(i, HoldReleased, 0, at) })
}

// ForgetClosedHolds drops the closed holds closed before before, so the book stays small,
// and returns how many it dropped. A forgotten hold id is then HOLD_NOT_FOUND, not HOLD_CLOSED.
func (b *Book) ForgetClosedHolds(before time.Time) int {
	n := len(b.Holds)
	b.Holds = slices.DeleteFunc(b.Holds, func(h Hold) bool { return h.Status != HoldOpen && h.ClosedAt.Before(before) })
	return n - len(b.Holds)
}

// openHold finds an open hold usable at at.
func (b *Book) openHold(id string, at time.Time) (int, error) {
	i := b.holdIndex(id)
	switch {
	case i < 0:
		return -1, holdNotFound(id)
	case b.Holds[i].Status != HoldOpen:
		return -1, holdClosed(&b.Holds[i])
	case !b.Holds[i].ExpiresAt.After(at):
		return -1, holdExpired(id)
	}
	return i, nil
}

// closeHold closes hold i: its first capture points are spent, the rest go back to their lots.
func (b *Book) closeHold(i int, status HoldStatus, capture int64, at time.Time) {
	h := &b.Holds[i]
	h.Captured = capture
	for _, p := range h.Portions {
		spent := min(p.Points, capture)
		capture -= spent
		if j := b.lotIndex(p.LotID); j >= 0 {
			b.Lots[j].Held -= p.Points
			b.Lots[j].Remaining += p.Points - spent
		}
	}
	h.Points, h.Portions, h.ClosedAt, h.Status = 0, nil, at, status
}
