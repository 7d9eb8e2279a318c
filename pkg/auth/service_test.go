package auth_test

import (
	"context"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"

	"github.com/huiyuan-dev/huiyuan/pkg/apperr"
	"github.com/huiyuan-dev/huiyuan/pkg/auth"
	"github.com/huiyuan-dev/huiyuan/pkg/clock"

	iamv1 "github.com/huiyuan-dev/huiyuan/gen/huiyuan/iam/v1"
)

func TestServiceTokens(t *testing.T) {
	clk := clock.NewFake(time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC))
	secret := []byte("0123456789abcdef0123456789abcdef")
	st := auth.NewServiceTokens(secret, clk)
	tok, exp, err := st.Issue("loyalty")
	if err != nil || !exp.After(clk.Now()) {
		t.Fatalf("issue: %v %v", exp, err)
	}
	member, _ := auth.NewMemberTokens(secret, clk).Issue("acme", "m1", time.Hour)
	withTenant := func(tenants ...string) context.Context {
		md := metadata.MD{}
		for _, tn := range tenants {
			md.Append(auth.TenantMetadataKey, tn)
		}
		return metadata.NewIncomingContext(context.Background(), md)
	}
	tests := []struct {
		name   string
		ctx    context.Context
		bearer string
		want   string // tenant, or "" for refused
	}{
		{"a service acting for a tenant", withTenant("acme"), tok, "acme"},
		{"no tenant named", withTenant(), tok, ""},
		{"two tenants named", withTenant("acme", "globex"), tok, ""},
		{"an invalid tenant", withTenant("ACME"), tok, ""},
		{"another secret's token", withTenant("acme"), mustIssue(t, auth.NewServiceTokens([]byte("another secret of thirty-two bytes!!"), clk)), ""},
		{"a member JWT is not a service token", withTenant("acme"), member, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := st.Authenticate(tt.ctx, tt.bearer)
			if tt.want == "" {
				if apperr.CodeOf(err) != apperr.Unauthenticated {
					t.Fatalf("want Unauthenticated, got %v %v", p, err)
				}
				return
			}
			if err != nil || p.Tenant != tt.want || p.Role != auth.Internal || p.KeyID != "service:loyalty" {
				t.Fatalf("principal %+v, %v", p, err)
			}
		})
	}
	if !st.Claims(tok) || st.Claims(member) {
		t.Fatal("Claims must route service tokens and only them")
	}
	// Bearer sends service tokens to the service verifier and member tokens to theirs.
	b := auth.Bearer{Tokens: auth.NewMemberTokens(secret, clk), Services: st}
	if p, err := b.Authenticate(withTenant("acme"), member); err != nil || p.Role != iamv1.Role_MEMBER {
		t.Fatalf("member via Bearer: %+v %v", p, err)
	}
	if p, err := b.Authenticate(withTenant("acme"), tok); err != nil || p.Role != auth.Internal {
		t.Fatalf("service via Bearer: %+v %v", p, err)
	}
	clk.Advance(2 * time.Hour)
	if _, err := st.Authenticate(withTenant("acme"), tok); apperr.CodeOf(err) != apperr.Unauthenticated {
		t.Fatalf("expired service token: %v", err)
	}
}

func mustIssue(t *testing.T, st *auth.ServiceTokens) string {
	t.Helper()
	tok, _, err := st.Issue("intruder")
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// keyAuthClient answers AuthenticateKey from a map and counts calls.
type keyAuthClient struct {
	keys  map[string]*iamv1.AuthenticateKeyResponse // by hash
	calls int
}

func (c *keyAuthClient) AuthenticateKey(_ context.Context, in *iamv1.AuthenticateKeyRequest, _ ...grpc.CallOption) (*iamv1.AuthenticateKeyResponse, error) {
	c.calls++
	if r, ok := c.keys[string(in.GetSecretHash())]; ok {
		return r, nil
	}
	return nil, apperr.E(apperr.Unauthenticated, auth.ReasonInvalidAPIKey, "invalid API key")
}

func TestRemoteKeys(t *testing.T) {
	clk := clock.NewFake(time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC))
	h, _ := auth.HashSecret("hy_secret")
	c := &keyAuthClient{keys: map[string]*iamv1.AuthenticateKeyResponse{
		string(h[:]): {KeyId: "k1", Tenant: "acme", Role: iamv1.Role_OPERATOR}}}
	rk := auth.NewRemoteKeys(c, time.Second, clk)
	ctx := context.Background()
	for range 3 {
		p, err := rk.Authenticate(ctx, "hy_secret")
		if err != nil || p.KeyID != "k1" || p.Tenant != "acme" {
			t.Fatalf("%+v %v", p, err)
		}
	}
	if c.calls != 1 {
		t.Fatalf("%d calls: answers are cached for the TTL", c.calls)
	}
	clk.Advance(time.Second)
	if _, err := rk.Authenticate(ctx, "hy_secret"); err != nil || c.calls != 2 {
		t.Fatalf("after the TTL: %v, %d calls", err, c.calls)
	}
	// Revoked at iam; the event evicts at once.
	delete(c.keys, string(h[:]))
	rk.Evict("k1")
	if _, err := rk.Authenticate(ctx, "hy_secret"); apperr.CodeOf(err) != apperr.Unauthenticated {
		t.Fatalf("after eviction: %v", err)
	}
	if _, err := rk.Authenticate(ctx, ""); apperr.CodeOf(err) != apperr.Unauthenticated {
		t.Fatalf("empty bearer: %v", err)
	}
}
