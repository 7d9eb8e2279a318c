package loyaltyd_test

import (
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

const (
	goods    = loyaltyv1.Reward_GOODS
	external = loyaltyv1.Reward_EXTERNAL
)

func (h *lh) setStatus(t testing.TB, id string, st loyaltyv1.RewardRedemption_Status) (*loyaltyv1.RewardRedemption, error) {
	t.Helper()
	resp, err := h.progs().UpdateRewardRedemption(h.As(iamv1.Role_SERVICE), &loyaltyv1.UpdateRewardRedemptionRequest{Id: id, Status: st})
	return resp.GetRedemption(), err
}

func (h *lh) stock(t testing.TB, id string) int64 {
	t.Helper()
	resp, err := h.progs().ListRewards(h.As(iamv1.Role_ANALYST), &loyaltyv1.ListRewardsRequest{})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range resp.GetRewards() {
		if r.GetId() == id {
			return r.GetStock()
		}
	}
	t.Fatalf("reward %s not listed", id)
	return 0
}

func TestCreateReward(t *testing.T) {
	h := start(t, kittest.Options{})
	op := h.As(iamv1.Role_OPERATOR)
	req := &loyaltyv1.CreateRewardRequest{RequestId: "cr-1", Reward: &loyaltyv1.Reward{Title: "保温杯", Kind: goods, CostPoints: 500, Stock: 3, Active: true}}
	resp, err := h.progs().CreateReward(op, req)
	if err != nil {
		t.Fatal(err)
	}
	r := resp.GetReward()
	if r.GetId() == "" || r.GetTitle() != "保温杯" || r.GetStock() != 3 || !r.GetCreateTime().AsTime().Equal(t0) {
		t.Fatalf("reward %v", r)
	}
	again, err := h.progs().CreateReward(op, req)
	if err != nil || !proto.Equal(again, resp) {
		t.Fatalf("retry: %v %v", err, again)
	}
	list, err := h.progs().ListRewards(op, &loyaltyv1.ListRewardsRequest{})
	if err != nil || len(list.GetRewards()) != 1 || !proto.Equal(list.GetRewards()[0], r) {
		t.Fatalf("list: %v %v", err, list)
	}
	tests := []struct {
		name   string
		reward *loyaltyv1.Reward
		fields []string
	}{
		{"empty", &loyaltyv1.Reward{}, []string{"reward.title", "reward.kind", "reward.cost_points"}},
		{"negative stock", &loyaltyv1.Reward{Title: "x", Kind: goods, CostPoints: 1, Stock: -1}, []string{"reward.stock"}},
		{"external stock", &loyaltyv1.Reward{Title: "x", Kind: external, CostPoints: 1, Stock: 1}, []string{"reward.stock"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := h.progs().CreateReward(op, &loyaltyv1.CreateRewardRequest{Reward: tc.reward})
			kittest.WantErr(t, err, codes.InvalidArgument, "INVALID_ARGUMENT", tc.fields...)
		})
	}
	// Another tenant sees none of it.
	other, err := h.progs().ListRewards(h.asOther(), &loyaltyv1.ListRewardsRequest{})
	if err != nil || len(other.GetRewards()) != 0 {
		t.Fatalf("other tenant: %v %v", err, other)
	}
}

func TestRedeemGoods(t *testing.T) {
	h := start(t, kittest.Options{})
	poor := h.NewMember(t)
	mug := h.createReward(t, goods, 100, 3)
	m1 := h.NewMember(t)
	h.adjust(t, m1, 1000)
	ctx := h.AsMember(m1)
	req := &loyaltyv1.RedeemRewardRequest{Id: mug.GetId(), MemberId: m1, Quantity: 2, RequestId: "rr-1"}
	resp, err := h.progs().RedeemReward(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	red := resp.GetRedemption()
	if red.GetStatus() != loyaltyv1.RewardRedemption_ORDERED || red.GetPoints() != 200 || red.GetQuantity() != 2 || red.GetRewardId() != mug.GetId() {
		t.Fatalf("redemption %v", red)
	}
	again, err := h.progs().RedeemReward(ctx, req)
	if err != nil || !proto.Equal(again, resp) {
		t.Fatalf("retry: %v %v", err, again)
	}
	if s := h.stock(t, mug.GetId()); s != 1 {
		t.Fatalf("stock %d after a retried redemption of 2 of 3", s)
	}
	if b := h.balance(t, m1); b.GetAvailable() != 800 {
		t.Fatalf("balance %v", b)
	}
	_, err = h.progs().RedeemReward(ctx, &loyaltyv1.RedeemRewardRequest{Id: mug.GetId(), MemberId: m1, Quantity: 2})
	kittest.WantErr(t, err, codes.FailedPrecondition, "OUT_OF_STOCK")
	_, err = h.progs().RedeemReward(h.As(iamv1.Role_SERVICE), &loyaltyv1.RedeemRewardRequest{Id: mug.GetId(), MemberId: poor})
	kittest.WantErr(t, err, codes.FailedPrecondition, "INSUFFICIENT_POINTS")
	if s := h.stock(t, mug.GetId()); s != 1 {
		t.Fatalf("stock %d after a failed redemption", s)
	}
	_, err = h.progs().RedeemReward(ctx, &loyaltyv1.RedeemRewardRequest{Id: "nope", MemberId: m1})
	kittest.WantErr(t, err, codes.NotFound, "REWARD_NOT_FOUND")
	_, err = h.progs().RedeemReward(ctx, &loyaltyv1.RedeemRewardRequest{Id: "", MemberId: m1, Quantity: -1})
	kittest.WantErr(t, err, codes.InvalidArgument, "", "id", "quantity")
	off, err := h.progs().CreateReward(h.As(iamv1.Role_ADMIN), &loyaltyv1.CreateRewardRequest{Reward: &loyaltyv1.Reward{Title: "off", Kind: goods, CostPoints: 1, Stock: 1}})
	if err != nil {
		t.Fatal(err)
	}
	_, err = h.progs().RedeemReward(ctx, &loyaltyv1.RedeemRewardRequest{Id: off.GetReward().GetId(), MemberId: m1})
	kittest.WantErr(t, err, codes.FailedPrecondition, "REWARD_INACTIVE")

	// Fulfilment: ORDERED → SHIPPED → DELIVERED; nothing after.
	h.Clock.Advance(time.Hour)
	for _, st := range []loyaltyv1.RewardRedemption_Status{loyaltyv1.RewardRedemption_SHIPPED, loyaltyv1.RewardRedemption_DELIVERED} {
		got, err := h.setStatus(t, red.GetId(), st)
		if err != nil || got.GetStatus() != st || !got.GetUpdateTime().AsTime().Equal(t0.Add(time.Hour)) {
			t.Fatalf("%s: %v %v", st, err, got)
		}
	}
	_, err = h.setStatus(t, red.GetId(), loyaltyv1.RewardRedemption_CANCELLED)
	kittest.WantErr(t, err, codes.FailedPrecondition, "INVALID_STATUS_TRANSITION")
	_, err = h.setStatus(t, red.GetId(), loyaltyv1.RewardRedemption_FULFILLED)
	kittest.WantErr(t, err, codes.FailedPrecondition, "INVALID_STATUS_TRANSITION")
	_, err = h.setStatus(t, "nope", loyaltyv1.RewardRedemption_SHIPPED)
	kittest.WantErr(t, err, codes.NotFound, "REDEMPTION_NOT_FOUND")
	_, err = h.setStatus(t, red.GetId(), loyaltyv1.RewardRedemption_ORDERED)
	kittest.WantErr(t, err, codes.InvalidArgument, "", "status")

	// Cancelling returns the points and the stock, once.
	second := h.redeemReward(t, mug.GetId(), m1, 1)
	for range 2 {
		got, err := h.setStatus(t, second.GetId(), loyaltyv1.RewardRedemption_CANCELLED)
		if err != nil || got.GetStatus() != loyaltyv1.RewardRedemption_CANCELLED {
			t.Fatalf("cancel: %v %v", err, got)
		}
	}
	if b := h.balance(t, m1); b.GetAvailable() != 800 {
		t.Fatalf("balance after cancel %v", b)
	}
	if s := h.stock(t, mug.GetId()); s != 1 {
		t.Fatalf("stock after cancel %d", s)
	}
	list, err := h.progs().ListRewardRedemptions(h.AsMember(m1), &loyaltyv1.ListRewardRedemptionsRequest{MemberId: m1})
	if err != nil || len(list.GetRedemptions()) != 2 || list.GetRedemptions()[0].GetId() != second.GetId() ||
		list.GetRedemptions()[1].GetStatus() != loyaltyv1.RewardRedemption_DELIVERED {
		t.Fatalf("list: %v %v", err, list)
	}
	if n := count(h.events(t), "reward_redeemed"); n != 2 {
		t.Fatalf("reward_redeemed events = %d", n)
	}
	h.verify(t)
}

func TestRedeemExternal(t *testing.T) {
	h := start(t, kittest.Options{})
	m1 := h.NewMember(t)
	coupon := h.createReward(t, external, 300, 0)
	h.adjust(t, m1, 1000)
	red := h.redeemReward(t, coupon.GetId(), m1, 1)
	if red.GetStatus() != loyaltyv1.RewardRedemption_PENDING || red.GetPoints() != 300 {
		t.Fatalf("redemption %v", red)
	}
	if b := h.balance(t, m1); b.GetAvailable() != 700 || b.GetHeld() != 300 {
		t.Fatalf("balance while pending %v", b)
	}
	_, err := h.setStatus(t, red.GetId(), loyaltyv1.RewardRedemption_SHIPPED)
	kittest.WantErr(t, err, codes.FailedPrecondition, "INVALID_STATUS_TRANSITION")
	// The fulfiller reports success twice: the hold is captured once.
	for range 2 {
		got, err := h.setStatus(t, red.GetId(), loyaltyv1.RewardRedemption_FULFILLED)
		if err != nil || got.GetStatus() != loyaltyv1.RewardRedemption_FULFILLED {
			t.Fatalf("fulfil: %v %v", err, got)
		}
	}
	if b := h.balance(t, m1); b.GetAvailable() != 700 || b.GetHeld() != 0 {
		t.Fatalf("balance after fulfilment %v", b)
	}
	_, err = h.setStatus(t, red.GetId(), loyaltyv1.RewardRedemption_FAILED)
	kittest.WantErr(t, err, codes.FailedPrecondition, "INVALID_STATUS_TRANSITION")

	// A failed fulfilment releases the points (the compensation).
	failed := h.redeemReward(t, coupon.GetId(), m1, 2)
	if b := h.balance(t, m1); b.GetAvailable() != 100 || b.GetHeld() != 600 {
		t.Fatalf("balance while pending %v", b)
	}
	if _, err := h.setStatus(t, failed.GetId(), loyaltyv1.RewardRedemption_FAILED); err != nil {
		t.Fatal(err)
	}
	if b := h.balance(t, m1); b.GetAvailable() != 700 || b.GetHeld() != 0 {
		t.Fatalf("balance after failure %v", b)
	}
	_, err = h.progs().RedeemReward(h.As(iamv1.Role_SERVICE), &loyaltyv1.RedeemRewardRequest{Id: coupon.GetId(), MemberId: m1, Quantity: 3})
	kittest.WantErr(t, err, codes.FailedPrecondition, "INSUFFICIENT_POINTS")
	h.verify(t)
}

// TestRedeemGoodsConcurrently races many members for little stock: exactly the stock is sold.
func TestRedeemGoodsConcurrently(t *testing.T) {
	h := start(t, kittest.Options{})
	const stock, members = 10, 60
	tv := h.createReward(t, goods, 50, stock)
	ids := h.NewMembers(t, members)
	for _, id := range ids {
		h.adjust(t, id, 100)
	}
	var wg sync.WaitGroup
	errs := make(chan error, members)
	for i := range members {
		wg.Go(func() {
			_, err := h.progs().RedeemReward(h.As(iamv1.Role_SERVICE), &loyaltyv1.RedeemRewardRequest{Id: tv.GetId(), MemberId: ids[i]})
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	sold := 0
	for err := range errs {
		switch {
		case err == nil:
			sold++
		case status.Code(err) != codes.FailedPrecondition:
			t.Fatalf("unexpected error %v", err)
		}
	}
	if sold != stock || h.stock(t, tv.GetId()) != 0 {
		t.Fatalf("sold %d, stock left %d; want %d and 0", sold, h.stock(t, tv.GetId()), stock)
	}
	h.verify(t)
}
