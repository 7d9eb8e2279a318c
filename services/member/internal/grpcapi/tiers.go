package grpcapi

import (
	"context"
	"errors"

	"github.com/huiyuan-dev/huiyuan/pkg/apperr"
	"github.com/huiyuan-dev/huiyuan/pkg/auth"
	"github.com/huiyuan-dev/huiyuan/services/member/internal/membership"

	memberv1 "github.com/huiyuan-dev/huiyuan/gen/huiyuan/member/v1"
)

// TierServer implements memberv1.TierServiceServer.
type TierServer struct {
	memberv1.UnimplementedTierServiceServer
	svc *membership.Service
}

var _ memberv1.TierServiceServer = (*TierServer)(nil)

// NewTierServer returns a TierServer over svc. It fails on a nil svc.
func NewTierServer(svc *membership.Service) (*TierServer, error) {
	if svc == nil {
		return nil, errors.New("grpcapi.NewTierServer: nil service")
	}
	return &TierServer{svc: svc}, nil
}

// parseDefID reads the id of a tier, benefit or plan that a request names in field: empty is
// Invalid; one that no definition can have is notFound, like any absent one.
func parseDefID(field, id string, notFound func(string) error) (string, error) {
	if id == "" {
		return "", apperr.InvalidField(field, "is required")
	}
	if !membership.ValidID(id) {
		return "", notFound(id)
	}
	return id, nil
}

// self reads the member id of a request and checks that a member principal asks about itself.
func self(ctx context.Context, id string) (string, error) {
	id, err := parseID("member_id", id)
	if err != nil {
		return "", err
	}
	if err := auth.RequireSelf(ctx, id); err != nil {
		return "", err
	}
	return id, nil
}

// CreateTier implements TierServiceServer.
func (s *TierServer) CreateTier(ctx context.Context, req *memberv1.CreateTierRequest) (*memberv1.CreateTierResponse, error) {
	tenant, _, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	if req.GetTier() == nil {
		return nil, apperr.InvalidField("tier", "is required")
	}
	t, benefits := tierFromProto(req.GetTier())
	v, err := s.svc.CreateTier(ctx, tenant, t, benefits)
	if err != nil {
		return nil, err
	}
	return &memberv1.CreateTierResponse{Tier: tierToProto(v)}, nil
}

// GetTier implements TierServiceServer.
func (s *TierServer) GetTier(ctx context.Context, req *memberv1.GetTierRequest) (*memberv1.GetTierResponse, error) {
	tenant, _, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	id, err := parseDefID("tier_id", req.GetTierId(), membership.TierNotFound)
	if err != nil {
		return nil, err
	}
	v, err := s.svc.Tier(ctx, tenant, id)
	if err != nil {
		return nil, err
	}
	return &memberv1.GetTierResponse{Tier: tierToProto(v)}, nil
}

// ListTiers implements TierServiceServer.
func (s *TierServer) ListTiers(ctx context.Context, _ *memberv1.ListTiersRequest) (*memberv1.ListTiersResponse, error) {
	tenant, _, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	vs, err := s.svc.Tiers(ctx, tenant)
	if err != nil {
		return nil, err
	}
	out := &memberv1.ListTiersResponse{Tiers: make([]*memberv1.Tier, len(vs))}
	for i, v := range vs {
		out.Tiers[i] = tierToProto(v)
	}
	return out, nil
}

// UpdateTier implements TierServiceServer.
func (s *TierServer) UpdateTier(ctx context.Context, req *memberv1.UpdateTierRequest) (*memberv1.UpdateTierResponse, error) {
	tenant, _, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	if req.GetTier() == nil {
		return nil, apperr.InvalidField("tier", "is required")
	}
	id, err := parseDefID("tier.id", req.GetTier().GetId(), membership.TierNotFound)
	if err != nil {
		return nil, err
	}
	patch, benefits := tierFromProto(req.GetTier())
	mask := updateMask(req.GetTier(), req.GetUpdateMask().GetPaths(), "member_count", "create_time", "update_time")
	v, err := s.svc.UpdateTier(ctx, tenant, id, patch, benefits, mask)
	if err != nil {
		return nil, err
	}
	return &memberv1.UpdateTierResponse{Tier: tierToProto(v)}, nil
}

