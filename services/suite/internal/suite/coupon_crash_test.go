package suite_test

import (
	"context"
	"encoding/base64"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/huiyuan-dev/huiyuan/pkg/kittest"

	couponv1 "github.com/huiyuan-dev/huiyuan/gen/huiyuan/coupon/v1"
	loyaltyv1 "github.com/huiyuan-dev/huiyuan/gen/huiyuan/loyalty/v1"
)

// TestCouponClaimStormSIGKILL: stock 100, a limit of one per member, 1,000 claims from 300
// members against the huiyuan binary, SIGKILLed while the claims are being committed. After the
// restart every acknowledged claim's coupon is there and no more coupons exist than the stock;
// then every claim that got no answer is retried with its request_id (a retry of one that was
// written gets its coupon, one that was not is claimed now), and at the end the coupons issued
// are exactly the acknowledged claims: 100, no member holding two.
func TestCouponClaimStormSIGKILL(t *testing.T) {
	if testing.Short() {
		t.Skip("starts processes")
	}
	p := newProcess(t)
	p.start()
	conn := p.dial()
	defer conn.Close()
	client := couponv1.NewCouponServiceClient(conn)
	bg := authed(context.Background())
	tpl, err := client.CreateCouponTemplate(bg, &couponv1.CreateCouponTemplateRequest{Template: &couponv1.CouponTemplate{
		Title: "秒杀", Type: couponv1.CouponTemplate_FIXED, Currency: "CNY", DiscountMinor: 1000, ValidDays: 3,
		TotalStock: 100, PerMemberLimit: 1, Claimable: true}})
	if err != nil {
		t.Fatal(err)
	}
	id := tpl.GetTemplate().GetId()
	if _, err := client.ActivateCouponTemplate(bg, &couponv1.ActivateCouponTemplateRequest{Id: id}); err != nil {
		t.Fatal(err)
	}

	const claims, members = 1000, 300
	claim := func(ctx context.Context, i int) (*couponv1.Coupon, error) {
		resp, err := client.ClaimCoupon(authed(ctx), &couponv1.ClaimCouponRequest{TemplateId: id, RequestId: fmt.Sprint("storm-", i),
			MemberId: fmt.Sprintf("0190a0e0-0000-7000-8000-%012d", i%members)})
		return resp.GetCoupon(), err
	}
	var mu sync.Mutex
	acked := map[string]int{} // code -> claim
	var unanswered []int      // claims that failed for want of an answer, or never went out
	var refused atomic.Int64
	next := atomic.Int64{}
	var wg sync.WaitGroup
	for range 32 {
		wg.Go(func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= claims {
					return
				}
				c, err := claim(context.Background(), i)
				mu.Lock()
				switch code := status.Code(err); {
				case err == nil:
					acked[c.GetCode()] = i
				case code == codes.FailedPrecondition:
					refused.Add(1)
				default:
					unanswered = append(unanswered, i)
				}
				mu.Unlock()
				time.Sleep(200 * time.Microsecond) // spread the storm so the kill lands inside it
			}
		})
	}
	for {
		mu.Lock()
		n := len(acked)
		mu.Unlock()
		if n >= 30 {
			break
		}
		time.Sleep(100 * time.Microsecond)
	}
	p.kill()
	wg.Wait()
	mu.Lock()
	beforeKill := len(acked)
	mu.Unlock()
	if beforeKill >= 100 {
		t.Fatalf("all %d claims were acknowledged before the kill: it did not land in the storm", beforeKill)
	}

	p.start()
	defer p.stop()
	stored := listTemplateCoupons(t, client, id)
	for code := range acked {
		if _, ok := stored[code]; !ok {
			t.Fatalf("acknowledged coupon %s lost after SIGKILL", code)
		}
	}
	if len(stored) > 100 {
		t.Fatalf("%d coupons after restart, stock 100", len(stored))
	}
	writtenUnanswered := len(stored) - len(acked)

	// The claims without an answer are retried under their request_id.
	for _, i := range unanswered {
		c, err := claim(context.Background(), i)
		switch {
		case err == nil:
			acked[c.GetCode()] = i
		case status.Code(err) == codes.FailedPrecondition:
			refused.Add(1)
		default:
			t.Fatalf("retry of claim %d: %v", i, err)
		}
	}
	stored = listTemplateCoupons(t, client, id)
	holders := map[string]bool{}
	for code, m := range stored {
		if _, ok := acked[code]; !ok {
			t.Fatalf("coupon %s exists but was never acknowledged", code)
		}
		if holders[m] {
			t.Fatalf("member %s holds two coupons", m)
		}
		holders[m] = true
	}
	if len(stored) != 100 || len(acked) != 100 {
		t.Fatalf("%d coupons stored, %d claims acknowledged, want 100 each", len(stored), len(acked))
	}
	t.Logf("%d acknowledged before SIGKILL, %d written but unanswered (answered on retry), %d retried, %d refused",
		beforeKill, writtenUnanswered, len(unanswered), refused.Load())
}

