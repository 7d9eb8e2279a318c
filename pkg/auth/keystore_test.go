package auth_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/huiyuan-dev/huiyuan/pkg/apperr"
	"github.com/huiyuan-dev/huiyuan/pkg/auth"
	"github.com/huiyuan-dev/huiyuan/pkg/boltx/bolttest"
	"github.com/huiyuan-dev/huiyuan/pkg/clock"

	iamv1 "github.com/huiyuan-dev/huiyuan/gen/huiyuan/iam/v1"
	platformv1 "github.com/huiyuan-dev/huiyuan/gen/huiyuan/platform/v1"
)

func newStore(t testing.TB) *auth.KeyStore {
	t.Helper()
	db := bolttest.Open(t) // no buckets: NewKeyStore must create its own
	s, err := auth.NewKeyStore(db, clock.NewFake(t0))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestKeyStoreCreateAuthenticate(t *testing.T) {
	ctx := context.Background()
	s := newStore(t)
	rec, secret, err := s.Create(ctx, "acme", "till 1", iamv1.Role_SERVICE)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(secret, auth.SecretPrefix) || len(secret) != len(auth.SecretPrefix)+43 {
		t.Fatalf("secret %q: want hy_ + 43 base64url characters", secret)
	}
	if strings.Contains(secret, ".") || auth.LooksLikeJWT(secret) {
		t.Fatalf("secret %q could be mistaken for a JWT", secret)
	}
	if rec.GetId() == "" || rec.GetTenant() != "acme" || iamv1.Role(rec.GetRole()) != iamv1.Role_SERVICE || rec.GetCreateTime().AsTime() != t0 {
		t.Fatalf("record = %v", rec)
	}
	if strings.Contains(string(rec.GetSecretHash()), secret) || len(rec.GetSecretHash()) != 32 {
		t.Fatalf("record holds %d bytes of hash, want a 32-byte SHA-256", len(rec.GetSecretHash()))
	}
	for i := 0; i < 2; i++ { // the second answer comes from the cache
		p, err := s.Authenticate(ctx, secret)
		if err != nil {
			t.Fatal(err)
		}
		if want := (auth.Principal{Tenant: "acme", Role: iamv1.Role_SERVICE, KeyID: rec.GetId(), RateLimit: auth.Unlimited}); p != want { // SERVICE keys: unlimited by default
			t.Fatalf("principal = %+v, want %+v", p, want)
		}
	}
	for _, bad := range []string{"", secret + "x", secret[:len(secret)-1], "hy_" + strings.Repeat("A", 43), strings.Repeat("x", 4096)} {
		_, err := s.Authenticate(ctx, bad)
		if apperr.CodeOf(err) != apperr.Unauthenticated || apperr.ReasonOf(err) != auth.ReasonInvalidAPIKey {
			t.Fatalf("Authenticate(%.20q) err = %v, want INVALID_API_KEY", bad, err)
		}
	}
}

func TestKeyStoreCreateInvalid(t *testing.T) {
	s := newStore(t)
	tests := []struct {
		name, tenant, display string
		role                  iamv1.Role
		field                 string
	}{
		{"member role", "acme", "x", iamv1.Role_MEMBER, "role"},
		{"no role", "acme", "x", iamv1.Role_ROLE_UNSPECIFIED, "role"},
		{"unknown role", "acme", "x", iamv1.Role(42), "role"},
		{"public role", "acme", "x", auth.Public, "role"},
		{"bad tenant", "ACME", "x", iamv1.Role_ADMIN, "tenant"},
		{"empty tenant", "", "x", iamv1.Role_ADMIN, "tenant"},
		{"blank name", "acme", "  ", iamv1.Role_ADMIN, "display_name"},
		{"long name", "acme", strings.Repeat("名", auth.MaxDisplayName+1), iamv1.Role_ADMIN, "display_name"},
		{"control char", "acme", "a\nb", iamv1.Role_ADMIN, "display_name"},
		{"bad utf8", "acme", "a\xffb", iamv1.Role_ADMIN, "display_name"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := s.Create(context.Background(), tt.tenant, tt.display, tt.role)
			var ae *apperr.Error
			if !asAppErr(err, &ae) || ae.Code != apperr.Invalid || len(ae.Violations) != 1 || ae.Violations[0].Field != tt.field {
				t.Fatalf("err = %#v, want one violation on %q", err, tt.field)
			}
		})
	}
	if keys, _ := s.List(context.Background(), "acme"); len(keys) != 0 {
		t.Fatalf("invalid creates stored %d keys", len(keys))
	}
}

