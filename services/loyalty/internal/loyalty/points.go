package loyalty

import (
	"context"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"strings"
	"time"

	"github.com/huiyuan-dev/huiyuan/pkg/apperr"
	"github.com/huiyuan-dev/huiyuan/pkg/ids"
	"github.com/huiyuan-dev/huiyuan/services/loyalty/internal/ledger"
)

// Page sizes of ListTransactions.
const (
	DefaultPageSize = 50
	MaxPageSize     = 1000
)

// ReasonInvalidPageToken is the reason of a page token that is not one of the request's.
const ReasonInvalidPageToken = "INVALID_PAGE_TOKEN"

// Balance returns member's balance now, as if the book were settled now (points past their
// expiry are gone whether or not the job ran). A member with no book has a zero balance.
// Errors: Invalid on "member_id"; storage errors.
func (s *Service) Balance(ctx context.Context, tenant, member string) (*Balance, error) {
	var v apperr.Violations
	CheckToken(&v, "member_id", member)
	if err := v.Err(); err != nil {
		return nil, err
	}
	out := &Balance{MemberID: member}
	err := s.store.View(ctx, tenant, func(v View) error {
		set, err := s.settings(v)
		if err != nil {
			return err
		}
		a, err := v.Account(member)
		if err != nil {
			return err
		}
		out.BalanceView = set.Ledger.Balance(a.Book, s.now())
		return nil
	})
	return out, err
}

// ListTransactions returns up to size of member's transactions (0: DefaultPageSize, at most
// MaxPageSize), newest first, after the page token of a previous page ("" for the first), and
// the token of the next page ("" after the last). The history is the member's journal entries,
// linked newest to oldest, so a page costs what it returns whatever the history's length.
// Errors: Invalid on "member_id", "page_size"; Invalid INVALID_PAGE_TOKEN on "page_token" for a
// token that is not one of this member's pages.
func (s *Service) ListTransactions(ctx context.Context, tenant, member string, size int, token string) ([]*Txn, string, error) {
	var v apperr.Violations
	CheckToken(&v, "member_id", member)
	switch {
	case size < 0:
		v.Add("page_size", "must not be negative")
	case size == 0:
		size = DefaultPageSize
	case size > MaxPageSize:
		size = MaxPageSize
	}
	if err := v.Err(); err != nil {
		return nil, "", err
	}
	from, err := decodePageToken(tenant, member, token)
	if err != nil {
		return nil, "", err
	}
	var out []*Txn
	var next string
	err = s.store.View(ctx, tenant, func(v View) error {
		out, next = out[:0], ""
		seq := from
		if token == "" {
			a, err := v.Account(member)
			if err != nil {
				return err
			}
			seq = a.LastSequence
		}
		for seq != 0 && len(out) < size {
			e, err := v.Entry(seq)
			if err != nil {
				return err
			}
			if e == nil || e.Txn == nil || e.MemberID != member {
				if seq == from {
					// The token's own sequence: it is the caller's input (forged, or of a
					// restored store), not a broken chain.
					return badPageToken()
				}
				return fmt.Errorf("history of member %s: entry %d is not one of its transactions", member, seq)
			}
			out = append(out, e.Posted())
			seq = e.MemberPrevious
		}
		if seq != 0 {
			next = encodePageToken(tenant, member, seq)
		}
		return nil
	})
	if err != nil {
		return nil, "", err
	}
	return out, next, nil
}

// A page token is the sequence to go on from and whose history it is, so a token of another
// member (or tenant) is refused rather than showing another history.
func encodePageToken(tenant, member string, seq uint64) string {
	b := binary.AppendUvarint(nil, seq)
	b = append(b, tenant...)
	b = append(b, 0)
	b = append(b, member...)
	return base64.RawURLEncoding.EncodeToString(b)
}

// badPageToken refuses a page token that does not continue this member's transactions.
func badPageToken() error {
	return &apperr.Error{Code: apperr.Invalid, Reason: ReasonInvalidPageToken,
		Message:    "page_token is not a token of this member's transactions",
		Violations: []apperr.FieldViolation{{Field: "page_token", Description: "not a valid page token"}}}
}

func decodePageToken(tenant, member, tok string) (uint64, error) {
	if tok == "" {
		return 0, nil
	}
	bad := badPageToken()
	b, err := base64.RawURLEncoding.DecodeString(tok)
	if err != nil {
		return 0, bad
	}
	seq, n := binary.Uvarint(b)
	if n <= 0 || seq == 0 {
		return 0, bad
	}
	owner, ok := strings.CutPrefix(string(b[n:]), tenant+"\x00")
	if !ok || owner != member {
		return 0, bad
	}
	return seq, nil
}

// bookOp is a ledger operation on one member's book at now.
type bookOp func(set *Settings, b *ledger.Book, now time.Time) ([]ledger.Txn, error)

