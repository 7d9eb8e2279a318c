package ledger

import "time"

// ExpiringBucket is the available points that expire at one instant.
type ExpiringBucket struct {
	ExpiresAt time.Time // UTC; for the policies, a local midnight
	Points    int64
}

// BalanceView is a member's balance as of a time.
type BalanceView struct {
	Available      int64
	Held           int64
	Pending        int64
	Owed           int64 // points owed on the debt account (>= 0)
	LifetimeEarned int64
	// Expiring lists the available points by expiry, soonest first. Points that never expire,
	// held points and pending points are not listed.
	Expiring []ExpiringBucket
}

// Balance returns b's balance as of at, as if the book were settled then (so points due by at
// are not counted, timed-out holds are available again, and closed return windows have
// matured), without changing b. A zero at, or one before the book's last transaction, means
// the book's last transaction time.
func (l *Ledger) Balance(b *Book, at time.Time) BalanceView {
	if b == nil {
		return BalanceView{}
	}
	at = at.UTC()
	if at.Before(b.UpdatedAt) {
		at = b.UpdatedAt
	}
	s := planSettle(b, at)
	b.revealAll() // every expiry is listed
	view := BalanceView{
		Available:      s.available(b),
		Held:           s.held(b),
		Pending:        s.pendingTotal(b),
		Owed:           b.Owed(),
		LifetimeEarned: b.LifetimeEarned,
	}
	for i := range b.Lots {
		lot := &b.Lots[i]
		if lot.ExpiresAt.IsZero() {
			break // consumption order: only never-expiring lots follow
		}
		n := s.spendable(lot)
		if n == 0 {
			continue
		}
		if k := len(view.Expiring); k > 0 && view.Expiring[k-1].ExpiresAt.Equal(lot.ExpiresAt) {
			view.Expiring[k-1].Points += n
			continue
		}
		view.Expiring = append(view.Expiring, ExpiringBucket{ExpiresAt: lot.ExpiresAt, Points: n})
	}
	return view
}