// DeleteTier implements TierServiceServer.
func (s *TierServer) DeleteTier(ctx context.Context, req *memberv1.DeleteTierRequest) (*memberv1.DeleteTierResponse, error) {
	tenant, _, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	id, err := parseDefID("tier_id", req.GetTierId(), membership.TierNotFound)
	if err != nil {
		return nil, err
	}
	if err := s.svc.DeleteTier(ctx, tenant, id); err != nil {
		return nil, err
	}
	return &memberv1.DeleteTierResponse{}, nil
}

// GetTierSettings implements TierServiceServer.
func (s *TierServer) GetTierSettings(ctx context.Context, _ *memberv1.GetTierSettingsRequest) (*memberv1.GetTierSettingsResponse, error) {
	tenant, _, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	st, err := s.svc.Settings(ctx, tenant)
	if err != nil {
		return nil, err
	}
	return &memberv1.GetTierSettingsResponse{Settings: settingsToProto(st)}, nil
}

// UpdateTierSettings implements TierServiceServer.
func (s *TierServer) UpdateTierSettings(ctx context.Context, req *memberv1.UpdateTierSettingsRequest) (*memberv1.UpdateTierSettingsResponse, error) {
	tenant, _, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	if req.GetSettings() == nil {
		return nil, apperr.InvalidField("settings", "is required")
	}
	mask := updateMask(req.GetSettings(), req.GetUpdateMask().GetPaths(), "update_time")
	st, err := s.svc.UpdateSettings(ctx, tenant, settingsFromProto(req.GetSettings()), mask)
	if err != nil {
		return nil, err
	}
	return &memberv1.UpdateTierSettingsResponse{Settings: settingsToProto(st)}, nil
}

// GetMemberTier implements TierServiceServer.
func (s *TierServer) GetMemberTier(ctx context.Context, req *memberv1.GetMemberTierRequest) (*memberv1.GetMemberTierResponse, error) {
	tenant, _, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	id, err := self(ctx, req.GetMemberId())
	if err != nil {
		return nil, err
	}
	st, err := s.svc.Standing(ctx, tenant, id)
	if err != nil {
		return nil, err
	}
	return &memberv1.GetMemberTierResponse{MemberTier: standingToProto(st)}, nil
}

// OverrideMemberTier implements TierServiceServer.
func (s *TierServer) OverrideMemberTier(ctx context.Context, req *memberv1.OverrideMemberTierRequest) (*memberv1.OverrideMemberTierResponse, error) {
	tenant, _, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	id, err := parseID("member_id", req.GetMemberId())
	if err != nil {
		return nil, err
	}
	expire, err := timeOf(req.GetExpireTime(), "expire_time")
	if err != nil {
		return nil, err
	}
	p, _ := auth.FromContext(ctx)
	st, err := s.svc.Override(ctx, tenant, id, req.GetTierId(), req.GetReason(), expire, p.KeyID)
	if err != nil {
		return nil, err
	}
	return &memberv1.OverrideMemberTierResponse{MemberTier: standingToProto(st)}, nil
}

// ClearMemberTierOverride implements TierServiceServer.
func (s *TierServer) ClearMemberTierOverride(ctx context.Context, req *memberv1.ClearMemberTierOverrideRequest) (*memberv1.ClearMemberTierOverrideResponse, error) {
	tenant, _, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	id, err := parseID("member_id", req.GetMemberId())
	if err != nil {
		return nil, err
	}
	st, err := s.svc.ClearOverride(ctx, tenant, id)
	if err != nil {
		return nil, err
	}
	return &memberv1.ClearMemberTierOverrideResponse{MemberTier: standingToProto(st)}, nil
}

// EvaluateMemberTier implements TierServiceServer.
func (s *TierServer) EvaluateMemberTier(ctx context.Context, req *memberv1.EvaluateMemberTierRequest) (*memberv1.EvaluateMemberTierResponse, error) {
	tenant, _, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	id, err := parseID("member_id", req.GetMemberId())
	if err != nil {
		return nil, err
	}
	st, err := s.svc.Evaluate(ctx, tenant, id)
	if err != nil {
		return nil, err
	}
	return &memberv1.EvaluateMemberTierResponse{MemberTier: standingToProto(st)}, nil
}
