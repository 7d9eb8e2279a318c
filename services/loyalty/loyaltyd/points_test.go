package loyaltyd_test

import (
	"fmt"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/huiyuan-dev/huiyuan/pkg/kittest"

	iamv1 "github.com/huiyuan-dev/huiyuan/gen/huiyuan/iam/v1"
	loyaltyv1 "github.com/huiyuan-dev/huiyuan/gen/huiyuan/loyalty/v1"
)

func TestRedeemAndAdjust(t *testing.T) {
	h := start(t, kittest.Options{})
	m1 := h.NewMember(t)
	op := h.As(iamv1.Role_OPERATOR)
	h.order(t, "o1", m1, 50_000) // 500 points
	red, err := h.points().RedeemPoints(op, &loyaltyv1.RedeemPointsRequest{MemberId: m1, RequestId: "red-1", Points: 120, Reason: "gift"})
	if err != nil {
		t.Fatal(err)
	}
	tx := red.GetTransaction()
	if tx.GetKind() != loyaltyv1.PointsTransaction_REDEEM || tx.GetPoints() != -120 || tx.GetCause().GetReason() != "gift" ||
		tx.GetCause().GetType() != loyaltyv1.Cause_REDEMPTION || tx.GetCause().GetActor() == "" || tx.GetSequence() != 2 || len(tx.GetHash()) != 64 {
		t.Fatalf("redeem transaction %v", tx)
	}
	var sum int64
	for _, p := range tx.GetPostings() {
		sum += p.GetPoints()
	}
	if sum != 0 || tx.GetPostings()[0].GetAccount() != "member/"+m1+"/available" || tx.GetPostings()[1].GetAccount() != "system/redeemed" {
		t.Fatalf("postings %v", tx.GetPostings())
	}
	h.Clock.Advance(time.Second)
	again, err := h.points().RedeemPoints(op, &loyaltyv1.RedeemPointsRequest{MemberId: m1, RequestId: "red-1", Points: 120, Reason: "gift"})
	if err != nil || !proto.Equal(again.GetTransaction(), tx) {
		t.Fatalf("retry: %v %v", err, again)
	}
	_, err = h.points().RedeemPoints(op, &loyaltyv1.RedeemPointsRequest{MemberId: m1, Points: 381})
	kittest.WantErr(t, err, codes.FailedPrecondition, "INSUFFICIENT_POINTS")

	adj, err := h.points().AdjustPoints(h.As(iamv1.Role_ADMIN), &loyaltyv1.AdjustPointsRequest{MemberId: m1, Points: -80, Reason: "duplicate earn"})
	if err != nil || adj.GetTransaction().GetPoints() != -80 || adj.GetTransaction().GetKind() != loyaltyv1.PointsTransaction_ADJUST ||
		adj.GetTransaction().GetCause().GetReason() != "duplicate earn" {
		t.Fatalf("adjust: %v %v", err, adj)
	}
	_, err = h.points().AdjustPoints(h.As(iamv1.Role_ADMIN), &loyaltyv1.AdjustPointsRequest{MemberId: m1, Points: -301, Reason: "x"})
	kittest.WantErr(t, err, codes.FailedPrecondition, "INSUFFICIENT_POINTS")
	h.adjust(t, m1, 1000)
	if b := h.balance(t, m1); b.GetAvailable() != 1300 || b.GetLifetimeEarned() != 500 || len(b.GetExpiring()) != 1 {
		t.Fatalf("balance %v", b)
	}
	// A member with no book has a zero balance.
	if b := h.balance(t, "nobody"); b.GetAvailable() != 0 || b.GetMemberId() != "nobody" {
		t.Fatalf("empty balance %v", b)
	}
	h.verify(t)
}

