package ledger

import (
	"sort"
	"time"
)

// A store may hand over a book without all its lots: a member who orders daily under a daily
// expiry has a lot per day of the year, and an order touches only the first few (those due or
// spent first) and the last few (the one it merges into, the pending ones). The lots left out
// are hidden: Book.Lots holds the others, and operations read hidden lots from the store's
// LotSource when they reach them, so a book with hidden lots behaves exactly as the whole book
// would, and what an order reads does not grow with the member's history.

// LotSource reads a book's hidden lots from its store.
type LotSource interface {
	// Lots returns, in consumption order, the stored lots whose expiry is in [from, to]: all of
	// them when n <= 0, else the first n and those after that share the last one's expiry. next
	// is the expiry of the first lot in the range it did not return, zero when it returned all.
	// A source that cannot read returns nothing and fails its transaction.
	Lots(from, to time.Time, n int) (lots []Lot, next time.Time)
	// FirstUnannounced returns the expiry of the first stored lot with its expiry in [from, to]
	// whose expiring-soon event has not gone out (Lot.Notified), zero when there is none.
	FirstUnannounced(from, to time.Time) time.Time
}

// hidden describes the lots of a book its store did not load: a run of lots adjacent in
// consumption order whose expiries lie in [first, last], no loaded lot's expiry inside that
// range. Every hidden lot expires, has points left and is neither pending nor held; the store
// chose them so (Hide). Some may have been announced as expiring. src is nil when nothing is
// hidden.
type hidden struct {
	src         LotSource
	first, last time.Time
}

// revealChunk is how many hidden lots an operation reads at a time from the front.
const revealChunk = 8

// Hide tells b that the lots of its member with expiries in [first, last] are not in Lots, and
// that src reads them. The store must leave out only lots that expire, have points left, are
// neither pending nor held, and share no expiry with a lot in Lots; it calls Hide once, right
// after loading.
func (b *Book) Hide(src LotSource, first, last time.Time) {
	b.hidden = hidden{src: src, first: first.UTC(), last: last.UTC()}
}

// HiddenRange returns the expiries of b's first and last hidden lot, and false when no lot is
// hidden.
func (b *Book) HiddenRange() (first, last time.Time, ok bool) {
	return b.hidden.first, b.hidden.last, b.hidden.src != nil
}

// HiddenUnannounced returns the expiry of b's first hidden lot not yet announced as expiring
// (Lot.Notified), zero when there is none or nothing is hidden. It reads no lot into the book.
func (b *Book) HiddenUnannounced() time.Time {
	if h := &b.hidden; h.src != nil {
		return h.src.FirstUnannounced(h.first, h.last)
	}
	return time.Time{}
}

// hiddenAt returns the index in Lots where the hidden lots belong.
func (b *Book) hiddenAt() int {
	last := b.hidden.last
	return sort.Search(len(b.Lots), func(i int) bool {
		e := b.Lots[i].ExpiresAt
		return e.IsZero() || e.After(last)
	})
}

// reveal reads up to n hidden lots from the front (all when n <= 0) into Lots and returns how
// many it read.
func (b *Book) reveal(n int) int {
	h := &b.hidden
	if h.src == nil {
		return 0
	}
	lots, next := h.src.Lots(h.first, h.last, n)
	at := b.hiddenAt()
	b.Lots = append(b.Lots[:at], append(lots, b.Lots[at:]...)...)
	if next.IsZero() || n <= 0 {
		*h = hidden{}
	} else {
		h.first = next
	}
	return len(lots)
}

// revealThrough reads the hidden lots that expire at or before t.
func (b *Book) revealThrough(t time.Time) {
	for b.hidden.src != nil && !b.hidden.first.After(t) {
		if b.reveal(revealChunk) == 0 {
			b.hidden = hidden{} // the source failed: its transaction fails
		}
	}
}

// revealAll reads every hidden lot.
func (b *Book) revealAll() { b.reveal(0) }

// revealSpendable reads hidden lots from the front until the lots before them offer points
// (settled as s plans) or nothing is hidden, so that planTake never reaches a hidden lot.
func (b *Book) revealSpendable(s *settlement, points int64) {
	if b.hidden.src == nil {
		return
	}
	at := b.hiddenAt()
	for i := 0; i < at && points > 0; i++ {
		points -= s.spendable(&b.Lots[i])
	}
	for points > 0 && b.hidden.src != nil {
		n := b.reveal(revealChunk)
		if n == 0 {
			b.hidden = hidden{}
			return
		}
		for i := at; i < at+n; i++ {
			points -= s.spendable(&b.Lots[i])
		}
		at += n
	}
}

// revealAround reads every hidden lot when l would sort among them (or merge with one).
func (b *Book) revealAround(l *Lot) {
	h := &b.hidden
	if h.src != nil && !l.ExpiresAt.IsZero() && !l.ExpiresAt.Before(h.first) && !l.ExpiresAt.After(h.last) {
		b.revealAll()
	}
}

// revealIfUnsure reads every hidden lot unless the loaded lots account for all pending and held
// points, which hidden lots never have: a store that hid one would otherwise be trusted.
func (b *Book) revealIfUnsure() {
	if b.hidden.src == nil {
		return
	}
	var pending, held int64
	for i := range b.Lots {
		l := &b.Lots[i]
		if l.Pending {
			pending += l.Remaining
		}
		held += l.Held
	}
	if pending != b.Balances[Pending] || held != b.Balances[Held] {
		b.revealAll()
	}
}
