package member_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/huiyuan-dev/huiyuan/pkg/apperr"
	"github.com/huiyuan-dev/huiyuan/pkg/clock"
	"github.com/huiyuan-dev/huiyuan/services/member/internal/member"
)

func (s *memStore) TokenState(_ context.Context, _, id, tokenID string) (member.TokenState, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	m, ok := s.members[id]
	if !ok {
		return member.TokenState{}, member.NotFoundError(id)
	}
	return member.TokenState{Status: m.Status, Generation: s.gens[id], Revoked: tokenID != "" && s.revoked[id+"/"+tokenID]}, nil
}

func (s *memStore) RevokeTokens(_ context.Context, _, id string, fn func(member.TokenState) (member.TokensRevoked, error)) (member.TokensRevoked, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	m, ok := s.members[id]
	if !ok {
		return member.TokensRevoked{}, member.NotFoundError(id)
	}
	rev, err := fn(member.TokenState{Status: m.Status, Generation: s.gens[id]})
	if err != nil {
		return member.TokensRevoked{}, err
	}
	s.revoke(rev)
	return rev, nil
}

// revoke applies rev as the bolt store does; s.mu is held.
func (s *memStore) revoke(rev member.TokensRevoked) {
	if rev.TokenID == "" {
		s.gens[rev.MemberID]++
	} else {
		s.revoked[rev.MemberID+"/"+rev.TokenID] = true
	}
	s.events = append(s.events, rev)
}

// fakeSigner signs nothing: it records what it was asked.
type fakeSigner struct{ clk clock.Clock }

func (f fakeSigner) SignToken(tenant, id string, ttl time.Duration, gen uint64) (member.IssuedToken, error) {
	return member.IssuedToken{Token: fmt.Sprintf("%s/%s/%d", tenant, id, gen), ID: "t", ExpireTime: f.clk.Now().Add(ttl)}, nil
}

func newTokenService(t *testing.T) (*member.Service, *memStore, *clock.Fake) {
	t.Helper()
	st, clk := newMemStore(), clock.NewFake(t0)
	svc, err := member.NewService(st, clk, &memAudit{}, member.Options{Tokens: fakeSigner{clk}})
	if err != nil {
		t.Fatal(err)
	}
	return svc, st, clk
}

func TestIssueToken(t *testing.T) {
	svc, _, clk := newTokenService(t)
	ctx := context.Background()
	active, err := svc.Create(ctx, "acme", &member.Member{DisplayName: "a", Phone: "13812345678"})
	if err != nil {
		t.Fatal(err)
	}
	frozen, _ := svc.Create(ctx, "acme", &member.Member{DisplayName: "f", Phone: "13812345679"})
	if _, err := svc.ChangeStatus(ctx, "acme", frozen.ID, member.StatusFrozen, ""); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name   string
		id     string
		ttl    time.Duration
		code   apperr.Code
		reason string
		expire time.Duration
	}{
		{name: "default ttl", id: active.ID, expire: member.DefaultTokenTTL},
		{name: "30 days", id: active.ID, ttl: member.MaxTokenTTL, expire: member.MaxTokenTTL},
		{name: "over 30 days", id: active.ID, ttl: member.MaxTokenTTL + time.Second, code: apperr.Invalid},
		{name: "negative", id: active.ID, ttl: -time.Second, code: apperr.Invalid},
		{name: "unknown member", id: "0190a0e0-0000-7000-8000-000000000000", ttl: time.Hour, code: apperr.NotFound, reason: member.ReasonNotFound},
		{name: "frozen member", id: frozen.ID, ttl: time.Hour, code: apperr.FailedPrecondition, reason: member.ReasonNotActive},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tok, err := svc.IssueToken(ctx, "acme", tc.id, tc.ttl)
			if apperr.CodeOf(err) != tc.code || (tc.reason != "" && apperr.ReasonOf(err) != tc.reason) {
				t.Fatalf("err = %v, want %q %q", err, tc.code, tc.reason)
			}
			if tc.code == apperr.Invalid && !equalStrings(violations(err), []string{"ttl"}) {
				t.Fatalf("violations %v", violations(err))
			}
			if err == nil && !tok.ExpireTime.Equal(clk.Now().Add(tc.expire)) {
				t.Fatalf("expires %v", tok.ExpireTime)
			}
		})
	}
	unsigned, err := member.NewService(newMemStore(), clk, &memAudit{}, member.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := unsigned.IssueToken(ctx, "acme", active.ID, time.Hour); err == nil {
		t.Fatal("issued without a signer")
	}
}

