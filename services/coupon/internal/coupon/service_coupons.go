package coupon

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/huiyuan-dev/huiyuan/pkg/apperr"
)

// MaxValidateCodes is the most extra codes one validation may name.
const MaxValidateCodes = 20

// walletSize bounds the coupons of one member a validation considers.
const walletSize = 500

// recentlyExpired is how long an expired coupon still shows in a validation, as EXPIRED.
const recentlyExpired = 30 * 24 * time.Hour

// UseInput is a request to lock or redeem a coupon.
type UseInput struct {
	Member  string        // the holder; binds an unclaimed batch code. Required.
	Order   string        // Required.
	Staff   string        // redemption only
	Cart    *Cart         // required to redeem; optional to lock
	Timeout time.Duration // lock only; 0 means DefaultLockTimeout
}

func (in *UseInput) check(needCart bool) error {
	var v apperr.Violations
	if !validToken(in.Member) {
		v.Add("member_id", "is required: a member id")
	}
	if !validToken(in.Order) {
		v.Add("order_id", "is required: 1-%d printable characters", MaxToken)
	}
	if in.Staff != "" && !validToken(in.Staff) {
		v.Add("staff_id", "must be 1-%d printable characters", MaxToken)
	}
	if in.Timeout < 0 || in.Timeout > MaxLockTimeout {
		v.Add("timeout_seconds", "must be between 0 (15 minutes) and %d", int(MaxLockTimeout/time.Second))
	}
	if err := v.Err(); err != nil {
		return err
	}
	if in.Cart == nil {
		if needCart {
			return apperr.InvalidField("cart", "is required")
		}
		return nil
	}
	return NormalizeCart(in.Cart, "cart.")
}

// notApplicable is the refusal of a lock or redemption on a cart the coupon does not apply to.
func notApplicable(why Why, detail string) error {
	return failed(ReasonNotApplicable, "the coupon does not apply to the cart: %s", detail).With("reason", why.String())
}

// Lock holds coupon code for in.Order until it is redeemed, released or in.Timeout passes
// (then the coupon is available again). Locking it again for the same order extends the lock,
// unless the coupon's validity has ended meanwhile: that is COUPON_EXPIRED, and the lock it has
// still lets the order redeem it until it ends. With a cart, the coupon must apply to it. Errors: Invalid; NotFound; FailedPrecondition
// COUPON_ALREADY_REDEEMED, COUPON_LOCKED, COUPON_EXPIRED, COUPON_NOT_YET_VALID, COUPON_VOIDED,
// COUPON_PENDING, COUPON_NOT_OWNED, COUPON_NOT_APPLICABLE, MEMBER_NOT_ACTIVE (the member
// service froze, closed or erased in.Member).
func (s *Service) Lock(ctx context.Context, tenant, code string, in UseInput) (*Coupon, *Template, error) {
	if err := in.check(false); err != nil {
		return nil, nil, err
	}
	if in.Timeout == 0 {
		in.Timeout = DefaultLockTimeout
	}
	c, t, err := s.store.UseCoupon(ctx, tenant, code, in.Member, func(c *Coupon, t *Template, standing MemberStatus) ([]Event, error) {
		if standing == MemberInactive {
			return nil, memberNotActive(in.Member)
		}
		now := s.now()
		evs, err := c.take(in.Member, in.Order, now)
		if err != nil {
			return nil, err
		}
		if c.State == StateLocked && !now.Before(c.ExpireTime) {
			// A lock may outlive the validity so that a till which locked in time can still
			// redeem; renewing it would keep an expired coupon alive for as long as the till
			// kept locking it again.
			return nil, failed(ReasonCouponExpired, "the coupon expired at %s; its lock for this order holds until %s",
				c.ExpireTime.Format(time.RFC3339), c.Lock.ExpireTime.Format(time.RFC3339))
		}
		if in.Cart != nil {
			if _, why, detail := Discount(in.Cart, t); why != WhyUnspecified {
				return nil, notApplicable(why, detail)
			}
		}
		c.Lock = Lock{OrderID: in.Order, Time: now, ExpireTime: now.Add(in.Timeout)}
		ev := c.change(EventLocked, StateLocked, now)
		ev.OrderID = in.Order
		return append(evs, ev), nil
	})
	if err != nil {
		return nil, nil, fmt.Errorf("lock coupon: %w", err)
	}
	return c, t, nil
}

