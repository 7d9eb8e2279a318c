package ledger

import (
	"math"
	"slices"
	"strconv"
	"time"
)

// Book is one member's books: balances, lots, holds and counters. Stores persist all its
// exported fields and hand it back unchanged; only Ledger operations change it.
type Book struct {
	MemberID string
	// Balances holds the non-zero balance of each account this member's transactions touched:
	// the member's accounts and its share of the system accounts.
	Balances map[Account]int64
	// Lots are the lots with points left (unspent or held), in consumption order: soonest
	// expiry first, never-expiring last, ties by earn time then id. Lots the store hid (see
	// Hide) are not among them until an operation needs them.
	Lots []Lot
	// Holds are the open holds and the closed ones not yet forgotten, in creation order.
	Holds []Hold
	// LifetimeEarned counts points earned (Earn), less what refunds reversed; transfers and
	// adjustments do not count. Tier rules read it.
	LifetimeEarned int64
	// RecentTransfers are the member's outgoing transfers inside the limit window, oldest first.
	RecentTransfers []TransferMark
	// UpdatedAt is the time of the book's last transaction (UTC).
	UpdatedAt time.Time
	// LotSeq numbers the book's lots: each new lot's id is the next number, in base 36. Lot
	// ids need only be unique in their book, and short ones keep the book small.
	LotSeq uint64

	hidden hidden // lots the store did not load; not persisted
}

// nextLotID returns the id of the book's next lot.
func (b *Book) nextLotID() string {
	b.LotSeq++
	return strconv.FormatUint(b.LotSeq, 36)
}

// NewBook returns the empty book of memberID.
func NewBook(memberID string) *Book {
	return &Book{MemberID: memberID, Balances: map[Account]int64{}}
}

// Balance returns the balance of account a.
func (b *Book) Balance(a Account) int64 { return b.Balances[a] }

// Owed returns the points the member owes (the debt account's balance negated, >= 0).
func (b *Book) Owed() int64 { return -b.Balances[Debt] }

// Clone returns a deep copy of b.
func (b *Book) Clone() *Book {
	c := *b
	c.Balances = make(map[Account]int64, len(b.Balances))
	for k, v := range b.Balances {
		c.Balances[k] = v
	}
	c.Lots = slices.Clone(b.Lots)
	c.Holds = slices.Clone(b.Holds)
	for i := range c.Holds {
		c.Holds[i].Portions = slices.Clone(c.Holds[i].Portions)
	}
	c.RecentTransfers = slices.Clone(b.RecentTransfers)
	return &c
}

// FindHold returns the hold with id and whether it exists.
func (b *Book) FindHold(id string) (Hold, bool) {
	if i := b.holdIndex(id); i >= 0 {
		h := b.Holds[i]
		h.Portions = slices.Clone(h.Portions)
		return h, true
	}
	return Hold{}, false
}

func (b *Book) holdIndex(id string) int {
	for i := range b.Holds {
		if b.Holds[i].ID == id {
			return i
		}
	}
	return -1
}

// delta is the net change a set of transactions makes to one account.
type delta struct {
	account Account
	points  int64
}

// fits checks that posting txns keeps every balance inside int64 (and the lifetime counter
// after adding earned). Errors: FailedPrecondition POINTS_LIMIT_EXCEEDED.
func (b *Book) fits(txns []Txn, earned int64) error {
	var buf [12]delta
	ds := buf[:0]
	for i := range txns {
		for _, p := range txns[i].Postings {
			j := slices.IndexFunc(ds, func(d delta) bool { return d.account == p.Account })
			if j < 0 {
				ds = append(ds, delta{account: p.Account})
				j = len(ds) - 1
			}
			if _, ok := add(ds[j].points, p.Points); !ok {
				return pointsLimit(p.Account)
			}
			ds[j].points += p.Points
		}
	}
	for _, d := range ds {
		if _, ok := add(b.Balances[d.account], d.points); !ok {
			return pointsLimit(d.account)
		}
	}
	if _, ok := add(b.LifetimeEarned, earned); !ok {
		return pointsLimit("lifetime_earned")
	}
	return nil
}

// post applies txns' postings to the balances.
func (b *Book) post(txns []Txn) {
	if b.Balances == nil {
		b.Balances = map[Account]int64{}
	}
	for i := range txns {
		for _, p := range txns[i].Postings {
			if v := b.Balances[p.Account] + p.Points; v != 0 {
				b.Balances[p.Account] = v
			} else {
				delete(b.Balances, p.Account)
			}
		}
		b.UpdatedAt = txns[i].Time
	}
}

// add returns a+b and whether it did not overflow.
func add(a, b int64) (int64, bool) {
	s := a + b
	if (b > 0 && s < a) || (b < 0 && s > a) {
		return 0, false
	}
	return s, true
}

// clampAdd returns a+b saturated to the int64 range.
func clampAdd(a, b int64) int64 {
	if s, ok := add(a, b); ok {
		return s
	}
	if b > 0 {
		return math.MaxInt64
	}
	return math.MinInt64
}
