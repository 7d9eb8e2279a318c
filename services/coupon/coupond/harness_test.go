package coupond_test

import (
	"context"
	"sync"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/huiyuan-dev/huiyuan/pkg/kit"
	"github.com/huiyuan-dev/huiyuan/pkg/kittest"
	"github.com/huiyuan-dev/huiyuan/services/coupon/coupond"
	"github.com/huiyuan-dev/huiyuan/services/loyalty/loyaltyd"
	"github.com/huiyuan-dev/huiyuan/services/member/memberd"

	couponv1 "github.com/huiyuan-dev/huiyuan/gen/huiyuan/coupon/v1"
	iamv1 "github.com/huiyuan-dev/huiyuan/gen/huiyuan/iam/v1"
	loyaltyv1 "github.com/huiyuan-dev/huiyuan/gen/huiyuan/loyalty/v1"
)

// services is the coupon service with what it depends on: loyalty (points exchanges, the
// tenant's time zone), which calls member.
func services() []kit.Service {
	return []kit.Service{memberd.Module(), loyaltyd.Module(), coupond.Module()}
}

type env struct {
	tb      testing.TB
	h       *kittest.Harness
	coupons couponv1.CouponServiceClient
	points  loyaltyv1.LoyaltyServiceClient

	mu      sync.Mutex
	members map[int]string // registered by member
}

// start runs the services through kit.Run (kittest), the background jobs every 20 ms.
func start(tb testing.TB, o kittest.Options) *env {
	tb.Helper()
	o.Args = append([]string{"--coupon-job-interval=20ms"}, o.Args...)
	h := kittest.Start(tb, services, o)
	return &env{tb: tb, h: h, coupons: couponv1.NewCouponServiceClient(h.Conn), points: loyaltyv1.NewLoyaltyServiceClient(h.Conn),
		members: map[int]string{}}
}

func (e *env) op() context.Context   { return e.h.As(iamv1.Role_OPERATOR) }
func (e *env) till() context.Context { return e.h.As(iamv1.Role_SERVICE) }

// member returns the id of the test's member i, registered with the member service on first
// use: every process refuses member tokens of members the member service does not know.
func (e *env) member(i int) string {
	e.mu.Lock()
	defer e.mu.Unlock()
	if id, ok := e.members[i]; ok {
		return id
	}
	id := e.h.NewMember(e.tb)
	e.members[i] = id
	return id
}

// registerMembers registers the test's members 0 to n-1 at once, so that goroutines of a storm
// only read them.
func (e *env) registerMembers(n int) {
	e.tb.Helper()
	ids := e.h.NewMembers(e.tb, n)
	e.mu.Lock()
	defer e.mu.Unlock()
	for i, id := range ids {
		e.members[i] = id
	}
}

// template creates and activates a template: 满100减20, 7 days, claimable, changed by fn.
func (e *env) template(tb testing.TB, fn func(*couponv1.CouponTemplate)) *couponv1.CouponTemplate {
	tb.Helper()
	t := &couponv1.CouponTemplate{Title: "满100减20", Type: couponv1.CouponTemplate_THRESHOLD, Currency: "CNY",
		ThresholdMinor: 10000, DiscountMinor: 2000, ValidDays: 7, Claimable: true}
	if fn != nil {
		fn(t)
	}
	created, err := e.coupons.CreateCouponTemplate(e.op(), &couponv1.CreateCouponTemplateRequest{Template: t})
	if err != nil {
		tb.Fatalf("CreateCouponTemplate: %v", err)
	}
	act, err := e.coupons.ActivateCouponTemplate(e.op(), &couponv1.ActivateCouponTemplateRequest{Id: created.GetTemplate().GetId()})
	if err != nil {
		tb.Fatalf("ActivateCouponTemplate: %v", err)
	}
	return act.GetTemplate()
}

func (e *env) claim(tb testing.TB, templateID, memberID string) *couponv1.Coupon {
	tb.Helper()
	resp, err := e.coupons.ClaimCoupon(e.till(), &couponv1.ClaimCouponRequest{TemplateId: templateID, MemberId: memberID})
	if err != nil {
		tb.Fatalf("ClaimCoupon: %v", err)
	}
	return resp.GetCoupon()
}

// cart is a ¥120 cart of store s1, totals only.
func cart() *couponv1.Cart { return &couponv1.Cart{AmountMinor: 12000, Currency: "CNY", StoreId: "s1"} }

func clone[M proto.Message](m M) M { return proto.Clone(m).(M) }

// allCoupons lists every coupon of a template.
func (e *env) allCoupons(tb testing.TB, templateID string) []*couponv1.Coupon {
	tb.Helper()
	var out []*couponv1.Coupon
	token := ""
	for {
		resp, err := e.coupons.ListTemplateCoupons(e.op(), &couponv1.ListTemplateCouponsRequest{TemplateId: templateID, PageSize: 1000, PageToken: token})
		if err != nil {
			tb.Fatal(err)
		}
		out = append(out, resp.GetCoupons()...)
		if token = resp.GetNextPageToken(); token == "" {
			return out
		}
	}
}
