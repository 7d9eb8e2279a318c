package coupond_test

import (
	"io"
	"slices"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/types/known/fieldmaskpb"

	"github.com/huiyuan-dev/huiyuan/pkg/kittest"
	"github.com/huiyuan-dev/huiyuan/services/coupon/internal/coupon"

	couponv1 "github.com/huiyuan-dev/huiyuan/gen/huiyuan/coupon/v1"
	iamv1 "github.com/huiyuan-dev/huiyuan/gen/huiyuan/iam/v1"
	loyaltyv1 "github.com/huiyuan-dev/huiyuan/gen/huiyuan/loyalty/v1"
)

func TestTemplates(t *testing.T) {
	e := start(t, kittest.Options{})
	_, err := e.coupons.CreateCouponTemplate(e.op(), &couponv1.CreateCouponTemplateRequest{Template: &couponv1.CouponTemplate{
		Title: "bad", Type: 42, Currency: "yuan", ValidDays: 7}})
	kittest.WantErr(t, err, codes.InvalidArgument, "INVALID_ARGUMENT", "template.type", "template.currency")
	_, err = e.coupons.CreateCouponTemplate(e.op(), &couponv1.CreateCouponTemplateRequest{})
	kittest.WantErr(t, err, codes.InvalidArgument, "", "template")

	tpl := e.template(t, func(x *couponv1.CouponTemplate) { x.TotalStock = 10 })
	if tpl.GetStatus() != couponv1.CouponTemplate_ACTIVE || tpl.GetStacking().GetMode() != couponv1.Stacking_EXCLUSIVE ||
		tpl.GetRefundPolicy() != couponv1.CouponTemplate_FORFEIT {
		t.Fatalf("template %v", tpl)
	}
	_, err = e.coupons.GetCouponTemplate(e.op(), &couponv1.GetCouponTemplateRequest{Id: "0190a0e0-0000-7000-8000-000000000000"})
	kittest.WantErr(t, err, codes.NotFound, coupon.ReasonTemplateNotFound)
	_, err = e.coupons.GetCouponTemplate(e.op(), &couponv1.GetCouponTemplateRequest{Id: "../x"})
	kittest.WantErr(t, err, codes.InvalidArgument, "", "id")
	_, err = e.coupons.GetCouponTemplate(e.h.AsTenant(kittest.Other, iamv1.Role_ADMIN), &couponv1.GetCouponTemplateRequest{Id: tpl.GetId()})
	kittest.WantErr(t, err, codes.NotFound, coupon.ReasonTemplateNotFound)

	e.claim(t, tpl.GetId(), e.member(1))
	update := func(mask []string, fn func(*couponv1.CouponTemplate)) (*couponv1.CouponTemplate, error) {
		x := clone(tpl)
		fn(x)
		resp, err := e.coupons.UpdateCouponTemplate(e.op(), &couponv1.UpdateCouponTemplateRequest{Template: x, UpdateMask: &fieldmaskpb.FieldMask{Paths: mask}})
		return resp.GetTemplate(), err
	}
	_, err = update([]string{"discountMinor"}, func(x *couponv1.CouponTemplate) { x.DiscountMinor = 3000 })
	kittest.WantErr(t, err, codes.FailedPrecondition, coupon.ReasonTemplateInUse)
	_, err = update([]string{"scope.include_skus"}, func(x *couponv1.CouponTemplate) { x.Scope = &couponv1.Scope{IncludeSkus: []string{"a"}} })
	kittest.WantErr(t, err, codes.FailedPrecondition, coupon.ReasonTemplateInUse)
	_, err = update([]string{"total_stock"}, func(x *couponv1.CouponTemplate) { x.TotalStock = 0 - 1 })
	kittest.WantErr(t, err, codes.InvalidArgument, "", "template.total_stock")
	got, err := update([]string{"total_stock", "title"}, func(x *couponv1.CouponTemplate) { x.TotalStock, x.Title = 500, "满100减20 加量" })
	if err != nil || got.GetTotalStock() != 500 || got.GetIssued() != 1 || got.GetTitle() != "满100减20 加量" {
		t.Fatalf("raise stock: %v %v", got, err)
	}

	_, err = e.coupons.PauseCouponTemplate(e.op(), &couponv1.PauseCouponTemplateRequest{Id: tpl.GetId()})
	if err != nil {
		t.Fatal(err)
	}
	_, err = e.coupons.ClaimCoupon(e.till(), &couponv1.ClaimCouponRequest{TemplateId: tpl.GetId(), MemberId: e.member(2)})
	kittest.WantErr(t, err, codes.FailedPrecondition, coupon.ReasonTemplateNotActive)
	if _, err := e.coupons.EndCouponTemplate(e.op(), &couponv1.EndCouponTemplateRequest{Id: tpl.GetId()}); err != nil {
		t.Fatal(err)
	}
	_, err = e.coupons.ActivateCouponTemplate(e.op(), &couponv1.ActivateCouponTemplateRequest{Id: tpl.GetId()})
	kittest.WantErr(t, err, codes.FailedPrecondition, coupon.ReasonStatusTransition)

	list, err := e.coupons.ListCouponTemplates(e.h.As(iamv1.Role_ANALYST), &couponv1.ListCouponTemplatesRequest{Status: couponv1.CouponTemplate_ENDED})
	if err != nil || len(list.GetTemplates()) != 1 {
		t.Fatalf("list ended: %v %v", list, err)
	}
	want := []string{coupon.EventTemplateCreated, coupon.EventTemplateStatusChanged, coupon.EventIssued, coupon.EventTemplateUpdated,
		coupon.EventTemplateStatusChanged, coupon.EventTemplateStatusChanged}
	if got := e.h.Events("coupon", kittest.Tenant); !slices.Equal(got, want) {
		t.Fatalf("events %v, want %v", got, want)
	}
}

