// Package grpcapi serves huiyuan.loyalty.v1.LoyaltyService and LoyaltyProgramService over the
// loyalty use cases: proto to domain mapping (through loyaltypb), the request's field names, and
// a member's reach to its own points. The use cases validate; authentication, the method policy,
// idempotency keys and error mapping come from the pkg/grpcx interceptors.
package grpcapi

import (
	"context"
	"errors"

	"github.com/huiyuan-dev/huiyuan/pkg/apperr"
	"github.com/huiyuan-dev/huiyuan/pkg/auth"
	"github.com/huiyuan-dev/huiyuan/pkg/ids"
	"github.com/huiyuan-dev/huiyuan/services/loyalty/internal/loyalty"

	loyaltyv1 "github.com/huiyuan-dev/huiyuan/gen/huiyuan/loyalty/v1"
)

// Server implements loyaltyv1.LoyaltyServiceServer. Every error it returns is an *apperr.Error
// (or wraps one) for grpcx to map, or an internal error that grpcx hides.
type Server struct {
	loyaltyv1.UnimplementedLoyaltyServiceServer
	svc    *loyalty.Service
	domain string // of the ErrorInfo in a batch's per-order errors
}

var _ loyaltyv1.LoyaltyServiceServer = (*Server)(nil)

// New returns a Server over svc; domain is the service's ErrorInfo domain, which the errors of
// orders in a batch carry as every other error does. It fails on a nil svc.
func New(svc *loyalty.Service, domain string) (*Server, error) {
	if svc == nil {
		return nil, errors.New("grpcapi.New: nil service")
	}
	return &Server{svc: svc, domain: domain}, nil
}

// caller returns the tenant and the actor (API key id or member id) of the authenticated caller.
func caller(ctx context.Context) (tenant, actor string, err error) {
	p, ok := auth.FromContext(ctx)
	if !ok || p.Tenant == "" {
		return "", "", apperr.E(apperr.Unauthenticated, auth.ReasonUnauthenticated, "credentials required")
	}
	actor = p.KeyID
	if actor == "" {
		actor = p.MemberID
	}
	return p.Tenant, actor, nil
}

// onMember returns the caller's tenant, member's id in its one spelling (ids.Canonical) and
// the caller's actor when it may act on member: a MEMBER principal only on itself.
func onMember(ctx context.Context, member string) (tenant, id, actor string, err error) {
	id = ids.Canonical(member)
	if tenant, actor, err = caller(ctx); err != nil {
		return "", "", "", err
	}
	if err := auth.RequireSelf(ctx, id); err != nil {
		return "", "", "", err
	}
	return tenant, id, actor, nil
}
