package loyaltyd

import (
	"fmt"
	"time"

	"github.com/huiyuan-dev/huiyuan/pkg/apperr"
	"github.com/huiyuan-dev/huiyuan/services/loyalty/internal/ledger"
	"github.com/huiyuan-dev/huiyuan/services/loyalty/internal/loyalty"
)

// Defaults of TenantPolicy's zero fields.
const (
	DefaultExpiryMonths     = 12                 // points last through the 12th month after the month earned
	DefaultRefundPolicy     = "WITHIN_AVAILABLE" // a refund takes back what the balance has
	DefaultTimeZone         = "Asia/Shanghai"
	DefaultExpiringSoonDays = 30
	DefaultHoldTimeout      = 15 * time.Minute
	DefaultMaxHoldTimeout   = 7 * 24 * time.Hour
	DefaultKeepClosedHolds  = 7 * 24 * time.Hour
)

// TenantPolicy is the points policy every tenant gets until tenants configure their own.
// The zero value is the documented default.
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
		TierPercent:     100,
		NoticeWithin:    notice,
		HoldTimeout:     orDefault(p.HoldTimeout, DefaultHoldTimeout),
		MaxHoldTimeout:  orDefault(p.MaxHoldTimeout, DefaultMaxHoldTimeout),
		KeepClosedHolds: orDefault(p.KeepClosedHolds, DefaultKeepClosedHolds),
	}
	if set.HoldTimeout < 0 || set.MaxHoldTimeout < 0 || set.HoldTimeout > set.MaxHoldTimeout {
		v.Add("hold_timeout", "must be positive and at most max_hold_timeout")
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	if set.Ledger, err = ledger.New(ledger.Config{Location: loc, Expiry: expiry}); err != nil {
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
