package membership

import (
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/huiyuan-dev/huiyuan/pkg/apperr"
)

// Limits of definitions.
const (
	MaxIDLen          = 63
	MaxDisplayName    = 100  // runes
	MaxDescription    = 1000 // runes
	MaxRank           = 1000
	MaxMinSpend       = 1e13 // minor units
	MaxMinOrders      = 1e6
	MaxTenureMonths   = 600
	MaxMultiplier     = 10000 // percent
	MaxLimitPerPeriod = 10000
	MaxPrice          = 1e12 // minor units
	MaxTermMonths     = 120
	MaxTermDays       = 3650
	MaxDays           = 365 // grace, trial, reminder, notice
	MaxWindowMonths   = 36
	MaxText           = 2000 // runes of a complaint or a note
	MaxReason         = 500  // runes of an override reason
	MaxStoreID        = 64
)

// ValidID reports whether s is a caller-chosen id of a tier, benefit or plan: 1 to 63 of a-z,
// 0-9, '-' and '_', starting with a letter. Ids appear in URL paths, storage keys and events.
func ValidID(s string) bool {
	if s == "" || len(s) > MaxIDLen || s[0] < 'a' || s[0] > 'z' {
		return false
	}
	for i := 1; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

func checkID(id, field string, v *apperr.Violations) {
	if !ValidID(id) {
		v.Add(field, "must be 1 to %d of a-z, 0-9, '-' and '_', starting with a letter", MaxIDLen)
	}
}

// text trims raw and checks it is 1 (if required) to max runes of UTF-8 without control
// characters (newlines and tabs allowed when multiline).
func text(raw string, max int, required, multiline bool, field string, v *apperr.Violations) string {
	s := strings.TrimSpace(raw)
	switch {
	case !utf8.ValidString(s):
		v.Add(field, "is not valid UTF-8")
	case s == "" && required:
		v.Add(field, "is required")
	case utf8.RuneCountInString(s) > max:
		v.Add(field, "is longer than %d characters", max)
	default:
		for _, r := range s {
			if unicode.IsControl(r) && !(multiline && (r == '\n' || r == '\t')) {
				v.Add(field, "must not contain control characters")
				break
			}
		}
	}
	return s
}

// externalID reports whether s is an id from another system (a store id, a payment reference):
// 1 to max of A-Z a-z 0-9 . _ - :.
func externalID(s string, max int) bool {
	if s == "" || len(s) > max {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-' || c == ':') {
			return false
		}
	}
	return true
}

func checkStoreID(s, field string, v *apperr.Violations) {
	if s != "" && !externalID(s, MaxStoreID) {
		v.Add(field, "must be 1 to %d of A-Z a-z 0-9 . _ - :", MaxStoreID)
	}
}

func between(n, lo, hi int64, field string, v *apperr.Violations) {
	if n < lo || n > hi {
		v.Add(field, "must be between %d and %d", lo, hi)
	}
}

// currency reports whether s looks like an ISO 4217 code.
func currency(s string) bool {
	return len(s) == 3 && strings.ToUpper(s) == s && strings.IndexFunc(s, func(r rune) bool { return r < 'A' || r > 'Z' }) < 0
}

// inferBasis returns the basis the minimums of t say: spend, orders, both, or tenure.
func inferBasis(t *Tier) Basis {
	switch {
	case t.MinSpend > 0 && t.MinOrders > 0:
		return BasisSpendAndOrders
	case t.MinSpend > 0:
		return BasisSpend
	case t.MinOrders > 0:
		return BasisOrders
	case t.MinTenureMonths > 0:
		return BasisTenure
	}
	return BasisUnspecified
}

// checkTier validates t, inferring its basis when unspecified.
func checkTier(t *Tier, v *apperr.Violations) {
	const p = "tier."
	t.DisplayName = text(t.DisplayName, MaxDisplayName, true, false, p+"display_name", v)
	between(int64(t.Rank), 0, MaxRank, p+"rank", v)
	between(t.MinSpend, 0, MaxMinSpend, p+"min_spend_minor", v)
	between(int64(t.MinOrders), 0, MaxMinOrders, p+"min_orders", v)
	between(int64(t.MinTenureMonths), 0, MaxTenureMonths, p+"min_tenure_months", v)
	between(int64(t.MultiplierPercent), 0, MaxMultiplier, p+"points_multiplier_percent", v)
	if t.Basis < BasisUnspecified || t.Basis > BasisTenure {
		v.Add(p+"basis", "must be SPEND, ORDERS, SPEND_AND_ORDERS, SPEND_OR_ORDERS or TENURE")
		return
	}
	if t.Rank == 0 {
		if t.Basis != BasisUnspecified || t.MinSpend != 0 || t.MinOrders != 0 || t.MinTenureMonths != 0 {
			v.Add(p+"rank", "the entry tier (rank 0) is every member's: it has no qualification")
		}
		return
	}
	if t.Basis == BasisUnspecified {
		if t.Basis = inferBasis(t); t.Basis == BasisUnspecified {
			v.Add(p+"basis", "a tier above the entry tier needs a qualification: min_spend_minor, min_orders or min_tenure_months")
			return
		}
	}
	need := func(field string, set, want bool, what string) {
		switch {
		case want && !set:
			v.Add(p+field, "is required for basis %s", what)
		case !want && set:
			v.Add(p+field, "is not counted by basis %s", what)
		}
	}
	names := [...]string{"", "SPEND", "ORDERS", "SPEND_AND_ORDERS", "SPEND_OR_ORDERS", "TENURE"}
	b := names[t.Basis]
	spend := t.Basis != BasisOrders && t.Basis != BasisTenure
	orders := t.Basis != BasisSpend && t.Basis != BasisTenure
	need("min_spend_minor", t.MinSpend > 0, spend, b)
	need("min_orders", t.MinOrders > 0, orders, b)
	need("min_tenure_months", t.MinTenureMonths > 0, t.Basis == BasisTenure, b)
}

