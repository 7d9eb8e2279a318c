package grpcapi

import (
	"context"
	"errors"
	"strings"

	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/huiyuan-dev/huiyuan/pkg/apperr"
	"github.com/huiyuan-dev/huiyuan/pkg/auth"
	"github.com/huiyuan-dev/huiyuan/services/member/internal/member"

	memberv1 "github.com/huiyuan-dev/huiyuan/gen/huiyuan/member/v1"
)

// TokenServer implements memberv1.MemberTokenServiceServer.
type TokenServer struct {
	memberv1.UnimplementedMemberTokenServiceServer
	svc *member.Service
}

var _ memberv1.MemberTokenServiceServer = (*TokenServer)(nil)

// NewTokenServer returns a TokenServer over svc. It fails on a nil service.
func NewTokenServer(svc *member.Service) (*TokenServer, error) {
	if svc == nil {
		return nil, errors.New("grpcapi.NewTokenServer: nil service")
	}
	return &TokenServer{svc: svc}, nil
}

// IssueMemberToken implements MemberTokenServiceServer.
func (s *TokenServer) IssueMemberToken(ctx context.Context, req *memberv1.IssueMemberTokenRequest) (*memberv1.IssueMemberTokenResponse, error) {
	tenant, _, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	id, err := parseID("member_id", req.GetMemberId())
	if err != nil {
		return nil, err
	}
	ttl := req.GetTtl()
	if ttl != nil && ttl.CheckValid() != nil {
		return nil, apperr.InvalidField("ttl", "is not a valid duration")
	}
	tok, err := s.svc.IssueToken(ctx, tenant, id, ttl.AsDuration())
	if err != nil {
		return nil, err
	}
	return &memberv1.IssueMemberTokenResponse{Token: tok.Token, TokenId: tok.ID, ExpireTime: timestamppb.New(tok.ExpireTime)}, nil
}

// RevokeMemberToken implements MemberTokenServiceServer.
func (s *TokenServer) RevokeMemberToken(ctx context.Context, req *memberv1.RevokeMemberTokenRequest) (*memberv1.RevokeMemberTokenResponse, error) {
	tenant, id, err := selfTarget(ctx, req.GetMemberId())
	if err != nil {
		return nil, err
	}
	rev, err := s.svc.RevokeToken(ctx, tenant, id, strings.ToLower(req.GetTokenId()))
	if err != nil {
		return nil, err
	}
	return &memberv1.RevokeMemberTokenResponse{Revocation: revocationToProto(rev)}, nil
}

// RevokeMemberTokens implements MemberTokenServiceServer.
func (s *TokenServer) RevokeMemberTokens(ctx context.Context, req *memberv1.RevokeMemberTokensRequest) (*memberv1.RevokeMemberTokensResponse, error) {
	tenant, id, err := selfTarget(ctx, req.GetMemberId())
	if err != nil {
		return nil, err
	}
	rev, err := s.svc.RevokeTokens(ctx, tenant, id)
	if err != nil {
		return nil, err
	}
	return &memberv1.RevokeMemberTokensResponse{Revocation: revocationToProto(rev)}, nil
}

// CheckMemberToken implements MemberTokenServiceServer. The policy lets only other Huiyuan
// services call it; the tenant is the one their service token names.
func (s *TokenServer) CheckMemberToken(ctx context.Context, req *memberv1.CheckMemberTokenRequest) (*memberv1.CheckMemberTokenResponse, error) {
	tenant, _, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	if req.GetMemberId() == "" || req.GetTokenId() == "" {
		return nil, apperr.InvalidField("member_id", "a token names its member and its id")
	}
	revoked, err := s.svc.TokenRevoked(ctx, tenant, req.GetMemberId(), req.GetTokenId(), req.GetGeneration())
	if err != nil {
		return nil, err
	}
	return &memberv1.CheckMemberTokenResponse{Revoked: revoked}, nil
}

// selfTarget returns the caller's tenant and the member id the request names, which a member
// may only name as itself.
func selfTarget(ctx context.Context, memberID string) (string, string, error) {
	tenant, _, err := caller(ctx)
	if err != nil {
		return "", "", err
	}
	id, err := parseID("member_id", memberID)
	if err != nil {
		return "", "", err
	}
	if err := auth.RequireSelf(ctx, id); err != nil {
		return "", "", err
	}
	return tenant, id, nil
}

func revocationToProto(r member.TokensRevoked) *memberv1.MemberTokenRevocation {
	return &memberv1.MemberTokenRevocation{MemberId: r.MemberID, TokenId: r.TokenID, RevokeTime: ts(r.At)}
}