// TestTokenRevocation: which tokens a revocation reaches, and that closing and erasure revoke
// them all.
func TestTokenRevocation(t *testing.T) {
	svc, st, _ := newTokenService(t)
	ctx := context.Background()
	mk := func(phone string) string {
		m, err := svc.Create(ctx, "acme", &member.Member{DisplayName: "m", Phone: phone})
		if err != nil {
			t.Fatal(err)
		}
		return m.ID
	}
	a, closed, erased := mk("13800000001"), mk("13800000002"), mk("13800000003")
	const t1, t2 = "0190a0e0-0000-7000-8000-000000000001", "0190a0e0-0000-7000-8000-000000000002"
	if _, err := svc.RevokeToken(ctx, "acme", a, "not-a-token-id"); !equalStrings(violations(err), []string{"token_id"}) {
		t.Fatalf("bad token id: %v", err)
	}
	if _, err := svc.RevokeToken(ctx, "acme", a, t1); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.ChangeStatus(ctx, "acme", closed, member.StatusClosed, "left"); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Erase(ctx, "acme", erased); err != nil {
		t.Fatal(err)
	}
	check := func(id, tok string, gen uint64) bool {
		t.Helper()
		revoked, err := svc.TokenRevoked(ctx, "acme", id, tok, gen)
		if err != nil {
			t.Fatal(err)
		}
		return revoked
	}
	for _, tc := range []struct {
		name        string
		id, tok     string
		gen         uint64
		wantRevoked bool
	}{
		{"a's other token", a, t2, 0, false},
		{"a's revoked token", a, t1, 0, true},
		{"closed member", closed, t2, 5, true},
		{"erased member", erased, t2, 5, true},
		{"unknown member", "0190a0e0-0000-7000-8000-0000000000ff", t2, 0, true},
	} {
		if got := check(tc.id, tc.tok, tc.gen); got != tc.wantRevoked {
			t.Errorf("%s: revoked = %v, want %v", tc.name, got, tc.wantRevoked)
		}
	}
	// Log out everywhere: tokens of the old generation go, those issued after work.
	rev, err := svc.RevokeTokens(ctx, "acme", a)
	if err != nil || rev.TokenID != "" || rev.MemberID != a || rev.Cause != member.RevokeRequested {
		t.Fatalf("revoke all: %+v %v", rev, err)
	}
	tok, err := svc.IssueToken(ctx, "acme", a, time.Hour)
	if err != nil || tok.Token != "acme/"+a+"/1" {
		t.Fatalf("token after revocation: %+v %v (want generation 1)", tok, err)
	}
	if !check(a, t2, 0) || check(a, t2, 1) {
		t.Fatal("generation not applied")
	}
	var causes []member.RevokeCause
	for _, ev := range st.events {
		if r, ok := ev.(member.TokensRevoked); ok {
			causes = append(causes, r.Cause)
		}
	}
	want := []member.RevokeCause{member.RevokeRequested, member.RevokeClosed, member.RevokeErased, member.RevokeRequested}
	if !equalCauses(causes, want) {
		t.Fatalf("revocation events %v, want %v", causes, want)
	}
	if _, err := svc.RevokeTokens(ctx, "acme", "0190a0e0-0000-7000-8000-0000000000ff"); !errors.Is(err, err) || apperr.CodeOf(err) != apperr.NotFound {
		t.Fatalf("unknown member: %v", err)
	}
}

func equalStrings(a, b []string) bool { return fmt.Sprint(a) == fmt.Sprint(b) }

func equalCauses(a, b []member.RevokeCause) bool { return fmt.Sprint(a) == fmt.Sprint(b) }
