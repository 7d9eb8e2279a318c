package loyaltyd

import (
	"cmp"
	"fmt"
	"time"

	"github.com/huiyuan-dev/huiyuan/pkg/apperr"
	"github.com/huiyuan-dev/huiyuan/services/loyalty/internal/ledger"
	"github.com/huiyuan-dev/huiyuan/services/loyalty/internal/loyalty"
	"github.com/huiyuan-dev/huiyuan/services/loyalty/internal/policy"

	loyaltyv1 "github.com/huiyuan-dev/huiyuan/gen/huiyuan/loyalty/v1"
)

// Defaults of TenantPolicy's zero fields.
const (
	DefaultExpiryKind       = "END_OF_MONTH"
	DefaultExpiryMonths     = 12                 // points last through the 12th month after the month earned
	DefaultRefundPolicy     = "WITHIN_AVAILABLE" // a refund takes back what the balance has
	DefaultTimeZone         = "Asia/Shanghai"
	DefaultExpiringSoonDays = 30
	DefaultHoldTimeout      = 15 * time.Minute
	DefaultMaxHoldTimeout   = 7 * 24 * time.Hour
	DefaultKeepClosedHolds  = 7 * 24 * time.Hour
	// DefaultTransferLimit points may be sent per member per DefaultTransferWindowDays.
	DefaultTransferLimit      = 10_000
	DefaultTransferWindowDays = 30
	DefaultCheckInPoints      = 5     // points for every daily check-in
	DefaultPointValueMinor    = 1     // one minor unit per point
	DefaultCurrency           = "CNY" // of the point value
)

// StreakBonus awards Points extra on day Day (from 1) of a check-in streak.
type StreakBonus struct {
	Day    int
	Points int64
}

// DefaultCheckInBonuses are the streak bonuses when TenantPolicy.CheckInBonuses is nil: 50
// more on the 7th day in a row.
func DefaultCheckInBonuses() []StreakBonus { return []StreakBonus{{Day: 7, Points: 50}} }

// TenantPolicy is the points policy of every tenant that has not set its own (see
// LoyaltyProgramService.UpdateLoyaltyPolicy), and the hold timeouts of every tenant. The zero
// value is the documented default.
type TenantPolicy struct {
	// ExpiryKind is "NEVER", "AFTER_DAYS" or "END_OF_MONTH"; "" means END_OF_MONTH with
	// ExpiryN = DefaultExpiryMonths (points earned in March expire when the next year's March
	// ends).
	ExpiryKind string
	// ExpiryN is the days (AFTER_DAYS, 1..36600) or months (END_OF_MONTH, 0..1200; 0 is the
	// end of the month earned).
	ExpiryN int
	// PendingDays keeps earned points pending (a return window) this many days; 0: none.
	PendingDays int
	// RefundPolicy is "ONLY_PENDING", "WITHIN_AVAILABLE" or "FULL_WITH_DEBT"; "" means
	// DefaultRefundPolicy.
	RefundPolicy string
	// TimeZone is the IANA zone calendar expiry counts in; "" means DefaultTimeZone.
	TimeZone string
	// ExpiringSoonDays is how many days before expiry points_expiring_soon goes out; 0 means
	// DefaultExpiringSoonDays, negative sends none.
	ExpiringSoonDays int
	// HoldTimeout is the timeout of a hold that names none (0: DefaultHoldTimeout);
	// MaxHoldTimeout the longest a caller may name (0: DefaultMaxHoldTimeout).
	HoldTimeout, MaxHoldTimeout time.Duration
	// KeepClosedHolds is how long closed holds stay in a book (0: DefaultKeepClosedHolds).
	KeepClosedHolds time.Duration
	// TransferLimit is the most points a member may send per transfer window; 0 means
	// DefaultTransferLimit, negative disables transfers.
	TransferLimit int64
	// TransferWindowDays is the rolling transfer window; 0 means DefaultTransferWindowDays.
	TransferWindowDays int
	// TransferResetsExpiry gives received points a fresh expiry from the transfer time; by
	// default they keep the expiry of the sender's points.
	TransferResetsExpiry bool
	// CheckInPoints are awarded for each daily check-in; 0 means DefaultCheckInPoints,
	// negative none (streak bonuses still apply).
	CheckInPoints int64
	// CheckInBonuses are the streak bonuses; nil means DefaultCheckInBonuses, empty none.
	CheckInBonuses []StreakBonus
	// PointValueMinor is a point's value in minor units of PointValueCurrency, for the
	// liability report; 0 means DefaultPointValueMinor.
	PointValueMinor int64
	// PointValueCurrency is "" for DefaultCurrency.
	PointValueCurrency string
}

