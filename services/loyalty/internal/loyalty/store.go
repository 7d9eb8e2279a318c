package loyalty

import (
	"context"
	"time"
)

// Store persists the loyalty state of every tenant; boltstore implements it on bbolt. Every
// write goes through Update, one transaction per call, serialised with every other write, so a
// member's operations never interleave: each sees the account as the previous one left it.
type Store interface {
	// Update runs fn in one write transaction of tenant. A request whose request_id (carried
	// by ctx) has an answer gets that answer back without fn running (or, for a BatchResult,
	// with fn run again: each order is idempotent by its id). Otherwise fn loads what it needs
	// through tx, changes it, appends journal entries and returns its answer and events; the
	// store then saves what fn changed, appends the events to the event log and keeps the answer
	// for the request_id, all in that transaction. fn may run more than once, each time on a
	// fresh tx; when it fails, nothing of it is saved. Errors: fn's; Invalid REQUEST_ID_REUSED
	// on "request_id"; storage errors.
	Update(ctx context.Context, tenant string, fn UpdateFunc) (Result, error)
	// View runs fn in one read transaction of tenant. Keep it short: page through long scans.
	View(ctx context.Context, tenant string, fn func(v View) error) error
	// Due returns up to limit accounts, of every tenant, whose due time is at or before now,
	// in due-time order after the cursor after (nil: from the start), and whether more may
	// follow. Errors: storage errors.
	Due(ctx context.Context, now time.Time, after []byte, limit int) ([]DueAccount, bool, error)
}

// UpdateFunc is the body of an Update.
type UpdateFunc func(tx Tx) (Result, []Event, error)

// DueAccount is an account the due index says has work.
type DueAccount struct {
	Tenant, Member string
	At             time.Time // the due time it is indexed under
	Cursor         []byte    // pass it to Store.Due to go on after this account
}

// Head is the last link of a tenant's journal.
type Head struct {
	Sequence uint64
	Hash     [32]byte
}

// StoredEntry is a journal entry as read back: Entry is nil when the stored bytes do not
// decode (the record was altered).
type StoredEntry struct {
	Sequence uint64
	Entry    *Entry
}

// StoredAccount is an account as read back: Account is nil when its record does not decode.
type StoredAccount struct {
	MemberID string
	Account  *Account
}

// View reads one tenant's state in one transaction.
type View interface {
	// Settings returns the tenant's own policy compiled, and false when it never set one.
	Settings() (*Settings, bool, error)
	// TierMultiplier returns the earning multiplier, in percent, the member service defines for
	// tier, and false when it defines none.
	TierMultiplier(tier string) (int64, bool, error)
	// Account returns member's account; one never seen is NewAccount(member), not stored
	// until saved.
	Account(member string) (*Account, error)
	// Order returns order id with what refunds changed since, or nil when there is none.
	Order(id string) (*Order, error)
	// Entry returns journal entry seq, or nil when there is none.
	Entry(seq uint64) (*Entry, error)
	// Head returns the journal's last link (the zero Head for an empty journal).
	Head() (Head, error)
	// Entries returns up to limit journal entries after sequence after, in sequence order.
	Entries(after uint64, limit int) ([]StoredEntry, error)
	// Accounts returns up to limit accounts whose member ids sort after after ("" from the
	// first), in member id order.
	Accounts(after string, limit int) ([]StoredAccount, error)
	// Reward returns reward id, or nil. Rewards returns the catalogue, oldest first, at most
	// limit.
	Reward(id string) (*Reward, error)
	Rewards(limit int) ([]*Reward, error)
	// Redemption returns redemption id, or nil. Redemptions returns member's redemptions,
	// newest first, at most limit.
	Redemption(id string) (*Redemption, error)
	Redemptions(member string, limit int) ([]*Redemption, error)
}

// Tx is an Update's access to one tenant's state: a View that also saves.
type Tx interface {
	View
	// SaveAccount saves a (loaded through this Tx) when the update commits, indexed as due at
	// a.Due.
	SaveAccount(a *Account)
	// Append appends e (numbered and hashed: see Service.post) to the journal: it links e
	// into its member's history when it posts a transaction, and indexes a new order by id.
	Append(e *Entry) error
	// SaveRefunds saves what refunds changed of order o (RefundedMinor and the totals).
	SaveRefunds(o *Order) error
	// SavePolicy stores the tenant's policy.
	SavePolicy(p Policy) error
	// SaveTierMultiplier and DeleteTierMultiplier keep the multipliers of the member
	// service's tiers.
	SaveTierMultiplier(tier string, percent int64) error
	DeleteTierMultiplier(tier string) error
	// SaveReward and SaveRedemption store a reward and a redemption (indexed by its member).
	SaveReward(r *Reward) error
	SaveRedemption(r *Redemption) error
}

// Event is a domain event an update records in the same transaction as its change; the store
// turns each into the event log's message.
type Event interface{ event() }

// OrderRecorded: an order was recorded; Entry holds it and the transaction that earned its
// points, if any.
type OrderRecorded struct{ Entry *Entry }

// OrderRefunded: an order was refunded; Entry holds the refund and the transaction that took
// the points back, if any; Order is the order after it.
type OrderRefunded struct {
	Entry *Entry
	Order *Order
}

// PointsChanged: a transaction was posted that no other event announces (redemptions,
// adjustments, holds, transfers, expiries, maturities).
type PointsChanged struct{ Entry *Entry }

// CheckedIn: a member checked in; Entry is the earning, nil when the day earned nothing.
type CheckedIn struct {
	MemberID string
	At       time.Time
	Entry    *Entry
}

// PointsExpiringSoon: points of a member expire at ExpiresAt.
type PointsExpiringSoon struct {
	MemberID  string
	Points    int64
	ExpiresAt time.Time
	At        time.Time
}

// RewardRedeemed and RedemptionUpdated: a reward redemption was made or changed status.
type (
	RewardRedeemed    struct{ Redemption *Redemption }
	RedemptionUpdated struct{ Redemption *Redemption }
)

// PolicyUpdated: the tenant's policy changed.
type PolicyUpdated struct {
	Policy Policy
	At     time.Time
}

func (OrderRecorded) event()      {}
func (OrderRefunded) event()      {}
func (PointsChanged) event()      {}
func (CheckedIn) event()          {}
func (PointsExpiringSoon) event() {}
func (RewardRedeemed) event()     {}
func (RedemptionUpdated) event()  {}
func (PolicyUpdated) event()      {}
