package membership

import (
	"slices"
	"time"

	"github.com/huiyuan-dev/huiyuan/pkg/apperr"
)

// TierView is a tier as the API shows it: with the benefits it grants and its holders.
type TierView struct {
	Tier     *Tier
	Benefits []string
	Holders  int64
}

// BenefitView is a benefit with its open complaints.
type BenefitView struct {
	Benefit *Benefit
	Open    int64
}

// PlanView is a plan with the benefits it adds.
type PlanView struct {
	Plan     *Plan
	Benefits []string
}

// ViewTier returns tier id of c as the API shows it, or nil.
func (c *Catalog) ViewTier(id string) *TierView {
	t := c.Tier(id)
	if t == nil {
		return nil
	}
	x := *t
	return &TierView{Tier: &x, Benefits: c.TierBenefits(id), Holders: c.Holders[id]}
}

// ViewPlan returns plan id of c as the API shows it, or nil.
func (c *Catalog) ViewPlan(id string) *PlanView {
	pl := c.Plan(id)
	if pl == nil {
		return nil
	}
	x := *pl
	return &PlanView{Plan: &x, Benefits: c.PlanBenefits(id)}
}

// TierFields are the update-mask paths of a tier; "*" means all of them.
var TierFields = []string{"display_name", "rank", "basis", "min_spend_minor", "min_orders", "min_tenure_months",
	"points_multiplier_percent", "benefits"}

// BenefitFields are the update-mask paths of a benefit.
var BenefitFields = []string{"display_name", "kind", "discount_percent", "limit_per_period", "period", "description", "tiers", "plans"}

// PlanFields are the update-mask paths of a plan.
var PlanFields = []string{"display_name", "price_minor", "currency", "term_months", "term_days", "tier_id", "benefits",
	"renewal", "grace_days", "trial_days", "refundable", "reminder_days"}

// SettingsFields are the update-mask paths of the tier settings.
var SettingsFields = []string{"window_months", "drop_rule", "notice_days", "currency", "time_zone"}

// resolveMask checks a mask against the updatable fields ("*" expands to all of them).
func resolveMask(mask, fields []string) ([]string, error) {
	if len(mask) == 0 {
		return nil, apperr.InvalidField("update_mask", "name the fields to change")
	}
	if slices.Contains(mask, "*") {
		if len(mask) > 1 {
			return nil, apperr.InvalidField("update_mask", "\"*\" must be the only path")
		}
		return fields, nil
	}
	var v apperr.Violations
	for _, m := range mask {
		if !slices.Contains(fields, m) {
			v.Add("update_mask", "%q is not an updatable field", m)
		}
	}
	return mask, v.Err()
}

// setGrants makes the benefits listed in ids grant owner (a tier or a plan, through refs) and
// the others not, returning a BenefitDefined for each benefit that changed.
func setGrants(c *Catalog, ids []string, refs func(*Benefit) *[]string, owner string, now time.Time) []Event {
	var evs []Event
	for _, b := range c.Benefits {
		r := refs(b)
		want, has := slices.Contains(ids, b.ID), slices.Contains(*r, owner)
		if want == has {
			continue
		}
		if want {
			*r = append(*r, owner)
			slices.Sort(*r)
		} else {
			*r = slices.DeleteFunc(*r, func(s string) bool { return s == owner })
		}
		b.UpdateTime = now
		x := *b
		evs = append(evs, BenefitDefined{Benefit: &x, At: now})
	}
	return evs
}

func tierRefs(b *Benefit) *[]string { return &b.Tiers }
func planRefs(b *Benefit) *[]string { return &b.Plans }

// CreateTier adds t to c, granting benefits.
// Errors: Invalid (TIER_RULE_INVALID, with violations); AlreadyExists (TIER_EXISTS,
// TIER_RANK_TAKEN); FailedPrecondition (TIER_LIMIT_REACHED).
func CreateTier(c *Catalog, t *Tier, benefits []string, now time.Time) (*TierView, []Event, error) {
	var v apperr.Violations
	checkID(t.ID, "tier.id", &v)
	checkTier(t, &v)
	benefits = checkRefs(benefits, "tier.benefits", func(id string) bool { return c.Benefit(id) != nil }, &v)
	if err := invalid(ReasonTierRuleInvalid, v); err != nil {
		return nil, nil, err
	}
	switch {
	case c.Tier(t.ID) != nil:
		return nil, nil, apperr.E(apperr.AlreadyExists, ReasonTierExists, "tier %q already exists", t.ID).With("tier_id", t.ID)
	case len(c.Tiers) >= MaxTiers:
		return nil, nil, apperr.E(apperr.FailedPrecondition, ReasonTierLimit, "a tenant has at most %d tiers", MaxTiers)
	}
	if err := rankFree(c, t); err != nil {
		return nil, nil, err
	}
	t.CreateTime, t.UpdateTime = now, now
	c.Tiers = append(c.Tiers, t)
	c.Sort()
	x := *t
	evs := append([]Event{TierDefined{Tier: &x, At: now}}, setGrants(c, benefits, tierRefs, t.ID, now)...)
	return c.ViewTier(t.ID), evs, nil
}