// listTemplateCoupons returns code -> member of every coupon of template id.
func listTemplateCoupons(t *testing.T, client couponv1.CouponServiceClient, id string) map[string]string {
	t.Helper()
	out := map[string]string{}
	token := ""
	for {
		resp, err := client.ListTemplateCoupons(authed(context.Background()), &couponv1.ListTemplateCouponsRequest{TemplateId: id, PageSize: 1000, PageToken: token})
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range resp.GetCoupons() {
			out[c.GetCode()] = c.GetMemberId()
		}
		if token = resp.GetNextPageToken(); token == "" {
			return out
		}
	}
}

// rawCodec passes gRPC messages through as bytes, for the proxy.
type rawCodec struct{}

func (rawCodec) Marshal(v any) ([]byte, error) { return *(v.(*[]byte)), nil }
func (rawCodec) Unmarshal(data []byte, v any) error {
	*(v.(*[]byte)) = append([]byte(nil), data...)
	return nil
}
func (rawCodec) Name() string { return "proto" }

// proxy forwards unary gRPC calls to a backend and can run a step (a SIGKILL) after a chosen
// method's answer came back and before it is passed on: the coupon process then dies between
// two steps of an exchange, with loyalty having done the first.
type proxy struct {
	addr    string
	backend *grpc.ClientConn
	mu      sync.Mutex
	method  string
	then    func()
}

func newProxy(t *testing.T, backend string) *proxy {
	t.Helper()
	cc, err := grpc.NewClient(backend, grpc.WithTransportCredentials(insecure.NewCredentials()), grpc.WithDefaultCallOptions(grpc.ForceCodec(rawCodec{})))
	if err != nil {
		t.Fatal(err)
	}
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	px := &proxy{addr: lis.Addr().String(), backend: cc}
	srv := grpc.NewServer(grpc.ForceServerCodec(rawCodec{}), grpc.UnknownServiceHandler(px.handle))
	go func() { _ = srv.Serve(lis) }()
	t.Cleanup(func() { srv.Stop(); _ = cc.Close() })
	return px
}

// after arms the proxy: the next answer to method runs fn and is not passed on. The channel is
// closed once fn has returned.
func (px *proxy) after(method string, fn func()) <-chan struct{} {
	done := make(chan struct{})
	px.mu.Lock()
	px.method, px.then = method, func() { fn(); close(done) }
	px.mu.Unlock()
	return done
}

func (px *proxy) handle(_ any, ss grpc.ServerStream) error {
	method, _ := grpc.MethodFromServerStream(ss)
	md, _ := metadata.FromIncomingContext(ss.Context())
	var req, resp []byte
	if err := ss.RecvMsg(&req); err != nil {
		return err
	}
	err := px.backend.Invoke(metadata.NewOutgoingContext(ss.Context(), md.Copy()), method, &req, &resp)
	px.mu.Lock()
	fire := px.then != nil && method == px.method
	fn := px.then
	if fire {
		px.then = nil
	}
	px.mu.Unlock()
	if fire {
		fn()
		return status.Error(codes.Unavailable, "proxy: the caller died")
	}
	if err != nil {
		return err
	}
	return ss.SendMsg(&resp)
}

// exchangeCluster is the suite in one process (loyalty in it) and the coupon service alone in
// another, calling loyalty through a proxy.
type exchangeCluster struct {
	suite, coupon *process
	px            *proxy
	coupons       couponv1.CouponServiceClient
	points        loyaltyv1.LoyaltyServiceClient
	suiteConn     *grpc.ClientConn // to the suite's member and loyalty services
}

func newExchangeCluster(t *testing.T) *exchangeCluster {
	t.Helper()
	secret := func(b byte) string {
		s := make([]byte, 32)
		for i := range s {
			s[i] = b
		}
		return base64.StdEncoding.EncodeToString(s)
	}
	shared := []string{"HUIYUAN_JWT_SECRET=" + secret(1), "HUIYUAN_SERVICE_SECRET=" + secret(2)}
	c := &exchangeCluster{suite: newProcess(t), coupon: newProcess(t)}
	c.suite.env = append(c.suite.env, shared...)
	c.suite.start()
	c.px = newProxy(t, c.suite.grpc)
	c.coupon.env = append(c.coupon.env, shared...)
	c.coupon.env = append(c.coupon.env, "HUIYUAN_SERVICE=coupon", "HUIYUAN_LOYALTY_ADDR="+c.px.addr, "HUIYUAN_IAM_ADDR="+c.suite.grpc,
		"HUIYUAN_MEMBER_ADDR="+c.suite.grpc,
		"HUIYUAN_COUPON_EXCHANGE_GRACE=1s", "HUIYUAN_COUPON_JOB_INTERVAL=100ms")
	c.coupon.start()
	sconn, cconn := c.suite.dial(), c.coupon.dial()
	t.Cleanup(func() { sconn.Close(); cconn.Close() })
	c.points, c.suiteConn = loyaltyv1.NewLoyaltyServiceClient(sconn), sconn
	c.coupons = couponv1.NewCouponServiceClient(cconn)
	return c
}

