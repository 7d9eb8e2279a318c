package loyalty

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/huiyuan-dev/huiyuan/pkg/apperr"
	"github.com/huiyuan-dev/huiyuan/services/loyalty/internal/ledger"
)

// Limits of a policy's own fields (the ledger's rules bound the rest).
const (
	MaxPendingDays          = 366
	MaxExpiringSoonDays     = 3660
	MaxTransferWindowDays   = 3660
	MaxTiers                = 1_000  // tier_multiplier_percent entries
	MaxTierPercent          = 10_000 // ×100
	MaxStreakBonuses        = 100
	MaxHoldTimeoutMinutes   = 30 * 24 * 60
	MaxClosedHoldRetention  = 366 // days
	MaxAcceptedCurrencies   = 200
	MaxOrderAgeDays         = 3650
	DefaultTierPercent      = 100 // the multiplier of a tier the policy does not list: ×1
	percentRatePerMinor     = 100 * 100
	policyField             = "policy."
	defaultHoldMinutes      = 15
	defaultMaxHoldMinutes   = 7 * 24 * 60
	defaultClosedHoldDays   = 7
	defaultExpiryMonths     = 12
	defaultTransferLimit    = 10_000
	defaultTransferWindow   = 30
	defaultExpiringSoonDays = 30
	defaultOrderAgeDays     = 90
	defaultCurrency         = "CNY"
)

// Policy is a tenant's loyalty policy: what orders earn, how points expire and come back on a
// refund, transfers, check-in, holds and what a point is worth. Tenants that never set one run
// on DefaultPolicy. Every field is one of UpdateLoyaltyPolicy's, and Validate checks a policy
// whatever its origin, the default included.
type Policy struct {
	// Earning: BaseRatePercent/100 points per currency unit (100 minor units), per currency in
	// CurrencyRatePercent; items of ExcludedCategories and ExcludedSKUs earn nothing, items
	// of CategoryRatePercent and SKURatePercent earn that percent of the rate (a SKU's beats its
	// category's); orders below MinOrderMinor earn nothing; members of a tier earn its
	// TierMultiplierPercent (DefaultTierPercent when not listed).
	BaseRatePercent       int64
	CurrencyRatePercent   map[string]int64
	MinOrderMinor         int64
	ExcludedCategories    []string
	ExcludedSKUs          []string
	CategoryRatePercent   map[string]int64
	SKURatePercent        map[string]int64
	TierMultiplierPercent map[string]int64

	Expiry           ledger.ExpiryPolicy // Kind must be set: NEVER is explicit
	PendingDays      int                 // earned points stay pending this long (a return window)
	Refund           ledger.RefundPolicy
	TimeZone         string // IANA; calendar expiry and check-in days count in it
	ExpiringSoonDays int    // the expiring-soon notice goes out this long before; 0: none

	TransferLimitPoints  int64 // per member per window; 0 disables transfers
	TransferWindowDays   int
	TransferResetsExpiry bool // received points get a fresh expiry instead of the sender's

	CheckInPoints    int64
	CheckInBonuses   []ledger.StreakBonus
	CheckInCycleDays int

	PointValueMinor    int64  // a point's worth in minor units of PointValueCurrency
	PointValueCurrency string // ISO 4217

	HoldTimeoutMinutes      int // of a hold whose caller names none
	MaxHoldTimeoutMinutes   int // the longest a caller may ask for
	ClosedHoldRetentionDays int // a closed hold answers HOLD_CLOSED this long, then is forgotten

	// Orders: AcceptedCurrencies are the ISO 4217 codes orders may be in (every key of
	// CurrencyRatePercent among them); an order's create_time may lie at most MaxOrderAgeDays
	// in the past (and MaxFutureSkew in the future). Settings.AcceptOrder applies them.
	AcceptedCurrencies []string
	MaxOrderAgeDays    int
}

