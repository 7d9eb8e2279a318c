package loyalty

import (
	"time"

	"github.com/huiyuan-dev/huiyuan/services/loyalty/internal/ledger"
)

// Settings are one tenant's points settings.
type Settings struct {
	// Ledger applies the tenant's expiry policy, time zone and transfer rules. Required.
	Ledger *ledger.Ledger
	// Earn are the earn rules; the zero value earns ledger.DefaultRate (1 point per 100 minor
	// units, rounded down).
	Earn ledger.EarnRules
	// TierPercent multiplies what an order of a member of the tier earns, per tier id (100:
	// ×1); tiers it does not list, and members without a tier, earn at 100. nil lists none.
	TierPercent map[string]int64
	// PendingDays keeps earned points pending (a return window) this many days; 0 credits
	// them as available at once.
	PendingDays int
	// Refund is the return policy: what a refund takes back of its order's points.
	Refund ledger.RefundPolicy
	// NoticeWithin is how long before expiry the points_expiring_soon event goes out; 0
	// sends none.
	NoticeWithin time.Duration
	// HoldTimeout is the timeout of a hold whose caller names none; MaxHoldTimeout bounds
	// what a caller may name.
	HoldTimeout, MaxHoldTimeout time.Duration
	// KeepClosedHolds is how long a closed hold stays in the book, answering HOLD_CLOSED
	// rather than HOLD_NOT_FOUND.
	KeepClosedHolds time.Duration
	// CheckIn are the daily check-in rules (base points and streak bonuses).
	CheckIn ledger.CheckInRules
	// PointValue is what a point is worth in Currency, for the points liability.
	PointValue ledger.Price
	// Currency is the ISO 4217 currency of PointValue.
	Currency string
}

// PendingUntil returns when points earned at at become available: the zero time when they are
// available at once.
func (s *Settings) PendingUntil(at time.Time) time.Time {
	if s.PendingDays <= 0 {
		return time.Time{}
	}
	return at.Add(time.Duration(s.PendingDays) * 24 * time.Hour)
}

// DefaultTierPercent is the earning multiplier of a tier the settings do not list: ×1.
const DefaultTierPercent = 100

// TierMultiplier returns the earning multiplier, in percent, of members of tier.
func (s *Settings) TierMultiplier(tier string) int64 {
	if pct, ok := s.TierPercent[tier]; ok && tier != "" {
		return pct
	}
	return DefaultTierPercent
}

// Earned returns the points order o earns under the settings for a member earning tierPct
// percent (see TierMultiplier); a non-member's order, and a tier at 0 percent, earn 0.
func (s *Settings) Earned(o *Order, tierPct int64) int64 {
	// PointsFor reads 0 as "no multiplier"; a tenant's 0 means the tier earns nothing.
	if o.MemberID == "" || tierPct <= 0 {
		return 0
	}
	return ledger.PointsFor(ledger.Order{Currency: o.Currency, TotalMinor: o.AmountMinor, Items: o.Items}, s.Earn, tierPct)
}
