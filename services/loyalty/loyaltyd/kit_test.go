package loyaltyd_test

import (
	"context"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/types/known/fieldmaskpb"

	"github.com/huiyuan-dev/huiyuan/pkg/kit"
	"github.com/huiyuan-dev/huiyuan/pkg/kittest"
	"github.com/huiyuan-dev/huiyuan/services/loyalty/loyaltyd"
	"github.com/huiyuan-dev/huiyuan/services/member/memberd"

	iamv1 "github.com/huiyuan-dev/huiyuan/gen/huiyuan/iam/v1"
	loyaltyv1 "github.com/huiyuan-dev/huiyuan/gen/huiyuan/loyalty/v1"
	memberv1 "github.com/huiyuan-dev/huiyuan/gen/huiyuan/member/v1"
)

// t0 is kittest's start of the fake clock: 10:00 on 1 March 2026 in Shanghai.
var t0 = kittest.T0

// lh is the loyalty service (with the member service it calls) on pkg/kittest, and the calls
// the tests share.
type lh struct {
	*kittest.Harness
}

// start runs loyalty and member through kit.Run as production does.
func start(tb testing.TB, o kittest.Options) *lh {
	tb.Helper()
	return &lh{kittest.Start(tb, func() []kit.Service { return []kit.Service{memberd.Module(), loyaltyd.Module()} }, o)}
}

func (h *lh) points() loyaltyv1.LoyaltyServiceClient {
	return loyaltyv1.NewLoyaltyServiceClient(h.Conn)
}
func (h *lh) progs() loyaltyv1.LoyaltyProgramServiceClient {
	return loyaltyv1.NewLoyaltyProgramServiceClient(h.Conn)
}

// asOther calls as an admin of the other tenant.
func (h *lh) asOther() context.Context { return h.AsTenant(kittest.Other, iamv1.Role_ADMIN) }

// order records an order of amount CNY minor units for member as a till.
func (h *lh) order(tb testing.TB, id, member string, amount int64) *loyaltyv1.RecordOrderResponse {
	tb.Helper()
	resp, err := h.points().RecordOrder(h.As(iamv1.Role_SERVICE), &loyaltyv1.RecordOrderRequest{
		Order: &loyaltyv1.Order{Id: id, MemberId: member, AmountMinor: amount, Currency: "CNY", StoreId: "sh-001"}})
	if err != nil {
		tb.Fatalf("RecordOrder %s: %v", id, err)
	}
	return resp
}

func (h *lh) balance(tb testing.TB, member string) *loyaltyv1.PointsBalance {
	tb.Helper()
	resp, err := h.points().GetPointsBalance(h.As(iamv1.Role_OPERATOR), &loyaltyv1.GetPointsBalanceRequest{MemberId: member})
	if err != nil {
		tb.Fatalf("GetPointsBalance: %v", err)
	}
	return resp.GetBalance()
}

func (h *lh) adjust(tb testing.TB, member string, points int64) *loyaltyv1.PointsTransaction {
	tb.Helper()
	resp, err := h.points().AdjustPoints(h.As(iamv1.Role_ADMIN), &loyaltyv1.AdjustPointsRequest{MemberId: member, Points: points, Reason: "test"})
	if err != nil {
		tb.Fatalf("AdjustPoints: %v", err)
	}
	return resp.GetTransaction()
}

// verify runs VerifyLedger and fails unless the books are consistent.
func (h *lh) verify(tb testing.TB) *loyaltyv1.VerifyLedgerResponse {
	tb.Helper()
	resp, err := h.points().VerifyLedger(h.As(iamv1.Role_ADMIN), &loyaltyv1.VerifyLedgerRequest{})
	if err != nil {
		tb.Fatalf("VerifyLedger: %v", err)
	}
	if !resp.GetOk() || len(resp.GetProblems()) != 0 {
		tb.Fatalf("ledger not ok: %v", resp.GetProblems())
	}
	return resp
}

// events returns the types of the tenant's loyalty events in order.
func (h *lh) events(tb testing.TB) []string {
	tb.Helper()
	return h.Events(loyaltyd.Name, kittest.Tenant)
}

// setPolicy updates the tenant's policy's fields in paths (nil: those p sets) as an admin.
func (h *lh) setPolicy(tb testing.TB, p *loyaltyv1.LoyaltyPolicy, paths ...string) *loyaltyv1.LoyaltyPolicy {
	tb.Helper()
	req := &loyaltyv1.UpdateLoyaltyPolicyRequest{Policy: p}
	if paths != nil {
		req.UpdateMask = &fieldmaskpb.FieldMask{Paths: paths}
	}
	resp, err := h.progs().UpdateLoyaltyPolicy(h.As(iamv1.Role_ADMIN), req)
	if err != nil {
		tb.Fatalf("UpdateLoyaltyPolicy: %v", err)
	}
	return resp.GetPolicy()
}

func count(evs []string, typ string) int {
	n := 0
	for _, e := range evs {
		if e == typ {
			n++
		}
	}
	return n
}

// TestOnTheKit runs loyalty with the member service through kit.Run, events on: a member's
// registration reaches loyalty through its consumer and errors carry loyalty's domain.
// (TestRestart restarts without the broker: a second embedded NATS server on the same
// directory races inside nats-server, a stream update against a consumer creation.)
func TestOnTheKit(t *testing.T) {
	h := start(t, kittest.Options{Events: true})
	members := memberv1.NewMemberServiceClient(h.Conn)
	m, err := members.CreateMember(h.As(iamv1.Role_OPERATOR), &memberv1.CreateMemberRequest{
		Member: &memberv1.Member{DisplayName: "Kit", Phone: "13800138000"}})
	if err != nil {
		t.Fatal(err)
	}
	id := m.GetMember().GetId()
	h.order(t, "o1", id, 12345)
	if b := h.balance(t, id); b.GetAvailable() != 123 {
		t.Fatalf("balance %v", b)
	}
	_, err = h.points().RedeemPoints(h.As(iamv1.Role_SERVICE), &loyaltyv1.RedeemPointsRequest{MemberId: id, Points: 1000, Reason: "too much"})
	kittest.WantErr(t, err, codes.FailedPrecondition, "INSUFFICIENT_POINTS")
	kittest.Eventually(t, 5*time.Second, func() bool {
		return len(h.Events("member", kittest.Tenant)) == 1 && len(h.events(t)) >= 1
	}, "events: member %v, loyalty %v", h.Events("member", kittest.Tenant), h.events(t))
	_, err = h.points().GetPointsBalance(h.AsTenant(kittest.Other, iamv1.Role_ANALYST), &loyaltyv1.GetPointsBalanceRequest{MemberId: ""})
	kittest.WantErr(t, err, codes.InvalidArgument, "", "member_id")
}

// TestRestart: the books survive a restart of the process.
func TestRestart(t *testing.T) {
	h := start(t, kittest.Options{})
	m1 := h.NewMember(t)
	h.order(t, "o1", m1, 12345)
	h.Restart()
	if b := h.balance(t, m1); b.GetAvailable() != 123 {
		t.Fatalf("after restart: balance %v", b)
	}
	h.order(t, "o1", m1, 12345) // the retry of an order recorded before the restart
	if b := h.balance(t, m1); b.GetAvailable() != 123 {
		t.Fatalf("after the retry: balance %v", b)
	}
	h.verify(t)
}
