package suite_test

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/huiyuan-dev/huiyuan/pkg/kittest"
)

// TestEdgeLoyaltyMembers: loyalty earns and spends only for members the member service has and
// that are ACTIVE, through the JSON edge. A made-up member id earns nothing (404
// MEMBER_NOT_FOUND, the field as sent); a frozen, closed or erased member neither earns nor
// spends (400 MEMBER_NOT_ACTIVE) once loyalty has the member service's event, and the refusal
// changes nothing; thawing lets it earn again; a member registered a moment before its first
// order is never refused (loyalty asks the member service about a member it has not heard of);
// a member id in upper case names the same member as in lower case.
func TestEdgeLoyaltyMembers(t *testing.T) {
	r := startSuite(t)
	_, till := r.newKey(t, "SERVICE", "")
	_, admin := r.newKey(t, "ADMIN", "")
	order := func(id, member string) reply {
		return r.call(t, "POST", "/v1/orders", till, map[string]any{"requestId": "r-" + id, "order": map[string]any{
			"id": id, "memberId": member, "amountMinor": "10000", "currency": "CNY"}})
	}
	wantExact := func(t *testing.T, rp reply, status int, reason string, fields ...string) {
		t.Helper()
		rp.must(t, status)
		got, gotFields := rp.reason()
		if got != reason || fmt.Sprint(gotFields) != fmt.Sprint(fields) {
			t.Fatalf("reason %q fields %v, want %q %v: %s", got, gotFields, reason, fields, rp.raw)
		}
	}

	t.Run("a made-up member earns nothing", func(t *testing.T) {
		ghost := "0190a0e0-0000-7000-8000-0000000000ff"
		wantExact(t, order("ghost-1", ghost), 404, "MEMBER_NOT_FOUND", "order.memberId")
		wantExact(t, r.call(t, "POST", "/v1/members/"+ghost+"/points:adjust", admin, map[string]any{"points": "10", "reason": "x"}),
			404, "MEMBER_NOT_FOUND", "id") // the path's {id}
		// The order id was not spent: the same id records for a real member.
		m := r.newMember(t, till)
		if body := order("ghost-1", m).must(t, 200); body["pointsEarned"] != "100" {
			t.Fatalf("order %v", body)
		}
		batch := r.call(t, "POST", "/v1/orders:batchRecord", till, map[string]any{"requestId": "gb-1", "orders": []map[string]any{
			{"id": "gb-ok", "memberId": m, "amountMinor": "100", "currency": "CNY"},
			{"id": "gb-ghost", "memberId": ghost, "amountMinor": "100", "currency": "CNY"},
		}}).must(t, 200)
		results := batch["results"].([]any)
		if results[0].(map[string]any)["order"] == nil || results[1].(map[string]any)["error"] == nil {
			t.Fatalf("batch %v", batch)
		}
	})

	t.Run("frozen, closed and erased members neither earn nor spend", func(t *testing.T) {
		for _, to := range []string{"FROZEN", "CLOSED", "ERASED"} {
			m := r.newMember(t, till)
			order("before-"+to, m).must(t, 200)
			if to == "ERASED" {
				r.call(t, "POST", "/v1/members/"+m+":erase", admin, map[string]any{"requestId": "erase-" + m}).must(t, 200)
			} else {
				r.call(t, "POST", "/v1/members/"+m+":changeStatus", admin, map[string]any{"requestId": "st-" + m, "status": to,
					"reason": "test"}).must(t, 200)
			}
			// Loyalty hears of the change from the member service's event, a moment later; the
			// probe (more points than the member has) changes nothing either way.
			probe := func() string {
				rp := r.call(t, "POST", "/v1/members/"+m+"/points:redeem", till, map[string]any{"points": "1000000"})
				reason, _ := rp.reason()
				return reason
			}
			kittest.Eventually(t, 5*time.Second, func() bool { return probe() == "MEMBER_NOT_ACTIVE" }, "loyalty never heard %s", to)
			wantExact(t, order("after-"+to, m), 400, "MEMBER_NOT_ACTIVE")
			wantExact(t, r.call(t, "POST", "/v1/members/"+m+"/points:redeem", till, map[string]any{"requestId": "red-" + m, "points": "1"}),
				400, "MEMBER_NOT_ACTIVE")
			wantExact(t, r.call(t, "POST", "/v1/members/"+m+"/points:hold", till, map[string]any{"requestId": "hold-" + m, "points": "1"}),
				400, "MEMBER_NOT_ACTIVE")
			wantExact(t, r.call(t, "POST", "/v1/members/"+m+":checkIn", till, map[string]any{"requestId": "ci-" + m}), 400, "MEMBER_NOT_ACTIVE")
			other := r.newMember(t, till)
			order("other-"+to, other).must(t, 200)
			wantExact(t, r.call(t, "POST", "/v1/members/"+other+"/points:transfer", till, map[string]any{"requestId": "tr-" + m,
				"toMemberId": m, "points": "1"}), 400, "MEMBER_NOT_ACTIVE")
			if bal := r.call(t, "GET", "/v1/members/"+m+"/points", admin, nil).must(t, 200); bal["available"] != "100" {
				t.Fatalf("%s member's balance changed: %v", to, bal)
			}
			if bal := r.call(t, "GET", "/v1/members/"+other+"/points", admin, nil).must(t, 200); bal["available"] != "100" {
				t.Fatalf("the sender's balance changed: %v", bal)
			}
			if to == "FROZEN" {
				r.call(t, "POST", "/v1/members/"+m+":changeStatus", admin, map[string]any{"requestId": "thaw-" + m, "status": "ACTIVE",
					"reason": "test"}).must(t, 200)
				kittest.Eventually(t, 5*time.Second, func() bool { return probe() == "INSUFFICIENT_POINTS" }, "loyalty never heard of the thaw")
				order("thawed", m).must(t, 200)
			}
		}
	})

	t.Run("a member registered a moment ago is never refused", func(t *testing.T) {
		var wg sync.WaitGroup
		for i := range 16 {
			wg.Go(func() {
				m := r.newMember(t, till)
				if rp := order(fmt.Sprintf("first-%d", i), m); rp.status != 200 {
					t.Errorf("first order of a new member: %d %s", rp.status, rp.raw)
				}
			})
		}
		wg.Wait()
	})

	// Some tills keep member ids in upper case (as SQL Server prints its UUIDs): the member
	// service accepts either spelling, so every service keys a member by the one spelling.
	t.Run("a member id in upper case is the same member", func(t *testing.T) {
		m := r.newMember(t, till)
		up := strings.ToUpper(m)
		order("upper-1", up).must(t, 200)
		order("lower-1", m).must(t, 200)
		// The same order sent again under another request id, the member spelled the other way:
		// the order as recorded, not a conflicting one.
		if body := r.call(t, "POST", "/v1/orders", till, map[string]any{"requestId": "again-upper-1", "order": map[string]any{
			"id": "upper-1", "memberId": m, "amountMinor": "10000", "currency": "CNY"}}).must(t, 200); body["pointsEarned"] != "100" {
			t.Fatalf("the order again in the other spelling: %v", body)
		}
		for _, id := range []string{m, up} {
			if bal := r.call(t, "GET", "/v1/members/"+id+"/points", admin, nil).must(t, 200); bal["available"] != "200" {
				t.Fatalf("balance of %s: %v, want both orders' 200", id, bal)
			}
		}
		r.call(t, "POST", "/v1/members/"+up+"/points:redeem", till, map[string]any{"requestId": "red-up-" + m, "points": "50"}).must(t, 200)
		// A transfer to the same member spelled the other way is a transfer to itself.
		wantExact(t, r.call(t, "POST", "/v1/members/"+m+"/points:transfer", till, map[string]any{"requestId": "tr-self-" + m,
			"toMemberId": up, "points": "1"}), 400, "TRANSFER_TO_SELF")
		other := r.newMember(t, till)
		r.call(t, "POST", "/v1/members/"+m+"/points:transfer", till, map[string]any{"requestId": "tr-up-" + m,
			"toMemberId": strings.ToUpper(other), "points": "30"}).must(t, 200)
		if bal := r.call(t, "GET", "/v1/members/"+m+"/points", admin, nil).must(t, 200); bal["available"] != "120" {
			t.Fatalf("balance after the redemption and transfer: %v, want 120", bal)
		}
		if bal := r.call(t, "GET", "/v1/members/"+other+"/points", admin, nil).must(t, 200); bal["available"] != "30" {
			t.Fatalf("the receiver's balance: %v, want 30", bal)
		}
	})
}
