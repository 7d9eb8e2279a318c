// Package auth says who is calling and what they may do: principals, API keys (stored hashed),
// member JWTs, the per-method Policy and the gRPC interceptor that enforces it.
//
// The tenant of a call always comes from its credentials (DESIGN.md): handlers read it with
// TenantOf, never from a request field.
package auth

import (
	"context"

	"github.com/huiyuan-dev/huiyuan/pkg/apperr"

	iamv1 "github.com/huiyuan-dev/huiyuan/gen/huiyuan/iam/v1"
)

// DefaultTenant is the tenant of the installation's operator. Its admins may create keys for
// other tenants (which creates those tenants).
const DefaultTenant = "default"

// Stable ErrorInfo reasons of this package.
const (
	ReasonUnauthenticated  = "UNAUTHENTICATED"   // no usable credentials
	ReasonInvalidAPIKey    = "INVALID_API_KEY"   // unknown or revoked key
	ReasonInvalidToken     = "INVALID_TOKEN"     // a member JWT that does not verify
	ReasonTokenExpired     = "TOKEN_EXPIRED"     // a member JWT past its expiry
	ReasonTokenRevoked     = "TOKEN_REVOKED"     // a member JWT revoked, or its member closed or erased
	ReasonPermissionDenied = "PERMISSION_DENIED" // authenticated, but not allowed
)

// Principal is an authenticated caller. KeyID is set for API keys, MemberID and TokenID (the
// token's own id) for member JWTs. RateLimit is the key's own limit (DefaultRate: the process
// default).
type Principal struct {
	Tenant    string
	Role      iamv1.Role
	KeyID     string
	MemberID  string
	TokenID   string
	RateLimit RateLimit
}

// Authenticator turns a bearer credential into a Principal.
//
// Authenticate returns an *apperr.Error with code Unauthenticated for a credential it does not
// accept; any other error is an infrastructure failure (the caller maps it to Internal).
type Authenticator interface {
	Authenticate(ctx context.Context, bearer string) (Principal, error)
}

type principalKey struct{}

// WithPrincipal returns ctx carrying p.
func WithPrincipal(ctx context.Context, p Principal) context.Context {
	return context.WithValue(ctx, principalKey{}, &p)
}

// withoutPrincipal hides any principal ctx carries, for calls that run without credentials.
func withoutPrincipal(ctx context.Context) context.Context {
	if _, ok := FromContext(ctx); !ok {
		return ctx
	}
	return context.WithValue(ctx, principalKey{}, (*Principal)(nil))
}

// FromContext returns the principal the auth interceptor put in ctx, and whether there is one.
func FromContext(ctx context.Context) (Principal, bool) {
	p, _ := ctx.Value(principalKey{}).(*Principal)
	if p == nil {
		return Principal{}, false
	}
	return *p, true
}

// TenantOf returns the tenant of the principal in ctx, or "" when there is none.
func TenantOf(ctx context.Context) string {
	p, _ := ctx.Value(principalKey{}).(*Principal)
	if p == nil {
		return ""
	}
	return p.Tenant
}

// RequireSelf checks that the caller may act on member memberID: a MEMBER principal only on its
// own id; other roles are bounded by the Policy alone.
//
// Errors: Unauthenticated (reason UNAUTHENTICATED) without a principal; PermissionDenied (reason
// PERMISSION_DENIED) for a member touching another member.
func RequireSelf(ctx context.Context, memberID string) error {
	p, ok := FromContext(ctx)
	if !ok {
		return apperr.E(apperr.Unauthenticated, ReasonUnauthenticated, "credentials required")
	}
	if p.Role == iamv1.Role_MEMBER && p.MemberID != memberID {
		return apperr.E(apperr.PermissionDenied, ReasonPermissionDenied, "a member may only access its own data")
	}
	return nil
}
