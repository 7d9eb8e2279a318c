package membership

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/huiyuan-dev/huiyuan/pkg/apperr"
	"github.com/huiyuan-dev/huiyuan/pkg/clock"
	"github.com/huiyuan-dev/huiyuan/pkg/ids"
)

// Service implements the use cases of tiers, benefits and plans over a Store. It is safe for
// concurrent use.
type Service struct {
	store Store
	clock clock.Clock
}

// NewService returns a Service. It fails on a nil dependency.
func NewService(store Store, clk clock.Clock) (*Service, error) {
	if store == nil || clk == nil {
		return nil, errors.New("membership.NewService: nil dependency")
	}
	return &Service{store: store, clock: clk}, nil
}

func (s *Service) now() time.Time { return s.clock.Now().UTC() }

// answer returns a store's answer res as a T.
func answer[T any](what string, res Result, err error) (T, error) {
	var zero T
	if err != nil {
		return zero, fmt.Errorf("%s: %w", what, err)
	}
	out, ok := res.(T)
	if !ok {
		return zero, fmt.Errorf("%s: stored answer is a %T", what, res)
	}
	return out, nil
}

// catalog runs fn on the tenant's catalogue and returns its answer.
func catalog[T any](ctx context.Context, s *Service, tenant, what string, fn func(c *Catalog, now time.Time) (T, []Event, error)) (T, error) {
	res, err := s.store.UpdateCatalog(ctx, tenant, func(c *Catalog) (Result, []Event, error) { return fn(c, s.now()) })
	return answer[T](what, res, err)
}

// account runs fn on member's account and returns its answer.
func account[T any](ctx context.Context, s *Service, tenant, member, what string, fn func(a *Account, c *Catalog, now time.Time) (T, []Event, error)) (T, error) {
	res, err := s.store.UpdateAccount(ctx, tenant, member, func(a *Account, c *Catalog) (Result, []Event, error) { return fn(a, c, s.now()) })
	return answer[T](what, res, err)
}

// Tiers returns the tenant's tiers by rank.
func (s *Service) Tiers(ctx context.Context, tenant string) ([]*TierView, error) {
	c, err := s.store.Catalog(ctx, tenant)
	if err != nil {
		return nil, fmt.Errorf("list tiers: %w", err)
	}
	out := make([]*TierView, len(c.Tiers))
	for i, t := range c.Tiers {
		out[i] = c.ViewTier(t.ID)
	}
	return out, nil
}

// Tier returns tier id. Errors: NotFound (TIER_NOT_FOUND).
func (s *Service) Tier(ctx context.Context, tenant, id string) (*TierView, error) {
	c, err := s.store.Catalog(ctx, tenant)
	if err != nil {
		return nil, fmt.Errorf("get tier: %w", err)
	}
	if v := c.ViewTier(id); v != nil {
		return v, nil
	}
	return nil, TierNotFound(id)
}

// CreateTier defines t, granting benefits. See CreateTier (the function) for the errors.
func (s *Service) CreateTier(ctx context.Context, tenant string, t *Tier, benefits []string) (*TierView, error) {
	x := *t
	return catalog(ctx, s, tenant, "create tier", func(c *Catalog, now time.Time) (*TierView, []Event, error) {
		y := x
		return CreateTier(c, &y, slices.Clone(benefits), now)
	})
}

// UpdateTier changes tier id as UpdateTier (the function) says.
func (s *Service) UpdateTier(ctx context.Context, tenant, id string, patch *Tier, benefits, mask []string) (*TierView, error) {
	return catalog(ctx, s, tenant, "update tier", func(c *Catalog, now time.Time) (*TierView, []Event, error) {
		return UpdateTier(c, id, patch, slices.Clone(benefits), mask, now)
	})
}

// DeleteTier deletes tier id. Errors: NotFound; FailedPrecondition (TIER_IN_USE).
func (s *Service) DeleteTier(ctx context.Context, tenant, id string) error {
	_, err := catalog(ctx, s, tenant, "delete tier", func(c *Catalog, now time.Time) (Deleted, []Event, error) {
		evs, err := DeleteTier(c, id, now)
		return Deleted{}, evs, err
	})
	return err
}

