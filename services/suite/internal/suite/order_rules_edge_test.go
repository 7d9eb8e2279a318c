package suite_test

import (
	"fmt"
	"slices"
	"testing"
	"time"
)

// wantExact asserts an error answer's status, reason and field paths exactly as sent back (no
// normalising of case or underscores: the edge must name JSON paths).
func wantExact(t *testing.T, rp reply, status int, reason string, fields ...string) {
	t.Helper()
	rp.must(t, status)
	got, gotFields := rp.reason()
	if got != reason || !slices.Equal(gotFields, fields) {
		t.Fatalf("reason %q fields %q, want %q %q: %s", got, gotFields, reason, fields, rp.raw)
	}
}

// detailsOf returns the reason and field paths of a batch result's error (nil when none).
func detailsOf(result map[string]any) (reason string, fields []string, ok bool) {
	e, _ := result["error"].(map[string]any)
	if e == nil {
		return "", nil, false
	}
	reason, fields = reply{body: e}.reason()
	return reason, fields, true
}

// TestEdgeOrderRules: the tenant declares its currencies (one with a rate of its own) and how
// old an order may be; through the JSON edge, each order its policy refuses gets a 400 with its
// reason and the JSON path of its field, and changes nothing: the balance stays, the order id
// stays free and the same id recorded correctly afterwards earns. In a batch, a refused order
// fails alone, named by its JSON path, and the others record.
func TestEdgeOrderRules(t *testing.T) {
	r := startSuite(t)
	_, till := r.newKey(t, "SERVICE", "")
	_, op := r.newKey(t, "OPERATOR", "")
	member := r.newMember(t, op)
	points := "/v1/members/" + member + "/points"
	balance := func(t *testing.T) string {
		t.Helper()
		return fmt.Sprint(r.call(t, "GET", points, till, nil).must(t, 200)["available"])
	}

	t.Run("the policy declares the currencies and the order window", func(t *testing.T) {
		pol := r.call(t, "GET", "/v1/loyaltyPolicy", op, nil).must(t, 200)
		if fmt.Sprint(pol["acceptedCurrencies"]) != "[CNY]" || pol["maxOrderAgeDays"] != float64(90) {
			t.Fatalf("default policy %v", pol)
		}
		wantExact(t, r.call(t, "PATCH", "/v1/loyaltyPolicy?updateMask=acceptedCurrencies", adminKey,
			map[string]any{"acceptedCurrencies": []string{"CNY", "usd", "CNY"}}), 400, "INVALID_ARGUMENT",
			"acceptedCurrencies[1]", "acceptedCurrencies[2]")
		wantExact(t, r.call(t, "PATCH", "/v1/loyaltyPolicy?updateMask=currencyRatePercent,maxOrderAgeDays", adminKey,
			map[string]any{"currencyRatePercent": map[string]string{"USD": "700"}, "maxOrderAgeDays": 0}), 400, "INVALID_ARGUMENT",
			"currencyRatePercent[USD]", "maxOrderAgeDays")
		pol = r.call(t, "PATCH", "/v1/loyaltyPolicy?updateMask=acceptedCurrencies,currencyRatePercent,maxOrderAgeDays", adminKey,
			map[string]any{"acceptedCurrencies": []string{"CNY", "USD"}, "currencyRatePercent": map[string]string{"USD": "700"},
				"maxOrderAgeDays": 30}).must(t, 200)
		if fmt.Sprint(pol["acceptedCurrencies"]) != "[CNY USD]" || pol["maxOrderAgeDays"] != float64(30) {
			t.Fatalf("updated policy %v", pol)
		}
	})

	seed := r.call(t, "POST", "/v1/orders", till, map[string]any{"requestId": "rules-seed", "order": map[string]any{
		"id": "rules-seed", "memberId": member, "amountMinor": "10000", "currency": "USD"}}).must(t, 200)
	if seed["pointsEarned"] != "700" {
		t.Fatalf("a USD order at its own rate: %v", seed)
	}
	now := time.Now().UTC()
	bad := []struct {
		name   string
		order  map[string]any
		reason string
		field  string
	}{
		{"a currency the tenant does not accept", map[string]any{"amountMinor": "10000", "currency": "EUR"},
			"CURRENCY_NOT_ACCEPTED", "order.currency"},
		{"items over the amount", map[string]any{"amountMinor": "10000", "currency": "CNY",
			"items": []map[string]any{{"sku": "tea", "quantity": "2", "unitPriceMinor": "3000"}, {"sku": "cake", "quantity": "1", "unitPriceMinor": "4001"}}},
			"ITEMS_EXCEED_AMOUNT", "order.items"},
		{"older than the window", map[string]any{"amountMinor": "10000", "currency": "CNY",
			"createTime": now.AddDate(0, 0, -31).Format(time.RFC3339)}, "ORDER_TIME_OUT_OF_RANGE", "order.createTime"},
		{"from the future", map[string]any{"amountMinor": "10000", "currency": "CNY",
			"createTime": now.Add(10 * time.Minute).Format(time.RFC3339)}, "ORDER_TIME_OUT_OF_RANGE", "order.createTime"},
	}
	for i, tc := range bad {
		t.Run(tc.name, func(t *testing.T) {
			id := fmt.Sprintf("rules-%d", i)
			before := balance(t)
			tc.order["id"], tc.order["memberId"] = id, member
			wantExact(t, r.call(t, "POST", "/v1/orders", till, map[string]any{"requestId": id, "order": tc.order}), 400, tc.reason, tc.field)
			if got := balance(t); got != before {
				t.Fatalf("balance %s after a refused order, was %s", got, before)
			}
			wantExact(t, r.call(t, "GET", "/v1/orders/"+id, till, nil), 404, "ORDER_NOT_FOUND")
			// The id is free: the order fixed, under a new request id, records and earns.
			fixed := r.call(t, "POST", "/v1/orders", till, map[string]any{"requestId": id + "-fixed", "order": map[string]any{
				"id": id, "memberId": member, "amountMinor": "10000", "currency": "CNY"}}).must(t, 200)
			if fixed["pointsEarned"] != "100" {
				t.Fatalf("the fixed order: %v", fixed)
			}
		})
	}
	if got := balance(t); got != "1100" { // 700 for the USD order, 100 for each fixed one
		t.Fatalf("balance %s, want 1100", got)
	}

	t.Run("a batch: refused orders fail alone, named by JSON path", func(t *testing.T) {
		orders := []map[string]any{
			{"id": "rb-0", "memberId": member, "amountMinor": "10000", "currency": "CNY"},
			{"id": "rb-1", "memberId": member, "amountMinor": "10000", "currency": "JPY"},
			{"id": "rb-2", "memberId": member, "amountMinor": "100", "currency": "CNY",
				"items": []map[string]any{{"sku": "tea", "quantity": "1", "unitPriceMinor": "101"}}},
			{"id": "rb-3", "memberId": member, "amountMinor": "10000", "currency": "CNY", "createTime": now.Add(time.Hour).Format(time.RFC3339)},
			{"id": "rb-4", "memberId": "has space", "amountMinor": "10000", "currency": "CNY"},
			{"id": "rb-5", "memberId": member, "amountMinor": "20000", "currency": "USD"},
		}
		body := r.call(t, "POST", "/v1/orders:batchRecord", till, map[string]any{"requestId": "rb", "orders": orders}).must(t, 200)
		results, _ := body["results"].([]any)
		if len(results) != len(orders) {
			t.Fatalf("results %v", body)
		}
		want := map[int][2]string{1: {"CURRENCY_NOT_ACCEPTED", "orders[1].currency"}, 2: {"ITEMS_EXCEED_AMOUNT", "orders[2].items"},
			3: {"ORDER_TIME_OUT_OF_RANGE", "orders[3].createTime"}, 4: {"INVALID_ARGUMENT", "orders[4].memberId"}}
		for i, x := range results {
			res := x.(map[string]any)
			reason, fields, failed := detailsOf(res)
			w, refused := want[i]
			switch {
			case refused && (!failed || reason != w[0] || !slices.Equal(fields, []string{w[1]}) || res["order"] != nil):
				t.Fatalf("result %d: %s %q, want %s %s: %v", i, reason, fields, w[0], w[1], res)
			case !refused && (failed || res["order"] == nil):
				t.Fatalf("result %d: %v", i, res)
			}
		}
		if p := results[5].(map[string]any)["pointsEarned"]; p != "1400" {
			t.Fatalf("the USD order of the batch earned %v", p)
		}
		for _, id := range []string{"rb-1", "rb-2", "rb-3", "rb-4"} {
			wantExact(t, r.call(t, "GET", "/v1/orders/"+id, till, nil), 404, "ORDER_NOT_FOUND")
		}
		if got := balance(t); got != "2600" { // 1100 + 100 + 1400
			t.Fatalf("balance %s, want 2600", got)
		}
	})
}
