package membership

import (
	"context"
	"time"
)

// Result is the answer of a mutation, stored with its request_id and returned again for a retry:
// one of *TierView, *BenefitView, *PlanView, *Settings, *Account, *Subscription, *BenefitUse,
// *Complaint, *Cancellation or Deleted.
type Result any

// Deleted is the answer of a deletion.
type Deleted struct{}

// Cancellation is the answer of a cancellation.
type Cancellation struct {
	Subscription *Subscription
	Refund       int64
	Currency     string
}

// CatalogFunc changes c, the store's own copy of the tenant's catalogue with Holders, Live and
// Open filled, and returns the answer and the events to record. It may be called more than once,
// each time on a freshly loaded catalogue.
type CatalogFunc func(c *Catalog) (Result, []Event, error)

// AccountFunc changes a, a member's account as loaded (a new member's zero Account with
// MemberID, State and Joined set), under the tenant's catalogue c, which it must not change. It
// may be called more than once.
type AccountFunc func(a *Account, c *Catalog) (Result, []Event, error)

// ComplaintQuery selects complaints, newest first.
type ComplaintQuery struct {
	BenefitID string
	MemberID  string
	State     ComplaintState // unspecified: any
	PageSize  int            // 1..MaxPageSize
	PageToken string
}

// Paging limits of complaint lists.
const (
	DefaultPageSize = 50
	MaxPageSize     = 1000
)

// PlanReport is one plan's counters in one currency.
type PlanReport struct {
	PlanID   string
	Currency string
	Stats    PlanStats
}

// Store persists catalogues, accounts and complaints, per tenant. Every mutation is one
// transaction that also records the request_id carried by ctx (a retry with the same request
// returns the first answer without acting again; the same request_id with a different request
// is Invalid, REQUEST_ID_REUSED) and appends the returned events to the event log.
type Store interface {
	// Catalog returns the tenant's catalogue with Holders, Live and Open filled.
	Catalog(ctx context.Context, tenant string) (*Catalog, error)
	// UpdateCatalog applies fn to the tenant's catalogue and saves what changed.
	UpdateCatalog(ctx context.Context, tenant string, fn CatalogFunc) (Result, error)
	// Account returns member's account with the tenant's catalogue (without counts).
	// Errors: NotFound (MEMBER_NOT_FOUND).
	Account(ctx context.Context, tenant, member string) (*Account, *Catalog, error)
	// UpdateAccount applies fn to member's account and saves it: the account with its due
	// time, the held tier on the member's record, the subscriptions that ended, the plan
	// statistics and the new payment references (PAYMENT_REFERENCE_USED when one is taken).
	// Errors: NotFound (MEMBER_NOT_FOUND); fn's error.
	UpdateAccount(ctx context.Context, tenant, member string, fn AccountFunc) (Result, error)
	// EndedSubscriptions returns member's subscriptions that lapsed or were cancelled, newest
	// first.
	EndedSubscriptions(ctx context.Context, tenant, member string) ([]*Subscription, error)
	// PlanReports returns the counters of every plan and currency of the tenant.
	PlanReports(ctx context.Context, tenant string) ([]PlanReport, error)
	// CreateComplaint stores the complaint fn returns about member, counting it open;
	// fn gets the catalogue and each benefit's open complaints. Errors: NotFound
	// (MEMBER_NOT_FOUND); fn's error.
	CreateComplaint(ctx context.Context, tenant, member string, fn func(c *Catalog, open func(benefit string) int64) (*Complaint, []Event, error)) (*Complaint, error)
	// UpdateComplaint applies fn to complaint id, keeping the open count of its benefit.
	// Errors: NotFound (BENEFIT_COMPLAINT_NOT_FOUND); fn's error.
	UpdateComplaint(ctx context.Context, tenant, id string, fn func(cmp *Complaint, open int64) ([]Event, error)) (*Complaint, error)
	// Complaint returns complaint id. Errors: NotFound (BENEFIT_COMPLAINT_NOT_FOUND).
	Complaint(ctx context.Context, tenant, id string) (*Complaint, error)
	// Complaints returns a page of complaints matching q and the next page token ("" at the
	// end). Errors: Invalid on "page_token".
	Complaints(ctx context.Context, tenant string, q ComplaintQuery) ([]*Complaint, string, error)
}

// MemberValue is what a member is worth: lifetime and window figures, shown on the member.
type MemberValue struct {
	LifetimeSpend  int64
	Currency       string
	LifetimeOrders int64
	Referrals      int64
	TenureMonths   int
	WindowSpend    int64
	WindowOrders   int64
	Joined         time.Time
}

// Standing is where a member stands, as GetMemberTier shows it.
type Standing struct {
	MemberID    string
	Tier        string
	TierSince   time.Time
	Earned      Earned
	Override    *Override
	PlanTier    string
	PlanHoldEnd time.Time
	Value       MemberValue
}

// ValueOf returns the account's value as of now.
func ValueOf(a *Account, c *Catalog, now time.Time) MemberValue {
	spend, orders := a.Figures.after(windowStart(now, &c.Settings))
	return MemberValue{LifetimeSpend: a.Value.LifetimeSpend, Currency: c.Settings.Currency, LifetimeOrders: a.Value.LifetimeOrders,
		Referrals: a.Value.Referrals, TenureMonths: TenureMonths(a.Joined, now), WindowSpend: spend, WindowOrders: orders, Joined: a.Joined}
}

// StandingOf returns where the account stands as of now.
func StandingOf(a *Account, c *Catalog, now time.Time) *Standing {
	s := &Standing{MemberID: a.MemberID, Tier: a.Tier, TierSince: a.TierSince, Earned: a.Earned, Value: ValueOf(a, c, now)}
	if a.Override != nil {
		o := *a.Override
		s.Override = &o
	}
	for _, sub := range a.Subscriptions {
		if pl := c.Plan(sub.PlanID); pl != nil && pl.TierID != "" && c.rank(pl.TierID) > c.rank(s.PlanTier) {
			s.PlanTier, s.PlanHoldEnd = pl.TierID, sub.holdEnd()
		}
	}
	return s
}
