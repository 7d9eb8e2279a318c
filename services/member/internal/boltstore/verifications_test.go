package boltstore_test

import (
	"bytes"
	"context"
	"os"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/huiyuan-dev/huiyuan/pkg/apperr"
	"github.com/huiyuan-dev/huiyuan/pkg/idempotency"
	"github.com/huiyuan-dev/huiyuan/services/member/internal/member"
)

// TestVerificationStore: codes and destinations are sealed at rest; a wrong code's attempt is
// committed though the call fails; a confirmation that finds the address taken meanwhile
// changes nothing and keeps the attempt; erasure deletes pending verifications; expired ones
// are pruned.
func TestVerificationStore(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	m := f.create(t, "acme", member.Member{DisplayName: "a", Phone: "13812345678"})
	idem := idempotency.NewContext(ctx, idempotency.Key{Tenant: "acme", Method: "/request", RequestID: "rq"})
	v, err := f.svc.RequestContactChange(idem, "acme", m.ID, member.ContactChange{Email: "Secret.Destination@Example.com"})
	if err != nil {
		t.Fatal(err)
	}
	// A retry answers the same verification without a new code.
	again, err := f.svc.RequestContactChange(idem, "acme", m.ID, member.ContactChange{Email: "Secret.Destination@Example.com"})
	if err != nil || again.ID != v.ID || again.Code != "" || again.Destination != "" {
		t.Fatalf("retry: %+v %v", again, err)
	}
	msg, err := f.svc.VerificationMessage(ctx, "acme", m.ID, v.ID)
	if err != nil || msg.Destination != "secret.destination@example.com" {
		t.Fatalf("message %+v %v", msg, err)
	}
	wrong := "000000"
	if msg.Code == wrong {
		wrong = "111111"
	}
	if _, err := f.svc.ConfirmContactChange(ctx, "acme", m.ID, v.ID, wrong); apperr.ReasonOf(err) != member.ReasonCodeInvalid {
		t.Fatalf("wrong code: %v", err)
	}
	if got, err := f.store.Verification(ctx, "acme", m.ID, v.ID); err != nil || got.AttemptsLeft != member.VerificationAttempts-1 {
		t.Fatalf("the failed attempt was not committed: %+v %v", got, err)
	}
	// Another member takes the address before the confirmation.
	f.create(t, "acme", member.Member{DisplayName: "b", Email: "secret.destination@example.com"})
	if _, err := f.svc.ConfirmContactChange(ctx, "acme", m.ID, v.ID, msg.Code); apperr.ReasonOf(err) != member.ReasonEmailExists {
		t.Fatalf("taken address: %v", err)
	}
	if got, _ := f.svc.Get(ctx, "acme", m.ID, member.ViewFull); got.Email != "" {
		t.Fatalf("email changed to a taken one: %q", got.Email)
	}
	if got, err := f.store.Verification(ctx, "acme", m.ID, v.ID); err != nil || got.AttemptsLeft != member.VerificationAttempts-1 {
		t.Fatalf("after the conflict: %+v %v", got, err)
	}

	// Pruning takes only what expired.
	f.clk.Advance(member.VerificationCooldown)
	sms, err := f.svc.RequestContactChange(ctx, "acme", m.ID, member.ContactChange{Phone: "13700000000"})
	if err != nil {
		t.Fatal(err)
	}
	if n, err := f.store.PruneVerifications(ctx, f.clk.Now().Add(member.VerificationTTL-member.VerificationCooldown+time.Second), 10); err != nil || n != 1 {
		t.Fatalf("pruned %d %v, want the email's", n, err)
	}
	if _, err := f.store.Verification(ctx, "acme", m.ID, sms.ID); err != nil {
		t.Fatalf("the live one was pruned: %v", err)
	}
	// Erasure deletes the rest.
	if _, err := f.svc.Erase(ctx, "acme", m.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := f.store.Verification(ctx, "acme", m.ID, sms.ID); apperr.ReasonOf(err) != member.ReasonVerificationNotFound {
		t.Fatalf("verification survived erasure: %v", err)
	}
	err = f.db.View(ctx, func(tx *bolt.Tx) error {
		for _, b := range []string{"member_verifications", "member_verification_times"} {
			if k, _ := tx.Bucket([]byte(b)).Cursor().First(); k != nil {
				t.Errorf("%s still holds %q", b, k)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	f.close(t)
	raw, err := os.ReadFile(f.path)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"secret.destination", "Secret.Destination", "+8613700000000", "13700000000"} {
		if bytes.Contains(raw, []byte(s)) {
			t.Errorf("plaintext %q in the database file", s)
		}
	}
}