// Redeem uses coupon code on in.Order for in.Cart (核销), recording store, staff and the
// discount (c.Redemption.DiscountMinor). A coupon locked for another order is refused; one locked for this order
// is redeemed even if its validity ended during the lock. Errors: as Lock's, and
// COUPON_ALREADY_REDEEMED for a coupon redeemed before.
func (s *Service) Redeem(ctx context.Context, tenant, code string, in UseInput) (*Coupon, *Template, error) {
	if err := in.check(true); err != nil {
		return nil, nil, err
	}
	c, t, err := s.store.UseCoupon(ctx, tenant, code, in.Member, func(c *Coupon, t *Template, standing MemberStatus) ([]Event, error) {
		if standing == MemberInactive {
			return nil, memberNotActive(in.Member)
		}
		now := s.now()
		evs, err := c.take(in.Member, in.Order, now)
		if err != nil {
			return nil, err
		}
		d, why, detail := Discount(in.Cart, t)
		if why != WhyUnspecified {
			return nil, notApplicable(why, detail)
		}
		c.Lock = Lock{}
		c.Redemption = Redemption{OrderID: in.Order, StoreID: in.Cart.StoreID, StaffID: in.Staff, DiscountMinor: d,
			Currency: in.Cart.Currency, Time: now}
		ev := c.change(EventRedeemed, StateRedeemed, now)
		ev.OrderID, ev.StoreID, ev.StaffID, ev.DiscountMinor, ev.Currency = in.Order, in.Cart.StoreID, in.Staff, d, in.Cart.Currency
		return append(evs, ev), nil
	})
	if err != nil {
		return nil, nil, fmt.Errorf("redeem coupon: %w", err)
	}
	return c, t, nil
}

// ownedBy refuses a member actor touching another member's coupon; actor "" is staff.
func ownedBy(c *Coupon, actor string) error {
	if actor != "" && c.MemberID != actor {
		return apperr.E(apperr.PermissionDenied, "PERMISSION_DENIED", "a member may only access its own coupons")
	}
	return nil
}

// Release gives locked coupon code back; when order is given it must be the lock's. A lock that
// already lapsed counts as released. actor, when set, is the member calling. Errors: NotFound;
// PermissionDenied; FailedPrecondition COUPON_NOT_LOCKED, COUPON_LOCKED (another order's),
// COUPON_ALREADY_REDEEMED.
func (s *Service) Release(ctx context.Context, tenant, code, order, actor string) (*Coupon, *Template, error) {
	if order != "" && !validToken(order) {
		return nil, nil, apperr.InvalidField("order_id", "must be 1-%d printable characters", MaxToken)
	}
	c, t, err := s.store.UpdateCoupon(ctx, tenant, code, func(c *Coupon, _ *Template) ([]Event, error) {
		if err := ownedBy(c, actor); err != nil {
			return nil, err
		}
		now := s.now()
		evs := c.settle(now)
		switch {
		case c.State != StateLocked && c.State != StateRedeemed && c.Lock.OrderID != "" && (order == "" || c.Lock.OrderID == order):
			return evs, nil // a lapsed lock, released now or by the sweep
		case c.State == StateRedeemed:
			return nil, failed(ReasonAlreadyRedeemed, "the coupon is redeemed, not locked")
		case c.State != StateLocked:
			return nil, failed(ReasonCouponNotLocked, "the coupon is %s, not locked", c.State)
		case order != "" && c.Lock.OrderID != order:
			return nil, failed(ReasonCouponLocked, "the coupon is locked for another order")
		}
		ev := c.change(EventReleased, StateAvailable, now)
		ev.OrderID = c.Lock.OrderID
		c.Lock = Lock{}
		return append(evs, ev), nil
	})
	if err != nil {
		return nil, nil, fmt.Errorf("release coupon: %w", err)
	}
	return c, t, nil
}

