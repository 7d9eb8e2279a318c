package coupond_test

import (
	"fmt"
	"sync"
	"testing"

	"google.golang.org/grpc/status"

	"github.com/huiyuan-dev/huiyuan/pkg/kittest"
	"github.com/huiyuan-dev/huiyuan/services/coupon/internal/coupon"

	couponv1 "github.com/huiyuan-dev/huiyuan/gen/huiyuan/coupon/v1"
)

func reasonOf(err error) string {
	for _, d := range status.Convert(err).Details() {
		if ei, ok := d.(interface{ GetReason() string }); ok {
			return ei.GetReason()
		}
	}
	return ""
}

// TestClaimStorm: stock 100, a limit of one per member, 1,000 concurrent claims over gRPC from
// 300 members (the group-commit writer batches them). Exactly 100 coupons are issued, no member
// holds two, every refusal is COUPON_OUT_OF_STOCK or COUPON_LIMIT_REACHED, and the issued
// coupons are exactly the acknowledged claims.
func TestClaimStorm(t *testing.T) {
	e := start(t, kittest.Options{})
	tpl := e.template(t, func(x *couponv1.CouponTemplate) { x.TotalStock, x.PerMemberLimit = 100, 1 })
	e.registerMembers(300)
	var mu sync.Mutex
	acked := map[string]string{} // code -> member
	refusals := map[string]int{}
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range 1000 {
		wg.Go(func() {
			<-start
			resp, err := e.coupons.ClaimCoupon(e.till(), &couponv1.ClaimCouponRequest{
				TemplateId: tpl.GetId(), MemberId: e.member(i % 300), RequestId: fmt.Sprint("storm-", i)})
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				refusals[reasonOf(err)]++
				return
			}
			acked[resp.GetCoupon().GetCode()] = resp.GetCoupon().GetMemberId()
		})
	}
	close(start)
	wg.Wait()
	if len(acked) != 100 {
		t.Fatalf("%d claims acknowledged, want 100 (refusals %v)", len(acked), refusals)
	}
	for r := range refusals {
		if r != coupon.ReasonOutOfStock && r != coupon.ReasonLimitReached {
			t.Fatalf("refusal %q (all: %v)", r, refusals)
		}
	}
	stored := e.allCoupons(t, tpl.GetId())
	holders := map[string]int{}
	for _, c := range stored {
		holders[c.GetMemberId()]++
		if acked[c.GetCode()] != c.GetMemberId() {
			t.Fatalf("stored coupon %s was not acknowledged", c.GetCode())
		}
	}
	for m, n := range holders {
		if n > 1 {
			t.Fatalf("member %s holds %d coupons", m, n)
		}
	}
	got, err := e.coupons.GetCouponTemplate(e.op(), &couponv1.GetCouponTemplateRequest{Id: tpl.GetId()})
	if err != nil || got.GetTemplate().GetIssued() != 100 || len(stored) != 100 {
		t.Fatalf("issued %d, stored %d (%v)", got.GetTemplate().GetIssued(), len(stored), err)
	}
	t.Logf("refusals: %v", refusals)
}

// TestRedeemRace: one coupon redeemed by 50 concurrent requests (each its own request_id):
// exactly one succeeds, the others get COUPON_ALREADY_REDEEMED.
func TestRedeemRace(t *testing.T) {
	e := start(t, kittest.Options{})
	tpl := e.template(t, nil)
	c := e.claim(t, tpl.GetId(), e.member(1))
	var mu sync.Mutex
	ok, already := 0, 0
	var wg sync.WaitGroup
	for i := range 50 {
		wg.Go(func() {
			_, err := e.coupons.RedeemCoupon(e.till(), &couponv1.RedeemCouponRequest{Code: c.GetCode(), RequestId: fmt.Sprint("r-", i),
				MemberId: e.member(1), OrderId: fmt.Sprint("order-", i), Cart: cart(), StaffId: "staff-7"})
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				ok++
			case reasonOf(err) == coupon.ReasonAlreadyRedeemed:
				already++
			default:
				t.Errorf("redeem: %v", err)
			}
		})
	}
	wg.Wait()
	if ok != 1 || already != 49 {
		t.Fatalf("%d redeemed, %d already redeemed", ok, already)
	}
	got, err := e.coupons.GetCoupon(e.till(), &couponv1.GetCouponRequest{Code: c.GetCode()})
	if err != nil || got.GetCoupon().GetState() != couponv1.Coupon_REDEEMED || got.GetCoupon().GetRedemption().GetStaffId() != "staff-7" ||
		got.GetCoupon().GetRedemption().GetStoreId() != "s1" || got.GetCoupon().GetRedemption().GetDiscountMinor() != 2000 {
		t.Fatalf("coupon %v, %v", got, err)
	}
	redeemed := 0
	for _, ev := range e.h.Events("coupon", kittest.Tenant) {
		if ev == coupon.EventRedeemed {
			redeemed++
		}
	}
	if redeemed != 1 {
		t.Fatalf("%d coupon_redeemed events", redeemed)
	}
}
