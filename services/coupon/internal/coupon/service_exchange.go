package coupon

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/huiyuan-dev/huiyuan/pkg/apperr"
	"github.com/huiyuan-dev/huiyuan/pkg/ids"
)

// settleTimeout bounds the calls to loyalty one settling pass makes; it runs apart from the
// caller's context, so a client that goes away does not leave the exchange half done.
const settleTimeout = 10 * time.Second

// The request_ids of an exchange's calls to loyalty: fixed per exchange, so that every retry,
// by the request or by recovery after a crash, gets loyalty's first answer.
func holdRequestID(x string) string    { return "coupon-exchange:" + x + ":hold" }
func captureRequestID(x string) string { return "coupon-exchange:" + x + ":capture" }
func releaseRequestID(x string) string { return "coupon-exchange:" + x + ":release" }

// Exchange buys a coupon of template templateID with member's points. The steps, each durable
// before the next:
//
//  1. one transaction reserves the coupon (stock and limits counted) as PENDING, unusable, and
//     records the exchange HOLDING;
//  2. loyalty holds the points (request_id fixed per exchange);
//  3. the exchange records the hold: CAPTURING;
//  4. loyalty captures the hold;
//  5. one transaction makes the coupon AVAILABLE (coupon_issued) and the exchange COMPLETED.
//
// A refusal at 2 or 4 (insufficient points, a hold that timed out) releases the hold, voids the
// pending coupon and gives its stock and limits back (FAILED). So the member never pays without
// getting the coupon and never gets a usable coupon unpaid, whichever process dies when: an
// unanswered call leaves the exchange where it is, and the request's retry or RecoverExchanges
// repeats the step with the same request_id. Errors: NotFound; FailedPrecondition for the
// template's and member's refusals and loyalty's (INSUFFICIENT_POINTS); Unavailable
// COUPON_EXCHANGE_PENDING when loyalty did not answer (the exchange settles later).
func (s *Service) Exchange(ctx context.Context, tenant, templateID, member string) (*Exchange, *Coupon, error) {
	if s.points == nil {
		return nil, nil, errors.New("exchange coupon: no points service configured")
	}
	code, err := NewCode()
	if err != nil {
		return nil, nil, err
	}
	now := s.now()
	x := &Exchange{ID: ids.New(), TemplateID: templateID, MemberID: member, State: ExchangeHolding, CreateTime: now, UpdateTime: now}
	couponID := ids.New()
	x, c, replayed, err := s.store.CreateExchange(ctx, tenant, x, func(st *IssueState) (*Coupon, []Event, error) {
		c, err := decide(st, issue{member: member, source: SourceExchange, id: couponID, code: code, now: now, zone: s.zones.get(st.Zone), state: StatePending})
		if err != nil {
			return nil, nil, err
		}
		c.ExchangeID = x.ID
		x.Points = st.Template.PointsPrice
		return c, nil, nil
	})
	if err != nil {
		return nil, nil, fmt.Errorf("exchange coupon: %w", err)
	}
	if replayed && x.State == ExchangeFailed {
		code := x.FailureCode
		if code == "" {
			code = apperr.FailedPrecondition
		}
		return x, c, apperr.E(code, x.FailureReason, "the exchange failed: %s", x.FailureReason).With("exchange_id", x.ID)
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), settleTimeout)
	defer cancel()
	return s.settle(sctx, tenant, x, c)
}

// unknown reports whether err leaves a call's outcome unknown.
func unknown(err error) bool { return apperr.CodeOf(err) == apperr.Unavailable }

func pending(x *Exchange, err error) error {
	return fmt.Errorf("%w (%v)", apperr.E(apperr.Unavailable, ReasonExchangePending,
		"the loyalty service did not answer; exchange %s settles on its own: retry with the same request_id or read the exchange", x.ID).
		With("exchange_id", x.ID), err)
}