// Restore gives redeemed coupon code back after order (its redemption's) was refunded, when its
// template's refund policy is RESTORE; a coupon whose validity has ended comes back expired.
// Errors: Invalid; NotFound; FailedPrecondition COUPON_NOT_RESTORABLE.
func (s *Service) Restore(ctx context.Context, tenant, code, order, reason string) (*Coupon, *Template, error) {
	if !validToken(order) {
		return nil, nil, apperr.InvalidField("order_id", "is required: 1-%d printable characters", MaxToken)
	}
	reason, err := Text("reason", reason, 200)
	if err != nil {
		return nil, nil, err
	}
	c, tmpl, err := s.store.UpdateCoupon(ctx, tenant, code, func(c *Coupon, t *Template) ([]Event, error) {
		switch {
		case c.State != StateRedeemed:
			return nil, failed(ReasonNotRestorable, "the coupon is %s, not redeemed", c.State)
		case c.Redemption.OrderID != order:
			return nil, failed(ReasonNotRestorable, "the coupon was redeemed on another order")
		case t.RefundPolicy != RefundRestore:
			return nil, failed(ReasonNotRestorable, "coupons of template %q stay redeemed on refund (refund policy %s)", t.ID, t.RefundPolicy)
		}
		now := s.now()
		c.Redemption = Redemption{}
		ev := c.change(EventRestored, StateAvailable, now)
		ev.OrderID, ev.Reason = order, reason
		return append([]Event{ev}, c.settle(now)...), nil
	})
	if err != nil {
		return nil, nil, fmt.Errorf("restore coupon: %w", err)
	}
	return c, tmpl, nil
}

// Void cancels coupon code unless it is redeemed; voiding a voided coupon changes nothing.
// Errors: Invalid on "reason"; NotFound; FailedPrecondition COUPON_ALREADY_REDEEMED,
// COUPON_PENDING.
func (s *Service) Void(ctx context.Context, tenant, code, reason string) (*Coupon, *Template, error) {
	reason, err := Text("reason", reason, 200)
	if err != nil {
		return nil, nil, err
	}
	c, t, err := s.store.UpdateCoupon(ctx, tenant, code, func(c *Coupon, _ *Template) ([]Event, error) {
		now := s.now()
		evs := c.settle(now)
		switch c.State {
		case StateVoided:
			return nil, nil
		case StateRedeemed:
			return nil, failed(ReasonAlreadyRedeemed, "a redeemed coupon cannot be voided")
		case StatePending:
			return nil, failed(ReasonCouponPending, "the coupon's points exchange has not settled")
		}
		c.Lock, c.VoidReason = Lock{}, reason
		ev := c.change(EventVoided, StateVoided, now)
		ev.Reason = reason
		return append(evs, ev), nil
	})
	if err != nil {
		return nil, nil, fmt.Errorf("void coupon: %w", err)
	}
	return c, t, nil
}

// GetCoupon returns coupon code as it stands now (a lapsed lock released, an ended validity
// expired), with its template; actor, when set, is the member calling. Errors: NotFound;
// PermissionDenied.
func (s *Service) GetCoupon(ctx context.Context, tenant, code, actor string) (*Coupon, *Template, error) {
	c, t, err := s.store.GetCoupon(ctx, tenant, code)
	if err != nil {
		return nil, nil, fmt.Errorf("get coupon: %w", err)
	}
	if err := ownedBy(c, actor); err != nil {
		return nil, nil, err
	}
	return c.Effective(s.now()), t, nil
}

// ListMemberCoupons returns a page of member's coupons, newest first, in state only unless it
// is unspecified (judged as they stand now). Errors: Invalid on "member_id", "state",
// "page_size", "page_token".
func (s *Service) ListMemberCoupons(ctx context.Context, tenant, member string, state State, size int, token string) ([]*Coupon, string, error) {
	if !validToken(member) {
		return nil, "", apperr.InvalidField("member_id", "is required: a member id")
	}
	q, err := s.couponQuery(state, size, token)
	if err != nil {
		return nil, "", err
	}
	cs, next, err := s.store.ListMemberCoupons(ctx, tenant, member, q)
	if err != nil {
		return nil, "", fmt.Errorf("list member coupons: %w", err)
	}
	return s.effective(cs), next, nil
}

// ListTemplateCoupons returns a page of template templateID's coupons in issue order, in state
// only unless it is unspecified.
func (s *Service) ListTemplateCoupons(ctx context.Context, tenant, templateID string, state State, size int, token string) ([]*Coupon, string, error) {
	q, err := s.couponQuery(state, size, token)
	if err != nil {
		return nil, "", err
	}
	if _, err := s.store.GetTemplate(ctx, tenant, templateID); err != nil {
		return nil, "", fmt.Errorf("list template coupons: %w", err)
	}
	cs, next, err := s.store.ListTemplateCoupons(ctx, tenant, templateID, q)
	if err != nil {
		return nil, "", fmt.Errorf("list template coupons: %w", err)
	}
	return s.effective(cs), next, nil
}

