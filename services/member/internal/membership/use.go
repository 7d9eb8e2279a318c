package membership

import (
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/huiyuan-dev/huiyuan/pkg/apperr"
)

// BenefitUse is one use of a benefit by a member.
type BenefitUse struct {
	ID        string
	MemberID  string
	BenefitID string
	StoreID   string
	Time      time.Time
	Used      int // uses of the period, this one included
	Remaining int // 0 when unlimited
}

// Entitlement is a benefit a member is owed now, with this period's use.
type Entitlement struct {
	Benefit   *Benefit
	Used      int
	Remaining int
	PeriodEnd time.Time // zero when unlimited or the term has no end
	GrantedBy []string  // "tiers/{id}", "plans/{id}"
}

// grant says why a member is owed a benefit, and the membership term a TERM limit counts over.
type grant struct {
	by      []string
	termKey string
	termEnd time.Time
}

// grantOf returns what grants b to the account, if anything: the tier it holds, or a plan it
// subscribes to (whose paid term then is the TERM period).
func (a *Account) grantOf(b *Benefit, now time.Time) (grant, bool) {
	var g grant
	if a.Tier != "" && slices.Contains(b.Tiers, a.Tier) {
		g.by = append(g.by, "tiers/"+a.Tier)
		g.termKey = a.tierTermKey()
		switch {
		case a.Override != nil:
			g.termEnd = a.Override.Expire
		case a.Tier == a.Earned.Tier:
			g.termEnd = a.Earned.ReviewAt
		}
	}
	for _, s := range a.Subscriptions {
		if slices.Contains(b.Plans, s.PlanID) {
			g.by = append(g.by, "plans/"+s.PlanID)
			g.termKey = s.termKey(now)
			// The count starts again with the next term, not after the terms paid ahead; in
			// grace the term is over but its count holds until a renewal or the grace's end.
			g.termEnd = s.CurrentTerm(now).End
			if !g.termEnd.After(now) {
				g.termEnd = s.holdEnd()
			}
		}
	}
	return g, len(g.by) > 0
}

// tierTermKey is the usage period key of the tier term the account is in: it changes whenever
// the tier does.
func (a *Account) tierTermKey() string {
	return "tier:" + a.Tier + ":" + strconv.FormatInt(a.TierSince.Unix(), 10)
}

// termKey is the usage period key of the subscription's term in force at now.
func (s *Subscription) termKey(now time.Time) string {
	return "plan:" + s.ID + ":" + strconv.FormatInt(s.CurrentTerm(now).Start.Unix(), 10)
}

// periodOver reports whether usage period key has ended by now, so that its count can go: a
// calendar period other than now's, a tier term the account has left, a plan term that is not
// the one in force of a current subscription. A tier or plan term that merely stopped granting
// (a plan holds the benefit for a while) is not over: its count must still hold when it grants
// again.
func (a *Account) periodOver(key string, now time.Time, loc *time.Location) bool {
	var p Period
	switch {
	case key == "": // an unlimited benefit's count of all time
		return false
	case strings.HasPrefix(key, "d:"):
		p = PeriodDay
	case strings.HasPrefix(key, "m:"):
		p = PeriodMonth
	case strings.HasPrefix(key, "y:"):
		p = PeriodYear
	case strings.HasPrefix(key, "tier:"):
		return a.Tier == "" || key != a.tierTermKey()
	case strings.HasPrefix(key, "plan:"):
		return !slices.ContainsFunc(a.Subscriptions, func(s *Subscription) bool { return key == s.termKey(now) })
	default:
		return true
	}
	cur, _ := period(&Benefit{Period: p}, grant{}, now, loc)
	return key != cur
}

// period returns the key of the period of b's limit that now falls in, and when it ends.
func period(b *Benefit, g grant, now time.Time, loc *time.Location) (string, time.Time) {
	t := now.In(loc)
	y, m, d := t.Date()
	switch b.Period {
	case PeriodDay:
		return "d:" + t.Format(time.DateOnly), time.Date(y, m, d+1, 0, 0, 0, 0, loc)
	case PeriodMonth:
		return "m:" + t.Format("2006-01"), time.Date(y, m+1, 1, 0, 0, 0, 0, loc)
	case PeriodYear:
		return "y:" + t.Format("2006"), time.Date(y+1, 1, 1, 0, 0, 0, 0, loc)
	case PeriodTerm:
		return g.termKey, g.termEnd
	}
	return "", time.Time{}
}

