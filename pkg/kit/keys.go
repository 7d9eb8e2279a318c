package kit

import (
	"context"
	"fmt"

	"google.golang.org/grpc"

	"github.com/huiyuan-dev/huiyuan/pkg/auth"

	iamv1 "github.com/huiyuan-dev/huiyuan/gen/huiyuan/iam/v1"
)

// authenticateKeys sets how the process authenticates API keys: the configured override, the
// hosted iam service's key store, or the iam service over gRPC with a cache whose entries
// revocation events evict.
func (p *Process) authenticateKeys(ctx context.Context, b *auth.Bearer, hs []*hostedService,
	conn func(*hostedService, string, bool) grpc.ClientConnInterface) error {
	if p.cfg.Keys != nil {
		b.Keys = p.cfg.Keys
		return nil
	}
	for _, h := range hs {
		if h.running.Keys != nil {
			b.Keys = h.running.Keys
			return nil
		}
	}
	if len(hs) == 0 {
		return nil
	}
	remote := auth.NewRemoteKeys(iamv1.NewKeyAuthServiceClient(conn(hs[0], IAM, false)), p.cfg.KeyTTL, p.cfg.Clock)
	b.Keys = remote
	if nc := hs[0].nc; nc != nil {
		sub, err := subscribeRevocations(nc, remote, p.log)
		if err != nil {
			return err
		}
		p.onClose("key revocations", func(context.Context) error { return sub.Unsubscribe() })
	}
	return nil
}

// checkMemberTokens makes the process check member tokens, beyond their signature, with the
// service that revokes them: its own store when it runs here, otherwise over gRPC with a cache
// whose entries revocation events evict. Without such a service in the list, the signature and
// lifetime decide alone.
func (p *Process) checkMemberTokens(b *auth.Bearer, tokens *auth.MemberTokens, plan *plan, hs []*hostedService,
	conn func(*hostedService, string, bool) grpc.ClientConnInterface) error {
	owner, err := plan.tokenOwner()
	if err != nil || owner == nil || len(hs) == 0 {
		return err
	}
	for _, h := range hs {
		if h.d.Name == owner.d.Name {
			if h.running.TokenStatus == nil {
				return fmt.Errorf("%s: describes member token checks but started no TokenStatus", h.d.Name)
			}
			b.Tokens = auth.RevocableTokens{Tokens: tokens, Status: h.running.TokenStatus}
			return nil
		}
	}
	checks := owner.d.MemberTokens
	remote := auth.NewRemoteTokens(checks.Remote(conn(hs[0], owner.d.Name, false)), p.cfg.KeyTTL, p.cfg.Clock)
	b.Tokens = auth.RevocableTokens{Tokens: tokens, Status: remote}
	if nc := hs[0].nc; nc != nil {
		sub, err := subscribeTokenRevocations(nc, remote, checks.Revocation, p.log)
		if err != nil {
			return err
		}
		p.onClose("member token revocations", func(context.Context) error { return sub.Unsubscribe() })
	}
	return nil
}