func TestIdempotentRetries(t *testing.T) {
	e := start(t, kittest.Options{})
	tpl := e.template(t, func(x *couponv1.CouponTemplate) { x.PerMemberLimit = 1 })
	req := &couponv1.ClaimCouponRequest{TemplateId: tpl.GetId(), MemberId: e.member(1), RequestId: "claim-1"}
	a, err := e.coupons.ClaimCoupon(e.till(), req)
	if err != nil {
		t.Fatal(err)
	}
	b, err := e.coupons.ClaimCoupon(e.till(), req)
	if err != nil || b.GetCoupon().GetCode() != a.GetCoupon().GetCode() {
		t.Fatalf("retry: %v %v", b, err)
	}
	other := clone(req)
	other.MemberId = e.member(2)
	_, err = e.coupons.ClaimCoupon(e.till(), other)
	kittest.WantErr(t, err, codes.InvalidArgument, "REQUEST_ID_REUSED", "request_id")

	redeem := &couponv1.RedeemCouponRequest{Code: strings.ToLower(a.GetCoupon().GetCode()), RequestId: "redeem-1", MemberId: e.member(1), OrderId: "o1", Cart: cart()}
	r1, err := e.coupons.RedeemCoupon(e.till(), redeem)
	if err != nil {
		t.Fatal(err)
	}
	r2, err := e.coupons.RedeemCoupon(e.till(), redeem)
	if err != nil || r2.GetDiscountMinor() != r1.GetDiscountMinor() || r2.GetCoupon().GetState() != couponv1.Coupon_REDEEMED {
		t.Fatalf("redeem retry: %v %v", r2, err)
	}
	evs := e.h.Events("coupon", kittest.Tenant)
	if n := count(evs, coupon.EventIssued); n != 1 {
		t.Fatalf("%d issued events", n)
	}
	if n := count(evs, coupon.EventRedeemed); n != 1 {
		t.Fatalf("%d redeemed events", n)
	}
}

func count(list []string, s string) int {
	n := 0
	for _, x := range list {
		if x == s {
			n++
		}
	}
	return n
}

