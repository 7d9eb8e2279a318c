package coupon

import (
	"slices"

	"github.com/huiyuan-dev/huiyuan/pkg/apperr"
)

// Template fields as update masks name them (proto names).
const (
	FieldTitle            = "title"
	FieldDescription      = "description"
	FieldType             = "type"
	FieldCurrency         = "currency"
	FieldThresholdMinor   = "threshold_minor"
	FieldDiscountMinor    = "discount_minor"
	FieldPercentOff       = "percent_off"
	FieldMaxDiscountMinor = "max_discount_minor"
	FieldFreeItemSKU      = "free_item_sku"
	FieldFreeItemQuantity = "free_item_quantity"
	FieldScope            = "scope"
	FieldStacking         = "stacking"
	FieldValidFrom        = "valid_from"
	FieldValidUntil       = "valid_until"
	FieldValidDays        = "valid_days"
	FieldTotalStock       = "total_stock"
	FieldPerMemberLimit   = "per_member_limit"
	FieldPeriodLimit      = "period_limit"
	FieldClaimable        = "claimable"
	FieldPointsPrice      = "points_price"
	FieldRefundPolicy     = "refund_policy"
)

// UpdatableFields are the paths UpdateCouponTemplate accepts; "*" means all of them.
var UpdatableFields = []string{
	FieldTitle, FieldDescription, FieldType, FieldCurrency, FieldThresholdMinor, FieldDiscountMinor,
	FieldPercentOff, FieldMaxDiscountMinor, FieldFreeItemSKU, FieldFreeItemQuantity, FieldScope, FieldStacking,
	FieldValidFrom, FieldValidUntil, FieldValidDays, FieldTotalStock, FieldPerMemberLimit, FieldPeriodLimit,
	FieldClaimable, FieldPointsPrice, FieldRefundPolicy,
}

// frozenFields are those an issued coupon is redeemed by: once one is issued they may not
// change, or it would change under its holder. Validity is not among them: a coupon keeps the
// window it was issued with.
var frozenFields = []string{
	FieldType, FieldCurrency, FieldThresholdMinor, FieldDiscountMinor, FieldPercentOff, FieldMaxDiscountMinor,
	FieldFreeItemSKU, FieldFreeItemQuantity, FieldScope, FieldStacking, FieldRefundPolicy,
}

// resolveMask turns an update mask into the fields to apply: empty means those patch sets
// (AIP-134), "*" all of them.
func resolveMask(patch *Template, paths []string) ([]string, error) {
	if len(paths) == 0 {
		return populated(patch), nil
	}
	var v apperr.Violations
	var out []string
	for _, p := range paths {
		switch {
		case p == "*" && len(paths) == 1:
			return slices.Clone(UpdatableFields), nil
		case p == "*":
			v.Add("update_mask", "\"*\" must be the only path")
		case slices.Contains(UpdatableFields, p):
			if !slices.Contains(out, p) {
				out = append(out, p)
			}
		default:
			v.Add("update_mask", "%q is not an updatable field", truncate(p, 64))
		}
	}
	return out, v.Err()
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}

func populated(p *Template) []string {
	var out []string
	for _, f := range UpdatableFields {
		if !fieldEqual(p, &Template{}, f) {
			out = append(out, f)
		}
	}
	return out
}

// fieldEqual reports whether a and b hold the same value in field f.
func fieldEqual(a, b *Template, f string) bool {
	switch f {
	case FieldTitle:
		return a.Title == b.Title
	case FieldDescription:
		return a.Description == b.Description
	case FieldType:
		return a.Type == b.Type
	case FieldCurrency:
		return a.Currency == b.Currency
	case FieldThresholdMinor:
		return a.ThresholdMinor == b.ThresholdMinor
	case FieldDiscountMinor:
		return a.DiscountMinor == b.DiscountMinor
	case FieldPercentOff:
		return a.PercentOff == b.PercentOff
	case FieldMaxDiscountMinor:
		return a.MaxDiscountMinor == b.MaxDiscountMinor
	case FieldFreeItemSKU:
		return a.FreeItemSKU == b.FreeItemSKU
	case FieldFreeItemQuantity:
		return a.FreeItemQuantity == b.FreeItemQuantity
	case FieldScope:
		return a.Scope.equal(b.Scope)
	case FieldStacking:
		return a.Stacking.Mode == b.Stacking.Mode && a.Stacking.Priority == b.Stacking.Priority && slices.Equal(a.Stacking.With, b.Stacking.With)
	case FieldValidFrom:
		return a.ValidFrom.Equal(b.ValidFrom)
	case FieldValidUntil:
		return a.ValidUntil.Equal(b.ValidUntil)
	case FieldValidDays:
		return a.ValidDays == b.ValidDays
	case FieldTotalStock:
		return a.TotalStock == b.TotalStock
	case FieldPerMemberLimit:
		return a.PerMemberLimit == b.PerMemberLimit
	case FieldPeriodLimit:
		return a.PeriodLimit == b.PeriodLimit && a.Period == b.Period
	case FieldClaimable:
		return a.Claimable == b.Claimable
	case FieldPointsPrice:
		return a.PointsPrice == b.PointsPrice
	case FieldRefundPolicy:
		return a.RefundPolicy == b.RefundPolicy
	}
	return true
}

