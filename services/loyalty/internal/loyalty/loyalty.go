// Package loyalty holds the loyalty service's application types around the pure ledger:
// orders as earning facts, posted transactions with their place in the tenant's hash chain,
// holds and balances as callers see them, a tenant's settings, and the rules for the ids and
// amounts callers send. Like ledger, it imports neither gRPC, bbolt, NATS nor generated code.
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
	PointsEarned   int64 // points the order earned
	RefundedMinor  int64 // refunded so far
	PointsReversed int64 // points refunds took back from the balance so far
	PointsToDebt   int64 // points refunds booked on the debt account so far
}

// RefundResult is what one refund did.
type RefundResult struct {
	Order          Order // after the refund
	PointsReversed int64 // taken back from the member's balance by this refund
	PointsToDebt   int64 // booked on the member's debt account by this refund
}

// Txn is a posted transaction: a ledger transaction with its place in the tenant's hash chain.
type Txn struct {
	ledger.Txn
	Sequence uint64   // position in the tenant's chain, from 1, gap-free
	Hash     [32]byte // SHA-256 over the previous hash and this transaction's canonical bytes
	// AvailableAfter is the member's available points right after the transaction.
	AvailableAfter int64
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

// VerifyReport is the outcome of verifying a tenant's books.
type VerifyReport struct {
	OK           bool
	Transactions int64    // transactions whose chain link was checked
	Members      int64    // member books checked
	Problems     []string // what is wrong, one line each; empty when OK
	At           time.Time
}

// DueReport counts what one run of the due-work job did.
type DueReport struct {
	Books        int // books processed
	Transactions int // transactions posted (expiries, maturities, hold timeouts)
	Notices      int // points_expiring_soon events recorded
	Failed       int // books whose processing failed and was postponed
}
