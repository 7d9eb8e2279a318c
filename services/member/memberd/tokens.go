package memberd

import (
	"context"
	"fmt"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/protobuf/proto"

	"github.com/huiyuan-dev/huiyuan/pkg/auth"
	"github.com/huiyuan-dev/huiyuan/services/member/internal/member"

	memberv1 "github.com/huiyuan-dev/huiyuan/gen/huiyuan/member/v1"
)

// signer signs member tokens for the member use cases.
type signer struct{ tokens *auth.MemberTokens }

// SignToken implements member.TokenSigner.
func (s signer) SignToken(tenant, id string, ttl time.Duration, generation uint64) (member.IssuedToken, error) {
	tok, claims, err := s.tokens.IssueToken(tenant, id, ttl, generation)
	if err != nil {
		return member.IssuedToken{}, err
	}
	return member.IssuedToken{Token: tok, ID: claims.ID, ExpireTime: claims.ExpireTime}, nil
}

// localTokens checks tokens against the service's own store, for the process that hosts it.
type localTokens struct{ svc *member.Service }

// CheckToken implements auth.TokenStatus.
func (l localTokens) CheckToken(ctx context.Context, t auth.MemberToken) error {
	revoked, err := l.svc.TokenRevoked(ctx, t.Tenant, t.MemberID, t.ID, t.Generation)
	switch {
	case err != nil:
		return err
	case revoked:
		return auth.ErrTokenRevoked()
	}
	return nil
}

// TokenStatus checks member tokens against the service's store: what kit.Run uses in the
// process that hosts the service.
func (s *Service) TokenStatus() auth.TokenStatus { return localTokens{s.members} }

// remoteTokens asks the member service in another process.
type remoteTokens struct {
	client memberv1.MemberTokenServiceClient
}

// RemoteTokenStatus checks member tokens with the member service over cc, a connection that
// authenticates as the calling service: what kit.Run uses in the processes that do not host it.
func RemoteTokenStatus(cc grpc.ClientConnInterface) auth.TokenStatus {
	return remoteTokens{memberv1.NewMemberTokenServiceClient(cc)}
}

// CheckToken implements auth.TokenStatus.
func (r remoteTokens) CheckToken(ctx context.Context, t auth.MemberToken) error {
	resp, err := r.client.CheckMemberToken(auth.ServiceContext(ctx, t.Tenant), &memberv1.CheckMemberTokenRequest{
		MemberId: t.MemberID, TokenId: t.ID, Generation: t.Generation})
	if err != nil {
		return fmt.Errorf("check member token with the member service: %w", err)
	}
	if resp.GetRevoked() {
		return auth.ErrTokenRevoked()
	}
	return nil
}

// DecodeTokenRevocation reads a member_tokens_revoked event of tenant.
func DecodeTokenRevocation(tenant string, payload []byte) (auth.TokenRevocation, error) {
	var ev memberv1.MemberTokensRevokedEvent
	if err := proto.Unmarshal(payload, &ev); err != nil {
		return auth.TokenRevocation{}, fmt.Errorf("decode member_tokens_revoked: %w", err)
	}
	return auth.TokenRevocation{Tenant: tenant, MemberID: ev.GetMemberId(), TokenID: ev.GetTokenId()}, nil
}