// DefaultPolicy is the policy of a tenant that never set its own: 1 point per currency unit;
// points last through the 12th month after the month earned (Shanghai time); refunds take back
// what the balance has; up to 10,000 points a member per 30 days may be transferred, keeping
// their expiry; 5 points a check-in and 50 more on the 7th day in a row; a point is worth
// 1 fen; holds last 15 minutes unless asked for longer (at most 7 days) and stay visible a week;
// orders are in CNY and at most 90 days old.
func DefaultPolicy() Policy {
	return Policy{
		BaseRatePercent:         100,
		Expiry:                  ledger.ExpiryPolicy{Kind: ledger.ExpireEndOfMonth, N: defaultExpiryMonths},
		Refund:                  ledger.RefundWithinAvailable,
		TimeZone:                "Asia/Shanghai",
		ExpiringSoonDays:        defaultExpiringSoonDays,
		TransferLimitPoints:     defaultTransferLimit,
		TransferWindowDays:      defaultTransferWindow,
		CheckInPoints:           5,
		CheckInBonuses:          []ledger.StreakBonus{{Day: 7, Points: 50}},
		PointValueMinor:         1,
		PointValueCurrency:      defaultCurrency,
		HoldTimeoutMinutes:      defaultHoldMinutes,
		MaxHoldTimeoutMinutes:   defaultMaxHoldMinutes,
		ClosedHoldRetentionDays: defaultClosedHoldDays,
		AcceptedCurrencies:      []string{defaultCurrency},
		MaxOrderAgeDays:         defaultOrderAgeDays,
	}
}

// Settings are a policy compiled into what the use cases run on.
type Settings struct {
	Policy Policy
	// Ledger applies the expiry policy, the time zone and the transfer rules.
	Ledger         *ledger.Ledger
	Earn           ledger.EarnRules
	CheckIn        ledger.CheckInRules
	PointValue     ledger.Price
	NoticeWithin   time.Duration // 0: no expiring-soon notices
	HoldTimeout    time.Duration
	MaxHoldTimeout time.Duration
	KeepClosed     time.Duration
	MaxOrderAge    time.Duration // how old an order's create_time may be
}

// Validate checks p. Errors: Invalid with a violation per bad field, named as
// UpdateLoyaltyPolicy's request names it ("policy.<field>").
func (p Policy) Validate() error {
	_, err := p.Compile()
	return err
}

// Compile validates p and returns the settings it describes. The ledger's own rules (earning,
// expiry, check-in, refunds) check their parts; their violations are renamed to the policy's
// fields. Errors: Invalid with violations on "policy.<field>".
func (p Policy) Compile() (*Settings, error) {
	var v apperr.Violations
	earn := p.earnRules()
	renamed(&v, earn.Validate(), earnFields)
	switch p.Expiry.Kind {
	case ledger.ExpireAfterDays, ledger.ExpireEndOfMonth, ledger.ExpireNever:
		renamed(&v, p.Expiry.Validate(), expiryFields)
	default:
		v.Add(policyField+"expiry_kind", "must be NEVER, AFTER_DAYS or END_OF_MONTH")
	}
	if !p.Refund.Valid() {
		v.Add(policyField+"refund_policy", "must be ONLY_PENDING, WITHIN_AVAILABLE or FULL_WITH_DEBT")
	}
	checkIn := ledger.CheckInRules{BasePoints: p.CheckInPoints, Bonuses: p.CheckInBonuses, CycleDays: p.CheckInCycleDays}
	if len(p.CheckInBonuses) > MaxStreakBonuses {
		v.Add(policyField+"checkin_streak_bonuses", "must have at most %d entries", MaxStreakBonuses)
	} else {
		renamed(&v, checkIn.Validate(), checkInFields)
	}
	loc := p.checkOwn(&v)
	if err := v.Err(); err != nil {
		return nil, err
	}
	transfer := ledger.TransferRules{}
	if p.TransferLimitPoints > 0 {
		transfer = ledger.TransferRules{Enabled: true, KeepExpiry: !p.TransferResetsExpiry,
			MaxPointsPerWindow: p.TransferLimitPoints, Window: days(p.TransferWindowDays)}
	}
	l, err := ledger.New(ledger.Config{Location: loc, Expiry: p.Expiry, Transfer: transfer})
	if err != nil {
		return nil, fmt.Errorf("policy: ledger: %w", err) // cannot happen for a valid policy
	}
	return &Settings{
		Policy: p, Ledger: l, Earn: earn, CheckIn: checkIn,
		PointValue:     ledger.Price{Minor: p.PointValueMinor, Points: 1},
		NoticeWithin:   days(p.ExpiringSoonDays),
		HoldTimeout:    time.Duration(p.HoldTimeoutMinutes) * time.Minute,
		MaxHoldTimeout: time.Duration(p.MaxHoldTimeoutMinutes) * time.Minute,
		KeepClosed:     days(p.ClosedHoldRetentionDays),
		MaxOrderAge:    days(p.MaxOrderAgeDays),
	}, nil
}