func (s *Service) couponQuery(state State, size int, token string) (CouponQuery, error) {
	p, err := page(size, token)
	if err != nil {
		return CouponQuery{}, err
	}
	if state != StateUnspecified && !state.Valid() {
		return CouponQuery{}, apperr.InvalidField("state", "must be PENDING, AVAILABLE, LOCKED, REDEEMED, EXPIRED or VOIDED")
	}
	now := s.now()
	q := CouponQuery{Page: p}
	if state != StateUnspecified {
		q.Match = func(c *Coupon) bool { return c.Effective(now).State == state }
	}
	return q, nil
}

func (s *Service) effective(cs []*Coupon) []*Coupon {
	now := s.now()
	for i, c := range cs {
		cs[i] = c.Effective(now)
	}
	return cs
}

// Validate says which of member's coupons (available or locked, and those expired in the last
// 30 days) and of codes apply to cart, for order when the cart is being checked out (coupons
// locked for it count), with their discounts, why the others do not, and the best combination
// (see Evaluate). A member the member service froze, closed or erased can use no coupon, so
// its cart is not evaluated. Errors: Invalid on "member_id", "cart.*", "codes[i]";
// FailedPrecondition MEMBER_NOT_ACTIVE.
func (s *Service) Validate(ctx context.Context, tenant, member string, cart *Cart, codes []string, order string) (Evaluation, error) {
	if !validToken(member) {
		return Evaluation{}, apperr.InvalidField("member_id", "is required: a member id")
	}
	if cart == nil {
		return Evaluation{}, apperr.InvalidField("cart", "is required")
	}
	if err := NormalizeCart(cart, "cart."); err != nil {
		return Evaluation{}, err
	}
	if len(codes) > MaxValidateCodes {
		return Evaluation{}, apperr.InvalidField("codes", "must hold at most %d codes", MaxValidateCodes)
	}
	norm := make([]string, len(codes))
	for i, c := range codes {
		n, err := NormalizeCode("codes["+strconv.Itoa(i)+"]", c)
		if err != nil {
			return Evaluation{}, err
		}
		norm[i] = n
	}
	now := s.now()
	keep := func(c *Coupon) bool {
		return c.State == StateAvailable || c.State == StateLocked || (c.State == StateExpired && now.Sub(c.ExpireTime) < recentlyExpired)
	}
	w, err := s.store.Wallet(ctx, tenant, member, keep, walletSize, norm)
	if err != nil {
		return Evaluation{}, fmt.Errorf("validate coupons: %w", err)
	}
	if w.Standing == MemberInactive {
		return Evaluation{}, memberNotActive(member)
	}
	var cands []Candidate
	seen := map[string]bool{}
	for _, c := range w.Coupons {
		if t := w.Templates[c.TemplateID]; t != nil && !seen[c.ID] {
			seen[c.ID] = true
			cands = append(cands, Candidate{Coupon: c, Template: t})
		}
	}
	var extra []NotApplicable
	for _, sc := range w.Shared {
		t := w.Templates[sc.TemplateID]
		if t == nil {
			continue
		}
		if sc.Uses >= sc.MaxUses || t.Status != StatusActive {
			extra = append(extra, NotApplicable{Code: sc.Code, TemplateID: sc.TemplateID, Why: WhyNotAvailable, Detail: "the shared code is used up or its template issues nothing"})
			continue
		}
		start, end := t.Validity(now, s.zones.get(w.Zone))
		cands = append(cands, Candidate{Template: t, Coupon: &Coupon{Code: sc.Code, TemplateID: t.ID, State: StateAvailable, StartTime: start, ExpireTime: end}})
	}
	for _, m := range w.Missing {
		extra = append(extra, NotApplicable{Code: m, Why: WhyNotAvailable, Detail: "no coupon or shared code has this code"})
	}
	ev := Evaluate(cart, cands, member, order, now)
	ev.NotApplicable = append(ev.NotApplicable, extra...)
	return ev, nil
}
