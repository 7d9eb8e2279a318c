// Package policy turns a tenant's loyalty policy (the API's loyaltyv1.LoyaltyPolicy, which is
// also how the store keeps it) into the settings the use cases run on, validates it with the
// request's field names ("policy.<field>"), maps its enums to the ledger's values and applies
// an update's field mask.
package policy

import (
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/huiyuan-dev/huiyuan/pkg/apperr"
	"github.com/huiyuan-dev/huiyuan/services/loyalty/internal/ledger"
	"github.com/huiyuan-dev/huiyuan/services/loyalty/internal/loyalty"

	loyaltyv1 "github.com/huiyuan-dev/huiyuan/gen/huiyuan/loyalty/v1"
)

// Limits of a policy's fields.
const (
	MaxPendingDays        = 366
	MaxExpiringSoonDays   = 3660
	MaxTransferWindowDays = 3660
	MaxBaseRatePercent    = 1_000_000 // 10,000 points per currency unit
	MaxExcludedCategories = 10_000
	MaxStreakBonuses      = 100
	MaxTiers              = 1_000  // tier_multiplier_percent entries
	MaxTierPercent        = 10_000 // ×100
)

// minorPerUnit is the minor units of a whole currency unit base_rate_percent counts per.
const minorPerUnit = 100

// Holds are the hold timeouts, which the API's policy does not carry: they stay process-wide.
type Holds struct {
	Timeout    time.Duration // of a hold that names none
	MaxTimeout time.Duration // the longest a caller may name
	KeepClosed time.Duration // how long a closed hold stays in its book
}

// Settings returns the settings p describes, with the hold timeouts h.
// Errors: Invalid with a violation per bad field, named "policy.<field>".
func Settings(p *loyaltyv1.LoyaltyPolicy, h Holds) (*loyalty.Settings, error) {
	var v apperr.Violations
	loc := check(p, &v)
	if err := v.Err(); err != nil {
		return nil, err
	}
	transfer := ledger.TransferRules{}
	if p.GetTransferLimitPoints() > 0 {
		transfer = ledger.TransferRules{Enabled: true, KeepExpiry: !p.GetTransferResetsExpiry(),
			MaxPointsPerWindow: p.GetTransferLimitPoints(), Window: days(p.GetTransferWindowDays())}
	}
	l, err := ledger.New(ledger.Config{Location: loc, Transfer: transfer,
		Expiry: ledger.ExpiryPolicy{Kind: expiryKinds[p.GetExpiryKind()], N: int(p.GetExpiryN())}})
	if err != nil {
		return nil, fmt.Errorf("policy: ledger: %w", err)
	}
	set := &loyalty.Settings{
		Ledger: l,
		Earn: ledger.EarnRules{BaseRate: ledger.Rate{Points: p.GetBaseRatePercent(), PerMinor: 100 * minorPerUnit},
			MinOrderMinor: p.GetMinOrderMinor(), ExcludedCategories: p.GetExcludedCategories()},
		TierPercent:     tierPercents(p.GetTierMultiplierPercent()),
		PendingDays:     int(p.GetPendingDays()),
		Refund:          refundPolicies[p.GetRefundPolicy()],
		NoticeWithin:    days(p.GetExpiringSoonDays()),
		HoldTimeout:     h.Timeout,
		MaxHoldTimeout:  h.MaxTimeout,
		KeepClosedHolds: h.KeepClosed,
		CheckIn:         ledger.CheckInRules{BasePoints: p.GetCheckinPoints()},
		PointValue:      ledger.Price{Minor: p.GetPointValueMinor(), Points: 1},
		Currency:        p.GetPointValueCurrency(),
	}
	for _, b := range p.GetCheckinStreakBonuses() {
		set.CheckIn.Bonuses = append(set.CheckIn.Bonuses, ledger.StreakBonus{Day: int(b.GetDay()), Points: b.GetPoints()})
	}
	return set, nil
}