func asAppErr(err error, target **apperr.Error) bool {
	e, ok := err.(*apperr.Error)
	*target = e
	return ok
}

func TestKeyStoreListRevoke(t *testing.T) {
	ctx := context.Background()
	s := newStore(t)
	var secrets []string
	var recs []*platformv1.ApiKeyRecord
	for i, tenant := range []string{"acme", "acme", "beta", "acme-2"} {
		rec, sec, err := s.Create(ctx, tenant, fmt.Sprintf("k%d", i), iamv1.Role_OPERATOR)
		if err != nil {
			t.Fatal(err)
		}
		recs, secrets = append(recs, rec), append(secrets, sec)
	}
	list, err := s.List(ctx, "acme")
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 2 || list[0].GetId() != recs[0].GetId() || list[1].GetId() != recs[1].GetId() {
		t.Fatalf("List(acme) = %v, want keys 0 and 1 in order (not acme-2's)", list)
	}
	// Another tenant's key is not found, and stays valid.
	if _, err := s.Revoke(ctx, "acme", recs[2].GetId()); apperr.CodeOf(err) != apperr.NotFound || apperr.ReasonOf(err) != auth.ReasonAPIKeyNotFound {
		t.Fatalf("cross-tenant revoke err = %v, want NotFound", err)
	}
	if _, err := s.Authenticate(ctx, secrets[2]); err != nil {
		t.Fatalf("beta key after failed cross-tenant revoke: %v", err)
	}
	if _, err := s.Authenticate(ctx, secrets[0]); err != nil { // warm the cache
		t.Fatal(err)
	}
	rev, err := s.Revoke(ctx, "acme", recs[0].GetId())
	if err != nil {
		t.Fatal(err)
	}
	if rev.GetRevokeTime() == nil {
		t.Fatal("revoked record has no revoke_time")
	}
	if _, err := s.Authenticate(ctx, secrets[0]); apperr.ReasonOf(err) != auth.ReasonInvalidAPIKey {
		t.Fatalf("revoked key still authenticates: %v", err)
	}
	again, err := s.Revoke(ctx, "acme", recs[0].GetId())
	if err != nil || !again.GetRevokeTime().AsTime().Equal(rev.GetRevokeTime().AsTime()) {
		t.Fatalf("second revoke = %v, %v; want the same record", again, err)
	}
	if _, err := s.Authenticate(ctx, secrets[1]); err != nil {
		t.Fatalf("other key after revoke: %v", err)
	}
	list, _ = s.List(ctx, "acme")
	if len(list) != 2 || list[0].GetRevokeTime() == nil {
		t.Fatalf("List after revoke = %v", list)
	}
}

// TestKeyStoreRevokeIsImmediate hammers Authenticate from many goroutines while a key is
// revoked: no call that starts after Revoke returned may succeed.
func TestKeyStoreRevokeIsImmediate(t *testing.T) {
	ctx := context.Background()
	s := newStore(t)
	for round := 0; round < 20; round++ {
		rec, secret, err := s.Create(ctx, "acme", "k", iamv1.Role_OPERATOR)
		if err != nil {
			t.Fatal(err)
		}
		var revoked atomic.Bool
		var late atomic.Int64
		var wg sync.WaitGroup
		stop := make(chan struct{})
		for g := 0; g < 16; g++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					select {
					case <-stop:
						return
					default:
					}
					after := revoked.Load()
					if _, err := s.Authenticate(ctx, secret); err == nil && after {
						late.Add(1)
					}
				}
			}()
		}
		if _, err := s.Revoke(ctx, "acme", rec.GetId()); err != nil {
			t.Fatal(err)
		}
		revoked.Store(true)
		for i := 0; i < 200; i++ {
			if _, err := s.Authenticate(ctx, secret); err == nil {
				late.Add(1)
			}
		}
		close(stop)
		wg.Wait()
		if n := late.Load(); n > 0 {
			t.Fatalf("round %d: %d authentications succeeded after Revoke returned", round, n)
		}
	}
}

