package ledger

import (
	"slices"
	"strconv"
	"time"

	"github.com/huiyuan-dev/huiyuan/pkg/apperr"
)

// TransferRules govern member-to-member transfers (积分转赠) in a tenant.
type TransferRules struct {
	Enabled bool
	// KeepExpiry: received lots keep the expiry of the sender's lots they came from; otherwise
	// they get the tenant's expiry policy from the transfer time.
	KeepExpiry bool
	// MaxPointsPerWindow caps what one member sends within any Window (rolling); 0: no cap.
	MaxPointsPerWindow int64
	Window             time.Duration // required with a cap
}

func (r TransferRules) validate(prefix string, v *apperr.Violations) {
	if r.MaxPointsPerWindow < 0 {
		v.Add(prefix+".max_points_per_window", "must not be negative")
	}
	if r.MaxPointsPerWindow > 0 && r.Window <= 0 {
		v.Add(prefix+".window", "must be positive when a cap is set")
	}
}

// TransferMark records one outgoing transfer, for the window cap.
type TransferMark struct {
	At     time.Time
	Points int64
}

// TransferRequest moves Points from one member to another.
type TransferRequest struct {
	TransferID string // the cause ref on both sides
	Points     int64
	Reason     string // optional
	Actor      string // optional: who asked
	At         time.Time
}

// TransferResult is what a transfer posted in each book: the settlement transactions, then
// TRANSFER_OUT in the sender's and TRANSFER_IN in the receiver's.
type TransferResult struct {
	Out []Txn
	In  []Txn
}

// Transfer moves r.Points from the sender's available points (consumed like a redemption,
// soonest expiry first) to the receiver, through the transfers clearing account. The receiver's
// debt is repaid first; the rest become lots that keep the sender's expiries or get the
// tenant's policy (TransferRules.KeepExpiry). Both books change or neither does.
// Errors: Invalid on "transfer_id", "points", "reason", "actor", "time"; Invalid TRANSFER_TO_SELF;
// FailedPrecondition TRANSFER_DISABLED, TRANSFER_LIMIT_REACHED, INSUFFICIENT_POINTS,
// POINTS_LIMIT_EXCEEDED.
func (l *Ledger) Transfer(from, to *Book, r TransferRequest) (TransferResult, error) {
	if from == nil || to == nil {
		return TransferResult{}, errNilBook
	}
	if from == to || from.MemberID == to.MemberID {
		return TransferResult{}, apperr.E(apperr.Invalid, ReasonTransferToSelf, "a member cannot transfer points to itself")
	}
	var v apperr.Violations
	at := opTime(from, r.At, &v)
	if at.Before(to.UpdatedAt) {
		at = to.UpdatedAt
	}
	validateID(r.TransferID, "transfer_id", &v)
	validatePoints(r.Points, "points", &v)
	cause := Cause{Type: CauseTransfer, Ref: r.TransferID, Reason: r.Reason, Actor: r.Actor}
	validateCause(cause, "", &v, CauseTransfer)
	if err := v.Err(); err != nil {
		return TransferResult{}, err
	}
	if !l.transfer.Enabled {
		return TransferResult{}, apperr.E(apperr.FailedPrecondition, ReasonTransferDisabled, "transfers are disabled")
	}
	recent := l.recentTransfers(from, at)
	if limit := l.transfer.MaxPointsPerWindow; limit > 0 {
		var sent int64
		for _, m := range recent {
			sent = clampAdd(sent, m.Points)
		}
		if left := limit - min(sent, limit); r.Points > left {
			return TransferResult{}, apperr.E(apperr.FailedPrecondition, ReasonTransferLimitReached,
				"at most %d points may be sent per %s; %d left", limit, l.transfer.Window, left).
				With("limit", strconv.FormatInt(limit, 10)).With("remaining", strconv.FormatInt(left, 10))
		}
	}

	s := planSettle(from, at)
	if have := s.available(from); have < r.Points {
		return TransferResult{}, insufficient(r.Points, have)
	}
	takes := from.planTake(&s, r.Points)
	out := s.txns(l, from, make([]Txn, 0, 2))
	out = append(out, l.txn(from, KindTransferOut, cause, at, Posting{Available, -r.Points}, Posting{Transfers, r.Points}))
	if err := from.fits(out, 0); err != nil {
		return TransferResult{}, err
	}
	lots := l.receivedLots(from, takes, at)
	in, err := l.credit(to, at, r.Points, KindTransferIn, cause, Transfers, 0, lots)
	if err != nil {
		return TransferResult{}, err
	}
	// Cannot fail now: fits was checked above and nothing else can.
	out, err = from.commit(&s, out, 0, func() {
		from.consume(takes)
		if l.transfer.MaxPointsPerWindow > 0 {
			from.RecentTransfers = append(recent, TransferMark{At: at, Points: r.Points})
		} else {
			from.RecentTransfers = nil
		}
	})
	if err != nil {
		return TransferResult{}, err
	}
	return TransferResult{Out: out, In: in}, nil
}

// recentTransfers returns a copy of the sender's marks still inside the window at at.
func (l *Ledger) recentTransfers(b *Book, at time.Time) []TransferMark {
	if l.transfer.MaxPointsPerWindow <= 0 {
		return nil
	}
	since := at.Add(-l.transfer.Window)
	out := make([]TransferMark, 0, len(b.RecentTransfers)+1)
	for _, m := range b.RecentTransfers {
		if m.At.After(since) {
			out = append(out, m)
		}
	}
	return out
}

// receivedLots are the lot templates the receiver gets: one per distinct expiry of the
// sender's portions when expiry is kept, else one with the policy's expiry.
func (l *Ledger) receivedLots(from *Book, takes []take, at time.Time) []Lot {
	if !l.transfer.KeepExpiry {
		return []Lot{{EarnedAt: at, ExpiresAt: l.expiry.ExpiresAt(at, l.loc)}}
	}
	lots := make([]Lot, 0, len(takes))
	for _, t := range takes {
		exp := from.Lots[t.lot].ExpiresAt
		if n := len(lots); n > 0 && lots[n-1].ExpiresAt.Equal(exp) {
			lots[n-1].Points += t.points
			continue
		}
		lots = append(lots, Lot{EarnedAt: at, ExpiresAt: exp, Points: t.points})
	}
	return slices.Clip(lots)
}
