package suite_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/huiyuan-dev/huiyuan/pkg/kittest"
)

// TestEdgeCouponMembers: the coupon service issues nothing to a member the member service froze
// (claims and batch-code claims answer MEMBER_NOT_ACTIVE, grants refuse that member alone) and
// lets it redeem (or validate a cart with) none of its coupons, from the moment the freeze's event arrives until the
// thaw's; a retry of a redemption answered before the freeze still gets its answer; members it
// has not heard of are served.
func TestEdgeCouponMembers(t *testing.T) {
	r := startSuite(t)
	_, op := r.newKey(t, "OPERATOR", "")
	_, admin := r.newKey(t, "ADMIN", "")
	frozen, other := r.newMember(t, op), r.newMember(t, op)
	tpl := r.call(t, "POST", "/v1/couponTemplates", op, map[string]any{"requestId": "tpl-m", "template": map[string]any{
		"title": "5 off", "type": "FIXED", "currency": "CNY", "discountMinor": "500",
		"validFrom": "2020-01-01T00:00:00Z", "validUntil": "2099-01-01T00:00:00Z", "validDays": 7, "claimable": true,
	}}).must(t, 200)
	id, _ := tpl["id"].(string)
	r.call(t, "POST", "/v1/couponTemplates/"+id+":activate", op, map[string]any{"requestId": "act-m"}).must(t, 200)
	var n int
	claim := func(member string) reply {
		n++
		return r.call(t, "POST", "/v1/couponTemplates/"+id+":claim", op, map[string]any{"requestId": fmt.Sprintf("claim-m-%d", n), "memberId": member})
	}
	reasonOf := func(rp reply) string { reason, _ := rp.reason(); return reason }
	setStatus := func(member, status string) {
		r.call(t, "POST", "/v1/members/"+member+":changeStatus", admin, map[string]any{"requestId": "st-" + status + "-" + member,
			"status": status, "reason": "test"}).must(t, 200)
	}

	codeOf := func(body map[string]any) string {
		code, _ := body["code"].(string)
		if code == "" {
			t.Fatalf("claim answered no code: %v", body)
		}
		return code
	}
	held, spent := codeOf(claim(frozen).must(t, 200)), codeOf(claim(frozen).must(t, 200))
	claim("0190a0e0-0000-7000-8000-0000000000f1").must(t, 200) // not heard of: issued to
	cart := map[string]any{"amountMinor": "12000", "currency": "CNY", "storeId": "s1"}
	redeem := func(code, reqID string) reply {
		return r.call(t, "POST", "/v1/coupons/"+code+":redeem", op, map[string]any{"requestId": reqID, "memberId": frozen,
			"orderId": "pos-" + reqID, "cart": cart})
	}
	redeem(spent, "redeem-before").must(t, 200)

	setStatus(frozen, "FROZEN")
	// The coupon service hears of the freeze from the member service's event, a moment later.
	kittest.Eventually(t, 5*time.Second, func() bool {
		rp := claim(frozen)
		return rp.status == 400 && reasonOf(rp) == "MEMBER_NOT_ACTIVE"
	}, "claims by a frozen member were never refused")
	wantReason(t, claim(frozen), 400, "MEMBER_NOT_ACTIVE")
	wantReason(t, redeem(held, "redeem-frozen"), 400, "MEMBER_NOT_ACTIVE")
	validate := func() reply {
		return r.call(t, "POST", "/v1/coupons:validate", op, map[string]any{"memberId": frozen, "cart": cart})
	}
	wantReason(t, validate(), 400, "MEMBER_NOT_ACTIVE")
	_, lines := r.exportCodes(t, op, r.newCodeBatch(t, op, id, "batch-m", 1))
	if len(lines) != 2 {
		t.Fatalf("export %v", lines)
	}
	batchCode, _, _ := strings.Cut(lines[1], ",")
	claimCode := func(reqID string) reply {
		return r.call(t, "POST", "/v1/coupons/"+batchCode+":claim", op, map[string]any{"requestId": reqID, "memberId": frozen})
	}
	wantReason(t, claimCode("code-frozen"), 400, "MEMBER_NOT_ACTIVE")
	if again := redeem(spent, "redeem-before").must(t, 200); again["discountMinor"] != "500" {
		t.Fatalf("the retry of a redemption answered before the freeze: %v", again)
	}

	grant := r.call(t, "POST", "/v1/couponTemplates/"+id+":grant", op, map[string]any{"requestId": "grant-m",
		"memberIds": []string{frozen, other}}).must(t, 200)
	results, _ := grant["results"].([]any)
	if len(results) != 2 {
		t.Fatalf("grant results %v", grant)
	}
	first, _ := results[0].(map[string]any)
	second, _ := results[1].(map[string]any)
	if e, _ := first["error"].(map[string]any); e == nil || e["reason"] != "MEMBER_NOT_ACTIVE" || first["coupon"] != nil {
		t.Fatalf("grant to the frozen member: %v", first)
	}
	if second["coupon"] == nil || second["error"] != nil {
		t.Fatalf("grant to an active member: %v", second)
	}

	setStatus(frozen, "ACTIVE")
	kittest.Eventually(t, 5*time.Second, func() bool { return claim(frozen).status == 200 }, "claims after the thaw were still refused")
	if best, _ := validate().must(t, 200)["best"].(map[string]any); best == nil || best["discountMinor"] != "500" {
		t.Fatalf("validation after the thaw: best %v, want the held coupon's 500 off", best)
	}
	redeem(held, "redeem-thawed").must(t, 200)
	claimCode("code-thawed").must(t, 200)
}
