package suite_test

import (
	"bytes"
	"encoding/base64"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/huiyuan-dev/huiyuan/pkg/auth"
	"github.com/huiyuan-dev/huiyuan/pkg/clock"
)

// sameField compares a violation's field with the one expected, whichever spelling the edge
// uses (the proto names the services give, or the JSON names of the request).
func sameField(got, want string) bool {
	norm := func(s string) string { return strings.ToLower(strings.ReplaceAll(s, "_", "")) }
	return norm(got) == norm(want)
}

func wantReason(t *testing.T, rp reply, status int, reason string, fields ...string) {
	t.Helper()
	rp.must(t, status)
	got, gotFields := rp.reason()
	if reason != "" && got != reason {
		t.Fatalf("reason %q, want %q: %s", got, reason, rp.raw)
	}
	if len(fields) == 0 {
		return
	}
	if len(gotFields) != len(fields) {
		t.Fatalf("violations %v, want %v: %s", gotFields, fields, rp.raw)
	}
	for i := range fields {
		if !sameField(gotFields[i], fields[i]) {
			t.Fatalf("violations %v, want %v: %s", gotFields, fields, rp.raw)
		}
	}
}

// TestEdgeCoupons drives every coupon path of API.md through the JSON edge, with its errors.
func TestEdgeCoupons(t *testing.T) {
	secret := bytes.Repeat([]byte{7}, 32)
	r := startSuite(t, "--jwt-secret="+base64.StdEncoding.EncodeToString(secret))
	_, op := r.newKey(t, "OPERATOR", "")
	_, till := r.newKey(t, "SERVICE", "")
	_, analyst := r.newKey(t, "ANALYST", "")
	couponMember := r.newMember(t, op)
	memberJWT, err := auth.NewMemberTokens(secret, clock.System{}).Issue(auth.DefaultTenant, couponMember, time.Hour)
	if err != nil {
		t.Fatal(err)
	}

	var tplID string
	t.Run("create a template as API.md writes it", func(t *testing.T) {
		body := r.call(t, "POST", "/v1/couponTemplates", op, map[string]any{"requestId": "tpl-1", "template": map[string]any{
			"title": "满100减20", "type": "THRESHOLD", "currency": "CNY", "thresholdMinor": "10000", "discountMinor": "2000",
			"percentOff": 0, "maxDiscountMinor": "0", "totalStock": "2", "perMemberLimit": "1",
			"validFrom": "2020-01-01T00:00:00Z", "validUntil": "2099-01-01T00:00:00Z", "validDays": 7, "claimable": true,
		}}).must(t, 200)
		tplID, _ = body["id"].(string)
		if tplID == "" || body["type"] != "THRESHOLD" || body["status"] != "DRAFT" || body["name"] != "couponTemplates/"+tplID {
			t.Fatalf("template %v", body)
		}
		r.call(t, "POST", "/v1/couponTemplates/"+tplID+":activate", op, map[string]any{"requestId": "act-1"}).must(t, 200)
	})
	t.Run("bad templates: 400 with field violations", func(t *testing.T) {
		rp := r.call(t, "POST", "/v1/couponTemplates", op, map[string]any{"template": map[string]any{
			"title": "x", "type": "THRESHOLD", "currency": "yuan", "validDays": 7}})
		wantReason(t, rp, 400, "INVALID_ARGUMENT", "template.currency", "template.threshold_minor", "template.discount_minor")
		r.call(t, "POST", "/v1/couponTemplates", op, map[string]any{"template": map[string]any{"title": "x", "type": "TYPE_THRESHOLD"}}).must(t, 400)
		rp = r.call(t, "POST", "/v1/couponTemplates", op, map[string]any{"template": map[string]any{"title": "x", "type": "TYPE_UNSPECIFIED", "currency": "CNY", "validDays": 1}})
		wantReason(t, rp, 400, "INVALID_ARGUMENT", "template.type")
		r.call(t, "POST", "/v1/couponTemplates", analyst, map[string]any{"template": map[string]any{"title": "x"}}).must(t, 403)
	})

	var code string
	t.Run("claim, and its retry", func(t *testing.T) {
		req := map[string]any{"requestId": "claim-1", "memberId": couponMember}
		c := r.call(t, "POST", "/v1/couponTemplates/"+tplID+":claim", memberJWT, req).must(t, 200)
		code, _ = c["code"].(string)
		if code == "" || c["state"] != "AVAILABLE" || c["memberId"] != couponMember || c["templateId"] != tplID || c["expireTime"] == nil {
			t.Fatalf("coupon %v", c)
		}
		again := r.call(t, "POST", "/v1/couponTemplates/"+tplID+":claim", memberJWT, req).must(t, 200)
		if again["code"] != code {
			t.Fatalf("retry gave %v", again)
		}
	})
	t.Run("claim refusals", func(t *testing.T) {
		claim := func(key, id, member, reqID string) reply {
			return r.call(t, "POST", "/v1/couponTemplates/"+id+":claim", key, map[string]any{"requestId": reqID, "memberId": member})
		}
		wantReason(t, claim(till, tplID, couponMember, "claim-2"), 400, "COUPON_LIMIT_REACHED")
		claim(till, tplID, "0190a0e0-0000-7000-8000-0000000000c2", "claim-3").must(t, 200) // the last of 2
		wantReason(t, claim(till, tplID, "0190a0e0-0000-7000-8000-0000000000c3", "claim-4"), 400, "COUPON_OUT_OF_STOCK")
		wantReason(t, claim(till, "0190a0e0-0000-7000-8000-00000000dead", couponMember, "claim-5"), 404, "COUPON_TEMPLATE_NOT_FOUND")
		wantReason(t, claim(till, tplID, "", "claim-6"), 400, "INVALID_ARGUMENT", "member_id")
		claim(memberJWT, tplID, "0190a0e0-0000-7000-8000-0000000000c2", "claim-7").must(t, 403)
		wantReason(t, claim(till, tplID, "0190a0e0-0000-7000-8000-0000000000c4", "claim-1"), 400, "REQUEST_ID_REUSED", "request_id")
	})
	t.Run("a member's coupons", func(t *testing.T) {
		body := r.call(t, "GET", "/v1/members/"+couponMember+"/coupons", memberJWT, nil).must(t, 200)
		cs, _ := body["coupons"].([]any)
		if len(cs) != 1 || cs[0].(map[string]any)["code"] != code {
			t.Fatalf("coupons %v", body)
		}
		body = r.call(t, "GET", "/v1/members/"+couponMember+"/coupons?state=REDEEMED", till, nil).must(t, 200)
		if cs, _ := body["coupons"].([]any); len(cs) != 0 {
			t.Fatalf("redeemed coupons %v", body)
		}
		r.call(t, "GET", "/v1/members/0190a0e0-0000-7000-8000-0000000000c2/coupons", memberJWT, nil).must(t, 403)
		r.call(t, "GET", "/v1/members/"+couponMember+"/coupons?state=USED", till, nil).must(t, 400)
	})
	cart := map[string]any{"amountMinor": "12000", "currency": "CNY", "storeId": "s1",
		"items": []map[string]any{{"sku": "tea", "category": "drinks", "quantity": "2", "unitPriceMinor": "6000"}}}
	t.Run("validate a cart", func(t *testing.T) {
		body := r.call(t, "POST", "/v1/coupons:validate", till, map[string]any{"memberId": couponMember, "cart": cart}).must(t, 200)
		app, _ := body["applicable"].([]any)
		best, _ := body["best"].(map[string]any)
		if len(app) != 1 || app[0].(map[string]any)["code"] != code || app[0].(map[string]any)["discountMinor"] != "2000" || best["discountMinor"] != "2000" {
			t.Fatalf("validate %v", body)
		}
		small := map[string]any{"amountMinor": "5000", "currency": "CNY"}
		body = r.call(t, "POST", "/v1/coupons:validate", memberJWT, map[string]any{"memberId": couponMember, "cart": small}).must(t, 200)
		na, _ := body["notApplicable"].([]any)
		if len(na) != 1 || na[0].(map[string]any)["reason"] != "BELOW_THRESHOLD" {
			t.Fatalf("validate small cart %v", body)
		}
		rp := r.call(t, "POST", "/v1/coupons:validate", till, map[string]any{"memberId": couponMember, "cart": map[string]any{"amountMinor": "5000", "currency": "X"}})
		wantReason(t, rp, 400, "INVALID_ARGUMENT", "cart.currency")
	})
	t.Run("redeem, its retry, and a second redemption", func(t *testing.T) {
		req := map[string]any{"requestId": "redeem-1", "memberId": couponMember, "orderId": "pos-1", "cart": cart, "staffId": "cashier-3"}
		body := r.call(t, "POST", "/v1/coupons/"+code+":redeem", till, req).must(t, 200)
		c, _ := body["coupon"].(map[string]any)
		if body["discountMinor"] != "2000" || c["state"] != "REDEEMED" || c["redemption"].(map[string]any)["staffId"] != "cashier-3" {
			t.Fatalf("redeem %v", body)
		}
		again := r.call(t, "POST", "/v1/coupons/"+code+":redeem", till, req).must(t, 200)
		if again["discountMinor"] != "2000" {
			t.Fatalf("retry %v", again)
		}
		req["requestId"] = "redeem-2"
		wantReason(t, r.call(t, "POST", "/v1/coupons/"+code+":redeem", till, req), 400, "COUPON_ALREADY_REDEEMED")
		wantReason(t, r.call(t, "POST", "/v1/coupons/NOSUCHCODE:redeem", till, req), 404, "COUPON_NOT_FOUND")
		req["requestId"] = "redeem-2b"
		wantReason(t, r.call(t, "POST", "/v1/coupons/"+strings.ToLower(code)+":redeem", till, req), 400, "COUPON_ALREADY_REDEEMED") // codes are case-insensitive
		typo := []byte(code)
		typo[0], typo[1] = typo[1], typo[0]
		if typo[0] != typo[1] {
			wantReason(t, r.call(t, "POST", "/v1/coupons/"+string(typo)+":redeem", till, req), 400, "COUPON_CODE_INVALID", "code")
		}
		delete(req, "cart")
		req["requestId"] = "redeem-3"
		wantReason(t, r.call(t, "POST", "/v1/coupons/"+code+":redeem", till, req), 400, "INVALID_ARGUMENT", "cart")
	})
	t.Run("lock and release", func(t *testing.T) {
		c := r.call(t, "POST", "/v1/couponTemplates/"+tplID+":claim", op, map[string]any{"requestId": "x", "memberId": couponMember})
		wantReason(t, c, 400, "COUPON_OUT_OF_STOCK") // stock is judged before the member's limit
		// Raise stock and limit through PATCH (stock may be raised after issue), then lock a new coupon.
		r.call(t, "PATCH", "/v1/couponTemplates/"+tplID+"?updateMask=perMemberLimit,totalStock", op,
			map[string]any{"perMemberLimit": "5", "totalStock": "10"}).must(t, 200)
		fresh := r.call(t, "POST", "/v1/couponTemplates/"+tplID+":claim", op, map[string]any{"requestId": "claim-9", "memberId": couponMember}).must(t, 200)
		fc := fresh["code"].(string)
		locked := r.call(t, "POST", "/v1/coupons/"+fc+":lock", till, map[string]any{"requestId": "lock-1", "memberId": couponMember, "orderId": "pos-2", "cart": cart}).must(t, 200)
		if locked["coupon"].(map[string]any)["state"] != "LOCKED" {
			t.Fatalf("lock %v", locked)
		}
		rel := r.call(t, "POST", "/v1/coupons/"+fc+":release", till, map[string]any{"requestId": "rel-1"}).must(t, 200)
		if rel["state"] != "AVAILABLE" || rel["code"] != fc {
			t.Fatalf("release %v", rel)
		}
		wantReason(t, r.call(t, "POST", "/v1/coupons/"+fc+":release", till, map[string]any{"requestId": "rel-2"}), 400, "COUPON_NOT_LOCKED")
		again := r.call(t, "POST", "/v1/coupons/"+fc+":release", till, map[string]any{"requestId": "rel-1"}).must(t, 200)
		if again["state"] != "AVAILABLE" {
			t.Fatalf("release retry %v", again)
		}
		wantReason(t, r.call(t, "POST", "/v1/coupons/NOSUCHCODE:release", till, map[string]any{"requestId": "rel-3"}), 404, "COUPON_NOT_FOUND")
		got := r.call(t, "GET", "/v1/coupons/"+fc, memberJWT, nil).must(t, 200)
		if got["state"] != "AVAILABLE" {
			t.Fatalf("get %v", got)
		}
		r.call(t, "POST", "/v1/coupons/"+fc+":void", op, map[string]any{"requestId": "void-1", "reason": "test"}).must(t, 200)
		wantReason(t, r.call(t, "POST", "/v1/coupons/"+fc+":lock", till, map[string]any{"requestId": "lock-2", "memberId": couponMember, "orderId": "pos-3"}),
			400, "COUPON_VOIDED")
	})
}

