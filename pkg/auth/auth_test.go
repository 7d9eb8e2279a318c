package auth_test

import (
	"context"
	"testing"

	"github.com/huiyuan-dev/huiyuan/pkg/apperr"
	"github.com/huiyuan-dev/huiyuan/pkg/auth"

	iamv1 "github.com/huiyuan-dev/huiyuan/gen/huiyuan/iam/v1"
)

func TestValidTenant(t *testing.T) {
	long := "a"
	for len(long) < 63 {
		long += "b"
	}
	tests := []struct {
		in   string
		want bool
	}{
		{"default", true},
		{"acme", true},
		{"a", true},
		{"0", true},
		{"acme-shanghai-2", true},
		{"a-", true},
		{long, true},
		{long + "c", false},
		{"", false},
		{"-acme", false},
		{"Acme", false},
		{"ac me", false},
		{"acme.cn", false},
		{"acme_cn", false},
		{"acme*", false},
		{"acme>", false},
		{"会员", false},
		{"acme\x00", false},
	}
	for _, tt := range tests {
		if got := auth.ValidTenant(tt.in); got != tt.want {
			t.Errorf("ValidTenant(%q) = %v, want %v", tt.in, got, tt.want)
		}
	}
}

func TestPrincipalContext(t *testing.T) {
	ctx := context.Background()
	if _, ok := auth.FromContext(ctx); ok {
		t.Fatal("FromContext on an empty context reported a principal")
	}
	if got := auth.TenantOf(ctx); got != "" {
		t.Fatalf("TenantOf(empty) = %q", got)
	}
	p := auth.Principal{Tenant: "acme", Role: iamv1.Role_OPERATOR, KeyID: "k1"}
	ctx = auth.WithPrincipal(ctx, p)
	got, ok := auth.FromContext(ctx)
	if !ok || got != p {
		t.Fatalf("FromContext = %+v, %v; want %+v", got, ok, p)
	}
	if got := auth.TenantOf(ctx); got != "acme" {
		t.Fatalf("TenantOf = %q, want acme", got)
	}
}

func TestRequireSelf(t *testing.T) {
	tests := []struct {
		name     string
		p        *auth.Principal
		memberID string
		want     apperr.Code
	}{
		{name: "no principal", memberID: "m1", want: apperr.Unauthenticated},
		{name: "member self", p: &auth.Principal{Tenant: "acme", Role: iamv1.Role_MEMBER, MemberID: "m1"}, memberID: "m1"},
		{name: "member other", p: &auth.Principal{Tenant: "acme", Role: iamv1.Role_MEMBER, MemberID: "m1"}, memberID: "m2", want: apperr.PermissionDenied},
		{name: "member empty target", p: &auth.Principal{Tenant: "acme", Role: iamv1.Role_MEMBER, MemberID: "m1"}, memberID: "", want: apperr.PermissionDenied},
		{name: "operator", p: &auth.Principal{Tenant: "acme", Role: iamv1.Role_OPERATOR, KeyID: "k"}, memberID: "m2"},
		{name: "admin", p: &auth.Principal{Tenant: "acme", Role: iamv1.Role_ADMIN, KeyID: "k"}, memberID: "m2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			if tt.p != nil {
				ctx = auth.WithPrincipal(ctx, *tt.p)
			}
			if got := apperr.CodeOf(auth.RequireSelf(ctx, tt.memberID)); got != tt.want {
				t.Fatalf("code = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestPolicy(t *testing.T) {
	p := auth.Merge(auth.PublicMethods(), auth.Policy{
		"/s.S/Read":  {iamv1.Role_ADMIN, iamv1.Role_ANALYST},
		"/s.S/Write": {iamv1.Role_ADMIN},
	}, auth.Policy{"/s.S/Write": {iamv1.Role_OPERATOR, iamv1.Role_ADMIN}, "/s.S/Internal": {}})
	tests := []struct {
		method string
		role   iamv1.Role
		allow  bool
		public bool
	}{
		{"/s.S/Read", iamv1.Role_ANALYST, true, false},
		{"/s.S/Read", iamv1.Role_SERVICE, false, false},
		{"/s.S/Write", iamv1.Role_ADMIN, true, false},
		{"/s.S/Write", iamv1.Role_OPERATOR, true, false}, // merged
		{"/s.S/Write", iamv1.Role_ANALYST, false, false},
		{"/s.S/Unlisted", iamv1.Role_ADMIN, false, false},
		{"/s.S/Unlisted", auth.Internal, false, false},
		{"/s.S/Internal", auth.Internal, true, false}, // listed without roles: services only, kept by Merge
		{"/s.S/Internal", iamv1.Role_ADMIN, false, false},
		{"/grpc.health.v1.Health/Check", iamv1.Role_ROLE_UNSPECIFIED, true, true},
		{"/grpc.reflection.v1.ServerReflection/ServerReflectionInfo", iamv1.Role_MEMBER, true, true},
	}
	for _, tt := range tests {
		if got := p.Allows(tt.method, tt.role); got != tt.allow {
			t.Errorf("Allows(%s, %s) = %v, want %v", tt.method, tt.role, got, tt.allow)
		}
		if got := p.IsPublic(tt.method); got != tt.public {
			t.Errorf("IsPublic(%s) = %v, want %v", tt.method, got, tt.public)
		}
	}
	if n := len(p["/s.S/Write"]); n != 2 {
		t.Errorf("merged roles of Write = %d, want 2 (no duplicates)", n)
	}
}
