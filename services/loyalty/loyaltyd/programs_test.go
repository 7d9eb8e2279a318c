package loyaltyd_test

import (
	"slices"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"github.com/huiyuan-dev/huiyuan/pkg/kittest"

	iamv1 "github.com/huiyuan-dev/huiyuan/gen/huiyuan/iam/v1"
	loyaltyv1 "github.com/huiyuan-dev/huiyuan/gen/huiyuan/loyalty/v1"
)

func TestTransferPoints(t *testing.T) {
	h := start(t, kittest.Options{})
	m1, m2, m3 := h.NewMember(t), h.NewMember(t), h.NewMember(t)
	h.adjust(t, m1, 20_000)
	ctx := h.AsMember(m1)
	req := &loyaltyv1.TransferPointsRequest{MemberId: m1, ToMemberId: m2, RequestId: "tr-1", Points: 300, Reason: "gift"}
	resp, err := h.progs().TransferPoints(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	out, in := resp.GetSenderTransaction(), resp.GetReceiverTransaction()
	if out.GetKind() != loyaltyv1.PointsTransaction_TRANSFER || out.GetPoints() != -300 || out.GetMemberId() != m1 ||
		in.GetKind() != loyaltyv1.PointsTransaction_TRANSFER || in.GetPoints() != 300 || in.GetMemberId() != m2 ||
		out.GetCause().GetRef() == "" || out.GetCause().GetRef() != in.GetCause().GetRef() || in.GetSequence() != out.GetSequence()+1 {
		t.Fatalf("transfer %v", resp)
	}
	h.Clock.Advance(time.Second)
	again, err := h.progs().TransferPoints(ctx, req)
	if err != nil || !proto.Equal(again, resp) {
		t.Fatalf("retry: %v %v", err, again)
	}
	if b := h.balance(t, m1); b.GetAvailable() != 19_700 {
		t.Fatalf("sender %v", b)
	}
	// The received lot keeps the sender's expiry.
	b2 := h.balance(t, m2)
	if b2.GetAvailable() != 300 || len(b2.GetExpiring()) != 1 || !proto.Equal(b2.GetExpiring()[0].GetExpireTime(), h.balance(t, m1).GetExpiring()[0].GetExpireTime()) {
		t.Fatalf("receiver %v", b2)
	}
	if n := count(h.events(t), "points_transferred"); n != 2 {
		t.Fatalf("points_transferred events = %d, want 2", n)
	}

	op := h.As(iamv1.Role_OPERATOR)
	tests := []struct {
		name   string
		req    *loyaltyv1.TransferPointsRequest
		code   codes.Code
		reason string
		fields []string
	}{
		{"to self", &loyaltyv1.TransferPointsRequest{MemberId: m1, ToMemberId: m1, Points: 1}, codes.InvalidArgument, "TRANSFER_TO_SELF", nil},
		{"bad fields", &loyaltyv1.TransferPointsRequest{MemberId: m1, ToMemberId: "a b", Points: 0}, codes.InvalidArgument, "", []string{"to_member_id", "points"}},
		{"insufficient", &loyaltyv1.TransferPointsRequest{MemberId: m2, ToMemberId: m1, Points: 301}, codes.FailedPrecondition, "INSUFFICIENT_POINTS", nil},
		{"limit", &loyaltyv1.TransferPointsRequest{MemberId: m1, ToMemberId: m3, Points: 9_701}, codes.FailedPrecondition, "TRANSFER_LIMIT_REACHED", nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := h.progs().TransferPoints(op, tc.req)
			kittest.WantErr(t, err, tc.code, tc.reason, tc.fields...)
		})
	}
	// The window's limit: 9,700 more fit, then nothing until the window moves on.
	if _, err := h.progs().TransferPoints(op, &loyaltyv1.TransferPointsRequest{MemberId: m1, ToMemberId: m3, Points: 9_700}); err != nil {
		t.Fatal(err)
	}
	_, err = h.progs().TransferPoints(op, &loyaltyv1.TransferPointsRequest{MemberId: m1, ToMemberId: m3, Points: 1})
	kittest.WantErr(t, err, codes.FailedPrecondition, "TRANSFER_LIMIT_REACHED")
	h.Clock.Advance(31 * 24 * time.Hour)
	if _, err := h.progs().TransferPoints(op, &loyaltyv1.TransferPointsRequest{MemberId: m1, ToMemberId: m3, Points: 1}); err != nil {
		t.Fatalf("after the window: %v", err)
	}
	h.verify(t)

	off := start(t, kittest.Options{})
	off.setPolicy(t, &loyaltyv1.LoyaltyPolicy{}, "transfer_limit_points") // 0 disables transfers
	o1, o2 := off.NewMember(t), off.NewMember(t)
	off.adjust(t, o1, 100)
	_, err = off.progs().TransferPoints(off.As(iamv1.Role_ADMIN), &loyaltyv1.TransferPointsRequest{MemberId: o1, ToMemberId: o2, Points: 1})
	kittest.WantErr(t, err, codes.FailedPrecondition, "TRANSFER_DISABLED")
}