func TestHolds(t *testing.T) {
	h := start(t, kittest.Options{})
	m1 := h.NewMember(t)
	m2 := h.NewMember(t)
	svc := h.As(iamv1.Role_SERVICE)
	h.adjust(t, m1, 1000)
	hold, err := h.points().HoldPoints(svc, &loyaltyv1.HoldPointsRequest{MemberId: m1, RequestId: "h-1", Points: 300, Reference: "checkout-9"})
	if err != nil {
		t.Fatal(err)
	}
	hd := hold.GetHold()
	if hd.GetState() != loyaltyv1.Hold_OPEN || hd.GetPoints() != 300 || hd.GetReference() != "checkout-9" ||
		!hd.GetExpireTime().AsTime().Equal(t0.Add(15*time.Minute)) {
		t.Fatalf("hold %v", hd)
	}
	again, err := h.points().HoldPoints(svc, &loyaltyv1.HoldPointsRequest{MemberId: m1, RequestId: "h-1", Points: 300, Reference: "checkout-9"})
	if err != nil || !proto.Equal(again.GetHold(), hd) {
		t.Fatalf("hold retry: %v %v", err, again)
	}
	if b := h.balance(t, m1); b.GetAvailable() != 700 || b.GetHeld() != 300 {
		t.Fatalf("balance while held %v", b)
	}
	_, err = h.points().RedeemPoints(svc, &loyaltyv1.RedeemPointsRequest{MemberId: m1, Points: 701})
	kittest.WantErr(t, err, codes.FailedPrecondition, "INSUFFICIENT_POINTS")
	_, err = h.points().CaptureHold(svc, &loyaltyv1.CaptureHoldRequest{MemberId: m1, HoldId: hd.GetId(), Points: 301})
	kittest.WantErr(t, err, codes.InvalidArgument, "", "points")
	capd, err := h.points().CaptureHold(svc, &loyaltyv1.CaptureHoldRequest{MemberId: m1, HoldId: hd.GetId(), RequestId: "c-1", Points: 200})
	if err != nil || capd.GetHold().GetState() != loyaltyv1.Hold_CAPTURED || capd.GetHold().GetCaptured() != 200 {
		t.Fatalf("capture: %v %v", err, capd)
	}
	if b := h.balance(t, m1); b.GetAvailable() != 800 || b.GetHeld() != 0 {
		t.Fatalf("balance after partial capture %v", b)
	}
	_, err = h.points().CaptureHold(svc, &loyaltyv1.CaptureHoldRequest{MemberId: m1, HoldId: hd.GetId()})
	kittest.WantErr(t, err, codes.FailedPrecondition, "HOLD_CLOSED")
	_, err = h.points().ReleaseHold(svc, &loyaltyv1.ReleaseHoldRequest{MemberId: m1, HoldId: hd.GetId()})
	kittest.WantErr(t, err, codes.FailedPrecondition, "HOLD_CLOSED")
	_, err = h.points().ReleaseHold(svc, &loyaltyv1.ReleaseHoldRequest{MemberId: m1, HoldId: "nope"})
	kittest.WantErr(t, err, codes.NotFound, "HOLD_NOT_FOUND")
	_, err = h.points().CaptureHold(svc, &loyaltyv1.CaptureHoldRequest{MemberId: m2, HoldId: hd.GetId()})
	kittest.WantErr(t, err, codes.NotFound, "HOLD_NOT_FOUND")

	// Release gives everything back; a full capture spends everything.
	h2, err := h.points().HoldPoints(svc, &loyaltyv1.HoldPointsRequest{MemberId: m1, Points: 500,
		ExpireTime: timestamppb.New(t0.Add(time.Hour))})
	if err != nil {
		t.Fatal(err)
	}
	rel, err := h.points().ReleaseHold(svc, &loyaltyv1.ReleaseHoldRequest{MemberId: m1, HoldId: h2.GetHold().GetId()})
	if err != nil || rel.GetHold().GetState() != loyaltyv1.Hold_RELEASED {
		t.Fatalf("release: %v %v", err, rel)
	}
	h3, err := h.points().HoldPoints(svc, &loyaltyv1.HoldPointsRequest{MemberId: m1, Points: 800})
	if err != nil {
		t.Fatal(err)
	}
	full, err := h.points().CaptureHold(svc, &loyaltyv1.CaptureHoldRequest{MemberId: m1, HoldId: h3.GetHold().GetId()})
	if err != nil || full.GetHold().GetCaptured() != 800 {
		t.Fatalf("full capture: %v %v", err, full)
	}
	if b := h.balance(t, m1); b.GetAvailable() != 0 || b.GetHeld() != 0 {
		t.Fatalf("balance after full capture %v", b)
	}
	// A hold past its timeout cannot be captured; releasing it reports it EXPIRED.
	h.adjust(t, m1, 100)
	h4, err := h.points().HoldPoints(svc, &loyaltyv1.HoldPointsRequest{MemberId: m1, Points: 100})
	if err != nil {
		t.Fatal(err)
	}
	h.Clock.Advance(16 * time.Minute)
	_, err = h.points().CaptureHold(svc, &loyaltyv1.CaptureHoldRequest{MemberId: m1, HoldId: h4.GetHold().GetId()})
	kittest.WantErr(t, err, codes.FailedPrecondition, "HOLD_EXPIRED")
	if b := h.balance(t, m1); b.GetAvailable() != 100 || b.GetHeld() != 0 {
		t.Fatalf("balance with a timed-out hold %v", b)
	}
	exp, err := h.points().ReleaseHold(svc, &loyaltyv1.ReleaseHoldRequest{MemberId: m1, HoldId: h4.GetHold().GetId()})
	if err != nil || exp.GetHold().GetState() != loyaltyv1.Hold_EXPIRED {
		t.Fatalf("release of a timed-out hold: %v %v", err, exp)
	}
	h.verify(t)
}