func TestRoles(t *testing.T) {
	e := start(t, kittest.Options{})
	tpl := e.template(t, nil)
	_, err := e.coupons.CreateCouponTemplate(e.till(), &couponv1.CreateCouponTemplateRequest{Template: tpl})
	kittest.WantErr(t, err, codes.PermissionDenied, "")
	_, err = e.coupons.ClaimCoupon(e.h.As(iamv1.Role_ANALYST), &couponv1.ClaimCouponRequest{TemplateId: tpl.GetId(), MemberId: e.member(1)})
	kittest.WantErr(t, err, codes.PermissionDenied, "")

	me := e.h.AsMember(e.member(1))
	mine, err := e.coupons.ClaimCoupon(me, &couponv1.ClaimCouponRequest{TemplateId: tpl.GetId(), MemberId: e.member(1)})
	if err != nil {
		t.Fatal(err)
	}
	_, err = e.coupons.ClaimCoupon(me, &couponv1.ClaimCouponRequest{TemplateId: tpl.GetId(), MemberId: e.member(2)})
	kittest.WantErr(t, err, codes.PermissionDenied, "PERMISSION_DENIED")
	theirs := e.claim(t, tpl.GetId(), e.member(2))
	_, err = e.coupons.GetCoupon(me, &couponv1.GetCouponRequest{Code: theirs.GetCode()})
	kittest.WantErr(t, err, codes.PermissionDenied, "PERMISSION_DENIED")
	_, err = e.coupons.ReleaseCoupon(me, &couponv1.ReleaseCouponRequest{Code: theirs.GetCode()})
	kittest.WantErr(t, err, codes.PermissionDenied, "PERMISSION_DENIED")
	_, err = e.coupons.ListMemberCoupons(me, &couponv1.ListMemberCouponsRequest{MemberId: e.member(2)})
	kittest.WantErr(t, err, codes.PermissionDenied, "PERMISSION_DENIED")
	_, err = e.coupons.RedeemCoupon(me, &couponv1.RedeemCouponRequest{Code: theirs.GetCode(), MemberId: e.member(1), OrderId: "o", Cart: cart()})
	kittest.WantErr(t, err, codes.FailedPrecondition, coupon.ReasonCouponNotOwned)
	own, err := e.coupons.ListMemberCoupons(me, &couponv1.ListMemberCouponsRequest{MemberId: e.member(1), State: couponv1.Coupon_AVAILABLE})
	if err != nil || len(own.GetCoupons()) != 1 || own.GetCoupons()[0].GetCode() != mine.GetCoupon().GetCode() {
		t.Fatalf("own coupons: %v %v", own, err)
	}
	seen, err := e.coupons.ListMemberCoupons(e.h.As(iamv1.Role_ANALYST), &couponv1.ListMemberCouponsRequest{MemberId: e.member(1)})
	if err != nil || len(seen.GetCoupons()) != 1 || seen.GetCoupons()[0].GetCode() != "" || seen.GetCoupons()[0].GetId() == "" {
		t.Fatalf("analyst sees %v %v", seen, err)
	}
	if _, err := e.coupons.RedeemCoupon(me, &couponv1.RedeemCouponRequest{Code: mine.GetCoupon().GetCode(), MemberId: e.member(1), OrderId: "app-1", Cart: cart()}); err != nil {
		t.Fatalf("member redeems its own online: %v", err)
	}
}

