package ledger

import (
	"cmp"
	"slices"
	"time"
)

// Lot is credited points with their own expiry. Debits consume lots in consumption order
// (Book.Lots); a lot leaves the book once nothing of it is left or held. Available lots that
// expire together are one lot (see mergeLots), so a book holds a lot per expiry however many
// orders earned it, plus the pending lots of orders still inside their return window.
type Lot struct {
	ID        string
	Order     string    // the order whose pending earning this is (refunds reverse it); "" once available
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
	b.revealAround(&l)
	i, _ := slices.BinarySearchFunc(b.Lots, &l, func(x Lot, t *Lot) int { return compareLots(&x, t) })
	b.Lots = slices.Insert(b.Lots, i, l)
}

// mergeLots folds each available lot into an earlier available lot of the same expiry, so
// lots do not pile up with a member's history: what an order costs does not grow with the
// orders before it. A lot some hold took points of keeps its identity (the hold names it), and
// one announced as expiring soon (Notified) merges only with another announced one. Merging
// changes no balance: lots of one expiry are consumed, expire and are announced together.
// Available lots forget their order, which only refunds of pending points use.
func (b *Book) mergeLots() {
	j := 0
	for i := range b.Lots {
		l := &b.Lots[i] // lots are moved only when an earlier one was merged away
		if !l.Pending {
			l.Order = ""
			if t := b.mergeTarget(j, l); t >= 0 {
				b.Lots[t].Points += l.Points
				b.Lots[t].Remaining += l.Remaining
				continue
			}
		}
		if i != j {
			b.Lots[j] = *l
		}
		j++
	}
	clear(b.Lots[j:])
	b.Lots = b.Lots[:j]
}

// mergeTarget returns the index among the first n lots of the lot l folds into, or -1.
func (b *Book) mergeTarget(n int, l *Lot) int {
	if l.Held != 0 {
		return -1
	}
	for t := n - 1; t >= 0 && b.Lots[t].ExpiresAt.Equal(l.ExpiresAt); t-- {
		if x := &b.Lots[t]; !x.Pending && x.Notified == l.Notified {
			return t
		}
	}
	return -1
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
	b.revealThrough(limit)
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