// expiryKinds and refundPolicies map the policy's enums to the ledger's values; the zero
// values (*_UNSPECIFIED) and numbers outside the enums are absent, so they fail validation.
var (
	expiryKinds = map[loyaltyv1.LoyaltyPolicy_ExpiryKind]ledger.ExpiryKind{
		loyaltyv1.LoyaltyPolicy_AFTER_DAYS:   ledger.ExpireAfterDays,
		loyaltyv1.LoyaltyPolicy_END_OF_MONTH: ledger.ExpireEndOfMonth,
		loyaltyv1.LoyaltyPolicy_NEVER:        ledger.ExpireNever,
	}
	refundPolicies = map[loyaltyv1.LoyaltyPolicy_RefundPolicy]ledger.RefundPolicy{
		loyaltyv1.LoyaltyPolicy_ONLY_PENDING:     ledger.RefundOnlyPending,
		loyaltyv1.LoyaltyPolicy_WITHIN_AVAILABLE: ledger.RefundWithinAvailable,
		loyaltyv1.LoyaltyPolicy_FULL_WITH_DEBT:   ledger.RefundFullWithDebt,
	}
)

// ExpiryKindOf returns the policy enum of the ledger's expiry kind k ("" is NEVER, as in
// ledger.ExpiryPolicy); EXPIRY_KIND_UNSPECIFIED for a kind the ledger does not know.
func ExpiryKindOf(k ledger.ExpiryKind) loyaltyv1.LoyaltyPolicy_ExpiryKind {
	if k == "" {
		k = ledger.ExpireNever
	}
	for e, l := range expiryKinds {
		if l == k {
			return e
		}
	}
	return loyaltyv1.LoyaltyPolicy_EXPIRY_KIND_UNSPECIFIED
}

// RefundPolicyOf returns the policy enum of the ledger's refund policy r;
// REFUND_POLICY_UNSPECIFIED for one the ledger does not know.
func RefundPolicyOf(r ledger.RefundPolicy) loyaltyv1.LoyaltyPolicy_RefundPolicy {
	for e, l := range refundPolicies {
		if l == r {
			return e
		}
	}
	return loyaltyv1.LoyaltyPolicy_REFUND_POLICY_UNSPECIFIED
}

// Validate checks p. Errors: Invalid with a violation per bad field, named "policy.<field>".
func Validate(p *loyaltyv1.LoyaltyPolicy) error {
	var v apperr.Violations
	check(p, &v)
	return v.Err()
}

// tierPercents copies the policy's (validated) tier multipliers; nil when it lists none.
func tierPercents(m map[string]int32) map[string]int64 {
	if len(m) == 0 {
		return nil
	}
	out := make(map[string]int64, len(m))
	for tier, pct := range m {
		out[tier] = int64(pct)
	}
	return out
}

func days(n int32) time.Duration { return time.Duration(n) * 24 * time.Hour }

