package coupon

import (
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/huiyuan-dev/huiyuan/pkg/apperr"
)

// MaxToken is the longest SKU, category, store, order, staff or member id, in bytes.
const MaxToken = 64

// validToken reports whether s is a usable identifier: 1 to MaxToken bytes of printable
// characters (no control characters, which also keeps 0x00, the key separator, out).
func validToken(s string) bool {
	if s == "" || len(s) > MaxToken || !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if unicode.IsControl(r) {
			return false
		}
	}
	return true
}

// ValidToken reports whether s is a usable identifier (member, order, store, staff id).
func ValidToken(s string) bool { return validToken(s) }

// Currency normalises an ISO 4217 code: three letters, upper-cased. ok is false otherwise.
func Currency(s string) (string, bool) {
	if len(s) != 3 {
		return "", false
	}
	u := strings.ToUpper(s)
	for i := 0; i < 3; i++ {
		if u[i] < 'A' || u[i] > 'Z' {
			return "", false
		}
	}
	return u, true
}

// text checks a free-text field: valid UTF-8, no control characters but newlines, at most max
// runes; required refuses empty.
func text(s string, max int, required bool) (string, string) {
	s = strings.TrimSpace(s)
	switch {
	case !utf8.ValidString(s):
		return "", "must be valid UTF-8"
	case required && s == "":
		return "", "is required"
	case utf8.RuneCountInString(s) > max:
		return "", "must be at most " + strconv.Itoa(max) + " characters"
	}
	for _, r := range s {
		if unicode.IsControl(r) && r != '\n' {
			return "", "must not hold control characters"
		}
	}
	return s, ""
}

// Text normalises a free-text field (reasons): trimmed, valid, at most max runes.
// Errors: Invalid on field.
func Text(field, s string, max int) (string, error) {
	out, bad := text(s, max, false)
	if bad != "" {
		return "", apperr.InvalidField(field, "%s", bad)
	}
	return out, nil
}

func amount(v *apperr.Violations, field string, x int64) {
	if x < 0 || x > MaxMinor {
		v.Add(field, "must be between 0 and %d", int64(MaxMinor))
	}
}

func tokens(v *apperr.Violations, field string, list []string) {
	if len(list) > MaxScopeList {
		v.Add(field, "must hold at most %d entries", MaxScopeList)
		return
	}
	for i, s := range list {
		if !validToken(s) {
			v.Add(field+"["+strconv.Itoa(i)+"]", "must be 1-%d printable characters", MaxToken)
		}
	}
}

// normalize checks every field of t and fixes its spelling (trimmed texts, upper-case currency,
// defaults of unset enums), recording problems as violations on "<prefix><field>".
func (t *Template) normalize(prefix string, v *apperr.Violations) {
	f := func(name string) string { return prefix + name }
	var bad string
	if t.Title, bad = text(t.Title, MaxTitle, true); bad != "" {
		v.Add(f("title"), "%s", bad)
	}
	if t.Description, bad = text(t.Description, MaxDescription, false); bad != "" {
		v.Add(f("description"), "%s", bad)
	}
	if !t.Type.Valid() {
		v.Add(f("type"), "must be THRESHOLD, PERCENT, FIXED, FREE_ITEM or SHIPPING")
	}
	if c, ok := Currency(t.Currency); ok {
		t.Currency = c
	} else {
		v.Add(f("currency"), "must be an ISO 4217 code such as CNY")
	}
	amount(v, f("threshold_minor"), t.ThresholdMinor)
	amount(v, f("discount_minor"), t.DiscountMinor)
	amount(v, f("max_discount_minor"), t.MaxDiscountMinor)
	t.normalizeType(f, v)
	t.normalizeScope(f, v)
	t.normalizeStacking(f, v)
	t.normalizeValidity(f, v)
	t.normalizeIssuance(f, v)
}

