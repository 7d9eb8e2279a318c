package ledger

import (
	"cmp"
	"slices"
	"time"
)

// Lot is one credit of points with its own expiry. Debits consume lots in consumption order
// (Book.Lots); a lot leaves the book once nothing of it is left or held.
type Lot struct {
	ID        string
	TxnID     string    // the transaction that credited it
	Order     string    // the order whose earning this is (refunds reverse it); "" otherwise
	EarnedAt  time.Time // UTC
	ExpiresAt time.Time // UTC; zero: never expires
	// PendingUntil is when a pending lot becomes available (UTC; zero for lots never pending).
	PendingUntil time.Time
	Pending      bool  // the points are in the pending account, not yet spendable
	Points       int64 // credited
	Remaining    int64 // neither spent, held nor expired: counted in available (pending while Pending)
	Held         int64 // taken by open holds: counted in held
	Notified     bool  // the expiring-soon event went out
}

// compareLots orders lots for consumption: soonest expiry first, never-expiring last, then
// earliest earned, then by id so that the order is total.
func compareLots(a, b *Lot) int {
	switch az, bz := a.ExpiresAt.IsZero(), b.ExpiresAt.IsZero(); {
	case az && !bz:
		return 1
	case !az && bz:
		return -1
	case !az:
		if c := a.ExpiresAt.Compare(b.ExpiresAt); c != 0 {
			return c
		}
	}
	if c := a.EarnedAt.Compare(b.EarnedAt); c != 0 {
		return c
	}
	return cmp.Compare(a.ID, b.ID)
}

// insertLot adds l at its place in consumption order.
func (b *Book) insertLot(l Lot) {
	i, _ := slices.BinarySearchFunc(b.Lots, &l, func(x Lot, t *Lot) int { return compareLots(&x, t) })
	b.Lots = slices.Insert(b.Lots, i, l)
}

// pruneLots drops lots with nothing left or held. (A hand-written loop: slices.DeleteFunc
// would copy every lot into its predicate.)
func (b *Book) pruneLots() {
	j := 0
	for i := range b.Lots {
		if l := &b.Lots[i]; l.Remaining != 0 || l.Held != 0 {
			if i != j {
				b.Lots[j] = *l
			}
			j++
		}
	}
	clear(b.Lots[j:])
	b.Lots = b.Lots[:j]
}

func (b *Book) lotIndex(id string) int {
	for i := range b.Lots {
		if b.Lots[i].ID == id {
			return i
		}
	}
	return -1
}

// ExpiringSoon returns copies of the lots with available points that expire after at and no
// later than at+within and whose expiring-soon event has not gone out, soonest first. It sees
// the book as of at (see Ledger.Balance): a copy's Remaining is what is available of it then.
// Call MarkNotified with their ids once the event is recorded, so each lot is announced once.
func (b *Book) ExpiringSoon(at time.Time, within time.Duration) []Lot {
	at = at.UTC()
	limit := at.Add(within)
	s := planSettle(b, at)
	var out []Lot
	for i := range b.Lots {
		l := &b.Lots[i]
		if l.ExpiresAt.IsZero() || l.ExpiresAt.After(limit) {
			break // consumption order: the rest expire later or never
		}
		if n := s.spendable(l); n > 0 && !l.Notified {
			c := *l
			c.Remaining, c.Pending = n, false
			out = append(out, c)
		}
	}
	return out
}

// MarkNotified records that the expiring-soon event went out for the lots with the given ids
// and returns how many it marked; unknown ids (lots spent meanwhile) are skipped.
func (b *Book) MarkNotified(lotIDs ...string) int {
	n := 0
	for _, id := range lotIDs {
		if i := b.lotIndex(id); i >= 0 && !b.Lots[i].Notified {
			b.Lots[i].Notified = true
			n++
		}
	}
	return n
}

// ofOrder reports whether l was earned by order ref.
func (l *Lot) ofOrder(ref string) bool { return ref != "" && l.Order == ref }