// usage returns the account's use count of benefit id in period key.
func (a *Account) usage(id, key string) int {
	for _, u := range a.Usage {
		if u.Benefit == id && u.Period == key {
			return u.Used
		}
	}
	return 0
}

// Entitlements returns what the account is owed now, in catalogue order. Call it on an
// evaluated account (Evaluate on a clone) so that due work shows.
func Entitlements(a *Account, c *Catalog, now time.Time) []Entitlement {
	var out []Entitlement
	for _, b := range c.Benefits {
		g, ok := a.grantOf(b, now)
		if !ok {
			continue
		}
		x := *b
		e := Entitlement{Benefit: &x, GrantedBy: g.by}
		if !b.Unlimited() {
			key, end := period(b, g, now, c.Settings.Location())
			e.Used = a.usage(b.ID, key)
			e.Remaining = max(0, b.Limit-e.Used)
			e.PeriodEnd = end
		}
		out = append(out, e)
	}
	return out
}

// Use consumes one use of benefit id by the account, at storeID, as use useID. The account's due
// work is done first, so an override or a plan that ended by now no longer grants anything.
// Errors: FailedPrecondition (MEMBER_NOT_ACTIVE, BENEFIT_NOT_ENTITLED, BENEFIT_LIMIT_REACHED);
// NotFound (BENEFIT_NOT_FOUND); Invalid on store_id.
func Use(a *Account, c *Catalog, id, storeID, useID string, now time.Time) (*BenefitUse, []Event, error) {
	var v apperr.Violations
	checkStoreID(storeID, "store_id", &v)
	if err := v.Err(); err != nil {
		return nil, nil, err
	}
	if a.State != MemberActive {
		return nil, nil, memberNotActive(a.MemberID)
	}
	b := c.Benefit(id)
	if b == nil {
		return nil, nil, BenefitNotFound(id)
	}
	p := newPass(a, c, now, CauseReview)
	p.catchUp()
	now = p.now
	g, ok := a.grantOf(b, now)
	if !ok {
		return nil, nil, apperr.E(apperr.FailedPrecondition, ReasonBenefitNotEntitled,
			"member %q holds no tier or plan that grants benefit %q", a.MemberID, id).With("benefit_id", id)
	}
	key, end := period(b, g, now, c.Settings.Location())
	used := a.usage(id, key)
	if !b.Unlimited() && used >= b.Limit {
		e := apperr.E(apperr.FailedPrecondition, ReasonBenefitLimitReached,
			"benefit %q is used %d of %d times this period", id, used, b.Limit).
			With("benefit_id", id).With("limit", strconv.Itoa(b.Limit))
		if !end.IsZero() {
			e = e.With("period_end_time", end.UTC().Format(time.RFC3339))
		}
		return nil, nil, e
	}
	// One entry per benefit and period: a TERM benefit counts in the tier's term and in a plan's
	// at once, and the tier's count must outlive the plan. Entries of periods that are over and
	// of deleted benefits go.
	loc := c.Settings.Location()
	a.Usage = slices.DeleteFunc(a.Usage, func(u Usage) bool {
		return (u.Benefit == id && u.Period == key) || c.Benefit(u.Benefit) == nil || a.periodOver(u.Period, now, loc)
	})
	a.Usage = append(a.Usage, Usage{Benefit: id, Period: key, Used: used + 1})
	use := &BenefitUse{ID: useID, MemberID: a.MemberID, BenefitID: id, StoreID: storeID, Time: now, Used: used + 1}
	if !b.Unlimited() {
		use.Remaining = b.Limit - use.Used
	}
	p.events = append(p.events, BenefitUsed{Use: *use, Limit: b.Limit})
	p.finish()
	return use, p.events, nil
}
