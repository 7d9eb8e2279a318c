package suite_test

import (
	"fmt"
	"sync"
	"testing"
)

// TestEdgeBenefitLimit drives API.md's benefit paths: a benefit created with a limit of 1 per
// month, the member's entitlements, and 20 concurrent uses of which exactly one succeeds and the
// rest are BENEFIT_LIMIT_REACHED (400).
func TestEdgeBenefitLimit(t *testing.T) {
	r := startSuite(t, "--rate-limit=0")
	_, op := r.newKey(t, "OPERATOR", "")
	r.call(t, "POST", "/v1/tiers", adminKey, map[string]any{"requestId": "b-tier", "tier": map[string]any{
		"id": "bronze", "displayName": "Bronze", "rank": 0}}).must(t, 200)
	b := r.call(t, "POST", "/v1/benefits", adminKey, map[string]any{"requestId": "b-1", "benefit": map[string]any{
		"id": "lounge", "displayName": "Airport lounge", "kind": "FACILITY_ACCESS", "limitPerPeriod": 1, "period": "MONTH",
		"tiers": []string{"bronze"}}}).must(t, 200)
	if b["id"] != "lounge" || b["period"] != "MONTH" || b["kind"] != "FACILITY_ACCESS" {
		t.Fatalf("benefit %v", b)
	}
	rp := r.call(t, "POST", "/v1/benefits", adminKey, map[string]any{"requestId": "b-2", "benefit": map[string]any{
		"id": "spa", "displayName": "Spa", "kind": "FREE_SERVICE", "limitPerPeriod": 1, "period": "WEEK"}})
	rp.must(t, 400) // not a period: never a default
	m := r.call(t, "POST", "/v1/members", op, map[string]any{"requestId": "b-m", "member": map[string]any{
		"displayName": "Benefit Wang", "phone": "13700137001"}}).must(t, 200)
	id := m["id"].(string)

	ents := r.call(t, "GET", "/v1/members/"+id+"/benefits", op, nil).must(t, 200)
	list, _ := ents["benefits"].([]any)
	if len(list) != 1 {
		t.Fatalf("entitlements %v", ents)
	}
	e := list[0].(map[string]any)
	if e["benefit"].(map[string]any)["id"] != "lounge" || e["used"] != float64(0) || e["remaining"] != float64(1) {
		t.Fatalf("entitlement %v", e)
	}

	statuses := make([]int, 20)
	reasons := make([]string, 20)
	var wg sync.WaitGroup
	for i := range statuses {
		wg.Go(func() {
			rp := r.call(t, "POST", "/v1/members/"+id+"/benefits/lounge:use", op, map[string]any{
				"requestId": fmt.Sprintf("use-%d", i), "storeId": "pvg-t2"})
			statuses[i] = rp.status
			reasons[i], _ = rp.reason()
		})
	}
	wg.Wait()
	ok, limited := 0, 0
	for i, st := range statuses {
		switch {
		case st == 200:
			ok++
		case st == 400 && reasons[i] == "BENEFIT_LIMIT_REACHED":
			limited++
		default:
			t.Fatalf("use %d: %d %s", i, st, reasons[i])
		}
	}
	if ok != 1 || limited != 19 {
		t.Fatalf("%d uses succeeded and %d were limited; want 1 and 19", ok, limited)
	}
	ents = r.call(t, "GET", "/v1/members/"+id+"/benefits", op, nil).must(t, 200)
	e = ents["benefits"].([]any)[0].(map[string]any)
	if e["used"] != float64(1) || e["remaining"] != float64(0) {
		t.Fatalf("after the uses %v", e)
	}
	c := r.call(t, "POST", "/v1/members/"+id+"/benefitComplaints", op, map[string]any{"requestId": "b-c1", "complaint": map[string]any{
		"benefitId": "lounge", "storeId": "pvg-t2", "description": "turned away at the door"}}).must(t, 200)
	if c["state"] != "OPEN" {
		t.Fatalf("complaint %v", c)
	}
	if got := r.call(t, "GET", "/v1/benefits/lounge", op, nil).must(t, 200); got["openComplaints"] != "1" {
		t.Fatalf("open complaints %v", got)
	}
	r.call(t, "POST", "/v1/benefitComplaints/"+c["id"].(string)+":resolve", op, map[string]any{"requestId": "b-r1",
		"note": "voucher given"}).must(t, 200)
	if got := r.call(t, "GET", "/v1/benefits/lounge", op, nil).must(t, 200); got["openComplaints"] != "0" {
		t.Fatalf("open complaints after resolving %v", got)
	}
}