func rankFree(c *Catalog, t *Tier) error {
	for _, o := range c.Tiers {
		if o.Rank == t.Rank && o.ID != t.ID {
			e := apperr.E(apperr.AlreadyExists, ReasonTierRankTaken, "tier %q has rank %d", o.ID, t.Rank).With("tier_id", o.ID)
			e.Violations = []apperr.FieldViolation{{Field: "tier.rank", Description: "another tier has this rank"}}
			return e
		}
	}
	return nil
}

// UpdateTier changes the fields of tier id that mask names to patch's values (benefits for
// "benefits"). A basis the patch leaves unspecified is inferred again from the minimums. Members
// are evaluated by the new definition from their next evaluation: nobody moves now.
// Errors: as CreateTier; NotFound (TIER_NOT_FOUND); Invalid on update_mask.
func UpdateTier(c *Catalog, id string, patch *Tier, benefits []string, mask []string, now time.Time) (*TierView, []Event, error) {
	cur := c.Tier(id)
	if cur == nil {
		return nil, nil, TierNotFound(id)
	}
	fields, err := resolveMask(mask, TierFields)
	if err != nil {
		return nil, nil, err
	}
	t := *cur
	reinfer := false
	for _, f := range fields {
		switch f {
		case "display_name":
			t.DisplayName = patch.DisplayName
		case "rank":
			t.Rank = patch.Rank
		case "basis":
			t.Basis = patch.Basis
		case "min_spend_minor":
			t.MinSpend, reinfer = patch.MinSpend, true
		case "min_orders":
			t.MinOrders, reinfer = patch.MinOrders, true
		case "min_tenure_months":
			t.MinTenureMonths, reinfer = patch.MinTenureMonths, true
		case "points_multiplier_percent":
			t.MultiplierPercent = patch.MultiplierPercent
		}
	}
	if reinfer && !slices.Contains(fields, "basis") || t.Rank == 0 {
		t.Basis = BasisUnspecified
	}
	var v apperr.Violations
	checkTier(&t, &v)
	if slices.Contains(fields, "benefits") {
		benefits = checkRefs(benefits, "tier.benefits", func(id string) bool { return c.Benefit(id) != nil }, &v)
	}
	if err := invalid(ReasonTierRuleInvalid, v); err != nil {
		return nil, nil, err
	}
	if err := rankFree(c, &t); err != nil {
		return nil, nil, err
	}
	t.UpdateTime = now
	*cur = t
	c.Sort()
	x := t
	evs := []Event{TierDefined{Tier: &x, At: now}}
	if slices.Contains(fields, "benefits") {
		evs = append(evs, setGrants(c, benefits, tierRefs, id, now)...)
	}
	return c.ViewTier(id), evs, nil
}

// DeleteTier removes tier id, which no account may hold or earn and no plan may grant.
// Errors: NotFound (TIER_NOT_FOUND); FailedPrecondition (TIER_IN_USE).
func DeleteTier(c *Catalog, id string, now time.Time) ([]Event, error) {
	if c.Tier(id) == nil {
		return nil, TierNotFound(id)
	}
	if n := c.Holders[id]; n > 0 {
		return nil, apperr.E(apperr.FailedPrecondition, ReasonTierInUse, "%d members hold tier %q", n, id).With("tier_id", id)
	}
	for _, pl := range c.Plans {
		if pl.TierID == id {
			return nil, apperr.E(apperr.FailedPrecondition, ReasonTierInUse, "plan %q grants tier %q", pl.ID, id).
				With("tier_id", id).With("plan_id", pl.ID)
		}
	}
	evs := setGrants(c, nil, tierRefs, id, now)
	c.Tiers = slices.DeleteFunc(c.Tiers, func(t *Tier) bool { return t.ID == id })
	return append([]Event{TierDeleted{TierID: id, At: now}}, evs...), nil
}

