package membership

import "time"

// Event types, as they appear in the event log and in NATS subjects.
const (
	EventTierDefined              = "tier_defined"
	EventTierDeleted              = "tier_deleted"
	EventTierSettingsUpdated      = "tier_settings_updated"
	EventTierChanged              = "tier_changed"
	EventTierDropNotice           = "tier_drop_notice"
	EventBenefitDefined           = "benefit_defined"
	EventBenefitDeleted           = "benefit_deleted"
	EventBenefitUsed              = "benefit_used"
	EventComplaintOpened          = "benefit_complaint_opened"
	EventComplaintResolved        = "benefit_complaint_resolved"
	EventPlanDefined              = "plan_defined"
	EventPlanDeleted              = "plan_deleted"
	EventSubscriptionPurchased    = "subscription_purchased"
	EventSubscriptionRenewed      = "subscription_renewed"
	EventSubscriptionCancelled    = "subscription_cancelled"
	EventSubscriptionExpiring     = "subscription_expiring"
	EventSubscriptionExpired      = "subscription_expired"
	EventSubscriptionGraceStarted = "subscription_grace_started"
	EventSubscriptionLapsed       = "subscription_lapsed"
)

// Event is a domain event recorded in the transaction of its change. Events carry ids and
// figures, never personal data or free text.
type Event interface {
	// Type returns the event type, such as EventTierChanged.
	Type() string
}

// Cause is what moved a member's tier. The numbers match huiyuan.member.v1.TierChangedEvent.Cause.
type Cause int32

// The causes.
const (
	CauseUnspecified Cause = iota
	CauseOrder
	CauseRefund
	CauseReview
	CauseOverride
	CauseOverrideExpired
	CausePlan
)

// TierDefined says a tier was created or changed.
type TierDefined struct {
	Tier *Tier
	At   time.Time
}

// TierDeleted says a tier was deleted.
type TierDeleted struct {
	TierID string
	At     time.Time
}

// SettingsUpdated says a tenant's tier settings changed.
type SettingsUpdated struct {
	Settings Settings
	At       time.Time
}

// TierChanged says a member's tier changed.
type TierChanged struct {
	MemberID       string
	Old, New       string
	Cause          Cause
	OrderID        string // ORDER, REFUND
	SubscriptionID string // PLAN
	At             time.Time
}

// DropNotice says a member will drop at the coming review unless the figures improve.
type DropNotice struct {
	MemberID      string
	Tier, DropTo  string
	ReviewAt      time.Time
	MissingSpend  int64
	Currency      string
	MissingOrders int
	At            time.Time
}

// BenefitDefined says a benefit was created or changed (its granting tiers or plans included).
type BenefitDefined struct {
	Benefit *Benefit
	At      time.Time
}

// BenefitDeleted says a benefit was deleted.
type BenefitDeleted struct {
	BenefitID string
	At        time.Time
}

// BenefitUsed says a member used a benefit.
type BenefitUsed struct {
	Use   BenefitUse
	Limit int
}

// ComplaintChanged says a complaint was opened or resolved.
type ComplaintChanged struct {
	Complaint *Complaint
	Open      int64 // open complaints about the benefit after the change
	At        time.Time
}

// PlanDefined says a plan was created or changed.
type PlanDefined struct {
	Plan *Plan
	At   time.Time
}

// PlanDeleted says a plan was deleted.
type PlanDeleted struct {
	PlanID string
	At     time.Time
}

// SubscriptionChanged says something happened to a subscription; Kind is one of the
// EventSubscription* types.
type SubscriptionChanged struct {
	Kind         string
	Subscription Subscription // as it is after the event
	MemberID     string
	Amount       int64 // paid (purchase, renewal) or refunded (cancellation)
	Currency     string
	Reference    string
	DaysLeft     int
	At           time.Time
}

// Type implements Event.
func (TierDefined) Type() string { return EventTierDefined }

// Type implements Event.
func (TierDeleted) Type() string { return EventTierDeleted }

// Type implements Event.
func (SettingsUpdated) Type() string { return EventTierSettingsUpdated }

// Type implements Event.
func (TierChanged) Type() string { return EventTierChanged }

// Type implements Event.
func (DropNotice) Type() string { return EventTierDropNotice }

// Type implements Event.
func (BenefitDefined) Type() string { return EventBenefitDefined }

// Type implements Event.
func (BenefitDeleted) Type() string { return EventBenefitDeleted }

// Type implements Event.
func (BenefitUsed) Type() string { return EventBenefitUsed }

// Type implements Event.
func (e ComplaintChanged) Type() string {
	if e.Complaint.State == ComplaintResolved {
		return EventComplaintResolved
	}
	return EventComplaintOpened
}

// Type implements Event.
func (PlanDefined) Type() string { return EventPlanDefined }

// Type implements Event.
func (PlanDeleted) Type() string { return EventPlanDeleted }

// Type implements Event.
func (e SubscriptionChanged) Type() string { return e.Kind }
