package coupon

import (
	"context"
	"fmt"
	"slices"

	"github.com/huiyuan-dev/huiyuan/pkg/apperr"
	"github.com/huiyuan-dev/huiyuan/pkg/ids"
)

// MaxGrant is the most members one GrantCoupons call may name.
const MaxGrant = 1000

// Claim issues a coupon of claimable template templateID to member. Once a commit has taken the
// template's last coupon, later claims are refused from memory without a transaction (a retry
// of a claim that succeeded still gets its coupon, from a read of its request_id). Errors:
// NotFound; FailedPrecondition COUPON_OUT_OF_STOCK, COUPON_LIMIT_REACHED,
// COUPON_TEMPLATE_NOT_ACTIVE, COUPON_NOT_CLAIMABLE, COUPON_TEMPLATE_EXPIRED, MEMBER_NOT_ACTIVE
// (the member service froze, closed or erased member). The template comes
// back too, except for an answer replayed from memory's sold-out path (nil then).
func (s *Service) Claim(ctx context.Context, tenant, templateID, member string) (*Coupon, *Template, error) {
	key := soldOutKey(tenant, templateID)
	epoch, refusal := s.soldOut.state(key)
	if refusal != nil {
		c, ok, err := s.store.ReplayIssue(ctx, tenant)
		switch {
		case err != nil:
			return nil, nil, fmt.Errorf("claim coupon: %w", err)
		case ok:
			return c, nil, nil
		}
		return nil, nil, refusal
	}
	code, err := NewCode()
	if err != nil {
		return nil, nil, err
	}
	id := ids.New()
	var exhausted bool
	var tmpl *Template
	c, err := s.store.Issue(ctx, tenant, templateID, member, func(st *IssueState) (*Coupon, []Event, error) {
		tmpl = st.Template
		c, err := decide(st, issue{member: member, source: SourceClaim, id: id, code: code, now: s.now(), zone: s.zones.get(st.Zone), state: StateAvailable})
		if err != nil {
			return nil, nil, err
		}
		exhausted = st.Template.TotalStock > 0 && st.Issued >= st.Template.TotalStock
		return c, []Event{issuedEvent(c)}, nil
	})
	switch {
	case apperr.ReasonOf(err) == ReasonOutOfStock:
		s.soldOut.mark(key, epoch, outOfStock(templateID, 0))
	case err == nil && exhausted:
		s.soldOut.mark(key, epoch, outOfStock(templateID, 0))
	}
	if err != nil {
		return nil, nil, fmt.Errorf("claim coupon: %w", err)
	}
	return c, tmpl, nil
}

// Grant issues one coupon of template templateID to each of members (1 to MaxGrant, no
// repeats), whether or not it is claimable; each member succeeds or is refused on its own (stock,
// limits) in one transaction. Errors: Invalid on "member_ids"; NotFound for the template.
func (s *Service) Grant(ctx context.Context, tenant, templateID string, members []string) ([]IssueOutcome, error) {
	if err := checkMembers(members); err != nil {
		return nil, err
	}
	out, err := s.store.IssueEach(ctx, tenant, templateID, members, func(st *IssueState) (*Coupon, []Event, error) {
		code, err := NewCode()
		if err != nil {
			return nil, nil, err
		}
		c, err := decide(st, issue{member: st.Member, source: SourceGrant, id: ids.New(), code: code, now: s.now(), zone: s.zones.get(st.Zone), state: StateAvailable})
		if err != nil {
			return nil, nil, err
		}
		return c, []Event{issuedEvent(c)}, nil
	})
	if err != nil {
		return nil, fmt.Errorf("grant coupons: %w", err)
	}
	return out, nil
}

func checkMembers(members []string) error {
	switch {
	case len(members) == 0:
		return apperr.InvalidField("member_ids", "is required")
	case len(members) > MaxGrant:
		return apperr.InvalidField("member_ids", "must name at most %d members", MaxGrant)
	}
	var v apperr.Violations
	for i, m := range members {
		if !validToken(m) {
			v.Add(fmt.Sprintf("member_ids[%d]", i), "must be a member id")
		} else if slices.Contains(members[:i], m) {
			v.Add(fmt.Sprintf("member_ids[%d]", i), "repeats an earlier member")
		}
	}
	return v.Err()
}

// ClaimCode gives member a coupon with code: for a shared code a new coupon of its template
// (each member once, at most its max uses in all, within the template's stock and limits); for
// an unclaimed batch code, that coupon, bound to the member. Claiming a batch code the member
// already holds returns it. Errors: Invalid on "code"; NotFound COUPON_NOT_FOUND;
// FailedPrecondition COUPON_OUT_OF_STOCK, COUPON_LIMIT_REACHED, COUPON_CODE_CLAIMED, and the
// template's and coupon's refusals.
func (s *Service) ClaimCode(ctx context.Context, tenant, code, member string) (*Coupon, error) {
	fresh, err := NewCode()
	if err != nil {
		return nil, err
	}
	id := ids.New()
	c, err := s.store.ClaimCode(ctx, tenant, code, member, func(cc *CodeClaim) (*Coupon, []Event, error) {
		now := s.now()
		if sc := cc.Shared; sc != nil {
			switch {
			case cc.SharedPrior != "":
				return nil, nil, limitReached(sc.TemplateID, "shared-code", 1)
			case sc.Uses >= sc.MaxUses:
				return nil, nil, outOfStock(sc.TemplateID, sc.MaxUses).With("limit", "shared_code")
			}
			c, err := decide(cc.Issue, issue{member: member, source: SourceSharedCode, id: id, code: fresh, now: now, zone: s.zones.get(cc.Issue.Zone), state: StateAvailable})
			if err != nil {
				return nil, nil, err
			}
			c.SharedCode = sc.Code
			sc.Uses++
			return c, []Event{issuedEvent(c)}, nil
		}
		c := cc.BatchCoupon
		switch c.MemberID {
		case member:
			return c, nil, nil
		case "":
			if cc.MemberStatus == MemberInactive {
				return nil, nil, memberNotActive(member)
			}
		default:
			return nil, nil, failed(ReasonCodeClaimed, "the code is claimed by another member")
		}
		evs := c.settle(now)
		if err := c.usable(member, "", now); err != nil && apperr.ReasonOf(err) != ReasonCouponNotYetValid {
			return nil, nil, err
		}
		return c, append(evs, c.bind(member, now)...), nil
	})
	if err != nil {
		return nil, fmt.Errorf("claim coupon code: %w", err)
	}
	return c, nil
}