// normalizeType checks the fields each type needs and refuses those it does not use.
func (t *Template) normalizeType(f func(string) string, v *apperr.Violations) {
	if t.Type != TypePercent && t.PercentOff != 0 {
		v.Add(f("percent_off"), "is only for PERCENT coupons")
	}
	if t.Type != TypeFreeItem && (t.FreeItemSKU != "" || t.FreeItemQuantity != 0) {
		v.Add(f("free_item_sku"), "is only for FREE_ITEM coupons")
	}
	switch t.Type {
	case TypeThreshold:
		if t.ThresholdMinor <= 0 {
			v.Add(f("threshold_minor"), "is required for THRESHOLD coupons")
		}
		if t.DiscountMinor <= 0 {
			v.Add(f("discount_minor"), "is required for THRESHOLD coupons")
		} else if t.ThresholdMinor > 0 && t.DiscountMinor > t.ThresholdMinor {
			v.Add(f("discount_minor"), "must not exceed threshold_minor")
		}
	case TypeFixed:
		if t.DiscountMinor <= 0 {
			v.Add(f("discount_minor"), "is required for FIXED coupons")
		}
	case TypePercent:
		if t.PercentOff < 1 || t.PercentOff > 100 {
			v.Add(f("percent_off"), "must be between 1 and 100")
		}
		if t.DiscountMinor != 0 {
			v.Add(f("discount_minor"), "is not used by PERCENT coupons (max_discount_minor caps them)")
		}
	case TypeFreeItem:
		if !validToken(t.FreeItemSKU) {
			v.Add(f("free_item_sku"), "is required for FREE_ITEM coupons: 1-%d printable characters", MaxToken)
		}
		if t.FreeItemQuantity < 0 || t.FreeItemQuantity > MaxFreeItems {
			v.Add(f("free_item_quantity"), "must be between 0 (one) and %d", MaxFreeItems)
		}
		if t.DiscountMinor != 0 {
			v.Add(f("discount_minor"), "is not used by FREE_ITEM coupons")
		}
	}
}

func (t *Template) normalizeScope(f func(string) string, v *apperr.Violations) {
	s := &t.Scope
	tokens(v, f("scope.include_store_ids"), s.IncludeStores)
	tokens(v, f("scope.exclude_store_ids"), s.ExcludeStores)
	tokens(v, f("scope.include_categories"), s.IncludeCategories)
	tokens(v, f("scope.exclude_categories"), s.ExcludeCategories)
	tokens(v, f("scope.include_skus"), s.IncludeSKUs)
	tokens(v, f("scope.exclude_skus"), s.ExcludeSKUs)
}

func (t *Template) normalizeStacking(f func(string) string, v *apperr.Violations) {
	s := &t.Stacking
	switch s.Mode {
	case StackUnspecified:
		s.Mode = StackExclusive
	case StackExclusive, StackStackable:
	default:
		v.Add(f("stacking.mode"), "must be EXCLUSIVE or STACKABLE")
	}
	if s.Mode == StackExclusive && len(s.With) > 0 {
		v.Add(f("stacking.stackable_with"), "is only for STACKABLE coupons")
	}
	for i, ty := range s.With {
		if !ty.Valid() {
			v.Add(f("stacking.stackable_with["+strconv.Itoa(i)+"]"), "must be a coupon type")
		}
	}
	if s.Priority < -MaxPriority || s.Priority > MaxPriority {
		v.Add(f("stacking.priority"), "must be between %d and %d", -MaxPriority, MaxPriority)
	}
}

func (t *Template) normalizeValidity(f func(string) string, v *apperr.Violations) {
	if t.ValidDays < 0 || t.ValidDays > MaxValidDays {
		v.Add(f("valid_days"), "must be between 0 and %d", MaxValidDays)
	}
	if t.ValidUntil.IsZero() && t.ValidDays == 0 {
		v.Add(f("valid_until"), "one of valid_until and valid_days is required")
	}
	if !t.ValidFrom.IsZero() && !t.ValidUntil.IsZero() && !t.ValidFrom.Before(t.ValidUntil) {
		v.Add(f("valid_until"), "must be after valid_from")
	}
}

func (t *Template) normalizeIssuance(f func(string) string, v *apperr.Violations) {
	for _, c := range []struct {
		name string
		x    int64
	}{{"total_stock", t.TotalStock}, {"per_member_limit", t.PerMemberLimit}, {"period_limit.limit", t.PeriodLimit}, {"points_price", t.PointsPrice}} {
		if c.x < 0 || c.x > MaxMinor {
			v.Add(f(c.name), "must be between 0 and %d", int64(MaxMinor))
		}
	}
	switch {
	case t.PeriodLimit > 0 && (t.Period < PeriodDay || t.Period > PeriodMonth):
		v.Add(f("period_limit.period"), "must be DAY, WEEK or MONTH")
	case t.PeriodLimit == 0 && t.Period != PeriodUnspecified:
		v.Add(f("period_limit.limit"), "is required with a period")
	}
	if t.Claimable && t.PointsPrice > 0 {
		v.Add(f("points_price"), "a template is claimable or exchanged for points, not both")
	}
	switch t.RefundPolicy {
	case RefundUnspecified:
		t.RefundPolicy = RefundForfeit
	case RefundRestore, RefundForfeit:
	default:
		v.Add(f("refund_policy"), "must be RESTORE or FORFEIT")
	}
}
