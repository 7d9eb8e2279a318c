package grpcapi

import (
	"context"
	"errors"

	"github.com/huiyuan-dev/huiyuan/pkg/apperr"
	"github.com/huiyuan-dev/huiyuan/pkg/ids"
	"github.com/huiyuan-dev/huiyuan/services/member/internal/membership"

	memberv1 "github.com/huiyuan-dev/huiyuan/gen/huiyuan/member/v1"
)

// PlanServer implements memberv1.PlanServiceServer.
type PlanServer struct {
	memberv1.UnimplementedPlanServiceServer
	svc *membership.Service
}

var _ memberv1.PlanServiceServer = (*PlanServer)(nil)

// NewPlanServer returns a PlanServer over svc. It fails on a nil svc.
func NewPlanServer(svc *membership.Service) (*PlanServer, error) {
	if svc == nil {
		return nil, errors.New("grpcapi.NewPlanServer: nil service")
	}
	return &PlanServer{svc: svc}, nil
}

// CreatePlan implements PlanServiceServer.
func (s *PlanServer) CreatePlan(ctx context.Context, req *memberv1.CreatePlanRequest) (*memberv1.CreatePlanResponse, error) {
	tenant, _, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	if req.GetPlan() == nil {
		return nil, apperr.InvalidField("plan", "is required")
	}
	pl, benefits := planFromProto(req.GetPlan())
	v, err := s.svc.CreatePlan(ctx, tenant, pl, benefits)
	if err != nil {
		return nil, err
	}
	return &memberv1.CreatePlanResponse{Plan: planToProto(v)}, nil
}

// GetPlan implements PlanServiceServer.
func (s *PlanServer) GetPlan(ctx context.Context, req *memberv1.GetPlanRequest) (*memberv1.GetPlanResponse, error) {
	tenant, _, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	id, err := parseDefID("plan_id", req.GetPlanId(), membership.PlanNotFound)
	if err != nil {
		return nil, err
	}
	v, err := s.svc.Plan(ctx, tenant, id)
	if err != nil {
		return nil, err
	}
	return &memberv1.GetPlanResponse{Plan: planToProto(v)}, nil
}

// ListPlans implements PlanServiceServer.
func (s *PlanServer) ListPlans(ctx context.Context, _ *memberv1.ListPlansRequest) (*memberv1.ListPlansResponse, error) {
	tenant, _, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	vs, err := s.svc.Plans(ctx, tenant)
	if err != nil {
		return nil, err
	}
	out := &memberv1.ListPlansResponse{Plans: make([]*memberv1.Plan, len(vs))}
	for i, v := range vs {
		out.Plans[i] = planToProto(v)
	}
	return out, nil
}

// UpdatePlan implements PlanServiceServer.
func (s *PlanServer) UpdatePlan(ctx context.Context, req *memberv1.UpdatePlanRequest) (*memberv1.UpdatePlanResponse, error) {
	tenant, _, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	if req.GetPlan() == nil {
		return nil, apperr.InvalidField("plan", "is required")
	}
	id, err := parseDefID("plan.id", req.GetPlan().GetId(), membership.PlanNotFound)
	if err != nil {
		return nil, err
	}
	patch, benefits := planFromProto(req.GetPlan())
	mask := updateMask(req.GetPlan(), req.GetUpdateMask().GetPaths(), "create_time", "update_time")
	v, err := s.svc.UpdatePlan(ctx, tenant, id, patch, benefits, mask)
	if err != nil {
		return nil, err
	}
	return &memberv1.UpdatePlanResponse{Plan: planToProto(v)}, nil
}

// DeletePlan implements PlanServiceServer.
func (s *PlanServer) DeletePlan(ctx context.Context, req *memberv1.DeletePlanRequest) (*memberv1.DeletePlanResponse, error) {
	tenant, _, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	id, err := parseDefID("plan_id", req.GetPlanId(), membership.PlanNotFound)
	if err != nil {
		return nil, err
	}
	if err := s.svc.DeletePlan(ctx, tenant, id); err != nil {
		return nil, err
	}
	return &memberv1.DeletePlanResponse{}, nil
}

func payment(p *memberv1.Payment) membership.PaymentInput {
	return membership.PaymentInput{Reference: p.GetReference(), Amount: p.GetAmountMinor(), Currency: p.GetCurrency()}
}