// UpdateSettings changes the fields of the settings that mask names. New settings count from
// each member's next evaluation; reviews already set keep their time.
// Errors: Invalid (TIER_SETTINGS_INVALID, or on update_mask).
func UpdateSettings(c *Catalog, patch Settings, mask []string, now time.Time) (Settings, []Event, error) {
	fields, err := resolveMask(mask, SettingsFields)
	if err != nil {
		return Settings{}, nil, err
	}
	s := c.Settings
	for _, f := range fields {
		switch f {
		case "window_months":
			s.WindowMonths = patch.WindowMonths
		case "drop_rule":
			s.DropRule = patch.DropRule
		case "notice_days":
			s.NoticeDays = patch.NoticeDays
		case "currency":
			s.Currency = patch.Currency
		case "time_zone":
			s.TimeZone = patch.TimeZone
		}
	}
	var v apperr.Violations
	checkSettings(&s, &v)
	if err := invalid(ReasonTierSettingsInvalid, v); err != nil {
		return Settings{}, nil, err
	}
	s.UpdateTime = now
	s.Resolve()
	c.Settings = s
	return s, []Event{SettingsUpdated{Settings: s, At: now}}, nil
}

// CreateBenefit adds b to c.
// Errors: Invalid (BENEFIT_INVALID); AlreadyExists (BENEFIT_EXISTS); FailedPrecondition
// (BENEFIT_CATALOGUE_FULL).
func CreateBenefit(c *Catalog, b *Benefit, now time.Time) (*BenefitView, []Event, error) {
	var v apperr.Violations
	checkID(b.ID, "benefit.id", &v)
	checkBenefit(b, c, &v)
	if err := invalid(ReasonBenefitInvalid, v); err != nil {
		return nil, nil, err
	}
	switch {
	case c.Benefit(b.ID) != nil:
		return nil, nil, apperr.E(apperr.AlreadyExists, ReasonBenefitExists, "benefit %q already exists", b.ID).With("benefit_id", b.ID)
	case len(c.Benefits) >= MaxBenefits:
		return nil, nil, apperr.E(apperr.FailedPrecondition, ReasonBenefitLimit, "a tenant has at most %d benefits", MaxBenefits)
	}
	b.CreateTime, b.UpdateTime = now, now
	c.Benefits = append(c.Benefits, b)
	c.Sort()
	x := *b
	return &BenefitView{Benefit: &x}, []Event{BenefitDefined{Benefit: &x, At: now}}, nil
}

// UpdateBenefit changes the fields of benefit id that mask names. A changed limit or period
// counts from the next use.
// Errors: as CreateBenefit; NotFound (BENEFIT_NOT_FOUND); Invalid on update_mask.
func UpdateBenefit(c *Catalog, id string, patch *Benefit, mask []string, now time.Time) (*BenefitView, []Event, error) {
	cur := c.Benefit(id)
	if cur == nil {
		return nil, nil, BenefitNotFound(id)
	}
	fields, err := resolveMask(mask, BenefitFields)
	if err != nil {
		return nil, nil, err
	}
	b := *cur
	for _, f := range fields {
		switch f {
		case "display_name":
			b.DisplayName = patch.DisplayName
		case "kind":
			b.Kind = patch.Kind
		case "discount_percent":
			b.DiscountPercent = patch.DiscountPercent
		case "limit_per_period":
			b.Limit = patch.Limit
		case "period":
			b.Period = patch.Period
		case "description":
			b.Description = patch.Description
		case "tiers":
			b.Tiers = slices.Clone(patch.Tiers)
		case "plans":
			b.Plans = slices.Clone(patch.Plans)
		}
	}
	var v apperr.Violations
	checkBenefit(&b, c, &v)
	if err := invalid(ReasonBenefitInvalid, v); err != nil {
		return nil, nil, err
	}
	b.UpdateTime = now
	*cur = b
	x := b
	return &BenefitView{Benefit: &x}, []Event{BenefitDefined{Benefit: &x, At: now}}, nil
}

// DeleteBenefit removes benefit id from the catalogue; its uses and complaints stay on record.
// Errors: NotFound (BENEFIT_NOT_FOUND).
func DeleteBenefit(c *Catalog, id string, now time.Time) ([]Event, error) {
	if c.Benefit(id) == nil {
		return nil, BenefitNotFound(id)
	}
	c.Benefits = slices.DeleteFunc(c.Benefits, func(b *Benefit) bool { return b.ID == id })
	return []Event{BenefitDeleted{BenefitID: id, At: now}}, nil
}