// TestLockTimesOut: a lock that is not redeemed in time returns the coupon (fake clock): the
// sweep releases it with a coupon_released event, and another order may then use it.
func TestLockTimesOut(t *testing.T) {
	e := start(t, kittest.Options{})
	tpl := e.template(t, nil)
	c := e.claim(t, tpl.GetId(), e.member(1))
	locked, err := e.coupons.LockCoupon(e.till(), &couponv1.LockCouponRequest{Code: c.GetCode(), MemberId: e.member(1), OrderId: "o1", Cart: cart()})
	if err != nil || locked.GetCoupon().GetState() != couponv1.Coupon_LOCKED ||
		!locked.GetCoupon().GetLock().GetExpireTime().AsTime().Equal(kittest.T0.Add(15*time.Minute)) {
		t.Fatalf("lock: %v %v", locked, err)
	}
	_, err = e.coupons.RedeemCoupon(e.till(), &couponv1.RedeemCouponRequest{Code: c.GetCode(), MemberId: e.member(1), OrderId: "o2", Cart: cart()})
	kittest.WantErr(t, err, codes.FailedPrecondition, coupon.ReasonCouponLocked)
	_, err = e.coupons.LockCoupon(e.till(), &couponv1.LockCouponRequest{Code: c.GetCode(), MemberId: e.member(1), OrderId: "o1",
		Cart: &couponv1.Cart{AmountMinor: 5000, Currency: "CNY"}})
	kittest.WantErr(t, err, codes.FailedPrecondition, coupon.ReasonNotApplicable)

	e.h.Clock.Advance(15 * time.Minute)
	kittest.Eventually(t, 5*time.Second, func() bool {
		return slices.Contains(e.h.Events("coupon", kittest.Tenant), coupon.EventReleased)
	}, "no coupon_released after the lock timed out: %v", e.h.Events("coupon", kittest.Tenant))
	got, err := e.coupons.GetCoupon(e.till(), &couponv1.GetCouponRequest{Code: c.GetCode()})
	if err != nil || got.GetCoupon().GetState() != couponv1.Coupon_AVAILABLE || got.GetCoupon().GetLock() != nil {
		t.Fatalf("after timeout: %v %v", got, err)
	}
	if _, err := e.coupons.RedeemCoupon(e.till(), &couponv1.RedeemCouponRequest{Code: c.GetCode(), MemberId: e.member(1), OrderId: "o2", Cart: cart()}); err != nil {
		t.Fatalf("redeem for another order after the timeout: %v", err)
	}
	// An explicit release of a lock gives it back at once.
	c2 := e.claim(t, tpl.GetId(), e.member(1))
	if _, err := e.coupons.LockCoupon(e.till(), &couponv1.LockCouponRequest{Code: c2.GetCode(), MemberId: e.member(1), OrderId: "o3", TimeoutSeconds: 60}); err != nil {
		t.Fatal(err)
	}
	_, err = e.coupons.ReleaseCoupon(e.till(), &couponv1.ReleaseCouponRequest{Code: c2.GetCode(), OrderId: "o4"})
	kittest.WantErr(t, err, codes.FailedPrecondition, coupon.ReasonCouponLocked)
	rel, err := e.coupons.ReleaseCoupon(e.till(), &couponv1.ReleaseCouponRequest{Code: c2.GetCode(), OrderId: "o3"})
	if err != nil || rel.GetCoupon().GetState() != couponv1.Coupon_AVAILABLE {
		t.Fatalf("release: %v %v", rel, err)
	}
	_, err = e.coupons.ReleaseCoupon(e.till(), &couponv1.ReleaseCouponRequest{Code: c2.GetCode()})
	kittest.WantErr(t, err, codes.FailedPrecondition, coupon.ReasonCouponNotLocked)
}

