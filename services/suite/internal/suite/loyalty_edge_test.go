package suite_test

import (
	"fmt"
	"testing"
)

// TestEdgeOrdersAndPoints drives every orders-and-points path of API.md through the JSON edge.
func TestEdgeOrdersAndPoints(t *testing.T) {
	r := startSuite(t)
	_, till := r.newKey(t, "SERVICE", "")
	_, op := r.newKey(t, "OPERATOR", "")
	m := r.call(t, "POST", "/v1/members", op, map[string]any{"requestId": "m1",
		"member": map[string]any{"displayName": "Points Li", "phone": "13500135000"}}).must(t, 200)
	id := m["id"].(string)
	points := "/v1/members/" + id + "/points"

	order := map[string]any{"requestId": "o-1", "order": map[string]any{
		"id": "till-3-0001", "memberId": id, "amountMinor": "12345", "currency": "CNY", "storeId": "s1",
		"items": []map[string]any{{"sku": "tea", "category": "drinks", "quantity": "1", "unitPriceMinor": "12345"}},
	}}
	t.Run("an order earns 1 point per whole currency unit", func(t *testing.T) {
		body := r.call(t, "POST", "/v1/orders", till, order).must(t, 200)
		if body["pointsEarned"] != "123" || body["order"].(map[string]any)["id"] != "till-3-0001" {
			t.Fatalf("record order: %v", body)
		}
	})
	t.Run("the same order again returns the first answer and earns nothing more", func(t *testing.T) {
		again := map[string]any{"requestId": "o-1-retry", "order": order["order"]}
		body := r.call(t, "POST", "/v1/orders", till, again).must(t, 200)
		if body["pointsEarned"] != "123" {
			t.Fatalf("replay: %v", body)
		}
		bal := r.call(t, "GET", points, till, nil).must(t, 200)
		if bal["available"] != "123" || bal["lifetimeEarned"] != "123" {
			t.Fatalf("balance after replay: %v", bal)
		}
	})
	t.Run("the same order id with other content: 409", func(t *testing.T) {
		other := map[string]any{"requestId": "o-1-other", "order": map[string]any{"id": "till-3-0001", "memberId": id, "amountMinor": "99900", "currency": "CNY"}}
		r.call(t, "POST", "/v1/orders", till, other).must(t, 409)
	})
	t.Run("a non-member order is recorded without points", func(t *testing.T) {
		body := r.call(t, "POST", "/v1/orders", till, map[string]any{"requestId": "o-2", "order": map[string]any{
			"id": "till-3-0002", "amountMinor": "5000", "currency": "CNY"}}).must(t, 200)
		if body["pointsEarned"] != "0" {
			t.Fatalf("non-member order: %v", body)
		}
	})
	t.Run("bad orders: 400 with field violations", func(t *testing.T) {
		rp := r.call(t, "POST", "/v1/orders", till, map[string]any{"requestId": "o-3", "order": map[string]any{
			"id": "", "amountMinor": "-5", "currency": "yuan"}})
		rp.must(t, 400)
		if _, fields := rp.reason(); len(fields) < 3 {
			t.Fatalf("violations %v: %s", fields, rp.raw)
		}
	})
	t.Run("balance shows what expires when", func(t *testing.T) {
		bal := r.call(t, "GET", points, till, nil).must(t, 200)
		exp, _ := bal["expiring"].([]any)
		if len(exp) != 1 || exp[0].(map[string]any)["points"] != "123" || exp[0].(map[string]any)["expireTime"] == nil {
			t.Fatalf("expiring: %v", bal)
		}
		if _, ok := bal["held"]; !ok {
			t.Fatalf("balance lacks held: %v", bal)
		}
	})
	t.Run("redeem, and redeeming more than available: 400 INSUFFICIENT_POINTS", func(t *testing.T) {
		tx := r.call(t, "POST", points+":redeem", till, map[string]any{"requestId": "rd-1", "points": "23", "reason": "tea"}).must(t, 200)
		if tx["points"] != "-23" {
			t.Fatalf("redeem transaction: %v", tx)
		}
		rp := r.call(t, "POST", points+":redeem", till, map[string]any{"requestId": "rd-2", "points": "101", "reason": "too much"})
		rp.must(t, 400)
		if reason, _ := rp.reason(); reason != "INSUFFICIENT_POINTS" {
			t.Fatalf("reason %q: %s", reason, rp.raw)
		}
		if bal := r.call(t, "GET", points, till, nil).must(t, 200); bal["available"] != "100" {
			t.Fatalf("balance after redeeming 23 of 123: %v", bal)
		}
	})
	t.Run("adjust is for admins, signed, with a reason", func(t *testing.T) {
		r.call(t, "POST", points+":adjust", op, map[string]any{"requestId": "adj-1", "points": "50", "reason": "goodwill"}).must(t, 403)
		tx := r.call(t, "POST", points+":adjust", adminKey, map[string]any{"requestId": "adj-1", "points": "-10", "reason": "correction"}).must(t, 200)
		if tx["points"] != "-10" {
			t.Fatalf("adjust: %v", tx)
		}
		r.call(t, "POST", points+":adjust", adminKey, map[string]any{"requestId": "adj-2", "points": "5", "reason": ""}).must(t, 400)
	})
	t.Run("a partial refund reverses the proportional points", func(t *testing.T) {
		body := r.call(t, "POST", "/v1/orders/till-3-0001:refund", till, map[string]any{"requestId": "rf-1", "amountMinor": "6000"}).must(t, 200)
		// 123 points for 12345: refunding 6000 reverses floor(123*6000/12345) = 59.
		if body["pointsReversed"] != "59" {
			t.Fatalf("refund: %v", body)
		}
		r.call(t, "POST", "/v1/orders/till-3-0001:refund", till, map[string]any{"requestId": "rf-2", "amountMinor": "99999"}).must(t, 400)
		r.call(t, "POST", "/v1/orders/nope:refund", till, map[string]any{"requestId": "rf-3", "amountMinor": "1"}).must(t, 404)
	})
	t.Run("history pages through balanced transactions, newest first", func(t *testing.T) {
		seen := 0
		token := ""
		var kinds []string
		for pages := 0; pages < 10; pages++ {
			body := r.call(t, "GET", points+"/transactions?pageSize=2&pageToken="+token, till, nil).must(t, 200)
			for _, x := range body["transactions"].([]any) {
				tx := x.(map[string]any)
				kinds = append(kinds, fmt.Sprint(tx["kind"]))
				var sum int64
				for _, p := range tx["postings"].([]any) {
					var v int64
					fmt.Sscan(fmt.Sprint(p.(map[string]any)["points"]), &v)
					sum += v
				}
				if sum != 0 {
					t.Fatalf("transaction %v postings sum to %d", tx, sum)
				}
				seen++
			}
			if token, _ = body["nextPageToken"].(string); token == "" {
				break
			}
		}
		// earn, redeem, adjust, reverse.
		if seen != 4 || kinds[0] != "REVERSE" || kinds[3] != "EARN" {
			t.Fatalf("history: %d %v", seen, kinds)
		}
	})
	t.Run("the ledger verifies", func(t *testing.T) {
		body := r.call(t, "POST", "/v1/ledger:verify", adminKey, map[string]any{}).must(t, 200)
		if body["ok"] != true {
			t.Fatalf("verify: %v", body)
		}
	})
}