// PurchasePlan implements PlanServiceServer.
func (s *PlanServer) PurchasePlan(ctx context.Context, req *memberv1.PurchasePlanRequest) (*memberv1.PurchasePlanResponse, error) {
	tenant, _, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	id, err := parseID("member_id", req.GetMemberId())
	if err != nil {
		return nil, err
	}
	plan, err := parseDefID("plan_id", req.GetPlanId(), membership.PlanNotFound)
	if err != nil {
		return nil, err
	}
	sub, err := s.svc.Purchase(ctx, tenant, id, plan, payment(req.GetPayment()), req.GetTrial())
	if err != nil {
		return nil, err
	}
	return &memberv1.PurchasePlanResponse{Subscription: subscriptionToProto(id, sub, s.svc.Now())}, nil
}

func parseSubscriptionID(id string) (string, error) {
	switch {
	case id == "":
		return "", apperr.InvalidField("subscription_id", "is required")
	case !ids.Valid(id):
		return "", membership.SubscriptionNotFound(id)
	}
	return id, nil
}

// RenewSubscription implements PlanServiceServer.
func (s *PlanServer) RenewSubscription(ctx context.Context, req *memberv1.RenewSubscriptionRequest) (*memberv1.RenewSubscriptionResponse, error) {
	tenant, _, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	id, err := parseID("member_id", req.GetMemberId())
	if err != nil {
		return nil, err
	}
	sub, err := parseSubscriptionID(req.GetSubscriptionId())
	if err != nil {
		return nil, err
	}
	out, err := s.svc.Renew(ctx, tenant, id, sub, payment(req.GetPayment()))
	if err != nil {
		return nil, err
	}
	return &memberv1.RenewSubscriptionResponse{Subscription: subscriptionToProto(id, out, s.svc.Now())}, nil
}

// CancelSubscription implements PlanServiceServer.
func (s *PlanServer) CancelSubscription(ctx context.Context, req *memberv1.CancelSubscriptionRequest) (*memberv1.CancelSubscriptionResponse, error) {
	tenant, _, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	id, err := parseID("member_id", req.GetMemberId())
	if err != nil {
		return nil, err
	}
	sub, err := parseSubscriptionID(req.GetSubscriptionId())
	if err != nil {
		return nil, err
	}
	c, err := s.svc.Cancel(ctx, tenant, id, sub, req.GetReason())
	if err != nil {
		return nil, err
	}
	return &memberv1.CancelSubscriptionResponse{Subscription: subscriptionToProto(id, c.Subscription, s.svc.Now()),
		RefundMinor: c.Refund, Currency: c.Currency}, nil
}

// ListSubscriptions implements PlanServiceServer.
func (s *PlanServer) ListSubscriptions(ctx context.Context, req *memberv1.ListSubscriptionsRequest) (*memberv1.ListSubscriptionsResponse, error) {
	tenant, _, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	id, err := self(ctx, req.GetMemberId())
	if err != nil {
		return nil, err
	}
	subs, err := s.svc.Subscriptions(ctx, tenant, id)
	if err != nil {
		return nil, err
	}
	now := s.svc.Now()
	out := &memberv1.ListSubscriptionsResponse{Subscriptions: make([]*memberv1.Subscription, len(subs))}
	for i, sub := range subs {
		out.Subscriptions[i] = subscriptionToProto(id, sub, now)
	}
	return out, nil
}

// ListPlanReports implements PlanServiceServer.
func (s *PlanServer) ListPlanReports(ctx context.Context, _ *memberv1.ListPlanReportsRequest) (*memberv1.ListPlanReportsResponse, error) {
	tenant, _, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	rs, err := s.svc.PlanReports(ctx, tenant)
	if err != nil {
		return nil, err
	}
	out := &memberv1.ListPlanReportsResponse{}
	for _, r := range rs {
		st := r.Stats
		out.Reports = append(out.Reports, &memberv1.PlanReport{PlanId: r.PlanID, Currency: r.Currency, Active: st.Active,
			Trialing: st.Trialing, InGrace: st.InGrace, Purchases: st.Purchases, Renewals: st.Renewals,
			Cancellations: st.Cancellations, Lapses: st.Lapses, RevenueMinor: st.RevenueMinor, RefundedMinor: st.RefundedMinor})
	}
	return out, nil
}