// Settings returns the tenant's tier settings.
func (s *Service) Settings(ctx context.Context, tenant string) (Settings, error) {
	c, err := s.store.Catalog(ctx, tenant)
	if err != nil {
		return Settings{}, fmt.Errorf("get tier settings: %w", err)
	}
	return c.Settings, nil
}

// UpdateSettings changes the settings named by mask. Errors: Invalid.
func (s *Service) UpdateSettings(ctx context.Context, tenant string, patch Settings, mask []string) (Settings, error) {
	out, err := catalog(ctx, s, tenant, "update tier settings", func(c *Catalog, now time.Time) (*Settings, []Event, error) {
		st, evs, err := UpdateSettings(c, patch, mask, now)
		return &st, evs, err
	})
	if err != nil {
		return Settings{}, err
	}
	return *out, nil
}

// Benefits returns the catalogue's benefits by id.
func (s *Service) Benefits(ctx context.Context, tenant string) ([]*BenefitView, error) {
	c, err := s.store.Catalog(ctx, tenant)
	if err != nil {
		return nil, fmt.Errorf("list benefits: %w", err)
	}
	out := make([]*BenefitView, len(c.Benefits))
	for i, b := range c.Benefits {
		x := *b
		out[i] = &BenefitView{Benefit: &x, Open: c.Open[b.ID]}
	}
	return out, nil
}

// Benefit returns benefit id with its open complaints. Errors: NotFound (BENEFIT_NOT_FOUND).
func (s *Service) Benefit(ctx context.Context, tenant, id string) (*BenefitView, error) {
	c, err := s.store.Catalog(ctx, tenant)
	if err != nil {
		return nil, fmt.Errorf("get benefit: %w", err)
	}
	b := c.Benefit(id)
	if b == nil {
		return nil, BenefitNotFound(id)
	}
	x := *b
	return &BenefitView{Benefit: &x, Open: c.Open[id]}, nil
}

// CreateBenefit adds b to the catalogue.
func (s *Service) CreateBenefit(ctx context.Context, tenant string, b *Benefit) (*BenefitView, error) {
	return catalog(ctx, s, tenant, "create benefit", func(c *Catalog, now time.Time) (*BenefitView, []Event, error) {
		x := *b
		x.Tiers, x.Plans = slices.Clone(b.Tiers), slices.Clone(b.Plans)
		v, evs, err := CreateBenefit(c, &x, now)
		if v != nil {
			v.Open = c.Open[v.Benefit.ID]
		}
		return v, evs, err
	})
}

// UpdateBenefit changes benefit id.
func (s *Service) UpdateBenefit(ctx context.Context, tenant, id string, patch *Benefit, mask []string) (*BenefitView, error) {
	return catalog(ctx, s, tenant, "update benefit", func(c *Catalog, now time.Time) (*BenefitView, []Event, error) {
		v, evs, err := UpdateBenefit(c, id, patch, mask, now)
		if v != nil {
			v.Open = c.Open[id]
		}
		return v, evs, err
	})
}

// DeleteBenefit deletes benefit id. Errors: NotFound.
func (s *Service) DeleteBenefit(ctx context.Context, tenant, id string) error {
	_, err := catalog(ctx, s, tenant, "delete benefit", func(c *Catalog, now time.Time) (Deleted, []Event, error) {
		evs, err := DeleteBenefit(c, id, now)
		return Deleted{}, evs, err
	})
	return err
}

// Plans returns the tenant's plans by id.
func (s *Service) Plans(ctx context.Context, tenant string) ([]*PlanView, error) {
	c, err := s.store.Catalog(ctx, tenant)
	if err != nil {
		return nil, fmt.Errorf("list plans: %w", err)
	}
	out := make([]*PlanView, len(c.Plans))
	for i, p := range c.Plans {
		out[i] = c.ViewPlan(p.ID)
	}
	return out, nil
}

