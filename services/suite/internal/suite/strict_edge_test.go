package suite_test

import (
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
)

// raw sends a request with the given headers only.
func (r *running) raw(t *testing.T, method, path, body string, hdr map[string]string) *http.Response {
	t.Helper()
	req, err := http.NewRequest(method, r.base+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	_ = resp.Body.Close()
	return resp
}

// TestEdgeStrictInput: bad input through the whole suite is a 400 with its reason and JSON
// path, and changes nothing.
func TestEdgeStrictInput(t *testing.T) {
	r := startSuite(t)
	_, op := r.newKey(t, "OPERATOR", "")
	count := func() int {
		return len(r.call(t, "GET", "/v1/members", op, nil).must(t, 200)["members"].([]any))
	}
	cases := []struct {
		name, reason, field string
		body                map[string]any
	}{
		{"prefixed enum", "INVALID_VALUE", "member.channel", map[string]any{"requestId": "b1", "member": map[string]any{"displayName": "x", "phone": "13500135000", "channel": "CHANNEL_STORE"}}},
		{"typo", "UNKNOWN_FIELD", "member.storeID", map[string]any{"requestId": "b2", "member": map[string]any{"displayName": "x", "phone": "13500135000", "storeID": "s1"}}},
		{"wrong type", "INVALID_VALUE", "member.tags", map[string]any{"requestId": "b3", "member": map[string]any{"displayName": "x", "phone": "13500135000", "tags": "vip"}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			rp := r.call(t, "POST", "/v1/members", op, c.body)
			rp.must(t, 400)
			if reason, fields := rp.reason(); reason != c.reason || !slices.Contains(fields, c.field) {
				t.Fatalf("reason %q fields %v: %s", reason, fields, rp.raw)
			}
			if n := count(); n != 0 {
				t.Fatalf("%d members after a refused registration", n)
			}
		})
	}
	t.Run("a typo in an order spends no order id", func(t *testing.T) {
		rp := r.call(t, "POST", "/v1/orders", op, map[string]any{"requestId": "o1", "order": map[string]any{
			"id": "typo-1", "memberID": "m", "amountMinor": "100", "currency": "CNY"}})
		rp.must(t, 400)
		if reason, fields := rp.reason(); reason != "UNKNOWN_FIELD" || !slices.Contains(fields, "order.memberID") {
			t.Fatalf("reason %q fields %v", reason, fields)
		}
		r.call(t, "GET", "/v1/orders/typo-1", op, nil).must(t, 404)
	})
	t.Run("service violations name JSON paths", func(t *testing.T) {
		rp := r.call(t, "POST", "/v1/members", op, map[string]any{"requestId": "b4", "member": map[string]any{"displayName": "x", "phone": "abc"}})
		rp.must(t, 400)
		if _, fields := rp.reason(); !slices.Contains(fields, "member.phone") {
			t.Fatalf("fields %v", fields)
		}
	})
	t.Run("routing errors have the JSON shape", func(t *testing.T) {
		rp := r.call(t, "GET", "/v1/nowhere", op, nil)
		rp.must(t, 404)
		if reason, _ := rp.reason(); reason != "ROUTE_NOT_FOUND" {
			t.Fatalf("reason %q", reason)
		}
	})
}

// TestEdgeCredentialsAndRateLimit: only Authorization authenticates, one key is one allowance
// however its header is spelled, SERVICE keys are not limited by default, and a key's own
// limit applies as soon as it is set.
func TestEdgeCredentialsAndRateLimit(t *testing.T) {
	r := startSuite(t, "--rate-limit=0.5", "--rate-burst=4")
	opID, op := r.newKey(t, "OPERATOR", "")
	_, till := r.newKey(t, "SERVICE", "")

	t.Run("Grpc-Metadata-Authorization does not authenticate", func(t *testing.T) {
		resp := r.raw(t, "GET", "/v1/apiKeys", "", map[string]string{"Grpc-Metadata-Authorization": "Bearer " + adminKey})
		if resp.StatusCode != 401 || resp.Header.Get("WWW-Authenticate") != `Bearer realm="huiyuan"` {
			t.Fatalf("status %d, WWW-Authenticate %q", resp.StatusCode, resp.Header.Get("WWW-Authenticate"))
		}
	})
	t.Run("header spellings share one allowance", func(t *testing.T) {
		statuses := []int{}
		for _, h := range []string{"Bearer " + op, "bearer " + op, "BEARER " + op, "bEaReR " + op, "Bearer  " + op} {
			statuses = append(statuses, r.raw(t, "GET", "/v1/members", "", map[string]string{"Authorization": h}).StatusCode)
		}
		if !slices.Equal(statuses, []int{200, 200, 200, 200, 429}) {
			t.Fatalf("statuses %v, want a burst of 4 then 429", statuses)
		}
		resp := r.raw(t, "GET", "/v1/members", "", map[string]string{"Authorization": "Bearer " + op})
		if resp.StatusCode != 429 || resp.Header.Get("Retry-After") == "" {
			t.Fatalf("status %d, Retry-After %q", resp.StatusCode, resp.Header.Get("Retry-After"))
		}
	})
	t.Run("a SERVICE key is not throttled by default", func(t *testing.T) {
		for i := 0; i < 30; i++ {
			if rp := r.call(t, "GET", "/v1/members/0190a0e0-0000-7000-8000-000000000000", till, nil); rp.status == 429 {
				t.Fatalf("call %d throttled: %s", i, rp.raw)
			}
		}
	})
	t.Run("a key's own limit, set by update", func(t *testing.T) {
		rp := r.call(t, "PATCH", "/v1/apiKeys/"+opID, adminKey, map[string]any{"rateLimit": -5})
		rp.must(t, 400)
		if _, fields := rp.reason(); !slices.Contains(fields, "rateLimit") {
			t.Fatalf("fields %v: %s", fields, rp.raw)
		}
		got := r.call(t, "PATCH", "/v1/apiKeys/"+opID, adminKey, map[string]any{"rateLimit": 0}).must(t, 200)
		if got["rateLimit"] != float64(0) {
			t.Fatalf("updated key %v", got)
		}
		for i := 0; i < 10; i++ {
			r.call(t, "GET", "/v1/members", op, nil).must(t, 200)
		}
	})
}
