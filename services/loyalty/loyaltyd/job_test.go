package loyaltyd_test

import (
	"slices"
	"testing"
	"time"

	"github.com/huiyuan-dev/huiyuan/pkg/kittest"

	iamv1 "github.com/huiyuan-dev/huiyuan/gen/huiyuan/iam/v1"
	loyaltyv1 "github.com/huiyuan-dev/huiyuan/gen/huiyuan/loyalty/v1"
)

// TestDueWorkJob: the kit runs the due-work job in the background; it works as the process
// starts, so a hold that timed out while the process was down is released after a restart.
// (What the job does, and that it does it once, is tested with the use cases, at chosen times.)
func TestDueWorkJob(t *testing.T) {
	h := start(t, kittest.Options{Args: []string{"--loyalty-job-interval=1h"}})
	m1 := h.NewMember(t)
	h.adjust(t, m1, 10)
	if _, err := h.points().HoldPoints(h.As(iamv1.Role_SERVICE), &loyaltyv1.HoldPointsRequest{MemberId: m1, Points: 10}); err != nil {
		t.Fatal(err)
	}
	h.Clock.Advance(time.Hour)
	h.Restart()
	kittest.Eventually(t, 10*time.Second, func() bool { return slices.Contains(h.events(t), "points_released") },
		"the job did not release the hold: %v", h.events(t))
	if b := h.balance(t, m1); b.GetAvailable() != 10 || b.GetHeld() != 0 {
		t.Fatalf("balance %v", b)
	}
	h.verify(t)
}
