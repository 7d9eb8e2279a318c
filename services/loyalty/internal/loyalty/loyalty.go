// Package loyalty is the loyalty service's application: orders as earning facts, the points
// use cases around the pure ledger, the programmes (transfers, check-in, rewards, liability),
// each tenant's policy, the due work of the job, verification, and the tiers members earn by.
// Every rule and use case lives here; the Store it declares does storage, replay and the outbox.
// Like ledger, it imports neither gRPC, bbolt, NATS nor generated code.
//
// A use case is one Store.Update: the store loads what the function asks for through Tx, the
// function decides (the ledger posts, the rules check) and changes what it loaded, posts journal
// entries (the tenant's hash-chained record of every fact) and returns its answer and its
// events; the store saves it all in one transaction with the request_id's answer.
package loyalty

import (
	"time"

	"github.com/huiyuan-dev/huiyuan/services/loyalty/internal/ledger"
)

// Stable error reasons of the service beyond the ledger's (ledger.Reason*).
const (
	ReasonOrderExists   = "ORDER_EXISTS"    // AlreadyExists: the order id holds a different order
	ReasonOrderNotFound = "ORDER_NOT_FOUND" // NotFound

	ReasonRewardNotFound     = "REWARD_NOT_FOUND"          // NotFound
	ReasonRewardInactive     = "REWARD_INACTIVE"           // FailedPrecondition: not redeemable now
	ReasonOutOfStock         = "OUT_OF_STOCK"              // FailedPrecondition: fewer goods left than asked
	ReasonRedemptionNotFound = "REDEMPTION_NOT_FOUND"      // NotFound
	ReasonStatusTransition   = "INVALID_STATUS_TRANSITION" // FailedPrecondition: the redemption cannot move there
	ReasonHoldOfRedemption   = "HOLD_OF_REDEMPTION"        // FailedPrecondition: only UpdateRedemption settles the hold
)

// Order is an order (消费记录): the fact points are earned from.
type Order struct {
	ID       string
	MemberID string // "" for a non-member's order: recorded, earns nothing
	// AmountMinor is the total paid in minor units of Currency.
	AmountMinor int64
	Currency    string // ISO 4217, upper case
	StoreID     string
	Items       []ledger.Item
	// CreateTime is when the purchase happened; zero on input means the time it is recorded.
	CreateTime time.Time

	// Output only.
	TimeDefaulted  bool   // the caller gave no create time: CreateTime is when it was recorded
	Sequence       uint64 // the journal entry that recorded it
	PointsEarned   int64  // points the order earned
	RefundedMinor  int64  // refunded so far
	PointsReversed int64  // points refunds took back from the balance so far
	PointsToDebt   int64  // points refunds booked on the debt account so far
	RefundCount    int64  // refunds so far
}

// Refund is one refund of an order, as its journal entry records it.
type Refund struct {
	OrderID        string
	AmountMinor    int64 // this refund
	RefundedTotal  int64 // the order's refunds in total, this one included
	PointsReversed int64 // taken back from the balance by this refund
	PointsToDebt   int64 // booked on the debt account by this refund
	ReversedTotal  int64 // taken back by the order's refunds in total
	ToDebtTotal    int64 // booked on the debt account by the order's refunds in total
}

// Entry is one entry of a tenant's journal: a ledger transaction, an order, a refund, or an
// order or refund with the transaction it posted. Entries are never changed; each is a link of
// the tenant's hash chain (see Link), numbered from 1 without gaps.
type Entry struct {
	Sequence uint64
	Hash     [32]byte
	Time     time.Time // UTC
	MemberID string    // "" for a non-member's order
	// Txn is the transaction the entry posts, if any; AvailableAfter is the member's
	// available points right after it.
	Txn            *ledger.Txn
	AvailableAfter int64
	Order          *Order // the order the entry records, as recorded (no refunds yet)
	Refund         *Refund
	// MemberPrevious is the sequence of the member's previous entry with a transaction (0:
	// none): the store links a member's history through it.
	MemberPrevious uint64
}

