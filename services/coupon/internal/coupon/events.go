package coupon

import "time"

// Event types, as they appear in the event log and in NATS subjects.
const (
	EventIssued   = "coupon_issued"
	EventLocked   = "coupon_locked"
	EventRedeemed = "coupon_redeemed"
	EventReleased = "coupon_released"
	EventRestored = "coupon_restored"
	EventVoided   = "coupon_voided"
	EventExpired  = "coupon_expired"

	EventTemplateCreated       = "coupon_template_created"
	EventTemplateUpdated       = "coupon_template_updated"
	EventTemplateStatusChanged = "coupon_template_status_changed"

	EventBatchCompleted = "code_batch_completed"
)

// Event is a domain event a mutation records in the same transaction as its change. Events name
// coupons by id and members by id, never by code or personal data.
type Event interface {
	// Type returns the event type, such as EventIssued.
	Type() string
}

// CouponChanged says a coupon changed state; Kind is one of the coupon event types.
type CouponChanged struct {
	Kind                      string
	CouponID, TemplateID      string
	MemberID                  string
	Previous, State           State
	Source                    Source
	OrderID, StoreID, StaffID string
	DiscountMinor             int64
	Currency                  string
	Reason                    string
	ExpireTime                time.Time
	At                        time.Time
}

// TemplateChanged says a template was created, updated or changed status; Template is its state
// after the change.
type TemplateChanged struct {
	Kind          string
	Template      *Template
	Issued        int64
	ChangedFields []string
	At            time.Time
}

// BatchCompleted says a code batch generated its last code.
type BatchCompleted struct {
	BatchID, TemplateID string
	Count               int64
	At                  time.Time
}

// Type implements Event.
func (e CouponChanged) Type() string { return e.Kind }

// Type implements Event.
func (e TemplateChanged) Type() string { return e.Kind }

// Type implements Event.
func (BatchCompleted) Type() string { return EventBatchCompleted }