// earnRules are the ledger's earn rules the policy describes: a percent is points per 10,000
// minor units.
func (p Policy) earnRules() ledger.EarnRules {
	r := ledger.EarnRules{BaseRate: ledger.Rate{Points: p.BaseRatePercent, PerMinor: percentRatePerMinor},
		MinOrderMinor: p.MinOrderMinor, ExcludedCategories: p.ExcludedCategories, ExcludedSKUs: p.ExcludedSKUs,
		CategoryPercent: p.CategoryRatePercent, SKUPercent: p.SKURatePercent}
	if len(p.CurrencyRatePercent) > 0 {
		r.CurrencyRates = make(map[string]ledger.Rate, len(p.CurrencyRatePercent))
		for c, pct := range p.CurrencyRatePercent {
			r.CurrencyRates[c] = ledger.Rate{Points: pct, PerMinor: percentRatePerMinor}
		}
	}
	return r
}

// The ledger's field names and the policy's, by prefix.
var (
	earnFields = [][2]string{
		{"base_rate.points", "base_rate_percent"}, {"currency_rates[", "currency_rate_percent["},
		{"min_order_minor", "min_order_minor"}, {"excluded_categories", "excluded_categories"},
		{"excluded_skus", "excluded_skus"}, {"category_percent", "category_rate_percent"}, {"sku_percent", "sku_rate_percent"},
	}
	expiryFields  = [][2]string{{"kind", "expiry_kind"}, {"n", "expiry_n"}}
	checkInFields = [][2]string{{"base_points", "checkin_points"}, {"cycle_days", "checkin_cycle_days"},
		{"bonuses[", "checkin_streak_bonuses["}}
)

// renamed adds err's violations to v under the policy's field names. A currency's rate is a
// percent, that is its points, so ".points" goes.
func renamed(v *apperr.Violations, err error, names [][2]string) {
	if err == nil {
		return
	}
	e, ok := err.(*apperr.Error)
	if !ok {
		v.Add("policy", "%v", err)
		return
	}
	for _, fv := range e.Violations {
		field := fv.Field
		for _, n := range names {
			if rest, ok := strings.CutPrefix(field, n[0]); ok {
				field = n[1] + rest
				break
			}
		}
		if strings.HasPrefix(field, "currency_rate_percent[") {
			field = strings.TrimSuffix(field, ".points")
		}
		v.Add(policyField+field, "%s", fv.Description)
	}
}

// checkOwn checks the fields no ledger rule covers and returns the time zone.
func (p Policy) checkOwn(v *apperr.Violations) *time.Location {
	f := policyField
	var loc *time.Location
	if tz := p.TimeZone; tz == "" || tz == "Local" {
		v.Add(f+"time_zone", "must be an IANA time zone such as Asia/Shanghai")
	} else if l, err := time.LoadLocation(tz); err != nil {
		v.Add(f+"time_zone", "unknown time zone %q", tz)
	} else {
		loc = l
	}
	if p.PendingDays < 0 || p.PendingDays > MaxPendingDays {
		v.Add(f+"pending_days", "must be between 0 and %d", MaxPendingDays)
	}
	if p.ExpiringSoonDays < 0 || p.ExpiringSoonDays > MaxExpiringSoonDays {
		v.Add(f+"expiring_soon_days", "must be between 0 and %d", MaxExpiringSoonDays)
	}
	if p.TransferLimitPoints < 0 || p.TransferLimitPoints > ledger.MaxPoints {
		v.Add(f+"transfer_limit_points", "must be between 0 and %d", int64(ledger.MaxPoints))
	}
	if p.TransferWindowDays < 1 || p.TransferWindowDays > MaxTransferWindowDays {
		v.Add(f+"transfer_window_days", "must be between 1 and %d", MaxTransferWindowDays)
	}
	checkTiers(p.TierMultiplierPercent, v)
	if p.PointValueMinor < 0 || p.PointValueMinor > ledger.MaxAmountMinor {
		v.Add(f+"point_value_minor", "must be between 0 and %d", int64(ledger.MaxAmountMinor))
	}
	if !ledger.ValidCurrency(p.PointValueCurrency) {
		v.Add(f+"point_value_currency", "must be a 3-letter ISO 4217 code such as CNY")
	}
	if p.HoldTimeoutMinutes < 1 || p.HoldTimeoutMinutes > p.MaxHoldTimeoutMinutes {
		v.Add(f+"hold_timeout_minutes", "must be at least 1 and at most max_hold_timeout_minutes")
	}
	if p.MaxHoldTimeoutMinutes < 1 || p.MaxHoldTimeoutMinutes > MaxHoldTimeoutMinutes {
		v.Add(f+"max_hold_timeout_minutes", "must be between 1 and %d", MaxHoldTimeoutMinutes)
	}
	if p.ClosedHoldRetentionDays < 0 || p.ClosedHoldRetentionDays > MaxClosedHoldRetention {
		v.Add(f+"closed_hold_retention_days", "must be between 0 and %d", MaxClosedHoldRetention)
	}
	p.checkCurrencies(v)
	if p.MaxOrderAgeDays < 1 || p.MaxOrderAgeDays > MaxOrderAgeDays {
		v.Add(f+"max_order_age_days", "must be between 1 and %d", MaxOrderAgeDays)
	}
	return loc
}

