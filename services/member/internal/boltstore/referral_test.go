package boltstore_test

import (
	"context"
	"testing"

	"github.com/huiyuan-dev/huiyuan/services/member/internal/member"
)

// TestReferralOfGoneMember: a closed or erased member's account is final, so a registration
// naming its id as referral code credits nothing to it.
func TestReferralOfGoneMember(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	for _, tt := range []struct {
		name  string
		phone string
		end   func(id string) error // what happens to the referrer first; nil: nothing
		want  int64                 // referrals it gains
	}{
		{"active", "13812345600", nil, 1},
		{"erased", "13812345601", func(id string) error { _, err := f.svc.Erase(ctx, "acme", id); return err }, 0},
		{"closed", "13812345602", func(id string) error {
			_, err := f.svc.ChangeStatus(ctx, "acme", id, member.StatusClosed, "")
			return err
		}, 0},
	} {
		t.Run(tt.name, func(t *testing.T) {
			ref := f.create(t, "acme", member.Member{DisplayName: "referrer", Phone: tt.phone})
			if tt.end != nil {
				if err := tt.end(ref.ID); err != nil {
					t.Fatal(err)
				}
			}
			before, _, err := f.store.Account(ctx, "acme", ref.ID)
			if err != nil {
				t.Fatal(err)
			}
			in := member.Member{DisplayName: "new", Email: "new" + tt.phone + "@x.cn", ReferralCode: ref.ID}
			if _, err := f.svc.Create(ctx, "acme", &in); err != nil {
				t.Fatal(err)
			}
			after, _, err := f.store.Account(ctx, "acme", ref.ID)
			if err != nil {
				t.Fatal(err)
			}
			if got := after.Value.Referrals - before.Value.Referrals; got != tt.want {
				t.Errorf("referrals gained %d, want %d", got, tt.want)
			}
		})
	}
}
