package auth

import (
	"context"

	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"

	"github.com/huiyuan-dev/huiyuan/pkg/apperr"
)

// MetadataKey is the gRPC metadata key of the credential. grpc-gateway forwards the HTTP
// Authorization header under this key.
const MetadataKey = "authorization"

// UnaryServerInterceptor authenticates every call to a method that policy does not mark Public
// and checks the principal's role against policy; the handler then finds the principal with
// FromContext. A nil a accepts no credentials.
//
// Errors (as *apperr.Error, for grpcx to map): Unauthenticated with reason UNAUTHENTICATED for
// missing or malformed credentials, or the Authenticator's reason (INVALID_API_KEY, ...) for
// rejected ones; PermissionDenied with reason PERMISSION_DENIED when the role is not allowed,
// including every method policy does not list.
func UnaryServerInterceptor(a Authenticator, policy Policy) grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		ctx, err := Authorize(ctx, a, policy, info.FullMethod)
		if err != nil {
			return nil, err
		}
		return handler(ctx, req)
	}
}

// StreamServerInterceptor is UnaryServerInterceptor for streaming methods.
func StreamServerInterceptor(a Authenticator, policy Policy) grpc.StreamServerInterceptor {
	return func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
		ctx, err := Authorize(ss.Context(), a, policy, info.FullMethod)
		if err != nil {
			return err
		}
		return handler(srv, &contextStream{ServerStream: ss, ctx: ctx})
	}
}

// contextStream replaces a stream's context with one carrying the principal.
type contextStream struct {
	grpc.ServerStream
	ctx context.Context
}

func (s *contextStream) Context() context.Context { return s.ctx }

// Authorize is the interceptors' check, for transports other than gRPC: it reads the bearer
// credential from ctx's incoming gRPC metadata, authenticates it with a and checks
// policy[method]. It returns ctx carrying the principal (or, for a Public method, carrying none).
// Errors as for UnaryServerInterceptor.
func Authorize(ctx context.Context, a Authenticator, policy Policy, method string) (context.Context, error) {
	if policy.IsPublic(method) {
		return withoutPrincipal(ctx), nil
	}
	// ValueFromIncomingContext copies one key only, not the whole metadata.
	vals := metadata.ValueFromIncomingContext(ctx, MetadataKey)
	if len(vals) == 0 {
		return ctx, apperr.E(apperr.Unauthenticated, ReasonUnauthenticated, "missing credentials: send Authorization: Bearer <key>")
	}
	bearer, ok := ParseAuthorization(vals[0])
	if len(vals) > 1 || !ok {
		return ctx, apperr.E(apperr.Unauthenticated, ReasonUnauthenticated, "malformed credentials: send one Authorization: Bearer <key>")
	}
	if a == nil {
		return ctx, apperr.E(apperr.Unauthenticated, ReasonUnauthenticated, "this server accepts no credentials")
	}
	p, err := a.Authenticate(ctx, bearer)
	if err != nil {
		return ctx, err
	}
	if !policy.Allows(method, p.Role) {
		return ctx, apperr.E(apperr.PermissionDenied, ReasonPermissionDenied, "role %s may not call %s", RoleName(p.Role), method).
			With("role", RoleName(p.Role)).With("method", method)
	}
	return WithPrincipal(ctx, p), nil
}