// Plan returns plan id. Errors: NotFound (PLAN_NOT_FOUND).
func (s *Service) Plan(ctx context.Context, tenant, id string) (*PlanView, error) {
	c, err := s.store.Catalog(ctx, tenant)
	if err != nil {
		return nil, fmt.Errorf("get plan: %w", err)
	}
	if v := c.ViewPlan(id); v != nil {
		return v, nil
	}
	return nil, PlanNotFound(id)
}

// CreatePlan defines pl, adding benefits.
func (s *Service) CreatePlan(ctx context.Context, tenant string, pl *Plan, benefits []string) (*PlanView, error) {
	return catalog(ctx, s, tenant, "create plan", func(c *Catalog, now time.Time) (*PlanView, []Event, error) {
		x := *pl
		return CreatePlan(c, &x, slices.Clone(benefits), now)
	})
}

// UpdatePlan changes plan id.
func (s *Service) UpdatePlan(ctx context.Context, tenant, id string, patch *Plan, benefits, mask []string) (*PlanView, error) {
	return catalog(ctx, s, tenant, "update plan", func(c *Catalog, now time.Time) (*PlanView, []Event, error) {
		return UpdatePlan(c, id, patch, slices.Clone(benefits), mask, now)
	})
}

// DeletePlan deletes plan id. Errors: NotFound; FailedPrecondition (PLAN_IN_USE).
func (s *Service) DeletePlan(ctx context.Context, tenant, id string) error {
	_, err := catalog(ctx, s, tenant, "delete plan", func(c *Catalog, now time.Time) (Deleted, []Event, error) {
		evs, err := DeletePlan(c, id, now)
		return Deleted{}, evs, err
	})
	return err
}

// view returns the account as of now: its due work done on a copy, nothing saved.
func (s *Service) view(ctx context.Context, tenant, member string) (*Account, *Catalog, time.Time, error) {
	a, c, err := s.store.Account(ctx, tenant, member)
	if err != nil {
		return nil, nil, time.Time{}, err
	}
	now := s.now()
	a = a.Clone()
	Evaluate(a, c, now)
	return a, c, now, nil
}

// Standing returns where member stands now. Errors: NotFound (MEMBER_NOT_FOUND).
func (s *Service) Standing(ctx context.Context, tenant, member string) (*Standing, error) {
	a, c, now, err := s.view(ctx, tenant, member)
	if err != nil {
		return nil, fmt.Errorf("get member tier: %w", err)
	}
	return StandingOf(a, c, now), nil
}

// Value returns member's value now. Errors: NotFound (MEMBER_NOT_FOUND).
func (s *Service) Value(ctx context.Context, tenant, member string) (MemberValue, error) {
	a, c, err := s.store.Account(ctx, tenant, member)
	if err != nil {
		return MemberValue{}, fmt.Errorf("get member value: %w", err)
	}
	return ValueOf(a, c, s.now()), nil
}

// standing answers a change of member's account with where it stands after.
func (s *Service) standing(ctx context.Context, tenant, what, member string, fn func(a *Account, c *Catalog, now time.Time) ([]Event, error)) (*Standing, error) {
	var cat *Catalog
	a, err := account(ctx, s, tenant, member, what, func(a *Account, c *Catalog, now time.Time) (*Account, []Event, error) {
		evs, err := fn(a, c, now)
		cat = c
		return a, evs, err
	})
	if err != nil {
		return nil, err
	}
	if cat == nil { // a retried request, answered from its first run
		if cat, err = s.store.Catalog(ctx, tenant); err != nil {
			return nil, fmt.Errorf("%s: %w", what, err)
		}
	}
	return StandingOf(a, cat, s.now()), nil
}

