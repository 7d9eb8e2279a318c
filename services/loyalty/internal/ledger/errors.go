package ledger

import (
	"strconv"

	"github.com/huiyuan-dev/huiyuan/pkg/apperr"
)

// Stable error reasons this domain returns; clients switch on them. Bad input is Invalid with
// reason INVALID_ARGUMENT and field violations named after the request fields in snake_case.
const (
	ReasonInsufficientPoints   = "INSUFFICIENT_POINTS"    // FailedPrecondition: not enough available points
	ReasonHoldNotFound         = "HOLD_NOT_FOUND"         // NotFound
	ReasonHoldExists           = "HOLD_EXISTS"            // AlreadyExists: the hold id is taken in this book
	ReasonHoldClosed           = "HOLD_CLOSED"            // FailedPrecondition: captured or released already
	ReasonHoldExpired          = "HOLD_EXPIRED"           // FailedPrecondition: its timeout passed, it was released
	ReasonRefundExceedsOrder   = "REFUND_EXCEEDS_ORDER"   // Invalid: refunds would total more than the order
	ReasonTransferToSelf       = "TRANSFER_TO_SELF"       // Invalid
	ReasonTransferDisabled     = "TRANSFER_DISABLED"      // FailedPrecondition: the tenant allows no transfers
	ReasonTransferLimitReached = "TRANSFER_LIMIT_REACHED" // FailedPrecondition: the sender's window limit
	ReasonAlreadyCheckedIn     = "ALREADY_CHECKED_IN"     // FailedPrecondition: once per day
	ReasonPointsLimit          = "POINTS_LIMIT_EXCEEDED"  // FailedPrecondition: a balance would overflow
)

func insufficient(need, have int64) error {
	return apperr.E(apperr.FailedPrecondition, ReasonInsufficientPoints,
		"%d points needed, %d available", need, have).
		With("needed", strconv.FormatInt(need, 10)).With("available", strconv.FormatInt(have, 10))
}

func holdNotFound(id string) error {
	return apperr.E(apperr.NotFound, ReasonHoldNotFound, "hold %q not found", id).With("hold_id", id)
}

func holdClosed(h *Hold) error {
	return apperr.E(apperr.FailedPrecondition, ReasonHoldClosed, "hold %q is %s", h.ID, h.Status).
		With("hold_id", h.ID).With("status", h.Status.String())
}

func holdExpired(id string) error {
	return apperr.E(apperr.FailedPrecondition, ReasonHoldExpired, "hold %q timed out and was released", id).
		With("hold_id", id)
}

func pointsLimit(a Account) error {
	return apperr.E(apperr.FailedPrecondition, ReasonPointsLimit, "account %s would overflow", a).
		With("account", string(a))
}