func TestKeyStoreBootstrap(t *testing.T) {
	ctx := context.Background()
	db := bolttest.Open(t, auth.Buckets()...)
	s, err := auth.NewKeyStore(db, clock.NewFake(t0))
	if err != nil {
		t.Fatal(err)
	}
	const secret = "operator-chosen-secret-1"
	first, err := s.Bootstrap(ctx, auth.DefaultTenant, secret)
	if err != nil {
		t.Fatal(err)
	}
	// A restart: a new store on the same file finds the key and changes nothing.
	s2, err := auth.NewKeyStore(db, clock.NewFake(t0))
	if err != nil {
		t.Fatal(err)
	}
	second, err := s2.Bootstrap(ctx, auth.DefaultTenant, secret)
	if err != nil || second.GetId() != first.GetId() {
		t.Fatalf("second Bootstrap = %v, %v; want key %s", second, err, first.GetId())
	}
	if keys, _ := s2.List(ctx, auth.DefaultTenant); len(keys) != 1 {
		t.Fatalf("%d keys after two bootstraps, want 1", len(keys))
	}
	p, err := s2.Authenticate(ctx, secret)
	if err != nil || p.Role != iamv1.Role_ADMIN || p.Tenant != auth.DefaultTenant {
		t.Fatalf("bootstrap key authenticates as %+v, %v", p, err)
	}
	// EnsureAdmin finds the bootstrap admin.
	if sec, err := s2.EnsureAdmin(ctx, auth.DefaultTenant, "first admin"); err != nil || sec != "" {
		t.Fatalf("EnsureAdmin with an admin present = %q, %v", sec, err)
	}

	tests := []struct {
		name, tenant, secret string
		code                 apperr.Code
		reason               string
	}{
		{"short", "default", "short", apperr.Invalid, "INVALID_ARGUMENT"},
		{"space", "default", "has space in the secret", apperr.Invalid, "INVALID_ARGUMENT"},
		{"dot", "default", "looks.like.a-jwt-token", apperr.Invalid, "INVALID_ARGUMENT"},
		{"non-ascii", "default", "密钥密钥密钥密钥密钥密钥", apperr.Invalid, "INVALID_ARGUMENT"},
		{"bad tenant", "Default", secret, apperr.Invalid, "INVALID_ARGUMENT"},
		{"other tenant", "acme", secret, apperr.FailedPrecondition, "BOOTSTRAP_KEY_CONFLICT"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := s2.Bootstrap(ctx, tt.tenant, tt.secret)
			if apperr.CodeOf(err) != tt.code || apperr.ReasonOf(err) != tt.reason {
				t.Fatalf("err = %v, want %s %s", err, tt.code, tt.reason)
			}
		})
	}
	if _, err := s2.Revoke(ctx, auth.DefaultTenant, first.GetId()); err != nil {
		t.Fatal(err)
	}
	if _, err := s2.Bootstrap(ctx, auth.DefaultTenant, secret); apperr.ReasonOf(err) != "BOOTSTRAP_KEY_REVOKED" {
		t.Fatalf("Bootstrap of a revoked secret: %v, want BOOTSTRAP_KEY_REVOKED", err)
	}
	if _, err := s2.Authenticate(ctx, secret); err == nil {
		t.Fatal("revoked bootstrap key still authenticates")
	}
	// No active admin any more: EnsureAdmin makes one.
	sec, err := s2.EnsureAdmin(ctx, auth.DefaultTenant, "first admin")
	if err != nil || sec == "" {
		t.Fatalf("EnsureAdmin = %q, %v", sec, err)
	}
	if p, err := s2.Authenticate(ctx, sec); err != nil || p.Role != iamv1.Role_ADMIN {
		t.Fatalf("EnsureAdmin key: %+v, %v", p, err)
	}
}

func TestKeyStoreUpdateRollsBack(t *testing.T) {
	ctx := context.Background()
	s := newStore(t)
	rec, secret, err := s.Create(ctx, "acme", "k", iamv1.Role_ADMIN)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Authenticate(ctx, secret); err != nil {
		t.Fatal(err)
	}
	boom := fmt.Errorf("boom")
	err = s.Update(ctx, func(tx *auth.KeyTx) error {
		if _, err := tx.Revoke("acme", rec.GetId()); err != nil {
			return err
		}
		if _, _, err := tx.Create("acme", "rolled back", iamv1.Role_ADMIN); err != nil {
			return err
		}
		return boom
	})
	if err != boom {
		t.Fatalf("Update err = %v, want boom", err)
	}
	if _, err := s.Authenticate(ctx, secret); err != nil {
		t.Fatalf("key revoked by a rolled-back transaction stopped working: %v", err)
	}
	if keys, _ := s.List(ctx, "acme"); len(keys) != 1 || keys[0].GetRevokeTime() != nil {
		t.Fatalf("rolled-back writes visible: %v", keys)
	}
}

func BenchmarkKeyStoreAuthenticate(b *testing.B) {
	ctx := context.Background()
	s := newStore(b)
	_, secret, err := s.Create(ctx, "acme", "k", iamv1.Role_OPERATOR)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := s.Authenticate(ctx, secret); err != nil {
				b.Error(err)
				return
			}
		}
	})
}