// Override holds member at tier until expire, set by actor for reason. See SetOverride.
func (s *Service) Override(ctx context.Context, tenant, member, tier, reason string, expire time.Time, actor string) (*Standing, error) {
	return s.standing(ctx, tenant, "override member tier", member, func(a *Account, c *Catalog, now time.Time) ([]Event, error) {
		return SetOverride(a, c, tier, reason, expire, actor, now)
	})
}

// ClearOverride ends member's override now.
func (s *Service) ClearOverride(ctx context.Context, tenant, member string) (*Standing, error) {
	return s.standing(ctx, tenant, "clear member tier override", member, func(a *Account, c *Catalog, now time.Time) ([]Event, error) {
		return ClearOverride(a, c, now), nil
	})
}

// Evaluate does member's due tier work now and saves it.
func (s *Service) Evaluate(ctx context.Context, tenant, member string) (*Standing, error) {
	return s.standing(ctx, tenant, "evaluate member tier", member, func(a *Account, c *Catalog, now time.Time) ([]Event, error) {
		return Evaluate(a, c, now), nil
	})
}

// MemberBenefits returns what member is owed now. Errors: NotFound (MEMBER_NOT_FOUND).
func (s *Service) MemberBenefits(ctx context.Context, tenant, member string) ([]Entitlement, error) {
	a, c, now, err := s.view(ctx, tenant, member)
	if err != nil {
		return nil, fmt.Errorf("list member benefits: %w", err)
	}
	return Entitlements(a, c, now), nil
}

// UseBenefit consumes one use of benefit by member at storeID. See Use for the errors.
func (s *Service) UseBenefit(ctx context.Context, tenant, member, benefit, storeID string) (*BenefitUse, error) {
	id := ids.New()
	return account(ctx, s, tenant, member, "use benefit", func(a *Account, c *Catalog, now time.Time) (*BenefitUse, []Event, error) {
		return Use(a, c, benefit, storeID, id, now)
	})
}

// Purchase subscribes member to plan. See Purchase (the function) for the errors.
func (s *Service) Purchase(ctx context.Context, tenant, member, plan string, pay PaymentInput, trial bool) (*Subscription, error) {
	id := ids.New()
	return account(ctx, s, tenant, member, "purchase plan", func(a *Account, c *Catalog, now time.Time) (*Subscription, []Event, error) {
		return Purchase(a, c, plan, pay, trial, id, now)
	})
}

// Renew adds a paid term to member's subscription sub. See Renew (the function); a
// subscription that ended is FailedPrecondition SUBSCRIPTION_ENDED.
func (s *Service) Renew(ctx context.Context, tenant, member, sub string, pay PaymentInput) (*Subscription, error) {
	out, err := account(ctx, s, tenant, member, "renew subscription", func(a *Account, c *Catalog, now time.Time) (*Subscription, []Event, error) {
		return Renew(a, c, sub, pay, now)
	})
	return out, s.ended(ctx, tenant, member, sub, err)
}

// Cancel ends member's subscription sub now, for reason. See Cancel (the function); a
// subscription that ended is FailedPrecondition SUBSCRIPTION_ENDED.
func (s *Service) Cancel(ctx context.Context, tenant, member, sub, reason string) (*Cancellation, error) {
	out, err := account(ctx, s, tenant, member, "cancel subscription", func(a *Account, c *Catalog, now time.Time) (*Cancellation, []Event, error) {
		x, refund, evs, err := Cancel(a, c, sub, reason, now)
		if err != nil {
			return nil, nil, err
		}
		return &Cancellation{Subscription: x, Refund: refund, Currency: x.Currency}, evs, nil
	})
	return out, s.ended(ctx, tenant, member, sub, err)
}

// ended turns SUBSCRIPTION_NOT_FOUND for a subscription that has ended into SUBSCRIPTION_ENDED.
func (s *Service) ended(ctx context.Context, tenant, member, sub string, err error) error {
	if apperr.ReasonOf(err) != ReasonSubscriptionNotFound {
		return err
	}
	past, lerr := s.store.EndedSubscriptions(ctx, tenant, member)
	if lerr != nil {
		return err
	}
	for _, p := range past {
		if p.ID == sub {
			return SubscriptionEnded(sub)
		}
	}
	return err
}

