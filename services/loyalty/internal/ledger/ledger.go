// Package ledger is the points ledger domain: double-entry books per member, point lots with
// expiry, holds, refunds, transfers, earning and check-in rules, verification and liability.
// It is pure and deterministic: time and ids come from the caller (ids through Config.NewID),
// and it imports neither gRPC, bbolt, NATS nor generated code.
//
// A store loads a member's Book, calls one Ledger operation, and saves the book together with
// the transactions the operation returns, all in one storage transaction. An operation either
// returns an error and leaves the book exactly as it was, or mutates it and returns what it
// posted.
//
// Time: every operation at time At first settles the book as of At (see Ledger.Settle): holds
// whose timeout passed are released, pending lots whose return window closed mature, and due
// lots expire. So a book never spends points that have expired, whether or not the expiry job
// has run. The settlement transactions come first in the returned slice; the operation's own
// transaction comes last. Times never go backwards within a book: an At before the book's last
// transaction is taken as that time.
//
// Decisions where the issue leaves a choice:
//   - Every credit to a member (earnings, positive adjustments, received transfers) repays debt
//     first, and so do points coming back to available (a hold released, timed out or
//     captured in part; pending points maturing), so a member never holds spendable points
//     while owing.
//   - A partial capture releases the uncaptured rest of the hold; a hold is captured once.
//   - Refund dues are cumulative per order (PointsToReverse), so what a policy forgives stays
//     forgiven and a series of partial refunds reverses exactly what one full refund would.
//   - The transfer window cap is kept in the sender's book (Book.RecentTransfers), so callers
//     need not query past transfers.
//   - Pending points can be neither spent nor transferred; only a refund of their own order
//     takes them back before they mature.
package ledger

import (
	"errors"
	"time"
	"unicode/utf8"

	"github.com/huiyuan-dev/huiyuan/pkg/apperr"
	"github.com/huiyuan-dev/huiyuan/pkg/ids"
)

// Config is a tenant's ledger configuration.
type Config struct {
	// Location is the tenant's time zone, for calendar expiry and month buckets; nil means UTC.
	Location *time.Location
	// Expiry sets the expiry of lots credited without an explicit one (earnings by default,
	// positive adjustments, and transferred lots when Transfer.KeepExpiry is false).
	Expiry ExpiryPolicy
	// Transfer governs member-to-member transfers.
	Transfer TransferRules
	// NewID makes transaction ids; nil means ids.New (UUIDv7). It must be safe for concurrent
	// use if the Ledger is shared. (Lot ids are numbered in their book: Book.LotSeq.)
	NewID func() string
}

// Ledger applies a tenant's configuration to member books. It holds no mutable state and is
// safe for concurrent use on different books; a Book itself is not safe for concurrent use.
type Ledger struct {
	loc      *time.Location
	expiry   ExpiryPolicy
	transfer TransferRules
	newID    func() string
}

// New returns a Ledger for cfg. Errors: Invalid with violations on "expiry.*" and "transfer.*".
func New(cfg Config) (*Ledger, error) {
	var v apperr.Violations
	cfg.Expiry.validate("expiry", &v)
	cfg.Transfer.validate("transfer", &v)
	if err := v.Err(); err != nil {
		return nil, err
	}
	l := &Ledger{loc: cfg.Location, expiry: cfg.Expiry, transfer: cfg.Transfer, newID: cfg.NewID}
	if l.loc == nil {
		l.loc = time.UTC
	}
	if l.newID == nil {
		l.newID = ids.New
	}
	return l, nil
}

// Location returns the tenant's time zone.
func (l *Ledger) Location() *time.Location { return l.loc }

// opTime validates an operation's time and returns it in UTC, never before the book's last
// transaction.
func opTime(b *Book, at time.Time, v *apperr.Violations) time.Time {
	if at.IsZero() {
		v.Add("time", "is required")
		return at
	}
	at = at.UTC()
	if at.Before(b.UpdatedAt) {
		at = b.UpdatedAt
	}
	return at
}

// errNilBook guards against programmer errors without panicking.
var errNilBook = errors.New("ledger: nil book")

// txn builds a transaction with a fresh id, keeping only the non-zero postings.
func (l *Ledger) txn(b *Book, kind Kind, cause Cause, at time.Time, postings ...Posting) Txn {
	ps := make([]Posting, 0, len(postings))
	for _, p := range postings {
		if p.Points != 0 {
			ps = append(ps, p)
		}
	}
	return Txn{ID: l.newID(), MemberID: b.MemberID, Kind: kind, Cause: cause, Time: at, Postings: ps}
}

// validateID checks a caller-chosen id: 1 to MaxRefLen bytes of printable, non-space text.
func validateID(id, field string, v *apperr.Violations) {
	if id == "" || len(id) > MaxRefLen {
		v.Add(field, "must be 1 to %d bytes", MaxRefLen)
		return
	}
	for _, r := range id {
		if r <= ' ' || r == 0x7f || r == utf8.RuneError {
			v.Add(field, "must be printable text without spaces")
			return
		}
	}
}