// settings builds the tenant settings p describes.
// Errors: Invalid with violations on the policy's fields.
func (p TenantPolicy) settings() (*loyalty.Settings, error) {
	var v apperr.Violations
	expiry := ledger.ExpiryPolicy{Kind: ledger.ExpiryKind(p.ExpiryKind), N: p.ExpiryN}
	if p.ExpiryKind == "" {
		expiry = ledger.ExpiryPolicy{Kind: ledger.ExpireEndOfMonth, N: DefaultExpiryMonths}
	}
	if err := expiry.Validate(); err != nil {
		v.Add("expiry", "%v", err)
	}
	tz := p.TimeZone
	if tz == "" {
		tz = DefaultTimeZone
	}
	loc, err := time.LoadLocation(tz)
	if err != nil {
		v.Add("time_zone", "unknown time zone %q", tz)
	}
	refund := ledger.RefundPolicy(p.RefundPolicy)
	switch refund {
	case "":
		refund = DefaultRefundPolicy
	case ledger.RefundOnlyPending, ledger.RefundWithinAvailable, ledger.RefundFullWithDebt:
	default:
		v.Add("refund_policy", "must be ONLY_PENDING, WITHIN_AVAILABLE or FULL_WITH_DEBT")
	}
	if p.PendingDays < 0 || p.PendingDays > 366 {
		v.Add("pending_days", "must be between 0 and 366")
	}
	notice := time.Duration(p.ExpiringSoonDays) * 24 * time.Hour
	switch {
	case p.ExpiringSoonDays == 0:
		notice = DefaultExpiringSoonDays * 24 * time.Hour
	case p.ExpiringSoonDays < 0:
		notice = 0
	}
	set := &loyalty.Settings{
		PendingDays:     p.PendingDays,
		Refund:          refund,
		NoticeWithin:    notice,
		HoldTimeout:     orDefault(p.HoldTimeout, DefaultHoldTimeout),
		MaxHoldTimeout:  orDefault(p.MaxHoldTimeout, DefaultMaxHoldTimeout),
		KeepClosedHolds: orDefault(p.KeepClosedHolds, DefaultKeepClosedHolds),
	}
	if set.HoldTimeout < 0 || set.MaxHoldTimeout < 0 || set.HoldTimeout > set.MaxHoldTimeout {
		v.Add("hold_timeout", "must be positive and at most max_hold_timeout")
	}
	transfer := p.transferRules(&v)
	p.programmes(set, &v)
	if err := v.Err(); err != nil {
		return nil, err
	}
	if set.Ledger, err = ledger.New(ledger.Config{Location: loc, Expiry: expiry, Transfer: transfer}); err != nil {
		return nil, fmt.Errorf("ledger: %w", err)
	}
	return set, nil
}

func orDefault(d, def time.Duration) time.Duration {
	if d == 0 {
		return def
	}
	return d
}

