package membership

import (
	"time"

	"github.com/huiyuan-dev/huiyuan/pkg/apperr"
)

// MaxOverride is how far ahead an override may expire.
const MaxOverride = 3 * 366 * 24 * time.Hour

// SetOverride holds the account at tier until expire, whatever the figures say, as staff
// (actor) decided for reason. At expiry the member returns to what the figures give.
// Errors: Invalid (TIER_OVERRIDE_INVALID on tier_id, reason, expire_time); NotFound
// (TIER_NOT_FOUND); FailedPrecondition (MEMBER_NOT_ACTIVE for a closed or erased member).
func SetOverride(a *Account, c *Catalog, tier, reason string, expire time.Time, actor string, now time.Time) ([]Event, error) {
	var v apperr.Violations
	if tier == "" {
		v.Add("tier_id", "is required")
	}
	reason = text(reason, MaxReason, true, false, "reason", &v)
	switch {
	case expire.IsZero():
		v.Add("expire_time", "is required")
	case !expire.After(now):
		v.Add("expire_time", "must be in the future")
	case expire.Sub(now) > MaxOverride:
		v.Add("expire_time", "must be within 3 years")
	}
	if err := invalid(ReasonOverrideInvalid, v); err != nil {
		return nil, err
	}
	if c.Tier(tier) == nil {
		return nil, TierNotFound(tier)
	}
	if a.State == MemberGone {
		return nil, memberNotActive(a.MemberID)
	}
	p := newPass(a, c, now, CauseReview)
	p.catchUp()
	p.recheck = a.Override != nil // a new expiry may no longer hold the tier past the review
	a.Override = &Override{Tier: tier, Reason: reason, Expire: expire.UTC(), Actor: actor, CreateTime: p.now}
	p.settle(CauseOverride, "")
	p.finish()
	return p.events, nil
}

// ClearOverride ends the account's override now, returning it to what the figures give.
// Clearing when there is none changes nothing.
func ClearOverride(a *Account, c *Catalog, now time.Time) []Event {
	p := newPass(a, c, now, CauseReview)
	p.run()
	if a.Override != nil {
		a.Override = nil
		p.settle(CauseOverride, "")
		p.recheck = true
		p.notice()
		p.a.Due = p.due()
	}
	return p.events
}
