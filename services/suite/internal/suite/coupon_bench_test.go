package suite_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	couponv1 "github.com/huiyuan-dev/huiyuan/gen/huiyuan/coupon/v1"
)

// BenchmarkCouponLatency measures validate and redeem latency at a fixed rate, over gRPC and
// over the JSON edge, against the whole suite in process (real fsync, embedded NATS, events
// relayed):
//
//	go test -run '^$' -bench CouponLatency -benchtime 1x ./services/suite/internal/suite/
//
// Each mode sends 200 requests per second (COUPON_BENCH_RATE overrides) for 5 s, open loop (a
// request starts on every tick whether or not the earlier ones have answered), and reports p50,
// p95 and p99 in milliseconds. Validate: a member holding five coupons of five templates (three of them
// stackable) and a cart of five items. Redeem: a coupon of its own for each request, with the
// same cart. Targets: p95 at most 20 ms over gRPC and 40 ms over the JSON edge.
func BenchmarkCouponLatency(b *testing.B) {
	productionGC(b)
	const couponPhase = 5 * time.Second
	couponRate := 200
	if v, err := strconv.Atoi(os.Getenv("COUPON_BENCH_RATE")); err == nil && v > 0 {
		couponRate = v
	}
	r := startSuite(b, "--rate-limit=0")
	conn, err := grpc.NewClient(r.GRPCAddr(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { conn.Close() })
	client := couponv1.NewCouponServiceClient(conn)
	ctx := authed(context.Background())

	templates := []*couponv1.CouponTemplate{
		{Title: "满100减20", Type: couponv1.CouponTemplate_THRESHOLD, ThresholdMinor: 10000, DiscountMinor: 2000, Stacking: &couponv1.Stacking{Mode: couponv1.Stacking_STACKABLE}},
		{Title: "9折", Type: couponv1.CouponTemplate_PERCENT, PercentOff: 10, MaxDiscountMinor: 5000, Stacking: &couponv1.Stacking{Mode: couponv1.Stacking_STACKABLE, Priority: 1}},
		{Title: "饮料免费", Type: couponv1.CouponTemplate_FREE_ITEM, FreeItemSku: "cola", Stacking: &couponv1.Stacking{Mode: couponv1.Stacking_STACKABLE}},
		{Title: "立减30", Type: couponv1.CouponTemplate_FIXED, DiscountMinor: 3000},
		{Title: "北京店", Type: couponv1.CouponTemplate_FIXED, DiscountMinor: 500, Scope: &couponv1.Scope{IncludeStoreIds: []string{"bj-1"}}},
	}
	var ids []string
	for i, t := range templates {
		t.Currency, t.ValidDays = "CNY", 30
		tv, err := client.CreateCouponTemplate(ctx, &couponv1.CreateCouponTemplateRequest{Template: t, RequestId: fmt.Sprint("bench-t-", i)})
		if err != nil {
			b.Fatal(err)
		}
		if _, err := client.ActivateCouponTemplate(ctx, &couponv1.ActivateCouponTemplateRequest{Id: tv.GetTemplate().GetId()}); err != nil {
			b.Fatal(err)
		}
		ids = append(ids, tv.GetTemplate().GetId())
	}
	const validator = "0190a0e0-0000-7000-8000-0000000b0001"
	for _, id := range ids {
		if _, err := client.GrantCoupons(ctx, &couponv1.GrantCouponsRequest{TemplateId: id, MemberIds: []string{validator}}); err != nil {
			b.Fatal(err)
		}
	}
	perMode := couponRate * int(couponPhase/time.Second)
	codes := map[string][]string{} // mode -> coupon codes to redeem, one per request
	for mi, mode := range []string{"grpc", "json"} {
		for start := 0; start < perMode*b.N+50; start += 1000 {
			var members []string
			for i := start; i < start+1000; i++ {
				members = append(members, fmt.Sprintf("0190a0e0-0000-7000-8%03d-%012d", mi, i))
			}
			resp, err := client.GrantCoupons(ctx, &couponv1.GrantCouponsRequest{TemplateId: ids[0], MemberIds: members})
			if err != nil {
				b.Fatal(err)
			}
			for _, res := range resp.GetResults() {
				codes[mode] = append(codes[mode], res.GetCoupon().GetCode()+" "+res.GetMemberId())
			}
		}
	}
	cart := &couponv1.Cart{AmountMinor: 25000, Currency: "CNY", StoreId: "sh-1", Items: []*couponv1.CartItem{
		{Sku: "tea", Category: "drinks", Quantity: 2, UnitPriceMinor: 3000}, {Sku: "cola", Category: "drinks", Quantity: 3, UnitPriceMinor: 500},
		{Sku: "bread", Category: "food", Quantity: 1, UnitPriceMinor: 8000}, {Sku: "cheese", Category: "food", Quantity: 1, UnitPriceMinor: 6500},
		{Sku: "bag", Category: "misc", Quantity: 1, UnitPriceMinor: 3000}}}
	jsonCart := map[string]any{"amountMinor": "25000", "currency": "CNY", "storeId": "sh-1", "items": []map[string]any{
		{"sku": "tea", "category": "drinks", "quantity": "2", "unitPriceMinor": "3000"}, {"sku": "cola", "category": "drinks", "quantity": "3", "unitPriceMinor": "500"},
		{"sku": "bread", "category": "food", "quantity": "1", "unitPriceMinor": "8000"}, {"sku": "cheese", "category": "food", "quantity": "1", "unitPriceMinor": "6500"},
		{"sku": "bag", "category": "misc", "quantity": "1", "unitPriceMinor": "3000"}}}
	httpc := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 256}}
	post := func(path string, body any) error {
		raw, _ := json.Marshal(body)
		req, _ := http.NewRequest("POST", r.base+path, bytes.NewReader(raw))
		req.Header.Set("Authorization", "Bearer "+adminKey)
		req.Header.Set("Content-Type", "application/json")
		resp, err := httpc.Do(req)
		if err != nil {
			return err
		}
		out, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			return fmt.Errorf("%s: %d %s", path, resp.StatusCode, out)
		}
		return nil
	}
	split := func(s string) (code, member string) {
		var c, m string
		fmt.Sscan(s, &c, &m)
		return c, m
	}
	modes := []struct {
		name string
		op   func(i int) error
	}{
		{"validate-grpc", func(int) error {
			resp, err := client.ValidateCoupons(ctx, &couponv1.ValidateCouponsRequest{MemberId: validator, Cart: cart})
			if err == nil && resp.GetBest().GetDiscountMinor() == 0 {
				err = fmt.Errorf("no discount: %v", resp)
			}
			return err
		}},
		{"validate-json", func(int) error {
			return post("/v1/coupons:validate", map[string]any{"memberId": validator, "cart": jsonCart})
		}},
		{"redeem-grpc", func(i int) error {
			code, member := split(codes["grpc"][i])
			_, err := client.RedeemCoupon(ctx, &couponv1.RedeemCouponRequest{Code: code, MemberId: member, OrderId: fmt.Sprint("g-", i),
				Cart: cart, RequestId: fmt.Sprint("rg-", i), StaffId: "s7"})
			return err
		}},
		{"redeem-json", func(i int) error {
			code, member := split(codes["json"][i])
			return post("/v1/coupons/"+code+":redeem", map[string]any{"requestId": fmt.Sprint("rj-", i), "memberId": member,
				"orderId": fmt.Sprint("j-", i), "cart": jsonCart, "staffId": "s7"})
		}},
	}
	b.ResetTimer()
	for _, m := range modes {
		var lat []time.Duration
		for n := range b.N {
			lat = append(lat, atRate(b, couponRate, couponPhase, func(i int) error { return m.op(n*perMode + i) })...)
		}
		slices.Sort(lat)
		pct := func(p float64) float64 { return float64(lat[int(p*float64(len(lat)-1))]) / float64(time.Millisecond) }
		b.ReportMetric(pct(0.50), m.name+"-p50-ms")
		b.ReportMetric(pct(0.95), m.name+"-p95-ms")
		b.ReportMetric(pct(0.99), m.name+"-p99-ms")
	}
}

// atRate starts op rate times a second for d, open loop, and returns the latencies.
func atRate(b *testing.B, rate int, d time.Duration, op func(i int) error) []time.Duration {
	b.Helper()
	n := int(rate * int(d) / int(time.Second))
	out := make([]time.Duration, n)
	interval := time.Second / time.Duration(rate)
	var wg sync.WaitGroup
	start := time.Now()
	for i := range n {
		if wait := time.Until(start.Add(time.Duration(i) * interval)); wait > 0 {
			time.Sleep(wait)
		}
		wg.Go(func() {
			t := time.Now()
			if err := op(i); err != nil {
				b.Error(err)
			}
			out[i] = time.Since(t)
		})
	}
	wg.Wait()
	return out
}