func TestListTransactions(t *testing.T) {
	h := start(t, kittest.Options{})
	m1 := h.NewMember(t)
	m2 := h.NewMember(t)
	for i := range 7 {
		h.adjust(t, m1, int64(i+1))
		h.adjust(t, m2, 1) // interleaved member must never leak in
	}
	var got []int64
	var lastSeq uint64
	tok, pages := "", 0
	for {
		resp, err := h.points().ListPointsTransactions(h.As(iamv1.Role_ANALYST), &loyaltyv1.ListPointsTransactionsRequest{MemberId: m1, PageSize: 3, PageToken: tok})
		if err != nil {
			t.Fatal(err)
		}
		pages++
		for _, tx := range resp.GetTransactions() {
			if tx.GetMemberId() != m1 || (lastSeq != 0 && tx.GetSequence() >= lastSeq) {
				t.Fatalf("transaction %v out of order (last sequence %d)", tx, lastSeq)
			}
			lastSeq = tx.GetSequence()
			got = append(got, tx.GetPoints())
		}
		if tok = resp.GetNextPageToken(); tok == "" {
			break
		}
	}
	if fmt.Sprint(got) != "[7 6 5 4 3 2 1]" || pages != 3 {
		t.Fatalf("points %v in %d pages", got, pages)
	}
	first, err := h.points().ListPointsTransactions(h.As(iamv1.Role_ADMIN), &loyaltyv1.ListPointsTransactionsRequest{MemberId: m1, PageSize: 1})
	if err != nil || first.GetNextPageToken() == "" {
		t.Fatal(err)
	}
	_, err = h.points().ListPointsTransactions(h.As(iamv1.Role_ADMIN), &loyaltyv1.ListPointsTransactionsRequest{MemberId: m2, PageToken: first.GetNextPageToken()})
	kittest.WantErr(t, err, codes.InvalidArgument, "INVALID_PAGE_TOKEN", "page_token")
	_, err = h.points().ListPointsTransactions(h.asOther(), &loyaltyv1.ListPointsTransactionsRequest{MemberId: m1, PageToken: first.GetNextPageToken()})
	kittest.WantErr(t, err, codes.InvalidArgument, "INVALID_PAGE_TOKEN", "page_token")
	empty, err := h.points().ListPointsTransactions(h.asOther(), &loyaltyv1.ListPointsTransactionsRequest{MemberId: m1})
	if err != nil || len(empty.GetTransactions()) != 0 || empty.GetNextPageToken() != "" {
		t.Fatalf("other tenant sees %v %v", err, empty)
	}
	all, err := h.points().ListPointsTransactions(h.As(iamv1.Role_ADMIN), &loyaltyv1.ListPointsTransactionsRequest{MemberId: m1, PageSize: 7})
	if err != nil || len(all.GetTransactions()) != 7 || all.GetNextPageToken() != "" {
		t.Fatalf("exact page: %v %d %q", err, len(all.GetTransactions()), all.GetNextPageToken())
	}
}
