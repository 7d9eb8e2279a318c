package coupon

import (
	"strconv"

	"github.com/huiyuan-dev/huiyuan/pkg/apperr"
)

// Stable ErrorInfo reasons. API.md fixes the first three.
const (
	ReasonOutOfStock        = "COUPON_OUT_OF_STOCK"                       // FailedPrecondition: the template's (or shared code's) stock is used up
	ReasonLimitReached      = "COUPON_LIMIT_REACHED"                      // FailedPrecondition: the member's limit is reached
	ReasonAlreadyRedeemed   = "COUPON_ALREADY_REDEEMED"                   // FailedPrecondition
	ReasonTemplateNotFound  = "COUPON_TEMPLATE_NOT_FOUND"                 // NotFound
	ReasonCouponNotFound    = "COUPON_NOT_FOUND"                          // NotFound
	ReasonExchangeNotFound  = "COUPON_EXCHANGE_NOT_FOUND"                 // NotFound
	ReasonBatchNotFound     = "CODE_BATCH_NOT_FOUND"                      // NotFound
	ReasonSharedNotFound    = "SHARED_CODE_NOT_FOUND"                     // NotFound
	ReasonTemplateNotActive = "COUPON_TEMPLATE_NOT_ACTIVE"                // FailedPrecondition: not ACTIVE, issues nothing
	ReasonTemplateExpired   = "COUPON_TEMPLATE_EXPIRED"                   // FailedPrecondition: its validity window is over
	ReasonNotClaimable      = "COUPON_NOT_CLAIMABLE"                      // FailedPrecondition: members may not claim it
	ReasonNotExchangeable   = "COUPON_NOT_EXCHANGEABLE"                   // FailedPrecondition: it has no points price
	ReasonTemplateInUse     = "COUPON_TEMPLATE_IN_USE"                    // FailedPrecondition: the edit would change issued coupons
	ReasonStatusTransition  = "COUPON_TEMPLATE_STATUS_TRANSITION_INVALID" // FailedPrecondition
	ReasonCouponLocked      = "COUPON_LOCKED"                             // FailedPrecondition: locked for another order
	ReasonCouponNotLocked   = "COUPON_NOT_LOCKED"                         // FailedPrecondition
	ReasonCouponExpired     = "COUPON_EXPIRED"                            // FailedPrecondition
	ReasonCouponNotYetValid = "COUPON_NOT_YET_VALID"                      // FailedPrecondition
	ReasonCouponVoided      = "COUPON_VOIDED"                             // FailedPrecondition
	ReasonCouponPending     = "COUPON_PENDING"                            // FailedPrecondition: its points exchange has not settled
	ReasonCouponNotOwned    = "COUPON_NOT_OWNED"                          // FailedPrecondition: another member holds it
	ReasonNotApplicable     = "COUPON_NOT_APPLICABLE"                     // FailedPrecondition: metadata "reason" says why
	ReasonNotRestorable     = "COUPON_NOT_RESTORABLE"                     // FailedPrecondition
	ReasonCodeInvalid       = "COUPON_CODE_INVALID"                       // Invalid: the check character does not match (a typo)
	ReasonCodeExists        = "COUPON_CODE_EXISTS"                        // AlreadyExists: a shared code of that spelling exists
	ReasonCodeClaimed       = "COUPON_CODE_CLAIMED"                       // FailedPrecondition: the batch code is another member's
	ReasonExchangePending   = "COUPON_EXCHANGE_PENDING"                   // Unavailable: loyalty did not answer; retry with the same request_id
	ReasonMemberNotActive   = "MEMBER_NOT_ACTIVE"                         // FailedPrecondition: the member is frozen, closed or erased
)

// memberNotActive refuses a member the member service froze, closed or erased: it gets no
// coupon and uses none.
func memberNotActive(member string) *apperr.Error {
	return failed(ReasonMemberNotActive, "member %s is not active (frozen, closed or erased)", member)
}

func failed(reason, format string, args ...any) *apperr.Error {
	return apperr.E(apperr.FailedPrecondition, reason, format, args...)
}

func templateNotFound(id string) error {
	return apperr.E(apperr.NotFound, ReasonTemplateNotFound, "coupon template %q not found", id).With("template_id", id)
}

// TemplateNotFound is the NotFound error for template id, for stores.
func TemplateNotFound(id string) error { return templateNotFound(id) }

// CouponNotFound is the NotFound error for a coupon code (or id), for stores.
func CouponNotFound() error {
	return apperr.E(apperr.NotFound, ReasonCouponNotFound, "coupon not found")
}

// ExchangeNotFound is the NotFound error for exchange id, for stores.
func ExchangeNotFound(id string) error {
	return apperr.E(apperr.NotFound, ReasonExchangeNotFound, "coupon exchange %q not found", id).With("exchange_id", id)
}

// BatchNotFound is the NotFound error for code batch id, for stores.
func BatchNotFound(id string) error {
	return apperr.E(apperr.NotFound, ReasonBatchNotFound, "code batch %q not found", id).With("batch_id", id)
}

// SharedCodeNotFound is the NotFound error for a shared code, for stores.
func SharedCodeNotFound() error {
	return apperr.E(apperr.NotFound, ReasonSharedNotFound, "shared code not found")
}

// SharedCodeExists is the AlreadyExists error of a shared code spelled like an existing one.
func SharedCodeExists() error {
	return &apperr.Error{Code: apperr.AlreadyExists, Reason: ReasonCodeExists, Message: "a shared code with this spelling exists",
		Violations: []apperr.FieldViolation{{Field: "shared_code.code", Description: "already exists"}}}
}

func outOfStock(templateID string, stock int64) *apperr.Error {
	e := failed(ReasonOutOfStock, "coupon template %q is out of stock", templateID).With("template_id", templateID)
	if stock > 0 {
		e = e.With("total_stock", strconv.FormatInt(stock, 10))
	}
	return e
}

func limitReached(templateID, which string, limit int64) *apperr.Error {
	return failed(ReasonLimitReached, "the member has reached the %s limit of %d coupons of template %q", which, limit, templateID).
		With("template_id", templateID).With("limit", which)
}

// IsRefusal reports whether err is the refusal of a claim for stock or limit: what the
// in-memory sold-out flag learns from.
func IsRefusal(err error) bool {
	r := apperr.ReasonOf(err)
	return r == ReasonOutOfStock || r == ReasonLimitReached
}