// Subscriptions returns member's subscriptions as of now: current ones, then ended ones newest
// first. Errors: NotFound (MEMBER_NOT_FOUND).
func (s *Service) Subscriptions(ctx context.Context, tenant, member string) ([]*Subscription, error) {
	a, _, _, err := s.view(ctx, tenant, member)
	if err != nil {
		return nil, fmt.Errorf("list subscriptions: %w", err)
	}
	past, err := s.store.EndedSubscriptions(ctx, tenant, member)
	if err != nil {
		return nil, fmt.Errorf("list subscriptions: %w", err)
	}
	out := append(slices.Clone(a.Subscriptions), a.Ended...) // ended by the view, not yet saved
	return append(out, past...), nil
}

// PlanReports returns each plan's subscribers and revenue.
func (s *Service) PlanReports(ctx context.Context, tenant string) ([]PlanReport, error) {
	out, err := s.store.PlanReports(ctx, tenant)
	if err != nil {
		return nil, fmt.Errorf("list plan reports: %w", err)
	}
	return out, nil
}

// OpenComplaint records in (a complaint about member) by reporter. See OpenComplaint (the
// function); NotFound (MEMBER_NOT_FOUND).
func (s *Service) OpenComplaint(ctx context.Context, tenant, member string, in Complaint, reporter string) (*Complaint, error) {
	id := ids.New()
	in.MemberID = member
	out, err := s.store.CreateComplaint(ctx, tenant, member, func(c *Catalog, open func(string) int64) (*Complaint, []Event, error) {
		return OpenComplaint(c, in, reporter, id, open(in.BenefitID), s.now())
	})
	if err != nil {
		return nil, fmt.Errorf("open benefit complaint: %w", err)
	}
	return out, nil
}

// ResolveComplaint closes complaint id with note, by resolver. See ResolveComplaint (the
// function); NotFound (BENEFIT_COMPLAINT_NOT_FOUND).
func (s *Service) ResolveComplaint(ctx context.Context, tenant, id, note, resolver string) (*Complaint, error) {
	out, err := s.store.UpdateComplaint(ctx, tenant, id, func(cmp *Complaint, open int64) ([]Event, error) {
		return ResolveComplaint(cmp, note, resolver, open, s.now())
	})
	if err != nil {
		return nil, fmt.Errorf("resolve benefit complaint: %w", err)
	}
	return out, nil
}

// Complaint returns complaint id. Errors: NotFound.
func (s *Service) Complaint(ctx context.Context, tenant, id string) (*Complaint, error) {
	out, err := s.store.Complaint(ctx, tenant, id)
	if err != nil {
		return nil, fmt.Errorf("get benefit complaint: %w", err)
	}
	return out, nil
}

// Complaints returns a page of complaints, newest first. A PageSize of 0 means
// DefaultPageSize, one above MaxPageSize means MaxPageSize. Errors: Invalid on "page_size",
// "page_token", "state".
func (s *Service) Complaints(ctx context.Context, tenant string, r ComplaintQuery) ([]*Complaint, string, error) {
	var v apperr.Violations
	switch {
	case r.PageSize < 0:
		v.Add("page_size", "must not be negative")
	case r.PageSize == 0:
		r.PageSize = DefaultPageSize
	case r.PageSize > MaxPageSize:
		r.PageSize = MaxPageSize
	}
	if r.State < ComplaintUnspecified || r.State > ComplaintResolved {
		v.Add("state", "must be OPEN or RESOLVED")
	}
	if err := v.Err(); err != nil {
		return nil, "", err
	}
	out, next, err := s.store.Complaints(ctx, tenant, r)
	if err != nil {
		return nil, "", fmt.Errorf("list benefit complaints: %w", err)
	}
	return out, next, nil
}

// Now is the service's clock's time, for callers that show times relative to now.
func (s *Service) Now() time.Time { return s.now() }
