package boltstore_test

import (
	"context"
	"testing"
	"time"

	"github.com/huiyuan-dev/huiyuan/pkg/apperr"
	"github.com/huiyuan-dev/huiyuan/pkg/idempotency"
	"github.com/huiyuan-dev/huiyuan/services/member/internal/member"
)

// TestTokenRevocationStore: a retried revocation of all tokens raises the generation once; a
// single revocation is kept until its tokens have surely expired, then pruned; closing raises
// the generation in the transaction of the change.
func TestTokenRevocationStore(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	m := f.create(t, "acme", member.Member{DisplayName: "a", Phone: "13812345678"})
	state := func(tok string) member.TokenState {
		t.Helper()
		st, err := f.store.TokenState(ctx, "acme", m.ID, tok)
		if err != nil {
			t.Fatal(err)
		}
		return st
	}
	idem := idempotency.NewContext(ctx, idempotency.Key{Tenant: "acme", Method: "/revokeAll", RequestID: "all"})
	first, err := f.svc.RevokeTokens(idem, "acme", m.ID)
	if err != nil {
		t.Fatal(err)
	}
	f.clk.Advance(time.Minute)
	again, err := f.svc.RevokeTokens(idem, "acme", m.ID)
	if err != nil || !again.At.Equal(first.At) || state("").Generation != 1 {
		t.Fatalf("retry: %+v %v, generation %d (want the first answer and 1)", again, err, state("").Generation)
	}

	const tok = "0190a0e0-0000-7000-8000-000000000001"
	if _, err := f.svc.RevokeToken(ctx, "acme", m.ID, tok); err != nil {
		t.Fatal(err)
	}
	if !state(tok).Revoked || state("0190a0e0-0000-7000-8000-000000000002").Revoked {
		t.Fatal("the revocation reaches the wrong tokens")
	}
	if n, err := f.store.PruneTokenRevocations(ctx, f.clk.Now().Add(member.MaxTokenTTL), 10); err != nil || n != 0 || !state(tok).Revoked {
		t.Fatalf("pruned %d (%v) while the token may still live", n, err)
	}
	if n, err := f.store.PruneTokenRevocations(ctx, f.clk.Now().Add(member.MaxTokenTTL+time.Hour), 10); err != nil || n != 1 || state(tok).Revoked {
		t.Fatalf("pruned %d (%v), want the expired revocation gone", n, err)
	}

	if _, err := f.svc.ChangeStatus(ctx, "acme", m.ID, member.StatusClosed, ""); err != nil {
		t.Fatal(err)
	}
	if st := state(""); st.Generation != 2 || st.Status != member.StatusClosed {
		t.Fatalf("after closing: %+v", st)
	}
	if _, err := f.store.TokenState(ctx, "acme", "0190a0e0-0000-7000-8000-0000000000ff", ""); apperr.CodeOf(err) != apperr.NotFound {
		t.Fatalf("unknown member: %v", err)
	}
	if _, err := f.store.TokenState(ctx, "other", m.ID, ""); apperr.CodeOf(err) != apperr.NotFound {
		t.Fatalf("another tenant's member: %v", err)
	}
}