// memberNeed is what an operation requires of its member.
type memberNeed int

const (
	anyMember    memberNeed = iota // operations on what the member already has (a hold's capture or release)
	memberExists                   // staff corrections: any member the member service has
	memberActive                   // earning and spending: an ACTIVE member
)

// onBook runs op on member's book in one update, once need is met and guard (when not nil)
// allows it, and answers with answer's result; every transaction op posted is announced by
// PointsChanged.
func (s *Service) onBook(ctx context.Context, tenant, member string, need memberNeed, guard func(tx Tx) error, op bookOp,
	answer func(a *Account, last *Entry) (Result, error)) (Result, error) {
	now := s.now()
	return s.memberUpdate(ctx, tenant, func(tx Tx, c *memberCheck) (Result, []Event, error) {
		set, err := s.settings(tx)
		if err != nil {
			return nil, nil, err
		}
		a, err := tx.Account(member)
		if err != nil {
			return nil, nil, err
		}
		if need != anyMember {
			if _, err := c.use(a, "member_id", need == memberActive); err != nil {
				return nil, nil, err
			}
		}
		if guard != nil {
			if err := guard(tx); err != nil {
				return nil, nil, err
			}
		}
		txns, err := op(set, a.Book, now)
		if err != nil {
			return nil, nil, err
		}
		p := newPoster(tx)
		last, err := p.postTxns(a, txns, nil)
		if err != nil {
			return nil, nil, err
		}
		s.saveAccount(tx, set, a, now)
		res, err := answer(a, last)
		return res, p.events, err
	})
}

// txnAnswer answers with the operation's own transaction, which comes after its settlements.
func txnAnswer(_ *Account, last *Entry) (Result, error) { return last.Posted(), nil }

// holdAnswer answers with hold id as the book now has it.
func holdAnswer(id string) func(a *Account, _ *Entry) (Result, error) {
	return func(a *Account, _ *Entry) (Result, error) {
		h, ok := a.Book.FindHold(id)
		if !ok {
			return nil, fmt.Errorf("hold %s vanished from member %s's book", id, a.MemberID)
		}
		return &Hold{MemberID: a.MemberID, Hold: h}, nil
	}
}

// Redeem spends points of member's available points, soonest-expiring lots first, with cause
// (redemption, reason, actor). Errors: Invalid on "member_id", "points", "reason";
// NotFound MEMBER_NOT_FOUND; FailedPrecondition MEMBER_NOT_ACTIVE, INSUFFICIENT_POINTS; Invalid
// REQUEST_ID_REUSED; the member lookup's (Unavailable).
func (s *Service) Redeem(ctx context.Context, tenant, actor, member string, points int64, reason string) (*Txn, error) {
	var v apperr.Violations
	CheckToken(&v, "member_id", member)
	CheckPoints(&v, "points", points)
	CheckText(&v, "reason", reason, ledger.MaxReasonLen)
	if err := v.Err(); err != nil {
		return nil, err
	}
	res, err := s.onBook(ctx, tenant, member, memberActive, nil, func(set *Settings, b *ledger.Book, now time.Time) ([]ledger.Txn, error) {
		return set.Ledger.Redeem(b, ledger.RedeemRequest{Points: points, At: now,
			Cause: ledger.Cause{Type: ledger.CauseRedemption, Reason: reason, Actor: actor}})
	}, txnAnswer)
	if err != nil {
		return nil, err
	}
	return res.(*Txn), nil
}

// Adjust posts an admin correction of signed points with a reason (required). Errors: Invalid
// on "member_id", "points", "reason"; FailedPrecondition INSUFFICIENT_POINTS (a debit beyond
// the available points), POINTS_LIMIT_EXCEEDED; NotFound MEMBER_NOT_FOUND (a member of any
// status may be corrected); Invalid REQUEST_ID_REUSED.
func (s *Service) Adjust(ctx context.Context, tenant, actor, member string, points int64, reason string) (*Txn, error) {
	var v apperr.Violations
	CheckToken(&v, "member_id", member)
	if points == 0 || points > ledger.MaxPoints || points < -ledger.MaxPoints {
		v.Add("points", "must be non-zero and at most %d either way", ledger.MaxPoints)
	}
	if reason == "" {
		v.Add("reason", "is required")
	}
	CheckText(&v, "reason", reason, ledger.MaxReasonLen)
	if err := v.Err(); err != nil {
		return nil, err
	}
	res, err := s.onBook(ctx, tenant, member, memberExists, nil, func(set *Settings, b *ledger.Book, now time.Time) ([]ledger.Txn, error) {
		return set.Ledger.Adjust(b, ledger.AdjustRequest{Points: points, Reason: reason, Actor: actor, At: now})
	}, txnAnswer)
	if err != nil {
		return nil, err
	}
	return res.(*Txn), nil
}

