package coupon

// The domain's enums have the numbers and names of the API's (huiyuan.coupon.v1), so mapping is
// a conversion; a test guards it. Numbers outside each set are refused where they come in.

// Type is a template's kind of discount.
type Type int32

// The types.
const (
	TypeUnspecified Type = iota
	TypeThreshold        // 满减: spend at least the threshold, take the amount off
	TypePercent          // 折扣: a percentage off, rounded down, capped
	TypeFixed            // 立减: an amount off
	TypeFreeItem         // a SKU free when the cart holds it
	TypeShipping         // delivery free or reduced
)

var typeNames = [...]string{"TYPE_UNSPECIFIED", "THRESHOLD", "PERCENT", "FIXED", "FREE_ITEM", "SHIPPING"}

// String returns the API's name of t.
func (t Type) String() string { return enumName(typeNames[:], int32(t)) }

// Valid reports whether t is one of the types (not unspecified).
func (t Type) Valid() bool { return t > TypeUnspecified && int(t) < len(typeNames) }

// Status is where a template is in its life.
type Status int32

// The statuses.
const (
	StatusUnspecified Status = iota
	StatusDraft
	StatusActive
	StatusPaused
	StatusEnded
)

var statusNames = [...]string{"STATUS_UNSPECIFIED", "DRAFT", "ACTIVE", "PAUSED", "ENDED"}

// String returns the API's name of s.
func (s Status) String() string { return enumName(statusNames[:], int32(s)) }

// Valid reports whether s is one of the statuses (not unspecified).
func (s Status) Valid() bool { return s > StatusUnspecified && int(s) < len(statusNames) }

// RefundPolicy says what a refund does to a redeemed coupon.
type RefundPolicy int32

// The refund policies.
const (
	RefundUnspecified RefundPolicy = iota // means RefundForfeit
	RefundRestore
	RefundForfeit
)

var refundNames = [...]string{"REFUND_POLICY_UNSPECIFIED", "RESTORE", "FORFEIT"}

// String returns the API's name of p.
func (p RefundPolicy) String() string { return enumName(refundNames[:], int32(p)) }

// StackMode says whether a coupon combines with others.
type StackMode int32

// The stacking modes.
const (
	StackUnspecified StackMode = iota // means StackExclusive
	StackExclusive
	StackStackable
)

var stackNames = [...]string{"MODE_UNSPECIFIED", "EXCLUSIVE", "STACKABLE"}

// String returns the API's name of m.
func (m StackMode) String() string { return enumName(stackNames[:], int32(m)) }

// Period is a calendar period of a per-member limit, in the tenant's time zone.
type Period int32

// The periods.
const (
	PeriodUnspecified Period = iota
	PeriodDay
	PeriodWeek
	PeriodMonth
)

var periodNames = [...]string{"PERIOD_UNSPECIFIED", "DAY", "WEEK", "MONTH"}

// String returns the API's name of p.
func (p Period) String() string { return enumName(periodNames[:], int32(p)) }

// State is where a coupon is in its life.
type State int32

// The states.
const (
	StateUnspecified State = iota
	StatePending           // reserved for a points exchange that has not settled; not usable
	StateAvailable
	StateLocked
	StateRedeemed
	StateExpired
	StateVoided
)

var stateNames = [...]string{"STATE_UNSPECIFIED", "PENDING", "AVAILABLE", "LOCKED", "REDEEMED", "EXPIRED", "VOIDED"}

// String returns the API's name of s.
func (s State) String() string { return enumName(stateNames[:], int32(s)) }

// Valid reports whether s is one of the states (not unspecified).
func (s State) Valid() bool { return s > StateUnspecified && int(s) < len(stateNames) }

// Source is how a coupon was issued.
type Source int32

// The sources.
const (
	SourceUnspecified Source = iota
	SourceClaim
	SourceGrant
	SourceExchange
	SourceCodeBatch
	SourceSharedCode
)

var sourceNames = [...]string{"SOURCE_UNSPECIFIED", "CLAIM", "GRANT", "EXCHANGE", "CODE_BATCH", "SHARED_CODE"}

// String returns the API's name of s.
func (s Source) String() string { return enumName(sourceNames[:], int32(s)) }

// Why is why a coupon does not apply to a cart.
type Why int32

// The reasons a coupon does not apply.
const (
	WhyUnspecified Why = iota
	WhyBelowThreshold
	WhyOutOfScope
	WhyExpired
	WhyNotYetValid
	WhyWrongStore
	WhyWrongCurrency
	WhyItemMissing
	WhyNoShipping
	WhyLocked
	WhyNotAvailable
)

var reasonNames = [...]string{"REASON_UNSPECIFIED", "BELOW_THRESHOLD", "OUT_OF_SCOPE", "EXPIRED", "NOT_YET_VALID",
	"WRONG_STORE", "WRONG_CURRENCY", "ITEM_MISSING", "NO_SHIPPING", "LOCKED", "NOT_AVAILABLE"}

// String returns the API's name of w.
func (w Why) String() string { return enumName(reasonNames[:], int32(w)) }

// ExchangeState is a points exchange's progress.
type ExchangeState int32

// The exchange states.
const (
	ExchangeUnspecified ExchangeState = iota
	ExchangeHolding                   // coupon reserved; points being held
	ExchangeCapturing                 // points held; hold being captured
	ExchangeCompleted
	ExchangeFailed
)

var exchangeNames = [...]string{"STATE_UNSPECIFIED", "HOLDING", "CAPTURING", "COMPLETED", "FAILED"}

// String returns the API's name of s.
func (s ExchangeState) String() string { return enumName(exchangeNames[:], int32(s)) }

// Final reports whether the exchange is settled.
func (s ExchangeState) Final() bool { return s == ExchangeCompleted || s == ExchangeFailed }

// BatchState is a code batch's progress.
type BatchState int32

// The batch states.
const (
	BatchUnspecified BatchState = iota
	BatchRunning
	BatchDone
)

var batchNames = [...]string{"STATE_UNSPECIFIED", "RUNNING", "DONE"}

// String returns the API's name of s.
func (s BatchState) String() string { return enumName(batchNames[:], int32(s)) }

func enumName(names []string, v int32) string {
	if v < 0 || int(v) >= len(names) {
		return "UNKNOWN"
	}
	return names[v]
}

// EnumNames returns every enum's names by number, for the test that keeps them equal to the
// API's.
func EnumNames() map[string][]string {
	return map[string][]string{
		"CouponTemplate.Type": typeNames[:], "CouponTemplate.Status": statusNames[:],
		"CouponTemplate.RefundPolicy": refundNames[:], "Stacking.Mode": stackNames[:],
		"PeriodLimit.Period": periodNames[:], "Coupon.State": stateNames[:], "Coupon.Source": sourceNames[:],
		"NotApplicable.Reason": reasonNames[:], "Exchange.State": exchangeNames[:], "CodeBatch.State": batchNames[:],
	}
}
