// Package grpcapi serves huiyuan.member.v1.MemberService over the member use cases: proto to
// domain mapping, resource names, and the per-role view of members. Authentication, the
// method policy, idempotency keys and error mapping come from the pkg/grpcx interceptors.
package grpcapi

import (
	"context"
	"errors"
	"strings"

	"github.com/huiyuan-dev/huiyuan/pkg/apperr"
	"github.com/huiyuan-dev/huiyuan/pkg/auth"
	"github.com/huiyuan-dev/huiyuan/services/member/internal/member"
	"github.com/huiyuan-dev/huiyuan/services/member/internal/membership"

	iamv1 "github.com/huiyuan-dev/huiyuan/gen/huiyuan/iam/v1"
	memberv1 "github.com/huiyuan-dev/huiyuan/gen/huiyuan/member/v1"
)

// Server implements memberv1.MemberServiceServer. Every error it returns is an *apperr.Error
// (or wraps one) for grpcx to map, or an internal error that grpcx hides.
type Server struct {
	memberv1.UnimplementedMemberServiceServer
	svc    *member.Service
	values *membership.Service // the value figures shown on a member
}

var _ memberv1.MemberServiceServer = (*Server)(nil)

// New returns a Server over svc, showing members' value from values. It fails on a nil
// service.
func New(svc *member.Service, values *membership.Service) (*Server, error) {
	if svc == nil || values == nil {
		return nil, errors.New("grpcapi.New: nil service")
	}
	return &Server{svc: svc, values: values}, nil
}

// withValue returns m's API resource with its value figures.
func (s *Server) withValue(ctx context.Context, tenant string, m *member.Member) (*memberv1.Member, error) {
	p := toProto(m)
	v, err := s.values.Value(ctx, tenant, m.ID)
	if err != nil {
		return nil, err
	}
	p.Value = valueToProto(v)
	return p, nil
}

// caller returns the tenant and role of the authenticated caller.
func caller(ctx context.Context) (string, iamv1.Role, error) {
	p, ok := auth.FromContext(ctx)
	if !ok || p.Tenant == "" {
		return "", 0, apperr.E(apperr.Unauthenticated, auth.ReasonUnauthenticated, "credentials required")
	}
	return p.Tenant, p.Role, nil
}

// viewFor returns what a role may see of a member: analysts never see personal fields, and
// neither do other services (loyalty asks whether a member exists and its status; nothing of
// theirs needs a name or a phone, so none is decrypted for them).
func viewFor(role iamv1.Role) member.View {
	if role == iamv1.Role_ANALYST || role == auth.Internal {
		return member.ViewRedacted
	}
	return member.ViewFull
}

// CreateMember implements MemberServiceServer.
func (s *Server) CreateMember(ctx context.Context, req *memberv1.CreateMemberRequest) (*memberv1.CreateMemberResponse, error) {
	tenant, _, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	if req.GetMember() == nil {
		return nil, apperr.InvalidField("member", "is required")
	}
	in := fromProto(req.GetMember())
	in.Consents = in.Consents[:0:0]
	for _, c := range req.GetConsents() {
		in.Consents = append(in.Consents, member.Consent{Purpose: member.ConsentPurpose(c.GetPurpose()), Granted: c.GetGranted()})
	}
	in.ReferralCode = req.GetReferralCode()
	m, err := s.svc.Create(ctx, tenant, in)
	if err != nil {
		return nil, err
	}
	return &memberv1.CreateMemberResponse{Member: toProto(m)}, nil
}

// GetMember implements MemberServiceServer.
func (s *Server) GetMember(ctx context.Context, req *memberv1.GetMemberRequest) (*memberv1.GetMemberResponse, error) {
	tenant, role, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	id, err := parseID("member_id", req.GetMemberId())
	if err != nil {
		return nil, err
	}
	if err := auth.RequireSelf(ctx, id); err != nil {
		return nil, err
	}
	m, err := s.svc.Get(ctx, tenant, id, viewFor(role))
	if err != nil {
		return nil, err
	}
	p, err := s.withValue(ctx, tenant, m)
	if err != nil {
		return nil, err
	}
	return &memberv1.GetMemberResponse{Member: p}, nil
}

// LookupMember implements MemberServiceServer.
func (s *Server) LookupMember(ctx context.Context, req *memberv1.LookupMemberRequest) (*memberv1.LookupMemberResponse, error) {
	tenant, role, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	m, err := s.svc.Lookup(ctx, tenant, member.LookupQuery{
		Phone: req.GetPhone(), Email: req.GetEmail(),
		IdentifierType: req.GetIdentifierType(), IdentifierValue: req.GetIdentifierValue(),
	}, viewFor(role))
	if err != nil {
		return nil, err
	}
	p, err := s.withValue(ctx, tenant, m)
	if err != nil {
		return nil, err
	}
	return &memberv1.LookupMemberResponse{Member: p}, nil
}