// Hold reserves points of member's available points until expires (zero: the tenant's hold
// timeout from now) under a new hold id, with the caller's reference (a checkout id).
// Errors: Invalid on "member_id", "points", "reference", "expire_time" (not after now, or
// beyond the tenant's longest hold); NotFound MEMBER_NOT_FOUND; FailedPrecondition
// MEMBER_NOT_ACTIVE, INSUFFICIENT_POINTS; Invalid REQUEST_ID_REUSED.
func (s *Service) Hold(ctx context.Context, tenant, actor, member string, points int64, expires time.Time, reference string) (*Hold, error) {
	id := ids.New()
	var v apperr.Violations
	CheckToken(&v, "member_id", member)
	CheckPoints(&v, "points", points)
	CheckRef(&v, "reference", reference)
	if !expires.IsZero() && !expires.After(s.now()) {
		v.Add("expire_time", "must be in the future")
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	res, err := s.onBook(ctx, tenant, member, memberActive, nil, func(set *Settings, b *ledger.Book, now time.Time) ([]ledger.Txn, error) {
		until := expires
		if until.IsZero() {
			until = now.Add(set.HoldTimeout)
		}
		if until.After(now.Add(set.MaxHoldTimeout)) {
			return nil, apperr.InvalidField("expire_time", "must be at most %s from now", set.MaxHoldTimeout)
		}
		return set.Ledger.Hold(b, ledger.HoldRequest{HoldID: id, Points: points, At: now, ExpiresAt: until,
			Cause: ledger.Cause{Type: ledger.CauseRedemption, Ref: reference, Actor: actor}})
	}, holdAnswer(id))
	if err != nil {
		return nil, err
	}
	return res.(*Hold), nil
}

// notRedemptionHold refuses, with HOLD_OF_REDEMPTION, a plain capture or release of member's
// hold id when the hold backs member's external reward redemption: only UpdateRedemption may
// settle it, or the reward would be handed out unpaid (or paid and left PENDING).
func notRedemptionHold(member, id string) func(tx Tx) error {
	return func(tx Tx) error {
		red, err := tx.Redemption(id)
		if err != nil || red == nil || red.MemberID != member {
			return err
		}
		return apperr.E(apperr.FailedPrecondition, ReasonHoldOfRedemption,
			"hold %q backs reward redemption %s: update the redemption to settle it", id, red.ID).With("hold_id", id)
	}
}

// Capture spends points (0: all) of member's open hold id and releases the rest.
// Errors: Invalid on "member_id", "hold_id", "points" (also beyond what is held); NotFound
// HOLD_NOT_FOUND; FailedPrecondition HOLD_CLOSED, HOLD_EXPIRED, HOLD_OF_REDEMPTION (the hold
// backs a reward redemption); Invalid REQUEST_ID_REUSED.
func (s *Service) Capture(ctx context.Context, tenant, member, id string, points int64) (*Hold, error) {
	var v apperr.Violations
	CheckToken(&v, "member_id", member)
	CheckToken(&v, "hold_id", id)
	if points < 0 || points > ledger.MaxPoints {
		v.Add("points", "must be between 0 (all) and %d", ledger.MaxPoints)
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	res, err := s.onBook(ctx, tenant, member, anyMember, notRedemptionHold(member, id), func(set *Settings, b *ledger.Book, now time.Time) ([]ledger.Txn, error) {
		return set.Ledger.Capture(b, ledger.CaptureRequest{HoldID: id, Points: points, At: now})
	}, holdAnswer(id))
	if err != nil {
		return nil, err
	}
	return res.(*Hold), nil
}

// Release gives member's open hold id back; a hold that timed out meanwhile is released by the
// settlement and comes back EXPIRED. Errors: Invalid on "member_id", "hold_id"; NotFound
// HOLD_NOT_FOUND; FailedPrecondition HOLD_CLOSED, HOLD_OF_REDEMPTION (the hold backs a reward
// redemption); Invalid REQUEST_ID_REUSED.
func (s *Service) Release(ctx context.Context, tenant, actor, member, id string) (*Hold, error) {
	var v apperr.Violations
	CheckToken(&v, "member_id", member)
	CheckToken(&v, "hold_id", id)
	if err := v.Err(); err != nil {
		return nil, err
	}
	res, err := s.onBook(ctx, tenant, member, anyMember, notRedemptionHold(member, id), func(set *Settings, b *ledger.Book, now time.Time) ([]ledger.Txn, error) {
		return set.Ledger.Release(b, ledger.ReleaseRequest{HoldID: id, Actor: actor, At: now})
	}, holdAnswer(id))
	if err != nil {
		return nil, err
	}
	return res.(*Hold), nil
}