// settle drives exchange x to COMPLETED or FAILED as far as loyalty answers.
func (s *Service) settle(ctx context.Context, tenant string, x *Exchange, c *Coupon) (*Exchange, *Coupon, error) {
	for !x.State.Final() {
		var err error
		switch x.State {
		case ExchangeHolding:
			hold, herr := s.points.Hold(ctx, tenant, x.MemberID, x.Points, holdRequestID(x.ID), "coupon-exchange:"+x.ID)
			switch {
			case unknown(herr):
				return x, c, pending(x, herr)
			case herr != nil:
				if x, c, err = s.fail(ctx, tenant, x.ID, ExchangeHolding, herr); err != nil {
					return x, c, err
				}
				return x, c, fmt.Errorf("exchange coupon: %w", refusal(herr, x.ID))
			}
			x, c, err = s.store.UpdateExchange(ctx, tenant, x.ID, func(x *Exchange, _ *Coupon, _ *IssueState) ([]Event, error) {
				if x.State != ExchangeHolding { // settled meanwhile by another driver
					return nil, nil
				}
				x.State, x.HoldID, x.UpdateTime = ExchangeCapturing, hold, s.now()
				return nil, nil
			})
		case ExchangeCapturing:
			cerr := s.points.Capture(ctx, tenant, x.MemberID, x.HoldID, captureRequestID(x.ID))
			switch {
			case unknown(cerr):
				return x, c, pending(x, cerr)
			case cerr != nil:
				// The hold cannot be captured (it timed out): make sure it holds nothing, then
				// give the coupon up.
				if rerr := s.points.Release(ctx, tenant, x.MemberID, x.HoldID, releaseRequestID(x.ID)); rerr != nil {
					return x, c, pending(x, rerr)
				}
				if x, c, err = s.fail(ctx, tenant, x.ID, ExchangeCapturing, cerr); err != nil {
					return x, c, err
				}
				return x, c, fmt.Errorf("exchange coupon: %w", refusal(cerr, x.ID))
			}
			x, c, err = s.store.UpdateExchange(ctx, tenant, x.ID, func(x *Exchange, c *Coupon, _ *IssueState) ([]Event, error) {
				if x.State != ExchangeCapturing {
					return nil, nil
				}
				now := s.now()
				x.State, x.UpdateTime = ExchangeCompleted, now
				c.State, c.UpdateTime = StateAvailable, now
				ev := issuedEvent(c)
				ev.At = now
				return []Event{ev}, nil
			})
		default:
			return x, c, fmt.Errorf("exchange %s in unknown state %d", x.ID, x.State)
		}
		if err != nil {
			return x, c, fmt.Errorf("exchange coupon: %w", err)
		}
	}
	return x, c, nil
}

// refusal is loyalty's refusal cause of exchange id as its caller sees it: the same code,
// reason and message, with the exchange named as a retry's answer names it.
func refusal(cause error, id string) error {
	var e *apperr.Error
	if errors.As(cause, &e) {
		return e.With("exchange_id", id)
	}
	return cause
}

// fail settles exchange id, still in state from, as FAILED: its pending coupon is voided and its
// stock and the member's limits given back.
func (s *Service) fail(ctx context.Context, tenant, id string, from ExchangeState, cause error) (*Exchange, *Coupon, error) {
	reason, code := apperr.ReasonOf(cause), apperr.CodeOf(cause)
	if reason == "" {
		reason = "EXCHANGE_REFUSED"
	}
	x, c, err := s.store.UpdateExchange(ctx, tenant, id, func(x *Exchange, c *Coupon, st *IssueState) ([]Event, error) {
		if x.State != from {
			return nil, nil
		}
		now := s.now()
		x.State, x.FailureReason, x.FailureCode, x.UpdateTime = ExchangeFailed, reason, code, now
		if c.State == StatePending {
			c.State, c.VoidReason, c.UpdateTime = StateVoided, "points exchange failed: "+reason, now
			unissue(st, c)
		}
		return nil, nil
	})
	if err != nil {
		return x, c, fmt.Errorf("fail exchange: %w", err)
	}
	s.soldOut.clear(soldOutKey(tenant, x.TemplateID))
	return x, c, nil
}

// GetExchange returns exchange id and its coupon; actor, when set, is the member calling.
// Errors: NotFound; PermissionDenied.
func (s *Service) GetExchange(ctx context.Context, tenant, id, actor string) (*Exchange, *Coupon, error) {
	x, c, err := s.store.GetExchange(ctx, tenant, id)
	if err != nil {
		return nil, nil, fmt.Errorf("get coupon exchange: %w", err)
	}
	if actor != "" && x.MemberID != actor {
		return nil, nil, apperr.E(apperr.PermissionDenied, "PERMISSION_DENIED", "a member may only access its own exchanges")
	}
	return x, c.Effective(s.now()), nil
}

// RecoverExchanges settles the exchanges a request left unsettled (a crash, loyalty not
// answering) once they are older than the grace period, and returns how many it settled.
func (s *Service) RecoverExchanges(ctx context.Context) (int, error) {
	refs, err := s.store.OpenExchanges(ctx, s.now().Add(-s.grace), 100)
	if err != nil {
		return 0, fmt.Errorf("recover exchanges: %w", err)
	}
	n := 0
	for _, r := range refs {
		x, c, err := s.store.GetExchange(ctx, r.Tenant, r.ID)
		if err != nil {
			return n, fmt.Errorf("recover exchange %s: %w", r.ID, err)
		}
		sctx, cancel := context.WithTimeout(ctx, settleTimeout)
		x, _, err = s.settle(sctx, r.Tenant, x, c)
		cancel()
		switch {
		case x != nil && x.State.Final():
			n++
		case err != nil:
			s.log.WarnContext(ctx, "exchange still unsettled", "tenant", r.Tenant, "exchange_id", r.ID, "err", err)
		}
	}
	return n, nil
}
