package suite_test

import (
	"testing"
)

// TestEdgeLoyaltyProgrammes drives transfers, check-in, the rewards catalogue and the liability
// report through the JSON edge.
func TestEdgeLoyaltyProgrammes(t *testing.T) {
	r := startSuite(t)
	_, till := r.newKey(t, "SERVICE", "")
	_, analyst := r.newKey(t, "ANALYST", "")
	alice, bob := r.newMember(t, till), r.newMember(t, till)
	r.call(t, "POST", "/v1/orders", till, map[string]any{"requestId": "o-1", "order": map[string]any{
		"id": "p-1", "memberId": alice, "amountMinor": "100000", "currency": "CNY"}}).must(t, 200)

	t.Run("transfer moves points between members", func(t *testing.T) {
		body := r.call(t, "POST", "/v1/members/"+alice+"/points:transfer", till, map[string]any{
			"requestId": "tr-1", "toMemberId": bob, "points": "300"}).must(t, 200)
		if body["senderTransaction"].(map[string]any)["points"] != "-300" || body["receiverTransaction"].(map[string]any)["points"] != "300" {
			t.Fatalf("transfer: %v", body)
		}
		if bal := r.call(t, "GET", "/v1/members/"+bob+"/points", till, nil).must(t, 200); bal["available"] != "300" {
			t.Fatalf("bob: %v", bal)
		}
		rp := r.call(t, "POST", "/v1/members/"+alice+"/points:transfer", till, map[string]any{"requestId": "tr-2", "toMemberId": alice, "points": "1"})
		rp.must(t, 400)
		if reason, _ := rp.reason(); reason != "TRANSFER_TO_SELF" {
			t.Fatalf("reason %q", reason)
		}
	})
	t.Run("check in once a day", func(t *testing.T) {
		body := r.call(t, "POST", "/v1/members/"+bob+":checkIn", till, map[string]any{"requestId": "ci-1"}).must(t, 200)
		if body["pointsAwarded"] != "5" || body["streak"] != float64(1) {
			t.Fatalf("check-in: %v", body)
		}
		rp := r.call(t, "POST", "/v1/members/"+bob+":checkIn", till, map[string]any{"requestId": "ci-2"})
		rp.must(t, 400)
		if reason, _ := rp.reason(); reason != "ALREADY_CHECKED_IN" {
			t.Fatalf("reason %q", reason)
		}
	})
	t.Run("rewards: goods cost points and stock; cancelling returns both", func(t *testing.T) {
		reward := r.call(t, "POST", "/v1/rewards", adminKey, map[string]any{"requestId": "rw-1", "reward": map[string]any{
			"title": "Tea cup", "kind": "GOODS", "costPoints": "200", "stock": "1", "active": true}}).must(t, 200)
		id := reward["id"].(string)
		red := r.call(t, "POST", "/v1/rewards/"+id+":redeem", till, map[string]any{"requestId": "rr-1", "memberId": alice}).must(t, 200)
		if red["status"] != "ORDERED" || red["points"] != "200" {
			t.Fatalf("redeem: %v", red)
		}
		rp := r.call(t, "POST", "/v1/rewards/"+id+":redeem", till, map[string]any{"requestId": "rr-2", "memberId": bob})
		rp.must(t, 400)
		if reason, _ := rp.reason(); reason != "OUT_OF_STOCK" {
			t.Fatalf("reason %q: %s", reason, rp.raw)
		}
		cancelled := r.call(t, "POST", "/v1/rewardRedemptions/"+red["id"].(string)+":updateStatus", till, map[string]any{
			"requestId": "ru-1", "status": "CANCELLED"}).must(t, 200)
		if cancelled["status"] != "CANCELLED" {
			t.Fatalf("cancel: %v", cancelled)
		}
		list := r.call(t, "GET", "/v1/members/"+alice+"/rewardRedemptions", till, nil).must(t, 200)
		if len(list["redemptions"].([]any)) != 1 {
			t.Fatalf("redemptions: %v", list)
		}
		if bal := r.call(t, "GET", "/v1/members/"+alice+"/points", till, nil).must(t, 200); bal["available"] != "700" {
			t.Fatalf("alice after transfer and a cancelled redemption: %v", bal)
		}
	})
	t.Run("liability for analysts", func(t *testing.T) {
		body := r.call(t, "GET", "/v1/pointsLiability", analyst, nil).must(t, 200)
		if body["outstandingPoints"] != "1005" || body["issuedPoints"] == nil {
			t.Fatalf("liability: %v", body)
		}
		r.call(t, "GET", "/v1/pointsLiability", till, nil).must(t, 403)
	})
	t.Run("the tenant's policy: read, change, and orders follow it", func(t *testing.T) {
		pol := r.call(t, "GET", "/v1/loyaltyPolicy", analyst, nil).must(t, 200)
		if pol["baseRatePercent"] != "100" || pol["refundPolicy"] == "" {
			t.Fatalf("default policy: %v", pol)
		}
		r.call(t, "PATCH", "/v1/loyaltyPolicy?updateMask=baseRatePercent", till, map[string]any{"baseRatePercent": "200"}).must(t, 403)
		pol = r.call(t, "PATCH", "/v1/loyaltyPolicy?updateMask=baseRatePercent", adminKey, map[string]any{"baseRatePercent": "200"}).must(t, 200)
		if pol["baseRatePercent"] != "200" {
			t.Fatalf("updated policy: %v", pol)
		}
		body := r.call(t, "POST", "/v1/orders", till, map[string]any{"requestId": "o-2", "order": map[string]any{
			"id": "p-2", "memberId": bob, "amountMinor": "1000", "currency": "CNY"}}).must(t, 200)
		if body["pointsEarned"] != "20" {
			t.Fatalf("order at 2 points per unit: %v", body)
		}
		rp := r.call(t, "PATCH", "/v1/loyaltyPolicy?updateMask=timeZone", adminKey, map[string]any{"timeZone": "Mars/Olympus"})
		rp.must(t, 400)
		if _, fields := rp.reason(); len(fields) != 1 || fields[0] != "timeZone" {
			t.Fatalf("violations %v", fields)
		}
	})
	t.Run("the books still verify", func(t *testing.T) {
		if body := r.call(t, "POST", "/v1/ledger:verify", adminKey, map[string]any{}).must(t, 200); body["ok"] != true {
			t.Fatalf("verify: %v", body)
		}
	})
}