func TestCheckIn(t *testing.T) {
	h := start(t, kittest.Options{})
	m1, m2 := h.NewMember(t), h.NewMember(t)
	ctx := h.AsMember(m1)
	first, err := h.progs().CheckIn(ctx, &loyaltyv1.CheckInRequest{MemberId: m1, RequestId: "ci-1"})
	if err != nil {
		t.Fatal(err)
	}
	tx := first.GetTransaction()
	if first.GetPointsAwarded() != 5 || first.GetStreak() != 1 || tx.GetPoints() != 5 || tx.GetCause().GetType() != loyaltyv1.Cause_CHECK_IN ||
		tx.GetCause().GetRef() != "2026-03-01" || tx.GetKind() != loyaltyv1.PointsTransaction_EARN {
		t.Fatalf("check-in %v", first)
	}
	again, err := h.progs().CheckIn(ctx, &loyaltyv1.CheckInRequest{MemberId: m1, RequestId: "ci-1"})
	if err != nil || !proto.Equal(again, first) {
		t.Fatalf("retry: %v %v", err, again)
	}
	_, err = h.progs().CheckIn(ctx, &loyaltyv1.CheckInRequest{MemberId: m1})
	kittest.WantErr(t, err, codes.FailedPrecondition, "ALREADY_CHECKED_IN")
	_, err = h.progs().CheckIn(ctx, &loyaltyv1.CheckInRequest{MemberId: m2})
	kittest.WantErr(t, err, codes.PermissionDenied, "PERMISSION_DENIED")
	ctx = h.As(iamv1.Role_SERVICE) // member tokens last an hour; the days below do not
	// 13:59 later it is still 1 March in Shanghai (though 2 March began nowhere in UTC yet at 00:00 local).
	h.Clock.Advance(13*time.Hour + 59*time.Minute)
	_, err = h.progs().CheckIn(ctx, &loyaltyv1.CheckInRequest{MemberId: m1})
	kittest.WantErr(t, err, codes.FailedPrecondition, "ALREADY_CHECKED_IN")
	h.Clock.Advance(time.Minute) // 00:00 on 2 March in Shanghai, still 1 March in UTC
	var got []int64
	for day := 2; day <= 8; day++ {
		resp, err := h.progs().CheckIn(ctx, &loyaltyv1.CheckInRequest{MemberId: m1})
		if err != nil {
			t.Fatalf("day %d: %v", day, err)
		}
		if resp.GetStreak() != int32(day) {
			t.Fatalf("day %d: streak %d", day, resp.GetStreak())
		}
		got = append(got, resp.GetPointsAwarded())
		h.Clock.Advance(24 * time.Hour)
	}
	if want := []int64{5, 5, 5, 5, 5, 55, 5}; !slices.Equal(got, want) {
		t.Fatalf("points by day = %v, want %v", got, want)
	}
	h.Clock.Advance(24 * time.Hour) // a day missed
	resp, err := h.progs().CheckIn(ctx, &loyaltyv1.CheckInRequest{MemberId: m1})
	if err != nil || resp.GetStreak() != 1 || resp.GetPointsAwarded() != 5 {
		t.Fatalf("after a gap: %v %v", err, resp)
	}
	if b := h.balance(t, m1); b.GetAvailable() != 5+85+5 {
		t.Fatalf("balance %v", b)
	}
	if n := count(h.events(t), "checked_in"); n != 9 {
		t.Fatalf("checked_in events = %d, want 9", n)
	}
	_, err = h.progs().CheckIn(h.As(iamv1.Role_SERVICE), &loyaltyv1.CheckInRequest{MemberId: ""})
	kittest.WantErr(t, err, codes.InvalidArgument, "", "member_id")
	h.verify(t)
}