// Posted returns the entry's transaction as callers see it. The entry must have one.
func (e *Entry) Posted() *Txn {
	return &Txn{Txn: *e.Txn, Sequence: e.Sequence, Hash: e.Hash, AvailableAfter: e.AvailableAfter}
}

// Txn is a posted transaction: a ledger transaction with its place in the tenant's hash chain.
type Txn struct {
	ledger.Txn
	Sequence uint64   // of its journal entry
	Hash     [32]byte // of its journal entry
	// AvailableAfter is the member's available points right after the transaction.
	AvailableAfter int64
}

// Account is one member's loyalty account: the ledger book and what the service keeps beside
// it.
type Account struct {
	MemberID string
	Book     *ledger.Book
	Tier     string // as the member service's events last said; "" for none
	// Status is the member's standing, as the member service's events (or, before the first,
	// its answer to a lookup) last said; MemberUnknown until then.
	Status  MemberStatus
	CheckIn ledger.CheckInState
	// Due is when the account next has work for the job (see nextDue); the zero time: none.
	Due time.Time
	// LastSequence is the sequence of the member's newest entry with a transaction; the store
	// keeps it as entries are appended.
	LastSequence uint64
}

// NewAccount returns the empty account of member.
func NewAccount(member string) *Account {
	return &Account{MemberID: member, Book: ledger.NewBook(member)}
}

// Clone returns a deep copy of a.
func (a *Account) Clone() *Account {
	c := *a
	c.Book = a.Book.Clone()
	return &c
}

// Hold is a member's hold as callers see it.
type Hold struct {
	MemberID string
	ledger.Hold
}

// Balance is a member's points position at a time.
type Balance struct {
	MemberID string
	ledger.BalanceView
}

// RefundResult is what one refund did.
type RefundResult struct {
	Order          Order // after the refund
	PointsReversed int64 // taken back from the member's balance by this refund
	PointsToDebt   int64 // booked on the member's debt account by this refund
	Sequence       uint64
}

// TransferResult is a transfer's two sides.
type TransferResult struct {
	Sent, Received *Txn
}

// CheckInResult is what a check-in earned.
type CheckInResult struct {
	Points int64
	Streak int
	Txn    *Txn // the earning; nil when the day earned nothing
}

// OrderOutcome is what became of one order of a batch: the recorded order, or its error.
type OrderOutcome struct {
	Order *Order
	Err   error
}

// BatchResult is the outcome of each order of a batch, in order.
type BatchResult struct {
	Outcomes []OrderOutcome
}

// VerifyReport is the outcome of verifying a tenant's books.
type VerifyReport struct {
	OK           bool
	Transactions int64    // transactions whose chain link was checked
	Entries      int64    // journal entries whose chain link was checked
	Members      int64    // member books checked
	Problems     []string // what is wrong, one line each; empty when OK
	At           time.Time
}

// DueReport counts what one run of the due work did.
type DueReport struct {
	Books        int // books processed
	Transactions int // transactions posted (expiries, maturities, hold timeouts)
	Notices      int // points_expiring_soon events recorded
	Failed       int // books whose processing failed and was postponed
}

// Result is the answer of an update: one of *Order, *BatchResult, *RefundResult, *Txn, *Hold,
// *TransferResult, *CheckInResult, *Reward, *Redemption, *Policy. The store keeps it with the
// request_id and answers it again to a retry.
type Result interface{ result() }

func (*Order) result()          {}
func (*BatchResult) result()    {}
func (*RefundResult) result()   {}
func (*Txn) result()            {}
func (*Hold) result()           {}
func (*TransferResult) result() {}
func (*CheckInResult) result()  {}
func (*Reward) result()         {}
func (*Redemption) result()     {}
func (*Policy) result()         {}