// checkCurrencies checks the accepted currencies, and that each currency with a rate of its
// own is accepted (a rate for a refused currency would never apply: a mistake). Keys that are
// not currency codes at all are the ledger's to report.
func (p Policy) checkCurrencies(v *apperr.Violations) {
	const f = policyField + "accepted_currencies"
	switch n := len(p.AcceptedCurrencies); {
	case n == 0:
		v.Add(f, "must list at least one ISO 4217 currency such as CNY")
	case n > MaxAcceptedCurrencies:
		v.Add(f, "must have at most %d entries", MaxAcceptedCurrencies)
		return
	}
	seen := make(map[string]bool, len(p.AcceptedCurrencies))
	for i, c := range p.AcceptedCurrencies {
		switch {
		case !ledger.ValidCurrency(c):
			v.Add(fmt.Sprintf("%s[%d]", f, i), "must be a 3-letter upper-case ISO 4217 code such as CNY")
		case seen[c]:
			v.Add(fmt.Sprintf("%s[%d]", f, i), "repeats %s", c)
		}
		seen[c] = true
	}
	for _, c := range slices.Sorted(maps.Keys(p.CurrencyRatePercent)) {
		if ledger.ValidCurrency(c) && !seen[c] {
			v.Add(policyField+"currency_rate_percent["+c+"]", "must be one of accepted_currencies")
		}
	}
}

// Accepts reports whether the policy takes orders in currency c.
func (p Policy) Accepts(c string) bool { return slices.Contains(p.AcceptedCurrencies, c) }

// checkTiers adds the violations of the tier multipliers m to v, in tier order so the response
// does not depend on map iteration.
func checkTiers(m map[string]int64, v *apperr.Violations) {
	const f = policyField + "tier_multiplier_percent"
	if len(m) > MaxTiers {
		v.Add(f, "must have at most %d entries", MaxTiers)
		return
	}
	for _, tier := range slices.Sorted(maps.Keys(m)) {
		if !ValidToken(tier) {
			v.Add(f, "tier %q must be 1 to %d characters of A-Z a-z 0-9 . _ : -", truncate(tier), MaxTokenLen)
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

func days(n int) time.Duration { return time.Duration(n) * 24 * time.Hour }

// TierPercent returns the earning multiplier, in percent, of members of tier: the one place
// this is decided. The tier's own multiplier, as the member service defines it, comes first
// (API.md: a tier's pointsMultiplierPercent); the policy's tier_multiplier_percent serves tiers
// the member service does not define; any other tier earns DefaultTierPercent.
func TierPercent(v View, s *Settings, tier string) (int64, error) {
	if tier == "" {
		return DefaultTierPercent, nil
	}
	if pct, ok, err := v.TierMultiplier(tier); err != nil || ok {
		return pct, err
	}
	if pct, ok := s.Policy.TierMultiplierPercent[tier]; ok {
		return pct, nil
	}
	return DefaultTierPercent, nil
}

// PointsFor returns the points order o earns for a member whose tier earns pct percent
// (TierPercent): the one place this is decided. A non-member's order, and a tier at 0 percent,
// earn nothing.
func (s *Settings) PointsFor(o *Order, pct int64) int64 {
	// ledger.PointsFor reads 0 as "no multiplier"; a tenant's 0 means the tier earns nothing.
	if o.MemberID == "" || pct <= 0 {
		return 0
	}
	return ledger.PointsFor(ledger.Order{Currency: o.Currency, TotalMinor: o.AmountMinor, Items: o.Items}, s.Earn, pct)
}

// PendingUntil returns when points earned at at become available: the zero time when they are
// available at once.
func (s *Settings) PendingUntil(at time.Time) time.Time {
	if s.Policy.PendingDays <= 0 {
		return time.Time{}
	}
	return at.Add(days(s.Policy.PendingDays))
}
