package grpcapi

import (
	"context"

	"github.com/huiyuan-dev/huiyuan/pkg/apperr"
	"github.com/huiyuan-dev/huiyuan/services/loyalty/internal/policy"

	loyaltyv1 "github.com/huiyuan-dev/huiyuan/gen/huiyuan/loyalty/v1"
)

// GetLoyaltyPolicy implements LoyaltyProgramServiceServer: the caller's tenant's policy, every
// field filled (the defaults for a tenant that never set one). Errors: the store's.
func (s *ProgramServer) GetLoyaltyPolicy(ctx context.Context, _ *loyaltyv1.GetLoyaltyPolicyRequest) (*loyaltyv1.GetLoyaltyPolicyResponse, error) {
	tenant, _, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	p, err := s.store.GetPolicy(ctx, tenant)
	if err != nil {
		return nil, err
	}
	return &loyaltyv1.GetLoyaltyPolicyResponse{Policy: p}, nil
}

// UpdateLoyaltyPolicy implements LoyaltyProgramServiceServer: it sets the fields update_mask
// names (proto or JSON names; an empty mask names the fields the request sets) to the
// request's values and answers with the whole new policy. Errors: Invalid on "update_mask"
// (an unknown field), "policy" (nothing to change) or "policy.<field>"; the store's.
func (s *ProgramServer) UpdateLoyaltyPolicy(ctx context.Context, req *loyaltyv1.UpdateLoyaltyPolicyRequest) (*loyaltyv1.UpdateLoyaltyPolicyResponse, error) {
	tenant, _, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	fields, err := policy.Fields(req.GetPolicy(), req.GetUpdateMask())
	if err != nil {
		return nil, err
	}
	if len(fields) == 0 {
		return nil, apperr.InvalidField("policy", "must set a field to change")
	}
	p, err := s.store.UpdatePolicy(ctx, tenant, func(cur *loyaltyv1.LoyaltyPolicy) (*loyaltyv1.LoyaltyPolicy, error) {
		next := policy.Apply(cur, req.GetPolicy(), fields)
		return next, policy.Validate(next)
	})
	if err != nil {
		return nil, err
	}
	return &loyaltyv1.UpdateLoyaltyPolicyResponse{Policy: p}, nil
}
