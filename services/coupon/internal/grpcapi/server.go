// Package grpcapi serves huiyuan.coupon.v1.CouponService over the coupon use cases: proto to
// domain mapping, ids and codes as the request names them, and what a member may reach.
// Authentication, the method policy, idempotency keys and error mapping come from the pkg/grpcx
// interceptors.
package grpcapi

import (
	"context"
	"errors"
	"strings"

	"github.com/huiyuan-dev/huiyuan/pkg/apperr"
	"github.com/huiyuan-dev/huiyuan/pkg/auth"
	"github.com/huiyuan-dev/huiyuan/pkg/ids"
	"github.com/huiyuan-dev/huiyuan/services/coupon/internal/coupon"

	couponv1 "github.com/huiyuan-dev/huiyuan/gen/huiyuan/coupon/v1"
	iamv1 "github.com/huiyuan-dev/huiyuan/gen/huiyuan/iam/v1"
)

// Server implements couponv1.CouponServiceServer. Every error it returns is an *apperr.Error
// (or wraps one) for grpcx to map, or an internal error that grpcx hides.
type Server struct {
	couponv1.UnimplementedCouponServiceServer
	svc    *coupon.Service
	domain string
}

var _ couponv1.CouponServiceServer = (*Server)(nil)

// New returns a Server over svc; domain is the ErrorInfo domain of per-member grant refusals.
// It fails on a nil svc.
func New(svc *coupon.Service, domain string) (*Server, error) {
	if svc == nil {
		return nil, errors.New("grpcapi.New: nil service")
	}
	return &Server{svc: svc, domain: domain}, nil
}

// caller returns the tenant of the authenticated caller and, for a member token, the member.
func caller(ctx context.Context) (tenant, member string, role iamv1.Role, err error) {
	p, ok := auth.FromContext(ctx)
	if !ok || p.Tenant == "" {
		return "", "", 0, apperr.E(apperr.Unauthenticated, auth.ReasonUnauthenticated, "credentials required")
	}
	if p.Role == iamv1.Role_MEMBER {
		member = p.MemberID
	}
	return p.Tenant, member, p.Role, nil
}

// templateID reads a template (or batch, or exchange) id: empty or malformed is Invalid on
// field; a well-formed id that cannot exist is notFound's error.
func parseID(field, id string, notFound func(string) error) (string, error) {
	if id == "" {
		return "", apperr.InvalidField(field, "is required")
	}
	if len(id) > 64 || strings.ContainsAny(id, "/\x00") {
		return "", apperr.InvalidField(field, "is not an id")
	}
	if !ids.Valid(id) {
		return "", notFound(id)
	}
	return strings.ToLower(id), nil
}

func templateID(field, id string) (string, error) { return parseID(field, id, coupon.TemplateNotFound) }

// memberID reads the member a request names; a member token may only name itself. UUIDs are
// lower-cased, as the member service writes them.
func memberID(ctx context.Context, field, id string) (string, error) {
	if id == "" {
		return "", apperr.InvalidField(field, "is required")
	}
	if !coupon.ValidToken(id) {
		return "", apperr.InvalidField(field, "must be a member id")
	}
	id = ids.Canonical(id)
	if err := auth.RequireSelf(ctx, id); err != nil {
		return "", err
	}
	return id, nil
}

func code(field, in string) (string, error) { return coupon.NormalizeCode(field, in) }

// byCode reads the caller (its tenant, and the member of a member token) and the coupon code a
// request names.
func byCode(ctx context.Context, raw string) (tenant, actor, cd string, err error) {
	if tenant, actor, _, err = caller(ctx); err != nil {
		return "", "", "", err
	}
	cd, err = code("code", raw)
	return tenant, actor, cd, err
}

// byTemplate reads the caller's tenant and the template id a request names in field.
func byTemplate(ctx context.Context, field, raw string) (tenant, id string, err error) {
	if tenant, _, _, err = caller(ctx); err != nil {
		return "", "", err
	}
	id, err = templateID(field, raw)
	return tenant, id, err
}
