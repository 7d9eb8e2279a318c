package ledger

import (
	"time"

	"github.com/huiyuan-dev/huiyuan/pkg/apperr"
)

// settlement is the plan for bringing a book up to a time: which holds time out, how many
// points mature and expire. Planning reads the book without changing it, so an operation can
// check itself against the settled book before anything is mutated.
type settlement struct {
	at         time.Time
	holds      []int            // open holds whose timeout passed, by index in Book.Holds
	returned   map[string]int64 // points those holds give back, by lot id; nil when none
	dueEnd     int              // Book.Lots[:dueEnd] are due
	released   int64
	matured    int64
	expAvail   int64 // expiring from available
	expPending int64 // expiring while still pending
	// repaid is what repays debt, taken from the lots in taken (points by lot id): first
	// settleRepaid, of the released and matured points, then what the operation after the
	// settlement gives back (a release, a capture's rest).
	repaid       int64
	settleRepaid int64
	taken        map[string]int64
}

func planSettle(b *Book, at time.Time) settlement {
	// Hidden lots are neither pending nor held, and only those due by at matter here.
	b.revealIfUnsure()
	b.revealThrough(at)
	s := settlement{at: at}
	for i := range b.Holds {
		h := &b.Holds[i]
		if h.Status != HoldOpen || h.ExpiresAt.After(at) {
			continue
		}
		s.holds = append(s.holds, i)
		s.released += h.Points
		if s.returned == nil {
			s.returned = make(map[string]int64, len(h.Portions))
		}
		for _, p := range h.Portions {
			s.returned[p.LotID] += p.Points
		}
	}
	// Lots are in expiry order, so the due ones are a prefix; past it only pending lots
	// matter, and there are none when the pending balance is zero.
	pending := b.Balances[Pending] != 0
	for i := range b.Lots {
		l := &b.Lots[i]
		if i == s.dueEnd && s.due(l) {
			s.dueEnd++
		}
		if i >= s.dueEnd && !pending {
			break
		}
		rem := s.remaining(l)
		switch {
		case i < s.dueEnd && s.expiresPending(l):
			s.expPending += rem
		case i < s.dueEnd:
			if l.Pending {
				s.matured += rem
			}
			s.expAvail += rem
		case l.Pending && !s.pending(l):
			s.matured += rem
		}
	}
	// Points coming back to available while the member owes repay the debt first, as credits
	// do: otherwise a refund booked as debt could be spent from points held or pending then.
	if n := min(s.released+s.matured, b.Owed(), s.available(b)); n > 0 {
		s.repay(b, n)
		s.settleRepaid = n
	}
	return s
}

// owed is what the member owes once the planned repayments are posted.
func (s *settlement) owed(b *Book) int64 { return max(b.Owed()-s.repaid, 0) }

// repay plans repaying n points of debt from the spendable lots, in consumption order; the
// caller has checked that they offer n.
func (s *settlement) repay(b *Book, n int64) {
	takes := b.planTake(s, n)
	if s.taken == nil {
		s.taken = make(map[string]int64, len(takes))
	}
	for _, t := range takes {
		s.taken[b.Lots[t.lot].ID] += t.points
	}
	s.repaid += n
}

// giveBack plans the return of open hold h's points beyond its first capture ones to their
// lots, which the operation's closeHold does, and then the repayment of debt from them: as
// much as is owed, of the points that land in lots still spendable (a lot that expired
// meanwhile takes its points at the next settlement). It returns the points repaid.
func (s *settlement) giveBack(b *Book, h *Hold, capture int64) int64 {
	var back int64
	for _, p := range h.Portions {
		spent := min(p.Points, capture)
		capture -= spent
		n := p.Points - spent
		if n == 0 {
			continue
		}
		if s.returned == nil {
			s.returned = make(map[string]int64, len(h.Portions))
		}
		s.returned[p.LotID] += n
		if j := b.lotIndex(p.LotID); j >= 0 && !s.due(&b.Lots[j]) {
			back += n
		}
	}
	n := min(back, s.owed(b))
	if n > 0 {
		s.repay(b, n)
	}
	return n
}

// expiresPending reports whether l expires before its return window closed: it leaves pending
// for expired without ever becoming available.
func (s *settlement) expiresPending(l *Lot) bool {
	return l.Pending && s.due(l) && !l.ExpiresAt.After(l.PendingUntil)
}

// remaining is l.Remaining once timed-out holds returned their portions and debt was repaid.
func (s *settlement) remaining(l *Lot) int64 {
	if s.returned == nil && s.taken == nil {
		return l.Remaining
	}
	return l.Remaining + s.returned[l.ID] - s.taken[l.ID]
}

// pending reports whether l is still pending at the settlement time.
func (s *settlement) pending(l *Lot) bool { return l.Pending && l.PendingUntil.After(s.at) }

