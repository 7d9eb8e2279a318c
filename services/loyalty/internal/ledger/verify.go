package ledger

import (
	"fmt"
	"maps"
	"slices"
	"time"
)

// Problem is one inconsistency Verify found.
type Problem struct {
	TxnID   string // the transaction at fault, or "" for the book
	Message string
}

// String returns the problem as one line.
func (p Problem) String() string {
	if p.TxnID == "" {
		return p.Message
	}
	return "txn " + p.TxnID + ": " + p.Message
}

// Verifier recomputes a member's balances from the postings of its transactions, fed in the
// order they were posted, and then checks the book against them. It reads transactions one by
// one, so a store can stream a long history.
type Verifier struct {
	member   string
	balances map[Account]int64
	seen     map[string]struct{}
	last     time.Time
	problems []Problem
}

// NewVerifier returns a Verifier for memberID's transactions.
func NewVerifier(memberID string) *Verifier {
	return &Verifier{member: memberID, balances: map[Account]int64{}, seen: map[string]struct{}{}}
}

func (v *Verifier) add(txn, format string, args ...any) {
	v.problems = append(v.problems, Problem{TxnID: txn, Message: fmt.Sprintf(format, args...)})
}

// Add checks t on its own (a unique id, this member, time not going backwards, known
// accounts, non-zero postings summing to zero) and posts it to the running balances, which
// must then keep available, held and pending at or above zero and debt at or below zero.
func (v *Verifier) Add(t Txn) {
	if t.ID == "" {
		v.add(t.ID, "has no id")
	} else if _, dup := v.seen[t.ID]; dup {
		v.add(t.ID, "id appears twice")
	}
	v.seen[t.ID] = struct{}{}
	if t.MemberID != v.member {
		v.add(t.ID, "belongs to member %q, not %q", t.MemberID, v.member)
	}
	if t.Time.Before(v.last) {
		v.add(t.ID, "time %s is before the previous transaction's %s", t.Time.Format(time.RFC3339Nano), v.last.Format(time.RFC3339Nano))
	} else {
		v.last = t.Time
	}
	if len(t.Postings) < 2 {
		v.add(t.ID, "has %d postings, want at least 2", len(t.Postings))
	}
	var sum int64
	overflow := false
	for _, p := range t.Postings {
		if p.Points == 0 {
			v.add(t.ID, "posts zero to %s", p.Account)
		}
		if !p.Account.known() {
			v.add(t.ID, "posts to unknown account %q", p.Account)
		}
		var ok bool
		if sum, ok = add(sum, p.Points); !ok {
			overflow = true
		}
		nb, ok := add(v.balances[p.Account], p.Points)
		overflow = overflow || !ok
		v.balances[p.Account] = nb
	}
	if overflow {
		v.add(t.ID, "overflows int64")
	} else if sum != 0 {
		v.add(t.ID, "postings sum to %d, not 0", sum)
	}
	for _, a := range [...]Account{Available, Held, Pending} {
		if v.balances[a] < 0 {
			v.add(t.ID, "leaves %s at %d", a, v.balances[a])
		}
	}
	if v.balances[Debt] > 0 {
		v.add(t.ID, "leaves debt at %d, above zero", v.balances[Debt])
	}
}

// Check returns every problem found by Add and by checking b against the recomputed balances:
// each account's balance equals the sum of its postings; lots are in consumption order, have
// unique ids, no negative or more-than-credited amounts, and their remaining and held points
// add up to the available, pending and held balances; open holds' portions match their lots
// and add up to held; closed holds hold nothing. No problems means the books are consistent.
func (v *Verifier) Check(b *Book) []Problem {
	out := slices.Clone(v.problems)
	bad := func(format string, args ...any) {
		out = append(out, Problem{Message: fmt.Sprintf(format, args...)})
	}
	if b == nil {
		bad("no book")
		return out
	}
	b.revealAll()
	if b.MemberID != v.member {
		bad("book belongs to member %q, not %q", b.MemberID, v.member)
	}
	accounts := slices.Collect(maps.Keys(v.balances))
	for a := range b.Balances {
		if _, ok := v.balances[a]; !ok {
			accounts = append(accounts, a)
		}
	}
	slices.Sort(accounts)
	for _, a := range accounts {
		if got, want := b.Balances[a], v.balances[a]; got != want {
			bad("balance of %s is %d, postings sum to %d", a, got, want)
		}
	}
	if b.LifetimeEarned < 0 {
		bad("lifetime earned is %d", b.LifetimeEarned)
	}

	var avail, pending, held int64
	lotHeld := make(map[string]int64, len(b.Lots))
	for i := range b.Lots {
		l := &b.Lots[i]
		if i > 0 && compareLots(&b.Lots[i-1], l) >= 0 {
			bad("lot %s is out of consumption order", l.ID)
		}
		if _, dup := lotHeld[l.ID]; dup {
			bad("lot id %s appears twice", l.ID)
		}
		lotHeld[l.ID] = 0
		if l.Remaining < 0 || l.Held < 0 || l.Remaining+l.Held > l.Points {
			bad("lot %s has %d remaining and %d held of %d", l.ID, l.Remaining, l.Held, l.Points)
		}
		if l.Remaining == 0 && l.Held == 0 {
			bad("lot %s is spent but kept", l.ID)
		}
		if l.Pending && l.Held != 0 {
			bad("pending lot %s is held", l.ID)
		}
		if l.Pending {
			pending += l.Remaining
		} else {
			avail += l.Remaining
		}
		held += l.Held
	}
	if avail != b.Balances[Available] {
		bad("lots have %d available, the account %d", avail, b.Balances[Available])
	}
	if pending != b.Balances[Pending] {
		bad("lots have %d pending, the account %d", pending, b.Balances[Pending])
	}
	if held != b.Balances[Held] {
		bad("lots have %d held, the account %d", held, b.Balances[Held])
	}

	var holdsTotal int64
	holdIDs := make(map[string]bool, len(b.Holds))
	for i := range b.Holds {
		h := &b.Holds[i]
		if holdIDs[h.ID] {
			bad("hold id %s appears twice", h.ID)
		}
		holdIDs[h.ID] = true
		if h.Status != HoldOpen {
			if h.Points != 0 || len(h.Portions) != 0 {
				bad("closed hold %s still holds %d points", h.ID, h.Points)
			}
			continue
		}
		var sum int64
		for _, p := range h.Portions {
			if _, ok := lotHeld[p.LotID]; !ok {
				bad("hold %s holds points of unknown lot %s", h.ID, p.LotID)
			}
			lotHeld[p.LotID] += p.Points
			sum += p.Points
		}
		if sum != h.Points {
			bad("hold %s holds %d points in portions of %d", h.ID, h.Points, sum)
		}
		holdsTotal += h.Points
	}
	if holdsTotal != b.Balances[Held] {
		bad("open holds hold %d points, the held account %d", holdsTotal, b.Balances[Held])
	}
	for i := range b.Lots {
		if l := &b.Lots[i]; lotHeld[l.ID] != l.Held {
			bad("lot %s has %d held, holds take %d of it", l.ID, l.Held, lotHeld[l.ID])
		}
	}
	return out
}

// Verify checks txns (all of b's member's transactions, in posting order) and b against each
// other; see Verifier. It returns nil when the books are consistent.
func Verify(b *Book, txns []Txn) []Problem {
	member := ""
	if b != nil {
		member = b.MemberID
	}
	v := NewVerifier(member)
	for i := range txns {
		v.Add(txns[i])
	}
	return v.Check(b)
}