// checkRefs validates a list of ids of field that must name benefits (or tiers, plans) of c,
// dropping duplicates.
func checkRefs(ids []string, field string, exists func(string) bool, v *apperr.Violations) []string {
	out := make([]string, 0, len(ids))
	for i, id := range ids {
		switch {
		case !exists(id):
			v.Add(field+"["+strconv.Itoa(i)+"]", "names no %s of the catalogue", strings.TrimSuffix(field[strings.LastIndexByte(field, '.')+1:], "s"))
		case !slices.Contains(out, id):
			out = append(out, id)
		}
	}
	slices.Sort(out)
	return out
}

// checkSettings validates s.
func checkSettings(s *Settings, v *apperr.Violations) {
	const p = "settings."
	between(int64(s.WindowMonths), 1, MaxWindowMonths, p+"window_months", v)
	if s.DropRule != DropOneStep && s.DropRule != DropToQualified {
		v.Add(p+"drop_rule", "must be ONE_STEP or TO_QUALIFIED")
	}
	between(int64(s.NoticeDays), 0, MaxDays, p+"notice_days", v)
	if !currency(s.Currency) {
		v.Add(p+"currency", "must be an ISO 4217 code such as CNY")
	}
	if _, err := time.LoadLocation(s.TimeZone); err != nil || s.TimeZone == "" || s.TimeZone == "Local" {
		v.Add(p+"time_zone", "must be an IANA time zone such as Asia/Shanghai")
	}
}

// checkBenefit validates b against c (which must not hold b itself).
func checkBenefit(b *Benefit, c *Catalog, v *apperr.Violations) {
	const p = "benefit."
	b.DisplayName = text(b.DisplayName, MaxDisplayName, true, false, p+"display_name", v)
	b.Description = text(b.Description, MaxDescription, false, true, p+"description", v)
	if b.Kind <= KindUnspecified || b.Kind > KindCustom {
		v.Add(p+"kind", "must be one of the benefit kinds (DISCOUNT_PERCENT, FREE_SERVICE, ...)")
	}
	switch {
	case b.Kind == KindDiscountPercent:
		between(int64(b.DiscountPercent), 1, 100, p+"discount_percent", v)
	case b.DiscountPercent != 0:
		v.Add(p+"discount_percent", "is only for DISCOUNT_PERCENT")
	}
	between(int64(b.Limit), 0, MaxLimitPerPeriod, p+"limit_per_period", v)
	switch {
	case b.Period < PeriodUnspecified || b.Period > PeriodTerm:
		v.Add(p+"period", "must be DAY, MONTH, YEAR or TERM")
	case b.Limit > 0 && b.Period == PeriodUnspecified:
		v.Add(p+"period", "is required with a limit: DAY, MONTH, YEAR or TERM")
	}
	b.Tiers = checkRefs(b.Tiers, p+"tiers", func(id string) bool { return c.Tier(id) != nil }, v)
	b.Plans = checkRefs(b.Plans, p+"plans", func(id string) bool { return c.Plan(id) != nil }, v)
}

// checkPlan validates pl against c.
func checkPlan(pl *Plan, c *Catalog, v *apperr.Violations) {
	const p = "plan."
	pl.DisplayName = text(pl.DisplayName, MaxDisplayName, true, false, p+"display_name", v)
	between(pl.PriceMinor, 0, MaxPrice, p+"price_minor", v)
	if !currency(pl.Currency) {
		v.Add(p+"currency", "must be an ISO 4217 code such as CNY")
	}
	switch {
	case (pl.TermMonths > 0) == (pl.TermDays > 0):
		v.Add(p+"term_months", "set exactly one of term_months and term_days")
	case pl.TermMonths > 0:
		between(int64(pl.TermMonths), 1, MaxTermMonths, p+"term_months", v)
	default:
		between(int64(pl.TermDays), 1, MaxTermDays, p+"term_days", v)
	}
	if pl.TermMonths < 0 {
		v.Add(p+"term_months", "must not be negative")
	}
	if pl.TermDays < 0 {
		v.Add(p+"term_days", "must not be negative")
	}
	if pl.TierID != "" && c.Tier(pl.TierID) == nil {
		v.Add(p+"tier_id", "names no tier of the catalogue")
	}
	if pl.Renewal != RenewalManual && pl.Renewal != RenewalAutomatic {
		v.Add(p+"renewal", "must be MANUAL or AUTOMATIC")
	}
	between(int64(pl.GraceDays), 0, MaxDays, p+"grace_days", v)
	between(int64(pl.TrialDays), 0, MaxDays, p+"trial_days", v)
	between(int64(pl.ReminderDays), 0, MaxDays, p+"reminder_days", v)
}