func TestValidateCart(t *testing.T) {
	e := start(t, kittest.Options{})
	threshold := e.template(t, func(x *couponv1.CouponTemplate) {
		x.Stacking = &couponv1.Stacking{Mode: couponv1.Stacking_STACKABLE}
	})
	percent := e.template(t, func(x *couponv1.CouponTemplate) {
		x.Title, x.Type, x.ThresholdMinor, x.DiscountMinor, x.PercentOff, x.MaxDiscountMinor = "9折", couponv1.CouponTemplate_PERCENT, 0, 0, 10, 5000
		x.Stacking = &couponv1.Stacking{Mode: couponv1.Stacking_STACKABLE}
	})
	store := e.template(t, func(x *couponv1.CouponTemplate) {
		x.Title, x.Type, x.ThresholdMinor, x.DiscountMinor = "北京店立减", couponv1.CouponTemplate_FIXED, 0, 500
		x.Scope = &couponv1.Scope{IncludeStoreIds: []string{"bj-1"}}
	})
	big := e.template(t, func(x *couponv1.CouponTemplate) {
		x.Title, x.ThresholdMinor, x.DiscountMinor = "满500减100", 50000, 10000
	})
	for _, tp := range []*couponv1.CouponTemplate{threshold, percent, store, big} {
		e.claim(t, tp.GetId(), e.member(1))
	}
	shared, err := e.coupons.CreateSharedCode(e.op(), &couponv1.CreateSharedCodeRequest{SharedCode: &couponv1.SharedCode{
		Code: "spring-26", TemplateId: store.GetId(), MaxUses: 10}})
	if err != nil {
		t.Fatal(err)
	}
	resp, err := e.coupons.ValidateCoupons(e.till(), &couponv1.ValidateCouponsRequest{MemberId: e.member(1), Cart: cart(),
		Codes: []string{shared.GetSharedCode().GetCode(), "NOPE-NOPE"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.GetApplicable()) != 2 || resp.GetApplicable()[0].GetDiscountMinor() != 2000 || resp.GetApplicable()[1].GetDiscountMinor() != 1200 {
		t.Fatalf("applicable %v", resp.GetApplicable())
	}
	why := map[string]couponv1.NotApplicable_Reason{}
	for _, n := range resp.GetNotApplicable() {
		why[n.GetTemplateId()+n.GetCode()] = n.GetReason()
	}
	if len(resp.GetNotApplicable()) != 4 || why[shared.GetSharedCode().GetTemplateId()+"SPRING26"] != couponv1.NotApplicable_WRONG_STORE ||
		why["NOPENOPE"] != couponv1.NotApplicable_NOT_AVAILABLE {
		t.Fatalf("not applicable %v", resp.GetNotApplicable())
	}
	if b := resp.GetBest(); b.GetDiscountMinor() != 2000+1000 || len(b.GetCoupons()) != 2 { // 10% of the 10000 the 满减 left
		t.Fatalf("best %v", b)
	}
	_, err = e.coupons.ValidateCoupons(e.till(), &couponv1.ValidateCouponsRequest{MemberId: e.member(1), Cart: &couponv1.Cart{AmountMinor: 100,
		Currency: "CNY", Items: []*couponv1.CartItem{{Sku: "a", Quantity: 0, UnitPriceMinor: 10}}}})
	kittest.WantErr(t, err, codes.InvalidArgument, "", "cart.items[0].quantity")
	_, err = e.coupons.ValidateCoupons(e.till(), &couponv1.ValidateCouponsRequest{MemberId: e.member(1)})
	kittest.WantErr(t, err, codes.InvalidArgument, "", "cart")
}

func TestExchangeThroughLoyalty(t *testing.T) {
	e := start(t, kittest.Options{})
	tpl := e.template(t, func(x *couponv1.CouponTemplate) {
		x.Type, x.ThresholdMinor, x.DiscountMinor, x.Claimable, x.PointsPrice = couponv1.CouponTemplate_FIXED, 0, 1000, false, 500
	})
	admin := e.h.As(iamv1.Role_ADMIN)
	if _, err := e.points.AdjustPoints(admin, &loyaltyv1.AdjustPointsRequest{MemberId: e.member(1), Points: 800, Reason: "seed"}); err != nil {
		t.Fatal(err)
	}
	_, err := e.coupons.ClaimCoupon(e.till(), &couponv1.ClaimCouponRequest{TemplateId: tpl.GetId(), MemberId: e.member(1)})
	kittest.WantErr(t, err, codes.FailedPrecondition, coupon.ReasonNotClaimable)
	x, err := e.coupons.ExchangeCoupon(e.h.AsMember(e.member(1)), &couponv1.ExchangeCouponRequest{TemplateId: tpl.GetId(), MemberId: e.member(1), RequestId: "ex-1"})
	if err != nil || x.GetExchange().GetState() != couponv1.Exchange_COMPLETED || x.GetCoupon().GetState() != couponv1.Coupon_AVAILABLE ||
		x.GetCoupon().GetSource() != couponv1.Coupon_EXCHANGE {
		t.Fatalf("exchange: %v %v", x, err)
	}
	_, err = e.coupons.ExchangeCoupon(e.till(), &couponv1.ExchangeCouponRequest{TemplateId: tpl.GetId(), MemberId: e.member(1), RequestId: "ex-2"})
	kittest.WantErr(t, err, codes.FailedPrecondition, "INSUFFICIENT_POINTS")
	bal, err := e.points.GetPointsBalance(admin, &loyaltyv1.GetPointsBalanceRequest{MemberId: e.member(1)})
	if err != nil || bal.GetBalance().GetAvailable() != 300 || bal.GetBalance().GetHeld() != 0 {
		t.Fatalf("balance %v %v", bal, err)
	}
	again, err := e.coupons.ExchangeCoupon(e.till(), &couponv1.ExchangeCouponRequest{TemplateId: tpl.GetId(), MemberId: e.member(1), RequestId: "ex-1"})
	if err != nil || again.GetExchange().GetId() != x.GetExchange().GetId() {
		t.Fatalf("retry: %v %v", again, err)
	}
	got, err := e.coupons.GetCouponExchange(e.h.AsMember(e.member(1)), &couponv1.GetCouponExchangeRequest{Id: x.GetExchange().GetId()})
	if err != nil || got.GetExchange().GetHoldId() == "" {
		t.Fatalf("get exchange: %v %v", got, err)
	}
	_, err = e.coupons.GetCouponExchange(e.h.AsMember(e.member(2)), &couponv1.GetCouponExchangeRequest{Id: x.GetExchange().GetId()})
	kittest.WantErr(t, err, codes.PermissionDenied, "")
}

func TestCodeBatchAndSharedCodes(t *testing.T) {
	e := start(t, kittest.Options{})
	tpl := e.template(t, func(x *couponv1.CouponTemplate) { x.TotalStock = 3000 })
	_, err := e.coupons.CreateCodeBatch(e.op(), &couponv1.CreateCodeBatchRequest{TemplateId: tpl.GetId(), Count: 3001})
	kittest.WantErr(t, err, codes.FailedPrecondition, coupon.ReasonOutOfStock)
	b, err := e.coupons.CreateCodeBatch(e.op(), &couponv1.CreateCodeBatchRequest{TemplateId: tpl.GetId(), Count: 2500, RequestId: "batch-1"})
	if err != nil || b.GetBatch().GetState() != couponv1.CodeBatch_RUNNING {
		t.Fatalf("batch %v %v", b, err)
	}
	kittest.Eventually(t, 10*time.Second, func() bool {
		got, err := e.coupons.GetCodeBatch(e.op(), &couponv1.GetCodeBatchRequest{Id: b.GetBatch().GetId()})
		return err == nil && got.GetBatch().GetState() == couponv1.CodeBatch_DONE && got.GetBatch().GetGenerated() == 2500
	}, "batch not done")
	stream, err := e.coupons.ExportCodeBatch(e.op(), &couponv1.ExportCodeBatchRequest{Id: b.GetBatch().GetId()})
	if err != nil {
		t.Fatal(err)
	}
	var csv strings.Builder
	for {
		m, err := stream.Recv()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		csv.Write(m.GetData())
	}
	lines := strings.Split(strings.TrimSpace(csv.String()), "\n")
	if len(lines) != 2501 || lines[0] != "code,state,member_id,expire_time" {
		t.Fatalf("%d lines, header %q", len(lines), lines[0])
	}
	codeA, codeB := strings.Split(lines[1], ",")[0], strings.Split(lines[2], ",")[0]
	claimed, err := e.coupons.ClaimCouponCode(e.h.AsMember(e.member(1)), &couponv1.ClaimCouponCodeRequest{Code: strings.ToLower(codeA), MemberId: e.member(1)})
	if err != nil || claimed.GetCoupon().GetMemberId() != e.member(1) || claimed.GetCoupon().GetSource() != couponv1.Coupon_CODE_BATCH {
		t.Fatalf("claim batch code: %v %v", claimed, err)
	}
	_, err = e.coupons.ClaimCouponCode(e.till(), &couponv1.ClaimCouponCodeRequest{Code: codeA, MemberId: e.member(2)})
	kittest.WantErr(t, err, codes.FailedPrecondition, coupon.ReasonCodeClaimed)
	// A bearer code redeemed at the till goes to the member who used it.
	if _, err := e.coupons.RedeemCoupon(e.till(), &couponv1.RedeemCouponRequest{Code: codeB, MemberId: e.member(3), OrderId: "o1", Cart: cart()}); err != nil {
		t.Fatal(err)
	}
	const alphabet = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
	typo := []byte(codeB)
	typo[0] = alphabet[(strings.IndexByte(alphabet, typo[0])+1)%len(alphabet)]
	_, err = e.coupons.GetCoupon(e.till(), &couponv1.GetCouponRequest{Code: string(typo)})
	kittest.WantErr(t, err, codes.InvalidArgument, coupon.ReasonCodeInvalid, "code")

	sc, err := e.coupons.CreateSharedCode(e.op(), &couponv1.CreateSharedCodeRequest{SharedCode: &couponv1.SharedCode{TemplateId: tpl.GetId(), MaxUses: 2}})
	if err != nil {
		t.Fatal(err)
	}
	_, err = e.coupons.CreateSharedCode(e.op(), &couponv1.CreateSharedCodeRequest{SharedCode: &couponv1.SharedCode{Code: sc.GetSharedCode().GetCode(), TemplateId: tpl.GetId(), MaxUses: 2}})
	kittest.WantErr(t, err, codes.AlreadyExists, coupon.ReasonCodeExists)
	use := func(m int) error {
		_, err := e.coupons.ClaimCouponCode(e.till(), &couponv1.ClaimCouponCodeRequest{Code: sc.GetSharedCode().GetCode(), MemberId: e.member(m)})
		return err
	}
	if err := use(1); err != nil {
		t.Fatal(err)
	}
	kittest.WantErr(t, use(1), codes.FailedPrecondition, coupon.ReasonLimitReached)
	if err := use(2); err != nil {
		t.Fatal(err)
	}
	kittest.WantErr(t, use(3), codes.FailedPrecondition, coupon.ReasonOutOfStock)
	got, err := e.coupons.GetSharedCode(e.op(), &couponv1.GetSharedCodeRequest{Code: sc.GetSharedCode().GetCode()})
	if err != nil || got.GetSharedCode().GetUses() != 2 {
		t.Fatalf("shared code %v %v", got, err)
	}
}

func TestGrantRestoreVoid(t *testing.T) {
	e := start(t, kittest.Options{})
	tpl := e.template(t, func(x *couponv1.CouponTemplate) {
		x.Claimable, x.PerMemberLimit, x.RefundPolicy = false, 1, couponv1.CouponTemplate_RESTORE
	})
	_, err := e.coupons.GrantCoupons(e.till(), &couponv1.GrantCouponsRequest{TemplateId: tpl.GetId(), MemberIds: []string{e.member(1), e.member(1)}})
	kittest.WantErr(t, err, codes.InvalidArgument, "", "member_ids[1]")
	req := &couponv1.GrantCouponsRequest{TemplateId: tpl.GetId(), MemberIds: []string{e.member(1), e.member(2), e.member(3)}, RequestId: "campaign-7"}
	if _, err := e.coupons.GrantCoupons(e.till(), &couponv1.GrantCouponsRequest{TemplateId: tpl.GetId(), MemberIds: []string{e.member(2)}}); err != nil {
		t.Fatal(err)
	}
	a, err := e.coupons.GrantCoupons(e.till(), req)
	if err != nil {
		t.Fatal(err)
	}
	r := a.GetResults()
	if len(r) != 3 || r[0].GetCoupon() == nil || r[1].GetError().GetReason() != coupon.ReasonLimitReached ||
		r[1].GetError().GetCode() != "FAILED_PRECONDITION" || r[2].GetCoupon() == nil {
		t.Fatalf("grant results %v", r)
	}
	b, err := e.coupons.GrantCoupons(e.till(), req)
	if err != nil || b.GetResults()[0].GetCoupon().GetCode() != r[0].GetCoupon().GetCode() || b.GetResults()[1].GetError().GetReason() != coupon.ReasonLimitReached {
		t.Fatalf("grant retry %v %v", b, err)
	}
	code := r[0].GetCoupon().GetCode()
	if _, err := e.coupons.RedeemCoupon(e.till(), &couponv1.RedeemCouponRequest{Code: code, MemberId: e.member(1), OrderId: "o1", Cart: cart()}); err != nil {
		t.Fatal(err)
	}
	_, err = e.coupons.RestoreCoupon(e.till(), &couponv1.RestoreCouponRequest{Code: code, OrderId: "o2"})
	kittest.WantErr(t, err, codes.FailedPrecondition, coupon.ReasonNotRestorable)
	got, err := e.coupons.RestoreCoupon(e.till(), &couponv1.RestoreCouponRequest{Code: code, OrderId: "o1", Reason: "refunded"})
	if err != nil || got.GetCoupon().GetState() != couponv1.Coupon_AVAILABLE || got.GetCoupon().GetRedemption() != nil {
		t.Fatalf("restore %v %v", got, err)
	}
	v, err := e.coupons.VoidCoupon(e.op(), &couponv1.VoidCouponRequest{Code: code, Reason: "fraud"})
	if err != nil || v.GetCoupon().GetState() != couponv1.Coupon_VOIDED {
		t.Fatalf("void %v %v", v, err)
	}
	_, err = e.coupons.RedeemCoupon(e.till(), &couponv1.RedeemCouponRequest{Code: code, MemberId: e.member(1), OrderId: "o3", Cart: cart()})
	kittest.WantErr(t, err, codes.FailedPrecondition, coupon.ReasonCouponVoided)
	want := []string{coupon.EventRedeemed, coupon.EventRestored, coupon.EventVoided}
	if evs := e.h.Events("coupon", kittest.Tenant); !slices.Equal(evs[len(evs)-3:], want) {
		t.Fatalf("events %v", evs)
	}
}

// TestTimeZoneFromLoyalty: the tenant's time zone comes from its loyalty policy's events, and
// "N days after issue" ends at midnight there.
func TestTimeZoneFromLoyalty(t *testing.T) {
	e := start(t, kittest.Options{Events: true})
	tpl := e.template(t, func(x *couponv1.CouponTemplate) { x.ValidDays = 1 })
	shanghai, _ := time.LoadLocation("Asia/Shanghai")
	newYork, _ := time.LoadLocation("America/New_York")
	endIn := func(loc *time.Location) time.Time {
		l := kittest.T0.In(loc)
		return time.Date(l.Year(), l.Month(), l.Day()+2, 0, 0, 0, 0, loc)
	}
	if c := e.claim(t, tpl.GetId(), e.member(1)); !c.GetExpireTime().AsTime().Equal(endIn(shanghai)) {
		t.Fatalf("default zone: expires %s", c.GetExpireTime().AsTime())
	}
	programs := loyaltyv1.NewLoyaltyProgramServiceClient(e.h.Conn)
	if _, err := programs.UpdateLoyaltyPolicy(e.h.As(iamv1.Role_ADMIN), &loyaltyv1.UpdateLoyaltyPolicyRequest{
		Policy: &loyaltyv1.LoyaltyPolicy{TimeZone: "America/New_York"}, UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"time_zone"}}}); err != nil {
		t.Fatal(err)
	}
	i := 1
	kittest.Eventually(t, 10*time.Second, func() bool {
		i++
		return e.claim(t, tpl.GetId(), e.member(i)).GetExpireTime().AsTime().Equal(endIn(newYork))
	}, "coupons never followed the tenant's new time zone")
}
