package loyaltyd_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"google.golang.org/grpc/codes"

	"github.com/huiyuan-dev/huiyuan/services/loyalty/loyaltyd"

	iamv1 "github.com/huiyuan-dev/huiyuan/gen/huiyuan/iam/v1"
	loyaltyv1 "github.com/huiyuan-dev/huiyuan/gen/huiyuan/loyalty/v1"
)

func count(evs []string, typ string) int {
	n := 0
	for _, e := range evs {
		if e == typ {
			n++
		}
	}
	return n
}

func (h *harness) runJob(t *testing.T, at time.Time) loyaltyd.JobReport {
	t.Helper()
	h.clk.Set(at)
	rep, err := h.svc.Scheduler().RunOnce(context.Background(), at)
	if err != nil {
		t.Fatalf("RunOnce at %s: %v", at, err)
	}
	return rep
}

// TestExpiryJob: holds time out, the expiring-soon notice goes out once, and lots expire at
// the right instant, exactly once, across a restart of the store.
func TestExpiryJob(t *testing.T) {
	path := t.TempDir() + "/loyalty.db"
	policy := loyaltyd.TenantPolicy{ExpiryKind: "AFTER_DAYS", ExpiryN: 30, ExpiringSoonDays: 7}
	h := newHarness(t, harnessOpts{path: path, policy: policy})
	svc := h.as(iamv1.Role_SERVICE)
	h.order(t, "o1", "m1", 10_000) // 100 points
	h.adjust(t, "m2", 50)
	hold, err := h.client.HoldPoints(svc, &loyaltyv1.HoldPointsRequest{MemberId: "m2", Points: 20})
	if err != nil {
		t.Fatal(err)
	}
	// Earned on 1 March (Shanghai), they last through 31 March: they expire at local midnight
	// starting 1 April, and the notice is due 7 days before.
	expiry := time.Date(2026, 4, 1, 0, 0, 0, 0, mustLoc(t, "Asia/Shanghai"))
	if b := h.balance(t, "m1"); len(b.GetExpiring()) != 1 || !b.GetExpiring()[0].GetExpireTime().AsTime().Equal(expiry) {
		t.Fatalf("expiring %v", b.GetExpiring())
	}

	if rep := h.runJob(t, t0.Add(10*time.Minute)); rep.Books != 0 {
		t.Fatalf("nothing due yet, did %+v", rep)
	}
	if rep := h.runJob(t, t0.Add(15*time.Minute)); rep.Books != 1 || rep.Transactions != 1 {
		t.Fatalf("hold timeout: %+v", rep)
	}
	if b := h.balance(t, "m2"); b.GetAvailable() != 50 || b.GetHeld() != 0 {
		t.Fatalf("after the hold timed out %v", b)
	}
	_, err = h.client.ReleaseHold(svc, &loyaltyv1.ReleaseHoldRequest{MemberId: "m2", HoldId: hold.GetHold().GetId()})
	wantErr(t, err, codes.FailedPrecondition, "HOLD_CLOSED")

	if rep := h.runJob(t, expiry.Add(-7*24*time.Hour-time.Second)); rep.Notices != 0 {
		t.Fatalf("notice too early: %+v", rep)
	}
	if rep := h.runJob(t, expiry.Add(-7*24*time.Hour)); rep.Notices != 2 || rep.Transactions != 0 {
		t.Fatalf("notices: %+v", rep)
	}
	if rep := h.runJob(t, expiry.Add(-time.Hour)); rep.Books != 0 || rep.Notices != 0 {
		t.Fatalf("notice twice: %+v", rep)
	}

	// Restart: the due work survives in the file.
	h.close()
	h = newHarness(t, harnessOpts{path: path, policy: policy, clk: h.clk})
	h.clk.Set(expiry.Add(-time.Nanosecond))
	if b := h.balance(t, "m1"); b.GetAvailable() != 100 {
		t.Fatalf("expired early %v", b)
	}
	if rep := h.runJob(t, expiry.Add(-time.Nanosecond)); rep.Books != 0 {
		t.Fatalf("expired early: %+v", rep)
	}
	if rep := h.runJob(t, expiry); rep.Books != 2 || rep.Transactions != 2 {
		t.Fatalf("expiry: %+v", rep)
	}
	if rep := h.runJob(t, expiry.Add(time.Hour)); rep.Books != 0 || rep.Transactions != 0 {
		t.Fatalf("expired twice: %+v", rep)
	}
	for _, m := range []string{"m1", "m2"} {
		if b := h.balance(t, m); b.GetAvailable() != 0 || len(b.GetExpiring()) != 0 {
			t.Fatalf("%s after expiry %v", m, b)
		}
	}
	evs := h.events(t)
	if count(evs, "points_expiring_soon") != 2 || count(evs, "points_expired") != 2 || count(evs, "points_released") != 1 {
		t.Fatalf("events %v", evs)
	}
	resp, err := h.client.ListPointsTransactions(svc, &loyaltyv1.ListPointsTransactionsRequest{MemberId: "m1"})
	if err != nil || resp.GetTransactions()[0].GetKind() != loyaltyv1.PointsTransaction_EXPIRE ||
		!resp.GetTransactions()[0].GetCreateTime().AsTime().Equal(expiry) || resp.GetTransactions()[0].GetPoints() != -100 {
		t.Fatalf("history %v %v", err, resp)
	}
	h.verify(t)
}

// TestPendingMaturity: points in a return window become available when it closes, posted by
// the job once.
func TestPendingMaturity(t *testing.T) {
	h := newHarness(t, harnessOpts{noSync: true, policy: loyaltyd.TenantPolicy{PendingDays: 7}})
	h.order(t, "o1", "m1", 10_000)
	if b := h.balance(t, "m1"); b.GetPending() != 100 || b.GetAvailable() != 0 {
		t.Fatalf("pending %v", b)
	}
	if rep := h.runJob(t, t0.Add(7*24*time.Hour-time.Second)); rep.Books != 0 {
		t.Fatalf("matured early %+v", rep)
	}
	if rep := h.runJob(t, t0.Add(7*24*time.Hour)); rep.Transactions != 1 {
		t.Fatalf("maturity %+v", rep)
	}
	if rep := h.runJob(t, t0.Add(8*24*time.Hour)); rep.Transactions != 0 {
		t.Fatalf("matured twice %+v", rep)
	}
	if b := h.balance(t, "m1"); b.GetPending() != 0 || b.GetAvailable() != 100 {
		t.Fatalf("after maturity %v", b)
	}
	if evs := h.events(t); count(evs, "points_matured") != 1 {
		t.Fatalf("events %v", evs)
	}
	h.verify(t)
}

// TestSchedulerRun runs the job in the background: it does the due work and stops with ctx.
func TestSchedulerRun(t *testing.T) {
	h := newHarness(t, harnessOpts{noSync: true})
	h.adjust(t, "m1", 10)
	if _, err := h.client.HoldPoints(h.as(iamv1.Role_SERVICE), &loyaltyv1.HoldPointsRequest{MemberId: "m1", Points: 10}); err != nil {
		t.Fatal(err)
	}
	h.clk.Advance(time.Hour)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- h.svc.Scheduler().Run(ctx) }()
	deadline := time.Now().Add(5 * time.Second)
	for !slices.Contains(h.events(t), "points_released") {
		if time.Now().After(deadline) {
			t.Fatal("the scheduler did not release the hold")
		}
		time.Sleep(5 * time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Run: %v", err)
	}
}

func mustLoc(t *testing.T, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Fatal(err)
	}
	return loc
}
