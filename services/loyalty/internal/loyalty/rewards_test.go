package loyalty_test

import (
	"testing"

	"github.com/huiyuan-dev/huiyuan/pkg/apperr"
	"github.com/huiyuan-dev/huiyuan/services/loyalty/internal/loyalty"
)

// externalReward creates an active external reward costing cost points and returns its id.
func externalReward(t *testing.T, e *env, cost int64) string {
	t.Helper()
	rw, err := e.svc.CreateReward(bg, "acme", loyalty.Reward{Title: "Voucher", Kind: loyalty.RewardExternal, CostPoints: cost, Active: true})
	if err != nil {
		t.Fatal(err)
	}
	return rw.ID
}

// TestRedemptionHoldSettledOnlyByRedemption: the hold behind an external reward's redemption
// cannot be captured or released through the hold API (by staff, or by the member itself):
// HOLD_OF_REDEMPTION, the hold stays open, and FULFILLED then spends its points.
func TestRedemptionHoldSettledOnlyByRedemption(t *testing.T) {
	cases := []struct {
		name string
		call func(e *env, member, hold string) error
	}{
		{"member releases", func(e *env, member, hold string) error {
			_, err := e.svc.Release(bg, "acme", member, member, hold)
			return err
		}},
		{"staff releases", func(e *env, member, hold string) error {
			_, err := e.svc.Release(bg, "acme", "k", member, hold)
			return err
		}},
		{"capture all", func(e *env, member, hold string) error {
			_, err := e.svc.Capture(bg, "acme", member, hold, 0)
			return err
		}},
		{"capture part", func(e *env, member, hold string) error {
			_, err := e.svc.Capture(bg, "acme", member, hold, 1)
			return err
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := newEnv(t)
			e.adjust(t, "acme", "m1", 100)
			red, err := e.svc.RedeemReward(bg, "acme", "m1", "m1", externalReward(t, e, 60), 1)
			if err != nil {
				t.Fatal(err)
			}
			err = c.call(e, "m1", red.ID)
			if apperr.CodeOf(err) != apperr.FailedPrecondition || apperr.ReasonOf(err) != loyalty.ReasonHoldOfRedemption {
				t.Fatalf("err %v, want FailedPrecondition %s", err, loyalty.ReasonHoldOfRedemption)
			}
			if b := e.balance(t, "acme", "m1"); b.Available != 40 || b.Held != 60 {
				t.Fatalf("balance after the refusal %+v", b)
			}
			got, err := e.svc.UpdateRedemption(bg, "acme", "fulfiller", red.ID, loyalty.RedemptionFulfilled)
			if err != nil || got.Status != loyalty.RedemptionFulfilled {
				t.Fatalf("FULFILLED: %v %+v", err, got)
			}
			if b := e.balance(t, "acme", "m1"); b.Available != 40 || b.Held != 0 {
				t.Fatalf("balance after FULFILLED %+v: the reward's points were not spent", b)
			}
			e.verify(t, "acme")
		})
	}
}
