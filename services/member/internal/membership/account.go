package membership

import (
	"slices"
	"time"
)

// MemberState is what the account needs of a member's status.
type MemberState int

// The member states.
const (
	MemberActive MemberState = iota
	MemberFrozen
	MemberGone // closed or erased: nothing changes any more
)

// Earned is the tier a member's figures and retention give.
type Earned struct {
	Tier     string
	Since    time.Time // reached, or last retained at review
	ReviewAt time.Time // end of the review period; zero for the entry tier or none
	// Base is the figure of Since's day as it stood at Since: what that day adds after it
	// counts for the review period, what it held before does not.
	Base Day
}

// Override is a tier set by staff until Expire.
type Override struct {
	Tier       string
	Reason     string
	Expire     time.Time
	Actor      string
	CreateTime time.Time
}

// Value is a member's lifetime figures.
type Value struct {
	LifetimeSpend  int64 // minor units of the tier currency, net of refunds
	LifetimeOrders int64 // orders refunded in full not counted
	Referrals      int64
}

// Usage counts a member's uses of one benefit in the period named by Period.
type Usage struct {
	Benefit string
	Period  string
	Used    int
}

// Account is where one member stands in the tenant's programme. The store loads it (a new
// member without one gets a zero Account with MemberID, Joined and State set), the functions of
// this package change it, and the store saves it with Due, the subscriptions that ended and the
// plan statistics' deltas.
type Account struct {
	MemberID string
	State    MemberState
	Joined   time.Time
	Exists   bool // false until first saved

	Tier      string // held now: override, else the higher of earned and plan-held
	TierSince time.Time
	Earned    Earned
	Figures   Figures
	Value     Value
	Override  *Override
	// NoticeChecked is the review the drop notice was checked for; NoticeSent says it went out.
	NoticeChecked time.Time
	NoticeSent    bool

	Subscriptions []*Subscription // current: TRIAL, ACTIVE or GRACE
	Usage         []Usage
	Trials        []string // plans whose trial was used

	// Due is when the due-work job next has work for the account (zero: none); Evaluate sets it.
	Due time.Time

	// Set by a change, read by the store when it saves.
	Ended       []*Subscription       // subscriptions that ended in this change
	Stats       map[string]*PlanStats // deltas by StatsKey(plan, currency)
	NewPayments []string              // payment references to reserve, unique per tenant
}

// Clone returns a deep copy of a.
func (a *Account) Clone() *Account {
	c := *a
	c.Figures = Figures{Days: slices.Clone(a.Figures.Days)}
	if a.Override != nil {
		o := *a.Override
		c.Override = &o
	}
	c.Subscriptions = make([]*Subscription, len(a.Subscriptions))
	for i, s := range a.Subscriptions {
		c.Subscriptions[i] = s.Clone()
	}
	c.Usage = slices.Clone(a.Usage)
	c.Trials = slices.Clone(a.Trials)
	c.Ended, c.Stats, c.NewPayments = nil, nil, nil
	return &c
}

// TenureMonths returns the whole months from joined to now, counted as joined.AddDate does (so a
// tenure qualification falls due exactly at joined.AddDate(0, months, 0)).
func TenureMonths(joined, now time.Time) int {
	if joined.IsZero() || now.Before(joined) {
		return 0
	}
	y1, m1, _ := joined.Date()
	y2, m2, _ := now.Date()
	n := (y2-y1)*12 + int(m2-m1)
	if joined.AddDate(0, n, 0).After(now) {
		n--
	}
	return max(n, 0)
}

// Contribution is what one order added to its member's figures, so that a refund takes back
// exactly that and nothing twice.
type Contribution struct {
	MemberID      string
	Day           int32 // the order's day (DayOf)
	Spend         int64 // counted spend, minor units of the tier currency (0 for another currency)
	Amount        int64 // the order's amount in its own currency
	RefundedSpend int64
	FullyRefunded bool
	KeepUntil     time.Time // after this a refund only adjusts lifetime value
	Time          time.Time // the order's time
}

// PlanStats are a plan's counters in one currency, or deltas of them.
type PlanStats struct {
	Active, Trialing, InGrace                  int64
	Purchases, Renewals, Cancellations, Lapses int64
	RevenueMinor, RefundedMinor                int64
}

// Add adds d to s.
func (s *PlanStats) Add(d PlanStats) {
	s.Active += d.Active
	s.Trialing += d.Trialing
	s.InGrace += d.InGrace
	s.Purchases += d.Purchases
	s.Renewals += d.Renewals
	s.Cancellations += d.Cancellations
	s.Lapses += d.Lapses
	s.RevenueMinor += d.RevenueMinor
	s.RefundedMinor += d.RefundedMinor
}

// Current returns the subscriptions in force (TRIAL, ACTIVE, GRACE); Live counts them.
func (s *PlanStats) Current() int64 { return s.Active + s.Trialing + s.InGrace }

// stats returns the account's delta for plan in currency, creating it.
func (a *Account) stats(plan, currency string) *PlanStats {
	if a.Stats == nil {
		a.Stats = map[string]*PlanStats{}
	}
	k := StatsKey(plan, currency)
	if a.Stats[k] == nil {
		a.Stats[k] = &PlanStats{}
	}
	return a.Stats[k]
}

// StatsKey names a plan's counters in a currency: "<plan>/<currency>".
func StatsKey(plan, currency string) string { return plan + "/" + currency }
