package ledger

import (
	"time"
	"unicode/utf8"

	"github.com/huiyuan-dev/huiyuan/pkg/apperr"
)

// Kind says what a transaction did.
type Kind string

// The transaction kinds.
const (
	KindEarn        Kind = "EARN"         // issued (or a campaign budget) → debt repayment, available or pending
	KindRedeem      Kind = "REDEEM"       // available → redeemed
	KindAdjust      Kind = "ADJUST"       // adjustments ↔ available (positive also repays debt)
	KindHold        Kind = "HOLD"         // available → held
	KindCapture     Kind = "CAPTURE"      // held → redeemed, the uncaptured rest → debt repayment, available
	KindRelease     Kind = "RELEASE"      // held → debt repayment, available (by request or on timeout)
	KindMature      Kind = "MATURE"       // pending → debt repayment, available when the return window closes
	KindExpire      Kind = "EXPIRE"       // available/pending → expired
	KindReverse     Kind = "REVERSE"      // pending/available/debt → issued, for a refund
	KindTransferOut Kind = "TRANSFER_OUT" // sender: available → transfers
	KindTransferIn  Kind = "TRANSFER_IN"  // receiver: transfers → debt repayment, available
)

// CauseType says why a transaction happened.
type CauseType string

// The cause types.
const (
	CauseOrder      CauseType = "order"      // points earned by an order; Ref is the order id
	CauseRefund     CauseType = "refund"     // Ref is the refund id
	CauseRedemption CauseType = "redemption" // points spent (checkout, rewards, coupon exchange)
	CauseCampaign   CauseType = "campaign"   // Ref is the campaign id; paid from its budget account
	CauseAdmin      CauseType = "admin"      // Reason and Actor are required
	CauseTransfer   CauseType = "transfer"   // Ref is the transfer id
	CauseCheckIn    CauseType = "checkin"    // daily check-in
	CauseReward     CauseType = "reward"     // points granted for something else (review, referral, birthday)
	CauseExpiry     CauseType = "expiry"     // posted by Settle
	CauseHold       CauseType = "hold"       // Ref is the hold id
	CauseMaturity   CauseType = "maturity"   // posted by Settle when return windows close
)

// Limits on the text a caller puts into a transaction.
const (
	MaxRefLen    = 128 // bytes of Cause.Ref, Cause.Actor, hold ids and order refs
	MaxReasonLen = 500 // runes of Cause.Reason
	// MaxPoints is the most points one operation moves, far above any real use and far enough
	// below the int64 range that sums of many operations cannot overflow in practice (and are
	// checked anyway).
	MaxPoints int64 = 1_000_000_000_000
)

// Cause records why a transaction was posted, for the audit trail.
type Cause struct {
	Type   CauseType
	Ref    string // the order, refund, campaign, hold or transfer id
	Reason string // free text; required for admin adjustments
	Actor  string // who asked: an API key id, a staff member; required for admin adjustments
}

// Posting moves Points into Account (negative: out of it). A transaction's postings sum to zero.
type Posting struct {
	Account Account
	Points  int64
}

// Txn is one balanced transaction in a member's books. Transactions are never changed or
// deleted: a correction is a new transaction.
type Txn struct {
	ID       string
	MemberID string
	Kind     Kind
	Cause    Cause
	Time     time.Time // UTC
	Postings []Posting // non-zero amounts, summing to zero
}

// Sum returns the sum of t's postings, which is zero for every transaction this package makes.
func (t *Txn) Sum() int64 {
	var s int64
	for _, p := range t.Postings {
		s += p.Points
	}
	return s
}

// Delta returns the net points t posted to a.
func (t *Txn) Delta(a Account) int64 {
	var s int64
	for _, p := range t.Postings {
		if p.Account == a {
			s += p.Points
		}
	}
	return s
}

// validateCause checks c's text and that its type is one of allowed. prefix is the request
// field holding the cause ("cause"), or "" when the request has its parts as flat fields.
func validateCause(c Cause, prefix string, v *apperr.Violations, allowed ...CauseType) {
	field := prefix
	if prefix != "" {
		field += "."
	}
	ok := false
	for _, t := range allowed {
		ok = ok || c.Type == t
	}
	if !ok {
		v.Add(field+"type", "must be one of %v", allowed)
	}
	if len(c.Ref) > MaxRefLen {
		v.Add(field+"ref", "must be at most %d bytes", MaxRefLen)
	}
	if len(c.Actor) > MaxRefLen {
		v.Add(field+"actor", "must be at most %d bytes", MaxRefLen)
	}
	if !utf8.ValidString(c.Reason) || utf8.RuneCountInString(c.Reason) > MaxReasonLen {
		v.Add(field+"reason", "must be valid UTF-8 of at most %d characters", MaxReasonLen)
	}
	if c.Type == CauseCampaign && c.Ref == "" {
		v.Add(field+"ref", "must name the campaign")
	}
	if c.Type == CauseAdmin {
		if c.Reason == "" {
			v.Add(field+"reason", "is required for an admin adjustment")
		}
		if c.Actor == "" {
			v.Add(field+"actor", "is required for an admin adjustment")
		}
	}
}

// validatePoints checks 0 < p <= MaxPoints.
func validatePoints(p int64, field string, v *apperr.Violations) {
	if p <= 0 || p > MaxPoints {
		v.Add(field, "must be between 1 and %d", MaxPoints)
	}
}