// check adds p's violations to v and returns its time zone (nil when it does not load).
func check(p *loyaltyv1.LoyaltyPolicy, v *apperr.Violations) *time.Location {
	const f = "policy."
	if r := p.GetBaseRatePercent(); r < 0 || r > MaxBaseRatePercent {
		v.Add(f+"base_rate_percent", "must be between 0 and %d", MaxBaseRatePercent)
	}
	if m := p.GetMinOrderMinor(); m < 0 || m > ledger.MaxAmountMinor {
		v.Add(f+"min_order_minor", "must be between 0 and %d", int64(ledger.MaxAmountMinor))
	}
	if len(p.GetExcludedCategories()) > MaxExcludedCategories {
		v.Add(f+"excluded_categories", "must have at most %d entries", MaxExcludedCategories)
	}
	for i, c := range p.GetExcludedCategories() {
		if c == "" || len(c) > ledger.MaxRefLen {
			v.Add(fmt.Sprintf(f+"excluded_categories[%d]", i), "must be 1 to %d bytes", ledger.MaxRefLen)
		}
	}
	n := p.GetExpiryN()
	switch kind, ok := expiryKinds[p.GetExpiryKind()]; {
	case !ok:
		v.Add(f+"expiry_kind", "must be NEVER, AFTER_DAYS or END_OF_MONTH")
	case kind == ledger.ExpireNever:
	case kind == ledger.ExpireAfterDays:
		if n < 1 || n > ledger.MaxExpiryDays {
			v.Add(f+"expiry_n", "must be between 1 and %d days for AFTER_DAYS", ledger.MaxExpiryDays)
		}
	case kind == ledger.ExpireEndOfMonth:
		if n < 0 || n > ledger.MaxExpiryMonths {
			v.Add(f+"expiry_n", "must be between 0 and %d months for END_OF_MONTH", ledger.MaxExpiryMonths)
		}
	}
	if d := p.GetPendingDays(); d < 0 || d > MaxPendingDays {
		v.Add(f+"pending_days", "must be between 0 and %d", MaxPendingDays)
	}
	if _, ok := refundPolicies[p.GetRefundPolicy()]; !ok {
		v.Add(f+"refund_policy", "must be ONLY_PENDING, WITHIN_AVAILABLE or FULL_WITH_DEBT")
	}
	var loc *time.Location
	if tz := p.GetTimeZone(); tz == "" || tz == "Local" {
		v.Add(f+"time_zone", "must be an IANA time zone such as Asia/Shanghai")
	} else if l, err := time.LoadLocation(tz); err != nil {
		v.Add(f+"time_zone", "unknown time zone %q", tz)
	} else {
		loc = l
	}
	if d := p.GetExpiringSoonDays(); d < 0 || d > MaxExpiringSoonDays {
		v.Add(f+"expiring_soon_days", "must be between 0 and %d", MaxExpiringSoonDays)
	}
	if l := p.GetTransferLimitPoints(); l < 0 || l > ledger.MaxPoints {
		v.Add(f+"transfer_limit_points", "must be between 0 and %d", int64(ledger.MaxPoints))
	}
	if d := p.GetTransferWindowDays(); d < 1 || d > MaxTransferWindowDays {
		v.Add(f+"transfer_window_days", "must be between 1 and %d", MaxTransferWindowDays)
	}
	if c := p.GetCheckinPoints(); c < 0 || c > ledger.MaxPoints {
		v.Add(f+"checkin_points", "must be between 0 and %d", int64(ledger.MaxPoints))
	}
	if len(p.GetCheckinStreakBonuses()) > MaxStreakBonuses {
		v.Add(f+"checkin_streak_bonuses", "must have at most %d entries", MaxStreakBonuses)
	}
	for i, b := range p.GetCheckinStreakBonuses() {
		if b.GetDay() < 1 || b.GetDay() > ledger.MaxStreakDay {
			v.Add(fmt.Sprintf(f+"checkin_streak_bonuses[%d].day", i), "must be between 1 and %d", ledger.MaxStreakDay)
		}
		if b.GetPoints() < 0 || b.GetPoints() > ledger.MaxPoints {
			v.Add(fmt.Sprintf(f+"checkin_streak_bonuses[%d].points", i), "must be between 0 and %d", int64(ledger.MaxPoints))
		}
	}
	checkTiers(p.GetTierMultiplierPercent(), v)
	if m := p.GetPointValueMinor(); m < 0 || m > ledger.MaxAmountMinor {
		v.Add(f+"point_value_minor", "must be between 0 and %d", int64(ledger.MaxAmountMinor))
	}
	if !currency(p.GetPointValueCurrency()) {
		v.Add(f+"point_value_currency", "must be a 3-letter ISO 4217 code such as CNY")
	}
	return loc
}

// checkTiers adds the violations of the tier multipliers m to v, in tier order so the
// response does not depend on map iteration.
func checkTiers(m map[string]int32, v *apperr.Violations) {
	const f = "policy.tier_multiplier_percent"
	if len(m) > MaxTiers {
		v.Add(f, "must have at most %d entries", MaxTiers)
		return
	}
	for _, tier := range slices.Sorted(maps.Keys(m)) {
		if !loyalty.ValidToken(tier) {
			v.Add(f, "tier %q must be 1 to %d characters of A-Z a-z 0-9 . _ : -", truncate(tier), loyalty.MaxTokenLen)
			continue
		}
		if pct := m[tier]; pct < 0 || pct > MaxTierPercent {
			v.Add(f+"["+tier+"]", "must be between 0 and %d", MaxTierPercent)
		}
	}
}

// truncate shortens a caller's bad key for an error message.
func truncate(s string) string {
	if len(s) > 32 {
		return s[:32] + "…"
	}
	return s
}

// currency reports whether c is three upper-case ASCII letters.
func currency(c string) bool {
	if len(c) != 3 {
		return false
	}
	for i := range 3 {
		if c[i] < 'A' || c[i] > 'Z' {
			return false
		}
	}
	return true
}
