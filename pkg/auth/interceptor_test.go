package auth_test

import (
	"context"
	"errors"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"

	"github.com/huiyuan-dev/huiyuan/pkg/apperr"
	"github.com/huiyuan-dev/huiyuan/pkg/auth"

	iamv1 "github.com/huiyuan-dev/huiyuan/gen/huiyuan/iam/v1"
)

// mapAuth accepts the bearer strings it maps.
type mapAuth map[string]auth.Principal

func (m mapAuth) Authenticate(_ context.Context, bearer string) (auth.Principal, error) {
	if bearer == "boom" {
		return auth.Principal{}, errors.New("store down")
	}
	p, ok := m[bearer]
	if !ok {
		return auth.Principal{}, apperr.E(apperr.Unauthenticated, auth.ReasonInvalidAPIKey, "invalid API key")
	}
	return p, nil
}

func TestUnaryServerInterceptor(t *testing.T) {
	a := mapAuth{
		"op":  {Tenant: "acme", Role: iamv1.Role_OPERATOR, KeyID: "k1"},
		"ana": {Tenant: "acme", Role: iamv1.Role_ANALYST, KeyID: "k2"},
	}
	policy := auth.Merge(auth.PublicMethods(), auth.Policy{"/s.S/Op": {iamv1.Role_OPERATOR}})
	tests := []struct {
		name       string
		method     string
		md         metadata.MD
		auth       auth.Authenticator
		wantCode   apperr.Code
		wantReason string
		wantTenant string
	}{
		{name: "ok", method: "/s.S/Op", md: metadata.Pairs("authorization", "Bearer op"), auth: a, wantTenant: "acme"},
		{name: "lowercase scheme", method: "/s.S/Op", md: metadata.Pairs("authorization", "bearer op"), auth: a, wantTenant: "acme"},
		{name: "missing", method: "/s.S/Op", auth: a, wantCode: apperr.Unauthenticated, wantReason: auth.ReasonUnauthenticated},
		{name: "not bearer", method: "/s.S/Op", md: metadata.Pairs("authorization", "Basic b3A="), auth: a, wantCode: apperr.Unauthenticated, wantReason: auth.ReasonUnauthenticated},
		{name: "two values", method: "/s.S/Op", md: metadata.Pairs("authorization", "Bearer op", "authorization", "Bearer ana"), auth: a, wantCode: apperr.Unauthenticated, wantReason: auth.ReasonUnauthenticated},
		{name: "unknown key", method: "/s.S/Op", md: metadata.Pairs("authorization", "Bearer nope"), auth: a, wantCode: apperr.Unauthenticated, wantReason: auth.ReasonInvalidAPIKey},
		{name: "wrong role", method: "/s.S/Op", md: metadata.Pairs("authorization", "Bearer ana"), auth: a, wantCode: apperr.PermissionDenied, wantReason: auth.ReasonPermissionDenied},
		{name: "unlisted method", method: "/s.S/Other", md: metadata.Pairs("authorization", "Bearer op"), auth: a, wantCode: apperr.PermissionDenied, wantReason: auth.ReasonPermissionDenied},
		{name: "unlisted without key", method: "/s.S/Other", auth: a, wantCode: apperr.Unauthenticated, wantReason: auth.ReasonUnauthenticated},
		{name: "nil authenticator", method: "/s.S/Op", md: metadata.Pairs("authorization", "Bearer op"), wantCode: apperr.Unauthenticated, wantReason: auth.ReasonUnauthenticated},
		{name: "store failure", method: "/s.S/Op", md: metadata.Pairs("authorization", "Bearer boom"), auth: a, wantCode: apperr.Internal},
		{name: "public without key", method: "/grpc.health.v1.Health/Check", auth: a},
		{name: "public with bad key", method: "/grpc.health.v1.Health/Check", md: metadata.Pairs("authorization", "Bearer nope"), auth: a},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			if tt.md != nil {
				ctx = metadata.NewIncomingContext(ctx, tt.md)
			}
			// A principal from an enclosing call must never leak into this one.
			ctx = auth.WithPrincipal(ctx, auth.Principal{Tenant: "stale", Role: iamv1.Role_ADMIN})
			called := false
			var gotTenant string
			_, err := auth.UnaryServerInterceptor(tt.auth, policy)(ctx, nil, &grpc.UnaryServerInfo{FullMethod: tt.method},
				func(ctx context.Context, _ any) (any, error) {
					called = true
					gotTenant = auth.TenantOf(ctx)
					return nil, nil
				})
			if got := apperr.CodeOf(err); got != tt.wantCode {
				t.Fatalf("code = %q, want %q (err %v)", got, tt.wantCode, err)
			}
			if got := apperr.ReasonOf(err); got != tt.wantReason {
				t.Fatalf("reason = %q, want %q", got, tt.wantReason)
			}
			if called != (err == nil) {
				t.Fatalf("handler called = %v with err %v", called, err)
			}
			if called && gotTenant != tt.wantTenant {
				t.Fatalf("tenant in handler = %q, want %q", gotTenant, tt.wantTenant)
			}
		})
	}
}

// fakeStream is a grpc.ServerStream with a context.
type fakeStream struct {
	grpc.ServerStream
	ctx context.Context
}

func (f fakeStream) Context() context.Context { return f.ctx }

func TestStreamServerInterceptor(t *testing.T) {
	a := mapAuth{"op": {Tenant: "acme", Role: iamv1.Role_OPERATOR}}
	policy := auth.Policy{"/s.S/Watch": {iamv1.Role_OPERATOR}}
	ic := auth.StreamServerInterceptor(a, policy)
	info := &grpc.StreamServerInfo{FullMethod: "/s.S/Watch", IsServerStream: true}

	ctx := metadata.NewIncomingContext(context.Background(), metadata.Pairs("authorization", "Bearer op"))
	var tenant string
	err := ic(nil, fakeStream{ctx: ctx}, info, func(_ any, ss grpc.ServerStream) error {
		tenant = auth.TenantOf(ss.Context())
		return nil
	})
	if err != nil || tenant != "acme" {
		t.Fatalf("authorised stream: err %v, tenant %q", err, tenant)
	}
	err = ic(nil, fakeStream{ctx: context.Background()}, info, func(any, grpc.ServerStream) error {
		t.Fatal("handler ran without credentials")
		return nil
	})
	if apperr.CodeOf(err) != apperr.Unauthenticated {
		t.Fatalf("err = %v, want unauthenticated", err)
	}
}
