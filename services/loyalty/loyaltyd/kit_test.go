package loyaltyd_test

import (
	"testing"
	"time"

	"google.golang.org/grpc/codes"

	"github.com/huiyuan-dev/huiyuan/pkg/kit"
	"github.com/huiyuan-dev/huiyuan/pkg/kittest"
	"github.com/huiyuan-dev/huiyuan/services/loyalty/loyaltyd"
	"github.com/huiyuan-dev/huiyuan/services/member/memberd"

	iamv1 "github.com/huiyuan-dev/huiyuan/gen/huiyuan/iam/v1"
	loyaltyv1 "github.com/huiyuan-dev/huiyuan/gen/huiyuan/loyalty/v1"
	memberv1 "github.com/huiyuan-dev/huiyuan/gen/huiyuan/member/v1"
)

// TestOnTheKit runs loyalty with the member service through kit.Run, events on: a member's
// tier change reaches loyalty through its consumer, and errors carry loyalty's domain.
func TestOnTheKit(t *testing.T) {
	h := kittest.Start(t, func() []kit.Service { return []kit.Service{memberd.Module(), loyaltyd.Module()} }, kittest.Options{Events: true})
	members := memberv1.NewMemberServiceClient(h.Conn)
	points := loyaltyv1.NewLoyaltyServiceClient(h.Conn)
	m, err := members.CreateMember(h.As(iamv1.Role_OPERATOR), &memberv1.CreateMemberRequest{
		Member: &memberv1.Member{DisplayName: "Kit", Phone: "13800138000"}})
	if err != nil {
		t.Fatal(err)
	}
	id := m.GetMember().GetId()
	if _, err := points.RecordOrder(h.As(iamv1.Role_SERVICE), &loyaltyv1.RecordOrderRequest{
		Order: &loyaltyv1.Order{Id: "o1", MemberId: id, AmountMinor: 12345, Currency: "CNY"}}); err != nil {
		t.Fatal(err)
	}
	bal, err := points.GetPointsBalance(h.As(iamv1.Role_OPERATOR), &loyaltyv1.GetPointsBalanceRequest{MemberId: id})
	if err != nil || bal.GetBalance().GetAvailable() != 123 {
		t.Fatalf("balance %v, %v", bal, err)
	}
	_, err = points.RedeemPoints(h.As(iamv1.Role_SERVICE), &loyaltyv1.RedeemPointsRequest{MemberId: id, Points: 1000, Reason: "too much"})
	kittest.WantErr(t, err, codes.FailedPrecondition, "INSUFFICIENT_POINTS")
	kittest.Eventually(t, 5*time.Second, func() bool {
		return len(h.Events("member", kittest.Tenant)) == 1 && len(h.Events("loyalty", kittest.Tenant)) >= 1
	}, "events: member %v, loyalty %v", h.Events("member", kittest.Tenant), h.Events("loyalty", kittest.Tenant))
	_, err = points.GetPointsBalance(h.AsTenant(kittest.Other, iamv1.Role_ANALYST), &loyaltyv1.GetPointsBalanceRequest{MemberId: ""})
	kittest.WantErr(t, err, codes.InvalidArgument, "", "member_id")
	h.Restart()
	bal, err = loyaltyv1.NewLoyaltyServiceClient(h.Conn).GetPointsBalance(h.As(iamv1.Role_OPERATOR), &loyaltyv1.GetPointsBalanceRequest{MemberId: id})
	if err != nil || bal.GetBalance().GetAvailable() != 123 {
		t.Fatalf("after restart: balance %v, %v", bal, err)
	}
}