// TestEdgeBatchRecordOrders drives POST /v1/orders:batchRecord as API.md shows it: a result per
// order, in order, each {"order", "pointsEarned"} or {"error": {"code", "message", "details"}}.
func TestEdgeBatchRecordOrders(t *testing.T) {
	r := startSuite(t)
	_, till := r.newKey(t, "SERVICE", "")
	m1 := r.newMember(t, till)
	batch := map[string]any{"requestId": "b-1", "orders": []map[string]any{
		{"id": "till-9-1", "memberId": m1, "amountMinor": "12345", "currency": "CNY"},
		{"id": "till-9-2", "memberId": m1, "amountMinor": "-5", "currency": "CNY"},
		{"id": "till-9-3", "amountMinor": "100", "currency": "CNY"},
	}}
	body := r.call(t, "POST", "/v1/orders:batchRecord", till, batch).must(t, 200)
	results := body["results"].([]any)
	if len(results) != 3 {
		t.Fatalf("results %v", body)
	}
	first, bad, guest := results[0].(map[string]any), results[1].(map[string]any), results[2].(map[string]any)
	if first["pointsEarned"] != "123" || first["order"].(map[string]any)["id"] != "till-9-1" || first["error"] != nil {
		t.Fatalf("first %v", first)
	}
	if guest["pointsEarned"] != "0" || guest["order"] == nil {
		t.Fatalf("guest %v", guest)
	}
	e, _ := bad["error"].(map[string]any)
	details, _ := e["details"].([]any)
	if e == nil || bad["order"] != nil || bad["pointsEarned"] != nil || e["code"] != float64(3) || e["message"] == "" || len(details) != 2 {
		t.Fatalf("bad order %v", bad)
	}
	var reason string
	var fields []string
	for _, d := range details {
		d := d.(map[string]any)
		switch d["@type"] {
		case "type.googleapis.com/google.rpc.ErrorInfo":
			reason = d["reason"].(string)
		case "type.googleapis.com/google.rpc.BadRequest":
			for _, v := range d["fieldViolations"].([]any) {
				fields = append(fields, v.(map[string]any)["field"].(string))
			}
		}
	}
	if reason != "INVALID_ARGUMENT" || len(fields) != 1 || fields[0] != "orders[1].amountMinor" { // the JSON path, as a call's errors
		t.Fatalf("bad order's details: %s %v", reason, fields)
	}
	// The same batch again answers the same, and records nothing twice.
	again := r.call(t, "POST", "/v1/orders:batchRecord", till, batch).must(t, 200)
	if fmt.Sprint(again) != fmt.Sprint(body) {
		t.Fatalf("retry %v, want %v", again, body)
	}
	if bal := r.call(t, "GET", "/v1/members/"+m1+"/points", till, nil).must(t, 200); bal["available"] != "123" {
		t.Fatalf("balance %v", bal)
	}
	r.call(t, "POST", "/v1/orders:batchRecord", till, map[string]any{"requestId": "b-2", "orders": []any{}}).must(t, 400)
}