// CreatePlan adds pl to c, adding benefits.
// Errors: Invalid (PLAN_INVALID); AlreadyExists (PLAN_EXISTS); FailedPrecondition
// (PLAN_LIMIT_REACHED).
func CreatePlan(c *Catalog, pl *Plan, benefits []string, now time.Time) (*PlanView, []Event, error) {
	var v apperr.Violations
	checkID(pl.ID, "plan.id", &v)
	checkPlan(pl, c, &v)
	benefits = checkRefs(benefits, "plan.benefits", func(id string) bool { return c.Benefit(id) != nil }, &v)
	if err := invalid(ReasonPlanInvalid, v); err != nil {
		return nil, nil, err
	}
	switch {
	case c.Plan(pl.ID) != nil:
		return nil, nil, apperr.E(apperr.AlreadyExists, ReasonPlanExists, "plan %q already exists", pl.ID).With("plan_id", pl.ID)
	case len(c.Plans) >= MaxPlans:
		return nil, nil, apperr.E(apperr.FailedPrecondition, ReasonPlanLimit, "a tenant has at most %d plans", MaxPlans)
	}
	pl.CreateTime, pl.UpdateTime = now, now
	c.Plans = append(c.Plans, pl)
	c.Sort()
	x := *pl
	evs := append([]Event{PlanDefined{Plan: &x, At: now}}, setGrants(c, benefits, planRefs, pl.ID, now)...)
	return c.ViewPlan(pl.ID), evs, nil
}

// UpdatePlan changes the fields of plan id that mask names. Price and term count from the next
// purchase or renewal; the tier and benefits from the next evaluation of each subscriber.
// Errors: as CreatePlan; NotFound (PLAN_NOT_FOUND); Invalid on update_mask.
func UpdatePlan(c *Catalog, id string, patch *Plan, benefits []string, mask []string, now time.Time) (*PlanView, []Event, error) {
	cur := c.Plan(id)
	if cur == nil {
		return nil, nil, PlanNotFound(id)
	}
	fields, err := resolveMask(mask, PlanFields)
	if err != nil {
		return nil, nil, err
	}
	pl := *cur
	for _, f := range fields {
		switch f {
		case "display_name":
			pl.DisplayName = patch.DisplayName
		case "price_minor":
			pl.PriceMinor = patch.PriceMinor
		case "currency":
			pl.Currency = patch.Currency
		case "term_months":
			pl.TermMonths = patch.TermMonths
		case "term_days":
			pl.TermDays = patch.TermDays
		case "tier_id":
			pl.TierID = patch.TierID
		case "renewal":
			pl.Renewal = patch.Renewal
		case "grace_days":
			pl.GraceDays = patch.GraceDays
		case "trial_days":
			pl.TrialDays = patch.TrialDays
		case "refundable":
			pl.Refundable = patch.Refundable
		case "reminder_days":
			pl.ReminderDays = patch.ReminderDays
		}
	}
	var v apperr.Violations
	checkPlan(&pl, c, &v)
	if slices.Contains(fields, "benefits") {
		benefits = checkRefs(benefits, "plan.benefits", func(id string) bool { return c.Benefit(id) != nil }, &v)
	}
	if err := invalid(ReasonPlanInvalid, v); err != nil {
		return nil, nil, err
	}
	pl.UpdateTime = now
	*cur = pl
	x := pl
	evs := []Event{PlanDefined{Plan: &x, At: now}}
	if slices.Contains(fields, "benefits") {
		evs = append(evs, setGrants(c, benefits, planRefs, id, now)...)
	}
	return c.ViewPlan(id), evs, nil
}

// DeletePlan removes plan id, which no current subscription may hold.
// Errors: NotFound (PLAN_NOT_FOUND); FailedPrecondition (PLAN_IN_USE).
func DeletePlan(c *Catalog, id string, now time.Time) ([]Event, error) {
	if c.Plan(id) == nil {
		return nil, PlanNotFound(id)
	}
	if n := c.Live[id]; n > 0 {
		return nil, apperr.E(apperr.FailedPrecondition, ReasonPlanInUse, "plan %q has %d current subscriptions", id, n).With("plan_id", id)
	}
	evs := setGrants(c, nil, planRefs, id, now)
	c.Plans = slices.DeleteFunc(c.Plans, func(p *Plan) bool { return p.ID == id })
	return append([]Event{PlanDeleted{PlanID: id, At: now}}, evs...), nil
}
