package suite_test

import (
	"net/url"
	"strings"
	"testing"
)

// TestEdgeEnumSpellings: the JSON edge reads and writes enum values as AIP-126 spells them,
// unprefixed (STORE, MARKETING_SMS, ACTIVE, ORDER, FULL_WITH_DEBT), on every path that carries
// one, and the member paths take the member id as API.md shows them.
func TestEdgeEnumSpellings(t *testing.T) {
	r := startSuite(t)
	_, op := r.newKey(t, "OPERATOR", "")
	_, till := r.newKey(t, "SERVICE", "")

	// noPrefixes fails t when a body spells a value the old, prefixed way.
	noPrefixes := func(t *testing.T, raw []byte) {
		t.Helper()
		for _, p := range []string{"GENDER_F", "CHANNEL_S", "MEMBER_STATUS_", "CONSENT_PURPOSE_", "TRANSACTION_KIND_",
			"HOLD_STATE_", "REWARD_KIND_", "REDEMPTION_STATUS_"} {
			if strings.Contains(string(raw), p) {
				t.Errorf("body spells %s...: %s", p, raw)
			}
		}
	}

	created := r.call(t, "POST", "/v1/members", op, map[string]any{"requestId": "reg-1",
		"member": map[string]any{"displayName": "Enum Li", "phone": "13300133000", "gender": "FEMALE",
			"channel": "STORE", "storeId": "s1"},
		"consents": []map[string]any{{"purpose": "MARKETING_SMS", "granted": true}}})
	m := created.must(t, 200)
	id := m["id"].(string)
	// member reads back m's channel, status, gender and consent exactly as registered.
	member := func(t *testing.T, m map[string]any, status string) {
		t.Helper()
		for k, want := range map[string]string{"channel": "STORE", "status": status, "gender": "FEMALE", "name": "members/" + id} {
			if m[k] != want {
				t.Errorf("%s = %v, want %s", k, m[k], want)
			}
		}
		consents, _ := m["consents"].([]any)
		if len(consents) != 1 {
			t.Fatalf("consents %v", m["consents"])
		}
		c := consents[0].(map[string]any)
		if c["purpose"] != "MARKETING_SMS" || c["granted"] != true || c["channel"] != "STORE" {
			t.Errorf("consent %v, want MARKETING_SMS granted through STORE", c)
		}
	}

	t.Run("register and read back the member's enums", func(t *testing.T) {
		member(t, m, "ACTIVE")
		noPrefixes(t, created.raw)
		got := r.call(t, "GET", "/v1/members/"+id, op, nil)
		member(t, got.must(t, 200), "ACTIVE")
		noPrefixes(t, got.raw)
	})
	t.Run("member paths take the id", func(t *testing.T) {
		st := r.call(t, "POST", "/v1/members/"+id+":changeStatus", op, map[string]any{"requestId": "st-1", "status": "FROZEN", "reason": "check"})
		member(t, st.must(t, 200), "FROZEN")
		member(t, r.call(t, "POST", "/v1/members/"+id+":changeStatus", op, map[string]any{"requestId": "st-2", "status": "ACTIVE"}).must(t, 200), "ACTIVE")
		added := r.call(t, "POST", "/v1/members/"+id+":addIdentifier", op, map[string]any{"requestId": "id-1",
			"identifier": map[string]any{"type": "card", "value": "8800"}}).must(t, 200)
		if ids, _ := added["identifiers"].([]any); len(ids) != 1 {
			t.Fatalf("identifiers %v", added["identifiers"])
		}
		removed := r.call(t, "POST", "/v1/members/"+id+":removeIdentifier", op, map[string]any{"requestId": "id-2",
			"identifier": map[string]any{"type": "card", "value": "8800"}}).must(t, 200)
		if ids, _ := removed["identifiers"].([]any); len(ids) != 0 {
			t.Fatalf("identifiers after remove %v", removed["identifiers"])
		}
		patched := r.call(t, "PATCH", "/v1/members/"+id, op, map[string]any{"tags": []string{"gold"}}).must(t, 200)
		if tags, _ := patched["tags"].([]any); len(tags) != 1 || tags[0] != "gold" || patched["displayName"] != "Enum Li" {
			t.Fatalf("patch without a mask changes the fields sent only: %v", patched)
		}
		member(t, patched, "ACTIVE")
	})
	t.Run("the list filter takes the same spellings and JSON field names", func(t *testing.T) {
		for filter, want := range map[string]int{
			"channel = STORE AND status = ACTIVE": 1,
			"storeId = s1 AND channel = STORE":    1,
			"store_id = s1 AND channel = ONLINE":  0,
			"createTime >= 2000-01-01":            1,
		} {
			body := r.call(t, "GET", "/v1/members?filter="+url.QueryEscape(filter), op, nil).must(t, 200)
			if n := len(body["members"].([]any)); n != want {
				t.Errorf("%q matched %d, want %d", filter, n, want)
			}
		}
		for _, filter := range []string{"channel = CHANNEL_STORE", "status = MEMBER_STATUS_ACTIVE", "status = active", "status = STATUS_UNSPECIFIED"} {
			rp := r.call(t, "GET", "/v1/members?filter="+url.QueryEscape(filter), op, nil)
			rp.must(t, 400)
			if _, fields := rp.reason(); len(fields) != 1 || fields[0] != "filter" {
				t.Errorf("%q: violations %v, want one on filter", filter, fields)
			}
		}
	})
	t.Run("a transaction's kind and cause type are bare names", func(t *testing.T) {
		r.call(t, "POST", "/v1/orders", till, map[string]any{"requestId": "o-1", "order": map[string]any{
			"id": "enum-1", "memberId": id, "amountMinor": "10000", "currency": "CNY"}}).must(t, 200)
		redeem := r.call(t, "POST", "/v1/members/"+id+"/points:redeem", till, map[string]any{"requestId": "rd-1", "points": "10", "reason": "tea"})
		tx := redeem.must(t, 200)
		if tx["kind"] != "REDEEM" || tx["cause"].(map[string]any)["type"] != "REDEMPTION" {
			t.Fatalf("redeem: %v", tx)
		}
		noPrefixes(t, redeem.raw)
		ci := r.call(t, "POST", "/v1/members/"+id+":checkIn", till, map[string]any{"requestId": "ci-1"}).must(t, 200)
		if c := ci["transaction"].(map[string]any)["cause"].(map[string]any); c["type"] != "CHECK_IN" {
			t.Fatalf("check-in cause %v", c)
		}
		hist := r.call(t, "GET", "/v1/members/"+id+"/points/transactions", till, nil)
		var got []string
		for _, x := range hist.must(t, 200)["transactions"].([]any) {
			tx := x.(map[string]any)
			got = append(got, tx["kind"].(string)+"/"+tx["cause"].(map[string]any)["type"].(string))
		}
		if want := "EARN/CHECK_IN REDEEM/REDEMPTION EARN/ORDER"; strings.Join(got, " ") != want {
			t.Fatalf("history %v, want %s", got, want)
		}
		noPrefixes(t, hist.raw)
		hold := r.call(t, "POST", "/v1/members/"+id+"/points:hold", till, map[string]any{"requestId": "h-1", "points": "5"}).must(t, 200)
		if hold["state"] != "OPEN" {
			t.Fatalf("hold %v", hold)
		}
	})
	t.Run("the policy's enums are bare names", func(t *testing.T) {
		pol := r.call(t, "GET", "/v1/loyaltyPolicy", op, nil).must(t, 200)
		if pol["refundPolicy"] != "WITHIN_AVAILABLE" || pol["expiryKind"] != "END_OF_MONTH" {
			t.Fatalf("default policy %v", pol)
		}
		pol = r.call(t, "PATCH", "/v1/loyaltyPolicy?updateMask=refundPolicy,expiryKind,expiryN", adminKey,
			map[string]any{"refundPolicy": "FULL_WITH_DEBT", "expiryKind": "NEVER", "expiryN": 0}).must(t, 200)
		if pol["refundPolicy"] != "FULL_WITH_DEBT" || pol["expiryKind"] != "NEVER" {
			t.Fatalf("updated policy %v", pol)
		}
		if pol = r.call(t, "GET", "/v1/loyaltyPolicy", op, nil).must(t, 200); pol["refundPolicy"] != "FULL_WITH_DEBT" {
			t.Fatalf("stored policy %v", pol)
		}
		// The zero value is not a policy value: 400 on the field, never the default.
		rp := r.call(t, "PATCH", "/v1/loyaltyPolicy?updateMask=refundPolicy", adminKey, map[string]any{"refundPolicy": "REFUND_POLICY_UNSPECIFIED"})
		rp.must(t, 400)
		if _, fields := rp.reason(); len(fields) != 1 || fields[0] != "refundPolicy" {
			t.Fatalf("violations %v", fields)
		}
	})
	t.Run("rewards and redemptions", func(t *testing.T) {
		reward := r.call(t, "POST", "/v1/rewards", adminKey, map[string]any{"requestId": "rw-1", "reward": map[string]any{
			"title": "Cup", "kind": "GOODS", "costPoints": "10", "stock": "2", "active": true}}).must(t, 200)
		if reward["kind"] != "GOODS" {
			t.Fatalf("reward %v", reward)
		}
		red := r.call(t, "POST", "/v1/rewards/"+reward["id"].(string)+":redeem", till, map[string]any{"requestId": "rr-1", "memberId": id}).must(t, 200)
		if red["status"] != "ORDERED" {
			t.Fatalf("redemption %v", red)
		}
		shipped := r.call(t, "POST", "/v1/rewardRedemptions/"+red["id"].(string)+":updateStatus", adminKey,
			map[string]any{"requestId": "ru-1", "status": "SHIPPED"}).must(t, 200)
		if shipped["status"] != "SHIPPED" {
			t.Fatalf("shipped %v", shipped)
		}
	})
}