// TestCouponExchangeSIGKILL kills a process in the middle of a points exchange and checks that
// the member ends with either the coupon and the points spent, or the points back, never both
// and never neither, and no points left held:
//   - the coupon process dies after loyalty held the points, before it recorded the hold;
//   - the coupon process dies after loyalty captured the hold, before the coupon was granted;
//   - the suite (loyalty) dies after holding the points, before answering.
func TestCouponExchangeSIGKILL(t *testing.T) {
	if testing.Short() {
		t.Skip("starts processes")
	}
	c := newExchangeCluster(t)
	bg := authed(context.Background())
	tpl, err := c.coupons.CreateCouponTemplate(bg, &couponv1.CreateCouponTemplateRequest{Template: &couponv1.CouponTemplate{
		Title: "500 积分换 10 元", Type: couponv1.CouponTemplate_FIXED, Currency: "CNY", DiscountMinor: 1000, ValidDays: 30, PointsPrice: 500}})
	if err != nil {
		t.Fatal(err)
	}
	id := tpl.GetTemplate().GetId()
	if _, err := c.coupons.ActivateCouponTemplate(bg, &couponv1.ActivateCouponTemplateRequest{Id: id}); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name   string
		method string
		kill   func()
		revive func()
	}{
		{"coupon killed between hold and grant", "/huiyuan.loyalty.v1.LoyaltyService/HoldPoints", c.coupon.kill, c.coupon.start},
		{"coupon killed between capture and grant", "/huiyuan.loyalty.v1.LoyaltyService/CaptureHold", c.coupon.kill, c.coupon.start},
		{"loyalty killed after holding", "/huiyuan.loyalty.v1.LoyaltyService/HoldPoints", c.suite.kill, c.suite.start},
	}
	members := kittest.RegisterMembers(t, bg, c.suiteConn, len(cases))
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			member := members[i]
			if _, err := c.points.AdjustPoints(bg, &loyaltyv1.AdjustPointsRequest{MemberId: member, Points: 800, Reason: "seed",
				RequestId: "seed-" + member}); err != nil {
				t.Fatal(err)
			}
			killed := c.px.after(tc.method, tc.kill)
			_, err := c.coupons.ExchangeCoupon(bg, &couponv1.ExchangeCouponRequest{TemplateId: id, MemberId: member, RequestId: "ex-" + member})
			if err == nil {
				t.Fatal("the exchange was answered although a process died in it")
			}
			<-killed
			tc.revive()
			// Recovery settles it on its own; a member's retry would too.
			deadline := time.Now().Add(30 * time.Second)
			for {
				list, err := c.coupons.ListMemberCoupons(bg, &couponv1.ListMemberCouponsRequest{MemberId: member})
				if err == nil && len(list.GetCoupons()) == 1 && list.GetCoupons()[0].GetState() != couponv1.Coupon_PENDING {
					checkExchange(t, c.points, member, list.GetCoupons()[0])
					return
				}
				if time.Now().After(deadline) {
					t.Fatalf("exchange never settled: %v %v", list, err)
				}
				time.Sleep(50 * time.Millisecond)
			}
		})
	}
	c.coupon.stop()
	c.suite.stop()
}

func checkExchange(t *testing.T, points loyaltyv1.LoyaltyServiceClient, member string, cp *couponv1.Coupon) {
	t.Helper()
	bal, err := points.GetPointsBalance(authed(context.Background()), &loyaltyv1.GetPointsBalanceRequest{MemberId: member})
	if err != nil {
		t.Fatal(err)
	}
	b := bal.GetBalance()
	switch {
	case b.GetHeld() != 0:
		t.Fatalf("%d points still held", b.GetHeld())
	case cp.GetState() == couponv1.Coupon_AVAILABLE && b.GetAvailable() == 300:
		t.Logf("settled: coupon granted, 500 points spent")
	case cp.GetState() == couponv1.Coupon_VOIDED && b.GetAvailable() == 800:
		t.Logf("settled: no coupon, points back")
	default:
		t.Fatalf("coupon %s with %d points available (800 before, price 500)", cp.GetState(), b.GetAvailable())
	}
}