// transferRules returns the transfer rules p describes, adding violations to v.
func (p TenantPolicy) transferRules(v *apperr.Violations) ledger.TransferRules {
	limit, days := p.TransferLimit, p.TransferWindowDays
	if limit == 0 {
		limit = DefaultTransferLimit
	}
	if days == 0 {
		days = DefaultTransferWindowDays
	}
	if days < 0 || days > 3660 {
		v.Add("transfer_window_days", "must be between 1 and 3660")
	}
	if limit < 0 {
		return ledger.TransferRules{}
	}
	return ledger.TransferRules{Enabled: true, KeepExpiry: !p.TransferResetsExpiry, MaxPointsPerWindow: limit,
		Window: time.Duration(days) * 24 * time.Hour}
}

// programmes fills set's check-in rules and point value from p, adding violations to v.
func (p TenantPolicy) programmes(set *loyalty.Settings, v *apperr.Violations) {
	base := p.CheckInPoints
	switch {
	case base == 0:
		base = DefaultCheckInPoints
	case base < 0:
		base = 0
	}
	bonuses := p.CheckInBonuses
	if bonuses == nil {
		bonuses = DefaultCheckInBonuses()
	}
	set.CheckIn = ledger.CheckInRules{BasePoints: base, Bonuses: make([]ledger.StreakBonus, len(bonuses))}
	for i, b := range bonuses {
		set.CheckIn.Bonuses[i] = ledger.StreakBonus{Day: b.Day, Points: b.Points}
	}
	if err := set.CheckIn.Validate(); err != nil {
		v.Add("checkin", "%v", err)
	}
	set.PointValue = ledger.Price{Minor: p.PointValueMinor, Points: 1}
	if set.PointValue.Minor == 0 {
		set.PointValue.Minor = DefaultPointValueMinor
	}
	if set.PointValue.Minor < 0 {
		v.Add("point_value_minor", "must not be negative")
	}
	set.Currency = p.PointValueCurrency
	if set.Currency == "" {
		set.Currency = DefaultCurrency
	}
	if len(set.Currency) != 3 {
		v.Add("point_value_currency", "must be an ISO 4217 code")
	}
}

// defaults returns the LoyaltyPolicy p describes, every field filled, which a tenant that
// never set its own policy has, and the hold timeouts, which stay process-wide.
// Errors: Invalid with violations on p's fields.
func (p TenantPolicy) defaults() (*loyaltyv1.LoyaltyPolicy, policy.Holds, error) {
	set, err := p.settings()
	if err != nil {
		return nil, policy.Holds{}, err
	}
	out := &loyaltyv1.LoyaltyPolicy{
		BaseRatePercent: 100, ExpiryKind: policy.ExpiryKindOf(DefaultExpiryKind), ExpiryN: DefaultExpiryMonths,
		PendingDays: int32(p.PendingDays), RefundPolicy: policy.RefundPolicyOf(set.Refund), TimeZone: cmp.Or(p.TimeZone, DefaultTimeZone),
		ExpiringSoonDays:     int32(set.NoticeWithin / (24 * time.Hour)),
		TransferWindowDays:   int32(cmp.Or(p.TransferWindowDays, DefaultTransferWindowDays)),
		TransferResetsExpiry: p.TransferResetsExpiry,
		CheckinPoints:        set.CheckIn.BasePoints,
		PointValueMinor:      set.PointValue.Minor, PointValueCurrency: set.Currency,
	}
	if p.ExpiryKind != "" {
		out.ExpiryKind, out.ExpiryN = policy.ExpiryKindOf(ledger.ExpiryKind(p.ExpiryKind)), int32(p.ExpiryN)
	}
	if p.TransferLimit >= 0 {
		out.TransferLimitPoints = cmp.Or(p.TransferLimit, DefaultTransferLimit)
	}
	for _, b := range set.CheckIn.Bonuses {
		out.CheckinStreakBonuses = append(out.CheckinStreakBonuses, &loyaltyv1.StreakBonus{Day: int32(b.Day), Points: b.Points})
	}
	return out, policy.Holds{Timeout: set.HoldTimeout, MaxTimeout: set.MaxHoldTimeout, KeepClosed: set.KeepClosedHolds}, nil
}