func copyField(dst, src *Template, f string) {
	switch f {
	case FieldTitle:
		dst.Title = src.Title
	case FieldDescription:
		dst.Description = src.Description
	case FieldType:
		dst.Type = src.Type
	case FieldCurrency:
		dst.Currency = src.Currency
	case FieldThresholdMinor:
		dst.ThresholdMinor = src.ThresholdMinor
	case FieldDiscountMinor:
		dst.DiscountMinor = src.DiscountMinor
	case FieldPercentOff:
		dst.PercentOff = src.PercentOff
	case FieldMaxDiscountMinor:
		dst.MaxDiscountMinor = src.MaxDiscountMinor
	case FieldFreeItemSKU:
		dst.FreeItemSKU = src.FreeItemSKU
	case FieldFreeItemQuantity:
		dst.FreeItemQuantity = src.FreeItemQuantity
	case FieldScope:
		dst.Scope = src.Scope.clone()
	case FieldStacking:
		dst.Stacking = Stacking{Mode: src.Stacking.Mode, With: slices.Clone(src.Stacking.With), Priority: src.Stacking.Priority}
	case FieldValidFrom:
		dst.ValidFrom = src.ValidFrom
	case FieldValidUntil:
		dst.ValidUntil = src.ValidUntil
	case FieldValidDays:
		dst.ValidDays = src.ValidDays
	case FieldTotalStock:
		dst.TotalStock = src.TotalStock
	case FieldPerMemberLimit:
		dst.PerMemberLimit = src.PerMemberLimit
	case FieldPeriodLimit:
		dst.PeriodLimit, dst.Period = src.PeriodLimit, src.Period
	case FieldClaimable:
		dst.Claimable = src.Claimable
	case FieldPointsPrice:
		dst.PointsPrice = src.PointsPrice
	case FieldRefundPolicy:
		dst.RefundPolicy = src.RefundPolicy
	}
}

// applyUpdate sets the fields of cur named by paths to patch's values and validates the result.
// Once coupons are issued, the fields they are redeemed by may not change and stock may not go
// below what is issued. It returns the fields whose value changed.
// Errors: Invalid on "update_mask" or "template.<field>"; FailedPrecondition
// COUPON_TEMPLATE_IN_USE.
func applyUpdate(cur, patch *Template, paths []string, issued int64) ([]string, error) {
	fields, err := resolveMask(patch, paths)
	if err != nil {
		return nil, err
	}
	if len(fields) == 0 {
		return nil, apperr.InvalidField("update_mask", "names no field to update")
	}
	next := cur.Clone()
	for _, f := range fields {
		copyField(next, patch, f)
	}
	var v apperr.Violations
	next.normalize("template.", &v)
	if err := v.Err(); err != nil {
		return nil, err
	}
	var changed []string
	for _, f := range UpdatableFields {
		if !fieldEqual(cur, next, f) {
			changed = append(changed, f)
		}
	}
	if issued > 0 {
		for _, f := range changed {
			if slices.Contains(frozenFields, f) {
				return nil, failed(ReasonTemplateInUse, "%d coupons of template %q are issued: %s can no longer change", issued, cur.ID, f).
					With("field", f)
			}
		}
		if next.TotalStock > 0 && next.TotalStock < issued {
			return nil, apperr.InvalidField("template.total_stock", "must be at least the %d coupons already issued (or 0: no limit)", issued)
		}
	}
	*cur = *next
	return changed, nil
}