// ListMembers implements MemberServiceServer.
func (s *Server) ListMembers(ctx context.Context, req *memberv1.ListMembersRequest) (*memberv1.ListMembersResponse, error) {
	tenant, role, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	ms, next, err := s.svc.List(ctx, tenant, member.ListRequest{
		PageSize: int(req.GetPageSize()), PageToken: req.GetPageToken(), Filter: req.GetFilter(), View: viewFor(role),
	})
	if err != nil {
		return nil, err
	}
	resp := &memberv1.ListMembersResponse{Members: make([]*memberv1.Member, len(ms)), NextPageToken: next}
	for i, m := range ms {
		resp.Members[i] = toProto(m)
	}
	return resp, nil
}

// UpdateMember implements MemberServiceServer.
func (s *Server) UpdateMember(ctx context.Context, req *memberv1.UpdateMemberRequest) (*memberv1.UpdateMemberResponse, error) {
	tenant, role, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	if req.GetMember() == nil {
		return nil, apperr.InvalidField("member", "is required")
	}
	id, err := parseID("member.id", req.GetMember().GetId())
	if err != nil {
		return nil, err
	}
	if err := auth.RequireSelf(ctx, id); err != nil {
		return nil, err
	}
	update := s.svc.Update
	if role == iamv1.Role_MEMBER { // a member's own token changes only what the member owns
		update = s.svc.UpdateSelf
	}
	m, err := update(ctx, tenant, id, fromProto(req.GetMember()), protoPaths(req.GetUpdateMask().GetPaths()))
	if err != nil {
		return nil, err
	}
	return &memberv1.UpdateMemberResponse{Member: toProto(m)}, nil
}

// RequestContactChange implements MemberServiceServer.
func (s *Server) RequestContactChange(ctx context.Context, req *memberv1.RequestContactChangeRequest) (*memberv1.RequestContactChangeResponse, error) {
	tenant, id, err := selfTarget(ctx, req.GetMemberId())
	if err != nil {
		return nil, err
	}
	v, err := s.svc.RequestContactChange(ctx, tenant, id, member.ContactChange{Phone: req.GetPhone(), Email: req.GetEmail()})
	if err != nil {
		return nil, err
	}
	return &memberv1.RequestContactChangeResponse{Verification: verificationToProto(v)}, nil
}

// ConfirmContactChange implements MemberServiceServer.
func (s *Server) ConfirmContactChange(ctx context.Context, req *memberv1.ConfirmContactChangeRequest) (*memberv1.ConfirmContactChangeResponse, error) {
	tenant, id, err := selfTarget(ctx, req.GetMemberId())
	if err != nil {
		return nil, err
	}
	m, err := s.svc.ConfirmContactChange(ctx, tenant, id, strings.ToLower(req.GetVerificationId()), req.GetCode())
	if err != nil {
		return nil, err
	}
	return &memberv1.ConfirmContactChangeResponse{Member: toProto(m)}, nil
}

// ChangeMemberStatus implements MemberServiceServer.
func (s *Server) ChangeMemberStatus(ctx context.Context, req *memberv1.ChangeMemberStatusRequest) (*memberv1.ChangeMemberStatusResponse, error) {
	tenant, _, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	id, err := parseID("member_id", req.GetMemberId())
	if err != nil {
		return nil, err
	}
	m, err := s.svc.ChangeStatus(ctx, tenant, id, member.Status(req.GetStatus()), req.GetReason())
	if err != nil {
		return nil, err
	}
	return &memberv1.ChangeMemberStatusResponse{Member: toProto(m)}, nil
}

// AddMemberIdentifier implements MemberServiceServer.
func (s *Server) AddMemberIdentifier(ctx context.Context, req *memberv1.AddMemberIdentifierRequest) (*memberv1.AddMemberIdentifierResponse, error) {
	tenant, _, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	id, err := parseID("member_id", req.GetMemberId())
	if err != nil {
		return nil, err
	}
	m, err := s.svc.AddIdentifier(ctx, tenant, id, member.Identifier{Type: req.GetIdentifier().GetType(), Value: req.GetIdentifier().GetValue()})
	if err != nil {
		return nil, err
	}
	return &memberv1.AddMemberIdentifierResponse{Member: toProto(m)}, nil
}

// RemoveMemberIdentifier implements MemberServiceServer.
func (s *Server) RemoveMemberIdentifier(ctx context.Context, req *memberv1.RemoveMemberIdentifierRequest) (*memberv1.RemoveMemberIdentifierResponse, error) {
	tenant, _, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	id, err := parseID("member_id", req.GetMemberId())
	if err != nil {
		return nil, err
	}
	m, err := s.svc.RemoveIdentifier(ctx, tenant, id, member.Identifier{Type: req.GetIdentifier().GetType(), Value: req.GetIdentifier().GetValue()})
	if err != nil {
		return nil, err
	}
	return &memberv1.RemoveMemberIdentifierResponse{Member: toProto(m)}, nil
}

// EraseMember implements MemberServiceServer.
func (s *Server) EraseMember(ctx context.Context, req *memberv1.EraseMemberRequest) (*memberv1.EraseMemberResponse, error) {
	tenant, _, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	id, err := parseID("member_id", req.GetMemberId())
	if err != nil {
		return nil, err
	}
	if err := auth.RequireSelf(ctx, id); err != nil {
		return nil, err
	}
	m, err := s.svc.Erase(ctx, tenant, id)
	if err != nil {
		return nil, err
	}
	return &memberv1.EraseMemberResponse{Member: toProto(m)}, nil
}
