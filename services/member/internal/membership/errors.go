package membership

import "github.com/huiyuan-dev/huiyuan/pkg/apperr"

// Stable error reasons of this domain; clients switch on them.
const (
	ReasonTierRuleInvalid      = "TIER_RULE_INVALID"            // Invalid: a tier definition, with violations
	ReasonTierSettingsInvalid  = "TIER_SETTINGS_INVALID"        // Invalid: tier settings, with violations
	ReasonTierNotFound         = "TIER_NOT_FOUND"               // NotFound
	ReasonTierExists           = "TIER_EXISTS"                  // AlreadyExists: the id is taken
	ReasonTierRankTaken        = "TIER_RANK_TAKEN"              // AlreadyExists: another tier has the rank
	ReasonTierInUse            = "TIER_IN_USE"                  // FailedPrecondition: members hold it or a plan grants it
	ReasonTierLimit            = "TIER_LIMIT_REACHED"           // FailedPrecondition: MaxTiers
	ReasonOverrideInvalid      = "TIER_OVERRIDE_INVALID"        // Invalid, with violations
	ReasonBenefitInvalid       = "BENEFIT_INVALID"              // Invalid: a benefit definition, with violations
	ReasonBenefitNotFound      = "BENEFIT_NOT_FOUND"            // NotFound
	ReasonBenefitExists        = "BENEFIT_EXISTS"               // AlreadyExists
	ReasonBenefitLimit         = "BENEFIT_CATALOGUE_FULL"       // FailedPrecondition: MaxBenefits
	ReasonBenefitNotEntitled   = "BENEFIT_NOT_ENTITLED"         // FailedPrecondition: no tier or plan of the member grants it
	ReasonBenefitLimitReached  = "BENEFIT_LIMIT_REACHED"        // FailedPrecondition: the period's uses are spent
	ReasonComplaintInvalid     = "BENEFIT_COMPLAINT_INVALID"    // Invalid, with violations
	ReasonComplaintNotFound    = "BENEFIT_COMPLAINT_NOT_FOUND"  // NotFound
	ReasonComplaintResolved    = "BENEFIT_COMPLAINT_RESOLVED"   // FailedPrecondition: already resolved
	ReasonPlanInvalid          = "PLAN_INVALID"                 // Invalid: a plan definition, with violations
	ReasonPlanNotFound         = "PLAN_NOT_FOUND"               // NotFound
	ReasonPlanExists           = "PLAN_EXISTS"                  // AlreadyExists
	ReasonPlanInUse            = "PLAN_IN_USE"                  // FailedPrecondition: current subscriptions
	ReasonPlanLimit            = "PLAN_LIMIT_REACHED"           // FailedPrecondition: MaxPlans
	ReasonPlanNoTrial          = "PLAN_NO_TRIAL"                // FailedPrecondition
	ReasonTrialUsed            = "TRIAL_ALREADY_USED"           // FailedPrecondition
	ReasonPaymentInvalid       = "PAYMENT_INVALID"              // Invalid, with violations on payment.*
	ReasonPaymentReferenceUsed = "PAYMENT_REFERENCE_USED"       // AlreadyExists: the reference paid for something else
	ReasonSubscriptionExists   = "SUBSCRIPTION_EXISTS"          // AlreadyExists: a current subscription of the plan
	ReasonSubscriptionNotFound = "SUBSCRIPTION_NOT_FOUND"       // NotFound
	ReasonSubscriptionEnded    = "SUBSCRIPTION_ENDED"           // FailedPrecondition: lapsed or cancelled
	ReasonSubscriptionRenewed  = "SUBSCRIPTION_ALREADY_RENEWED" // FailedPrecondition: a term ahead is paid already
	ReasonMemberNotActive      = "MEMBER_NOT_ACTIVE"            // FailedPrecondition
	ReasonMemberNotFound       = "MEMBER_NOT_FOUND"             // NotFound
)

// invalid returns v as an Invalid error with reason, or nil when v is empty.
func invalid(reason string, v apperr.Violations) error {
	err := v.Err()
	if err == nil {
		return nil
	}
	e := err.(*apperr.Error)
	e.Reason = reason
	return e
}

// MemberNotFound is the error for a member id that does not exist in the tenant.
func MemberNotFound(id string) error {
	return apperr.E(apperr.NotFound, ReasonMemberNotFound, "member %q not found", id).With("member_id", id)
}

// TierNotFound is the error for an unknown tier id.
func TierNotFound(id string) error {
	return apperr.E(apperr.NotFound, ReasonTierNotFound, "tier %q not found", id).With("tier_id", id)
}

// BenefitNotFound is the error for an unknown benefit id.
func BenefitNotFound(id string) error {
	return apperr.E(apperr.NotFound, ReasonBenefitNotFound, "benefit %q not found", id).With("benefit_id", id)
}

// PlanNotFound is the error for an unknown plan id.
func PlanNotFound(id string) error {
	return apperr.E(apperr.NotFound, ReasonPlanNotFound, "plan %q not found", id).With("plan_id", id)
}

// ComplaintNotFound is the error for an unknown complaint id.
func ComplaintNotFound(id string) error {
	return apperr.E(apperr.NotFound, ReasonComplaintNotFound, "benefit complaint %q not found", id).With("complaint_id", id)
}

// SubscriptionNotFound is the error for a subscription id the member does not have.
func SubscriptionNotFound(id string) error {
	return apperr.E(apperr.NotFound, ReasonSubscriptionNotFound, "subscription %q not found", id).With("subscription_id", id)
}

// SubscriptionEnded is the error for changing a subscription that lapsed or was cancelled.
func SubscriptionEnded(id string) error {
	return apperr.E(apperr.FailedPrecondition, ReasonSubscriptionEnded,
		"subscription %q has ended; purchase the plan again", id).With("subscription_id", id)
}

// PaymentReferenceUsed is the error for a payment reference already recorded in the tenant.
func PaymentReferenceUsed() error {
	e := apperr.E(apperr.AlreadyExists, ReasonPaymentReferenceUsed, "this payment reference is already recorded")
	e.Violations = []apperr.FieldViolation{{Field: "payment.reference", Description: "already recorded for another purchase or renewal"}}
	return e
}

func memberNotActive(id string) error {
	return apperr.E(apperr.FailedPrecondition, ReasonMemberNotActive, "member %q is not active", id).With("member_id", id)
}

// IsMemberNotFound reports whether err is MemberNotFound's.
func IsMemberNotFound(err error) bool {
	return apperr.CodeOf(err) == apperr.NotFound && apperr.ReasonOf(err) == ReasonMemberNotFound
}
