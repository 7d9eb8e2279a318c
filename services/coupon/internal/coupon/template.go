package coupon

import (
	"slices"
	"time"
)

// Limits of a template's fields.
const (
	MaxMinor       = 1_000_000_000_000_000 // largest amount in minor units (10^15), so sums and percentages fit in int64
	MaxTitle       = 100                   // runes
	MaxDescription = 1000                  // runes
	MaxScopeList   = 200                   // entries in each scope list
	MaxValidDays   = 3650
	MaxPriority    = 1000
	MaxFreeItems   = 1000
)

// Scope limits where and on what a coupon applies: include lists, when not empty, admit only
// what they name; exclude lists take away from that.
type Scope struct {
	IncludeStores, ExcludeStores         []string
	IncludeCategories, ExcludeCategories []string
	IncludeSKUs, ExcludeSKUs             []string
}

// itemRules reports whether the scope says anything about items (categories or SKUs).
func (s Scope) itemRules() bool {
	return len(s.IncludeCategories)+len(s.ExcludeCategories)+len(s.IncludeSKUs)+len(s.ExcludeSKUs) > 0
}

// storeAllowed reports whether a cart of store may use the coupon.
func (s Scope) storeAllowed(store string) bool {
	if len(s.IncludeStores) > 0 && !slices.Contains(s.IncludeStores, store) {
		return false
	}
	return !slices.Contains(s.ExcludeStores, store)
}

// itemAllowed reports whether an item of sku and category is in scope.
func (s Scope) itemAllowed(sku, category string) bool {
	if slices.Contains(s.ExcludeSKUs, sku) || (category != "" && slices.Contains(s.ExcludeCategories, category)) {
		return false
	}
	if len(s.IncludeSKUs) == 0 && len(s.IncludeCategories) == 0 {
		return true
	}
	return slices.Contains(s.IncludeSKUs, sku) || (category != "" && slices.Contains(s.IncludeCategories, category))
}

func (s Scope) clone() Scope {
	return Scope{
		IncludeStores: slices.Clone(s.IncludeStores), ExcludeStores: slices.Clone(s.ExcludeStores),
		IncludeCategories: slices.Clone(s.IncludeCategories), ExcludeCategories: slices.Clone(s.ExcludeCategories),
		IncludeSKUs: slices.Clone(s.IncludeSKUs), ExcludeSKUs: slices.Clone(s.ExcludeSKUs),
	}
}

func (s Scope) equal(o Scope) bool {
	return slices.Equal(s.IncludeStores, o.IncludeStores) && slices.Equal(s.ExcludeStores, o.ExcludeStores) &&
		slices.Equal(s.IncludeCategories, o.IncludeCategories) && slices.Equal(s.ExcludeCategories, o.ExcludeCategories) &&
		slices.Equal(s.IncludeSKUs, o.IncludeSKUs) && slices.Equal(s.ExcludeSKUs, o.ExcludeSKUs)
}

// Stacking says how a coupon combines with others in one order.
type Stacking struct {
	Mode     StackMode
	With     []Type // types it combines with (STACKABLE); empty means every type
	Priority int32  // higher applies first
}

// stacksWith reports whether a coupon stacking s may share an order with one of type t that
// stacks o (both must allow the other).
func (s Stacking) stacksWith(own Type, o Stacking, t Type) bool {
	if s.Mode != StackStackable || o.Mode != StackStackable {
		return false
	}
	return (len(s.With) == 0 || slices.Contains(s.With, t)) && (len(o.With) == 0 || slices.Contains(o.With, own))
}

// Template is what coupons are issued from.
type Template struct {
	ID          string
	Title       string
	Description string

	Type             Type
	Currency         string
	ThresholdMinor   int64
	DiscountMinor    int64
	PercentOff       int32
	MaxDiscountMinor int64
	FreeItemSKU      string
	FreeItemQuantity int32 // 0 means 1
	Scope            Scope
	Stacking         Stacking

	ValidFrom, ValidUntil time.Time // zero: open
	ValidDays             int32     // 0: only the absolute window

	TotalStock     int64 // 0: no limit
	PerMemberLimit int64 // 0: none
	PeriodLimit    int64 // 0: none
	Period         Period

	Claimable    bool
	PointsPrice  int64 // 0: not exchangeable
	RefundPolicy RefundPolicy

	Status                 Status
	CreateTime, UpdateTime time.Time
}

// Clone returns a deep copy of t.
func (t *Template) Clone() *Template {
	c := *t
	c.Scope = t.Scope.clone()
	c.Stacking.With = slices.Clone(t.Stacking.With)
	return &c
}

// freeUnits is how many units FREE_ITEM gives.
func (t *Template) freeUnits() int64 {
	if t.FreeItemQuantity <= 0 {
		return 1
	}
	return int64(t.FreeItemQuantity)
}

// Validity returns the window of a coupon issued at issued in zone: from the later of issue and
// ValidFrom, to the end of the ValidDays-th day after the day that start falls on (local
// midnight) or ValidUntil, whichever comes first. The days count from the start, not from the
// issue: a coupon claimed ahead of ValidFrom gets its whole ValidDays, where counting from the
// issue could end its window before it began.
func (t *Template) Validity(issued time.Time, zone *time.Location) (start, end time.Time) {
	start = issued
	if !t.ValidFrom.IsZero() && t.ValidFrom.After(start) {
		start = t.ValidFrom
	}
	end = t.ValidUntil
	if t.ValidDays > 0 {
		local := start.In(zone)
		eod := time.Date(local.Year(), local.Month(), local.Day()+int(t.ValidDays)+1, 0, 0, 0, 0, zone)
		if end.IsZero() || eod.Before(end) {
			end = eod
		}
	}
	return start.UTC(), end.UTC()
}

// CanTransition reports whether a template may go from status from to status to: DRAFT to
// ACTIVE, ACTIVE and PAUSED to each other, and anything but ENDED to ENDED.
func CanTransition(from, to Status) bool {
	switch to {
	case StatusActive:
		return from == StatusDraft || from == StatusPaused
	case StatusPaused:
		return from == StatusActive
	case StatusEnded:
		return from == StatusDraft || from == StatusActive || from == StatusPaused
	}
	return false
}
