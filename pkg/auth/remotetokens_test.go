package auth_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/huiyuan-dev/huiyuan/pkg/apperr"
	"github.com/huiyuan-dev/huiyuan/pkg/auth"
	"github.com/huiyuan-dev/huiyuan/pkg/clock"
)

// fakeStatus is the member service's answer: tokens revoked by id, and a count of questions.
type fakeStatus struct {
	mu      sync.Mutex
	revoked map[string]bool
	down    bool
	asked   int
	during  func() // runs while a question is in flight
}

func (f *fakeStatus) CheckToken(_ context.Context, t auth.MemberToken) error {
	f.mu.Lock()
	f.asked++
	revoked, down, during := f.revoked[t.ID], f.down, f.during
	f.mu.Unlock()
	if during != nil {
		during()
	}
	switch {
	case down:
		return errors.New("member service unreachable")
	case revoked:
		return auth.ErrTokenRevoked()
	}
	return nil
}

func (f *fakeStatus) revoke(id string) {
	f.mu.Lock()
	f.revoked[id] = true
	f.mu.Unlock()
}

func (f *fakeStatus) questions() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.asked
}

func TestRemoteTokens(t *testing.T) {
	clk := clock.NewFake(t0)
	st := &fakeStatus{revoked: map[string]bool{}}
	rt := auth.NewRemoteTokens(st, time.Second, clk)
	ctx := context.Background()
	tok := func(member, id string) auth.MemberToken {
		return auth.MemberToken{Tenant: "acme", MemberID: member, ID: id, ExpireTime: t0.Add(time.Hour)}
	}
	a1, a2, b1 := tok("a", "a1"), tok("a", "a2"), tok("b", "b1")
	for _, tk := range []auth.MemberToken{a1, a2, b1, a1} {
		if err := rt.CheckToken(ctx, tk); err != nil {
			t.Fatal(err)
		}
	}
	if n := st.questions(); n != 3 {
		t.Fatalf("asked %d times, want 3 (the second use of a1 is cached)", n)
	}

	// Revoked at the service: the cache hides it for at most the TTL...
	st.revoke("a1")
	if err := rt.CheckToken(ctx, a1); err != nil {
		t.Fatalf("within the TTL: %v", err)
	}
	clk.Advance(time.Second)
	if err := rt.CheckToken(ctx, a1); !auth.IsRevoked(err) || apperr.CodeOf(err) != apperr.Unauthenticated {
		t.Fatalf("after the TTL: %v, want TOKEN_REVOKED", err)
	}
	// ... and a revoked token is refused from then on without asking.
	n := st.questions()
	clk.Advance(10 * time.Second)
	if err := rt.CheckToken(ctx, a1); !auth.IsRevoked(err) || st.questions() != n {
		t.Fatalf("revoked token asked again (%v)", err)
	}

	// An event evicts at once: one token, or all of a member's.
	st.revoke("b1")
	rt.Evict(auth.TokenRevocation{Tenant: "acme", MemberID: "b", TokenID: "b1"})
	if err := rt.CheckToken(ctx, b1); !auth.IsRevoked(err) {
		t.Fatalf("evicted token: %v", err)
	}
	if err := rt.CheckToken(ctx, a2); err != nil {
		t.Fatal(err)
	}
	st.revoke("a2")
	rt.Evict(auth.TokenRevocation{Tenant: "other", MemberID: "a"}) // another tenant's member a
	if err := rt.CheckToken(ctx, a2); err != nil {
		t.Fatalf("another tenant's eviction reached acme: %v", err)
	}
	rt.Evict(auth.TokenRevocation{Tenant: "acme", MemberID: "a"})
	if err := rt.CheckToken(ctx, a2); !auth.IsRevoked(err) {
		t.Fatalf("member-wide eviction: %v", err)
	}

	// Unreachable: refused, and nothing cached.
	st.mu.Lock()
	st.down = true
	st.mu.Unlock()
	c1 := tok("c", "c1")
	if err := rt.CheckToken(ctx, c1); err == nil || auth.IsRevoked(err) {
		t.Fatalf("unreachable service: %v, want its error", err)
	}
	st.mu.Lock()
	st.down = false
	st.mu.Unlock()
	if err := rt.CheckToken(ctx, c1); err != nil {
		t.Fatal(err)
	}
}

// TestRemoteTokensEvictionRace: an answer in flight when an eviction arrives is not cached, so
// the revocation that caused the eviction is seen by the next use.
func TestRemoteTokensEvictionRace(t *testing.T) {
	clk := clock.NewFake(t0)
	st := &fakeStatus{revoked: map[string]bool{}}
	rt := auth.NewRemoteTokens(st, time.Hour, clk)
	tk := auth.MemberToken{Tenant: "acme", MemberID: "a", ID: "a1", ExpireTime: t0.Add(time.Hour)}
	st.during = func() {
		st.mu.Lock()
		st.during = nil
		st.revoked["a1"] = true // revoked after the service answered "usable"
		st.mu.Unlock()
		rt.Evict(auth.TokenRevocation{Tenant: "acme", MemberID: "a", TokenID: "a1"})
	}
	st.mu.Lock()
	st.revoked["a1"] = false
	st.mu.Unlock()
	// The fake answers from the state read before during ran: usable.
	if err := rt.CheckToken(context.Background(), tk); err != nil {
		t.Fatal(err)
	}
	if err := rt.CheckToken(context.Background(), tk); !auth.IsRevoked(err) {
		t.Fatalf("stale answer cached across an eviction: %v", err)
	}
}

// TestRevocableTokens: verification first (a forged or expired token never reaches the status),
// then the status.
func TestRevocableTokens(t *testing.T) {
	clk := clock.NewFake(t0)
	mt := auth.NewMemberTokens(testSecret, clk)
	st := &fakeStatus{revoked: map[string]bool{}}
	rt := auth.RevocableTokens{Tokens: mt, Status: st}
	tok, claims, err := mt.IssueToken("acme", "m-1", time.Hour, 0)
	if err != nil {
		t.Fatal(err)
	}
	p, err := rt.Authenticate(context.Background(), tok)
	if err != nil || p.MemberID != "m-1" || p.TokenID != claims.ID {
		t.Fatalf("Authenticate = %+v, %v", p, err)
	}
	st.revoke(claims.ID)
	if _, err := rt.Authenticate(context.Background(), tok); !auth.IsRevoked(err) {
		t.Fatalf("revoked: %v", err)
	}
	n := st.questions()
	if _, err := rt.Authenticate(context.Background(), "a.b.c"); apperr.ReasonOf(err) != auth.ReasonInvalidToken || st.questions() != n {
		t.Fatalf("garbage: %v (asked %d)", err, st.questions()-n)
	}
}