// TestEdgeCouponsBeyondAPIMD drives the other coupon routes: templates read, listed, paused
// and ended, grants, points exchanges, shared codes (409 for a taken spelling), code batches and
// their CSV.
func TestEdgeCouponsBeyondAPIMD(t *testing.T) {
	r := startSuite(t)
	_, op := r.newKey(t, "OPERATOR", "")
	_, admin := r.newKey(t, "ADMIN", "")
	couponMember, second, third := r.newMember(t, op), r.newMember(t, op), r.newMember(t, op)
	tpl := r.call(t, "POST", "/v1/couponTemplates", op, map[string]any{"requestId": "t", "template": map[string]any{
		"title": "9折", "type": "PERCENT", "currency": "CNY", "percentOff": 10, "maxDiscountMinor": "3000", "validDays": 30,
		"totalStock": "5000", "pointsPrice": "100", "stacking": map[string]any{"mode": "STACKABLE", "stackableWith": []string{"THRESHOLD"}},
		"periodLimit": map[string]any{"limit": "3", "period": "DAY"}, "refundPolicy": "RESTORE"}}).must(t, 200)
	id := tpl["id"].(string)
	r.call(t, "POST", "/v1/couponTemplates/"+id+":activate", op, map[string]any{}).must(t, 200)
	if got := r.call(t, "GET", "/v1/couponTemplates/"+id, op, nil).must(t, 200); got["status"] != "ACTIVE" || got["periodLimit"].(map[string]any)["period"] != "DAY" {
		t.Fatalf("get %v", got)
	}
	if list := r.call(t, "GET", "/v1/couponTemplates?status=ACTIVE", op, nil).must(t, 200); len(list["templates"].([]any)) != 1 {
		t.Fatalf("list %v", list)
	}
	r.call(t, "GET", "/v1/couponTemplates/0190a0e0-0000-7000-8000-00000000dead", op, nil).must(t, 404)

	grant := r.call(t, "POST", "/v1/couponTemplates/"+id+":grant", op, map[string]any{"requestId": "g1",
		"memberIds": []string{couponMember, second}}).must(t, 200)
	if res := grant["results"].([]any); len(res) != 2 || res[0].(map[string]any)["coupon"] == nil {
		t.Fatalf("grant %v", grant)
	}
	r.call(t, "POST", "/v1/members/"+couponMember+"/points:adjust", admin, map[string]any{"requestId": "adj", "points": "150", "reason": "seed"}).must(t, 200)
	x := r.call(t, "POST", "/v1/couponTemplates/"+id+":exchange", op, map[string]any{"requestId": "ex", "memberId": couponMember}).must(t, 200)
	if x["exchange"].(map[string]any)["state"] != "COMPLETED" {
		t.Fatalf("exchange %v", x)
	}
	wantReason(t, r.call(t, "POST", "/v1/couponTemplates/"+id+":exchange", op, map[string]any{"requestId": "ex2", "memberId": couponMember}), 400, "INSUFFICIENT_POINTS")
	xid := x["exchange"].(map[string]any)["id"].(string)
	if got := r.call(t, "GET", "/v1/couponExchanges/"+xid, op, nil).must(t, 200); got["state"] != "COMPLETED" {
		t.Fatalf("exchange %v", got)
	}

	sc := r.call(t, "POST", "/v1/sharedCodes", op, map[string]any{"requestId": "sc", "sharedCode": map[string]any{"code": "Spring26", "templateId": id, "maxUses": "100"}}).must(t, 200)
	if sc["code"] != "SPRING26" {
		t.Fatalf("shared code %v", sc)
	}
	wantReason(t, r.call(t, "POST", "/v1/sharedCodes", op, map[string]any{"requestId": "sc2", "sharedCode": map[string]any{"code": "spring-26", "templateId": id, "maxUses": "1"}}),
		409, "COUPON_CODE_EXISTS")
	claimed := r.call(t, "POST", "/v1/coupons/spring26:claim", op, map[string]any{"requestId": "scc", "memberId": third}).must(t, 200)
	if claimed["source"] != "SHARED_CODE" {
		t.Fatalf("claimed %v", claimed)
	}
	if got := r.call(t, "GET", "/v1/sharedCodes/SPRING26", op, nil).must(t, 200); got["uses"] != "1" {
		t.Fatalf("shared %v", got)
	}

	bid := r.newCodeBatch(t, op, id, "b", 1000)
	if list := r.call(t, "GET", "/v1/couponTemplates/"+id+"/codeBatches", op, nil).must(t, 200); len(list["batches"].([]any)) != 1 {
		t.Fatalf("batches %v", list)
	}
	resp, lines := r.exportCodes(t, op, bid)
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/csv") || len(lines) != 1001 {
		t.Fatalf("export: %d %s, %d lines", resp.StatusCode, resp.Header.Get("Content-Type"), len(lines))
	}
	r.call(t, "GET", "/v1/codeBatches/0190a0e0-0000-7000-8000-00000000dead:export", op, nil).must(t, 404)
	_, analyst := r.newKey(t, "ANALYST", "")
	r.call(t, "GET", "/v1/codeBatches/"+bid+":export", analyst, nil).must(t, 403)
	if got := r.call(t, "GET", "/v1/couponTemplates/"+id+"/coupons?pageSize=10", op, nil).must(t, 200); len(got["coupons"].([]any)) != 10 || got["nextPageToken"] == "" {
		t.Fatalf("template coupons %v", got)
	}
	r.call(t, "POST", "/v1/couponTemplates/"+id+":pause", op, map[string]any{}).must(t, 200)
	ended := r.call(t, "POST", "/v1/couponTemplates/"+id+":end", op, map[string]any{}).must(t, 200)
	if ended["status"] != "ENDED" {
		t.Fatalf("end %v", ended)
	}
}

// newCodeBatch generates count codes of template id through the edge and returns the batch's id
// once it is done.
func (r *running) newCodeBatch(t *testing.T, key, id, requestID string, count int) string {
	t.Helper()
	b := r.call(t, "POST", "/v1/couponTemplates/"+id+"/codeBatches", key, map[string]any{"requestId": requestID,
		"count": strconv.Itoa(count)}).must(t, 200)
	bid, _ := b["id"].(string)
	deadline := time.Now().Add(10 * time.Second)
	for r.call(t, "GET", "/v1/codeBatches/"+bid, key, nil).must(t, 200)["state"] != "DONE" {
		if time.Now().After(deadline) {
			t.Fatal("batch not done")
		}
		time.Sleep(20 * time.Millisecond)
	}
	return bid
}

// exportCodes fetches a code batch's CSV export through the edge: the answer and its lines.
func (r *running) exportCodes(t *testing.T, key, batch string) (*http.Response, []string) {
	t.Helper()
	req, _ := http.NewRequest("GET", r.base+"/v1/codeBatches/"+batch+":export", nil)
	req.Header.Set("Authorization", "Bearer "+key)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	csv, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	return resp, strings.Split(strings.TrimSpace(string(csv)), "\n")
}