// due reports whether l has expired at the settlement time.
func (s *settlement) due(l *Lot) bool { return !l.ExpiresAt.IsZero() && !l.ExpiresAt.After(s.at) }

// spendable is what l offers a debit once the book is settled.
func (s *settlement) spendable(l *Lot) int64 {
	if s.pending(l) || s.due(l) {
		return 0
	}
	return s.remaining(l)
}

// available, pendingTotal and held are the balances of the settled book.
func (s *settlement) available(b *Book) int64 {
	return b.Balances[Available] + s.released + s.matured - s.expAvail - s.repaid
}
func (s *settlement) pendingTotal(b *Book) int64 {
	return b.Balances[Pending] - s.matured - s.expPending
}
func (s *settlement) held(b *Book) int64 { return b.Balances[Held] - s.released }

// txns appends the settlement's transactions to out: a release per timed-out hold, then one
// maturity and one expiry transaction when there is something to post. The repayment is
// posted by the releases, in order, then by the maturity, each repaying what it can.
func (s *settlement) txns(l *Ledger, b *Book, out []Txn) []Txn {
	repay := s.settleRepaid
	for _, i := range s.holds {
		h := &b.Holds[i]
		r := min(repay, h.Points)
		repay -= r
		out = append(out, l.txn(b, KindRelease, Cause{Type: CauseHold, Ref: h.ID, Reason: "timeout"}, s.at,
			Posting{Held, -h.Points}, Posting{Debt, r}, Posting{Available, h.Points - r}))
	}
	if s.matured > 0 {
		out = append(out, l.txn(b, KindMature, Cause{Type: CauseMaturity}, s.at,
			Posting{Pending, -s.matured}, Posting{Debt, repay}, Posting{Available, s.matured - repay}))
	}
	if exp := s.expAvail + s.expPending; exp > 0 {
		out = append(out, l.txn(b, KindExpire, Cause{Type: CauseExpiry}, s.at,
			Posting{Available, -s.expAvail}, Posting{Pending, -s.expPending}, Posting{Expired, exp}))
	}
	return out
}

// apply changes the lots and holds as planned; the postings come from txns.
func (s *settlement) apply(b *Book) {
	for _, i := range s.holds {
		b.closeHold(i, HoldExpired, 0, s.at)
	}
	pending := b.Balances[Pending] != 0
	for i := range b.Lots {
		if i >= s.dueEnd && !pending {
			break
		}
		l := &b.Lots[i]
		if i < s.dueEnd {
			l.Remaining = 0 // a lot with nothing left or held is pruned, so Pending may stay
		}
		if l.Pending && !s.pending(l) && !s.expiresPending(l) {
			l.Pending = false
		}
	}
	for id, n := range s.taken {
		if j := b.lotIndex(id); j >= 0 {
			b.Lots[j].Remaining -= n
		}
	}
}

// commit finishes an operation whose checks passed: it checks that the postings fit, applies
// the settlement, then mutate (the operation's own lot and hold changes), then the postings.
// Nothing is changed when it fails. Errors: FailedPrecondition POINTS_LIMIT_EXCEEDED.
func (b *Book) commit(s *settlement, txns []Txn, earned int64, mutate func()) ([]Txn, error) {
	if err := b.fits(txns, earned); err != nil {
		return nil, err
	}
	s.apply(b)
	if mutate != nil {
		mutate()
	}
	b.post(txns)
	b.pruneLots()
	b.mergeLots()
	return txns, nil
}

// Settle brings b up to at: holds whose timeout passed are released (one RELEASE transaction
// each, cause reason "timeout"), pending lots whose return window closed mature (one MATURE
// transaction), what these give back repays debt first (in those transactions, from the lots
// that expire first, up to what stays available), then every lot due at or before at expires
// (one EXPIRE transaction for all of them, moving their remaining points to the expired
// account; a lot that expired before its return window closed goes from pending to expired
// without maturing). A portion that a hold returns to a lot that expired meanwhile expires in
// the same run. Settling twice at the same time posts nothing the second time, so it is the
// expiry job: run it whenever; it posts at most once per due lot. Every other operation
// settles first, so calling Settle is only needed to post expiries of books nobody touches.
// Errors: Invalid on "time"; FailedPrecondition POINTS_LIMIT_EXCEEDED.
func (l *Ledger) Settle(b *Book, at time.Time) ([]Txn, error) {
	if b == nil {
		return nil, errNilBook
	}
	var v apperr.Violations
	at = opTime(b, at, &v)
	if err := v.Err(); err != nil {
		return nil, err
	}
	s := planSettle(b, at)
	txns := s.txns(l, b, nil)
	if len(txns) == 0 {
		return nil, nil
	}
	return b.commit(&s, txns, 0, nil)
}
