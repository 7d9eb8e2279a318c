package ledger_test

import (
	"cmp"
	"slices"
	"time"

	"github.com/huiyuan-dev/huiyuan/services/loyalty/internal/ledger"
)

// The reference model: a member is a list of lots (points, expiry) and a map of account sums,
// changed by the most direct code that follows the rules. The randomized test runs every
// operation on both and compares.

type mLot struct {
	seq                           int // creation order, the last tie-break
	order                         string
	earned, expires, pendingUntil time.Time
	pending                       bool
	rem, held                     int64
}

type mPart struct {
	seq int
	pts int64
}

type mHold struct {
	id      string
	parts   []mPart
	points  int64
	expires time.Time
	status  ledger.HoldStatus
}

type mMark struct {
	at  time.Time
	pts int64
}

type model struct {
	id       string
	lots     []mLot
	holds    []mHold
	bal      map[ledger.Account]int64
	lifetime int64
	marks    []mMark
}

func newModel(id string) *model { return &model{id: id, bal: map[ledger.Account]int64{}} }

func (m *model) clone() *model {
	c := *m
	c.lots = slices.Clone(m.lots)
	c.holds = slices.Clone(m.holds)
	for i := range c.holds {
		c.holds[i].parts = slices.Clone(c.holds[i].parts)
	}
	c.bal = make(map[ledger.Account]int64, len(m.bal))
	for k, v := range m.bal {
		c.bal[k] = v
	}
	c.marks = slices.Clone(m.marks)
	return &c
}

func (m *model) move(from, to ledger.Account, n int64) {
	m.bal[from] -= n
	m.bal[to] += n
}

func (m *model) lot(seq int) *mLot {
	for i := range m.lots {
		if m.lots[i].seq == seq {
			return &m.lots[i]
		}
	}
	panic("model: no lot")
}

func (m *model) hold(id string) *mHold {
	for i := range m.holds {
		if m.holds[i].id == id {
			return &m.holds[i]
		}
	}
	return nil
}

// sort puts lots in the order debits take them: expiring first, never last, then by earn
// time, then by creation.
func (m *model) sort() {
	slices.SortStableFunc(m.lots, func(a, b mLot) int {
		if a.expires.IsZero() != b.expires.IsZero() {
			if a.expires.IsZero() {
				return 1
			}
			return -1
		}
		if c := a.expires.Compare(b.expires); c != 0 {
			return c
		}
		if c := a.earned.Compare(b.earned); c != 0 {
			return c
		}
		return cmp.Compare(a.seq, b.seq)
	})
}

func (m *model) prune() {
	m.lots = slices.DeleteFunc(m.lots, func(l mLot) bool { return l.rem == 0 && l.held == 0 })
}

func (m *model) closeHold(h *mHold, status ledger.HoldStatus, capture int64) {
	for _, p := range h.parts {
		spent := min(p.pts, capture)
		capture -= spent
		l := m.lot(p.seq)
		l.held -= p.pts
		l.rem += p.pts - spent
	}
	h.parts, h.points, h.status = nil, 0, status
}

func (m *model) settle(at time.Time) {
	var back int64 // points released or matured: they repay debt first
	for i := range m.holds {
		h := &m.holds[i]
		if h.status == ledger.HoldOpen && !h.expires.After(at) {
			m.move(ledger.Held, ledger.Available, h.points)
			back += h.points
			m.closeHold(h, ledger.HoldExpired, 0)
		}
	}
	for i := range m.lots {
		l := &m.lots[i]
		expiredWhilePending := !l.expires.IsZero() && !l.expires.After(at) && !l.expires.After(l.pendingUntil)
		if l.pending && !l.pendingUntil.After(at) && !expiredWhilePending {
			l.pending = false
			m.move(ledger.Pending, ledger.Available, l.rem)
			back += l.rem
		}
	}
	defer func() { m.repay(min(back, m.spendable()), at) }()
	for i := range m.lots {
		l := &m.lots[i]
		if !l.expires.IsZero() && !l.expires.After(at) && l.rem > 0 {
			from := ledger.Available
			if l.pending {
				from = ledger.Pending
			}
			m.move(from, ledger.Expired, l.rem)
			l.rem = 0
		}
	}
	m.prune()
	m.sort()
}

// owed is what the member owes.
func (m *model) owed() int64 { return -m.bal[ledger.Debt] }

// repay repays up to n points of debt (no more than is owed) from the lots not due at at, in
// order.
func (m *model) repay(n int64, at time.Time) {
	n = min(n, m.owed())
	if n <= 0 {
		return
	}
	m.move(ledger.Available, ledger.Debt, n)
	for i := range m.lots {
		l := &m.lots[i]
		if n == 0 {
			break
		}
		if l.pending || l.rem == 0 || (!l.expires.IsZero() && !l.expires.After(at)) {
			continue
		}
		k := min(l.rem, n)
		l.rem -= k
		n -= k
	}
	m.prune()
}

// giveBack closes open hold h with its first capture points spent (to redeemed), the rest
// back to their lots, and repays debt from what lands in lots not due at at.
func (m *model) giveBack(h *mHold, status ledger.HoldStatus, capture int64, at time.Time) {
	var back int64
	c := capture
	for _, p := range h.parts {
		spent := min(p.pts, c)
		c -= spent
		if l := m.lot(p.seq); l.expires.IsZero() || l.expires.After(at) {
			back += p.pts - spent
		}
	}
	m.move(ledger.Held, ledger.Redeemed, capture)
	m.move(ledger.Held, ledger.Available, h.points-capture)
	m.closeHold(h, status, capture)
	m.repay(back, at)
}

func (m *model) spendable() int64 {
	var n int64
	for _, l := range m.lots {
		if !l.pending {
			n += l.rem
		}
	}
	return n
}

// take consumes n spendable points in order and returns the parts with their lots' expiry.
func (m *model) take(n int64) ([]mPart, []time.Time) {
	var parts []mPart
	var exp []time.Time
	for i := range m.lots {
		l := &m.lots[i]
		if n == 0 {
			break
		}
		if l.pending || l.rem == 0 {
			continue
		}
		k := min(l.rem, n)
		l.rem -= k
		n -= k
		parts = append(parts, mPart{seq: l.seq, pts: k})
		exp = append(exp, l.expires)
	}
	return parts, exp
}

// credit pays n from source: debt first, then lots (templates with points, in order).
func (m *model) credit(source ledger.Account, n int64, lots []mLot, nextSeq func() int) {
	repay := min(n, -m.bal[ledger.Debt])
	m.move(source, ledger.Debt, repay)
	for _, l := range lots {
		k := min(l.rem, repay)
		repay -= k
		l.rem -= k
		if l.rem == 0 {
			continue
		}
		to := ledger.Available
		if l.pending {
			to = ledger.Pending
		}
		m.move(source, to, l.rem)
		l.seq = nextSeq()
		m.lots = append(m.lots, l)
	}
	m.sort()
}
