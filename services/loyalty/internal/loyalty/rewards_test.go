package loyalty_test

import (
	"testing"
	"time"

	"github.com/huiyuan-dev/huiyuan/pkg/apperr"
	"github.com/huiyuan-dev/huiyuan/services/loyalty/internal/ledger"
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

// TestRedemptionAfterHoldTimeout: an external redemption whose hold timed out (7 days, the
// tenant's longest hold) is refused FULFILLED with HOLD_EXPIRED and stays PENDING, whether the
// timeout is settled yet or the closed hold forgotten since; FAILED then closes it and moves
// no points beyond the timeout's own release.
func TestRedemptionAfterHoldTimeout(t *testing.T) {
	late := t0.Add(8 * 24 * time.Hour)
	cases := []struct {
		name  string
		after func(t *testing.T, e *env) // from the redemption to the fulfiller's answer
		avail int64                      // the member's available points once FAILED
	}{
		{"timed out, not settled yet", func(t *testing.T, e *env) { e.clk.Set(late) }, 100},
		{"timed out and settled", func(t *testing.T, e *env) { e.due(t, late, 0) }, 100},
		{"settled and forgotten", func(t *testing.T, e *env) {
			e.due(t, late, 0)
			e.clk.Set(late.Add(8 * 24 * time.Hour)) // past the 7 days a closed hold is kept
			e.adjust(t, "acme", "m1", 1)            // saves the book, which forgets the hold
		}, 101},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := newEnv(t)
			e.adjust(t, "acme", "m1", 100)
			red, err := e.svc.RedeemReward(bg, "acme", "k", "m1", externalReward(t, e, 60), 1)
			if err != nil || red.Status != loyalty.RedemptionPending {
				t.Fatalf("redeem: %v %+v", err, red)
			}
			c.after(t, e)
			_, err = e.svc.UpdateRedemption(bg, "acme", "fulfiller", red.ID, loyalty.RedemptionFulfilled)
			if apperr.CodeOf(err) != apperr.FailedPrecondition || apperr.ReasonOf(err) != ledger.ReasonHoldExpired {
				t.Fatalf("FULFILLED: %v, want FailedPrecondition %s", err, ledger.ReasonHoldExpired)
			}
			if rs, err := e.svc.ListRedemptions(bg, "acme", "m1"); err != nil || len(rs) != 1 || rs[0].Status != loyalty.RedemptionPending {
				t.Fatalf("after the refused FULFILLED: %v %+v", err, rs)
			}
			got, err := e.svc.UpdateRedemption(bg, "acme", "fulfiller", red.ID, loyalty.RedemptionFailed)
			if err != nil || got.Status != loyalty.RedemptionFailed {
				t.Fatalf("FAILED: %v %+v", err, got)
			}
			if b := e.balance(t, "acme", "m1"); b.Available != c.avail || b.Held != 0 {
				t.Fatalf("balance %+v, want %d available", b, c.avail)
			}
			e.verify(t, "acme")
		})
	}
}