func TestPointsLiability(t *testing.T) {
	h := start(t, kittest.Options{})
	m1 := h.NewMember(t)
	m2 := h.NewMember(t)
	m3 := h.NewMember(t)
	h.setPolicy(t, &loyaltyv1.LoyaltyPolicy{PointValueMinor: 2})
	analyst := h.As(iamv1.Role_ANALYST)
	empty, err := h.progs().GetPointsLiability(analyst, &loyaltyv1.GetPointsLiabilityRequest{})
	if err != nil || empty.GetOutstandingPoints() != 0 || empty.GetCurrency() != "CNY" || len(empty.GetExpiringByMonth()) != 0 {
		t.Fatalf("empty: %v %v", err, empty)
	}
	h.adjust(t, m1, 1000)
	h.order(t, "o1", m2, 50_000) // 500 points
	if _, err := h.points().RedeemPoints(h.As(iamv1.Role_SERVICE), &loyaltyv1.RedeemPointsRequest{MemberId: m1, Points: 100}); err != nil {
		t.Fatal(err)
	}
	h.Clock.Advance(32 * 24 * time.Hour) // April
	h.adjust(t, m3, 50)
	l, err := h.progs().GetPointsLiability(analyst, &loyaltyv1.GetPointsLiabilityRequest{})
	if err != nil {
		t.Fatal(err)
	}
	want := &loyaltyv1.GetPointsLiabilityResponse{OutstandingPoints: 1450, OutstandingValueMinor: 2900, Currency: "CNY", IssuedPoints: 1550,
		ExpiringByMonth: []*loyaltyv1.MonthlyExpiry{{Month: "2027-03", Points: 1400}, {Month: "2027-04", Points: 50}}}
	if !proto.Equal(l, want) {
		t.Fatalf("liability %v, want %v", l, want)
	}
	// After March 2027 ends, the March points have expired, job or no job.
	h.Clock.Advance(365 * 24 * time.Hour)
	l, err = h.progs().GetPointsLiability(h.As(iamv1.Role_ADMIN), &loyaltyv1.GetPointsLiabilityRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if l.GetOutstandingPoints() != 50 || l.GetExpiredPoints() != 1400 || l.GetBreakageBasisPoints() != 1400*10000/1550 ||
		len(l.GetExpiringByMonth()) != 1 {
		t.Fatalf("after expiry %v", l)
	}
	_, err = h.progs().GetPointsLiability(h.As(iamv1.Role_OPERATOR), &loyaltyv1.GetPointsLiabilityRequest{})
	kittest.WantErr(t, err, codes.PermissionDenied, "PERMISSION_DENIED")
	h.verify(t)
}

// TestTransfersConcurrently runs transfers both ways between members at once: no points
// appear or vanish and the books verify.
func TestTransfersConcurrently(t *testing.T) {
	h := start(t, kittest.Options{})
	names := h.NewMembers(t, 4)
	for _, m := range names {
		h.adjust(t, m, 1000)
	}
	var wg sync.WaitGroup
	for i := range 80 {
		wg.Go(func() {
			from, to := names[i%4], names[(i+1+i/4)%4]
			if from == to {
				to = names[(i+2)%4]
			}
			_, err := h.progs().TransferPoints(h.As(iamv1.Role_SERVICE), &loyaltyv1.TransferPointsRequest{MemberId: from, ToMemberId: to, Points: 37})
			if err != nil && status.Code(err) != codes.FailedPrecondition {
				t.Errorf("transfer: %v", err)
			}
		})
	}
	wg.Wait()
	var total int64
	for _, m := range names {
		total += h.balance(t, m).GetAvailable()
	}
	if total != 4000 {
		t.Fatalf("total %d, want 4000", total)
	}
	h.verify(t)
}
