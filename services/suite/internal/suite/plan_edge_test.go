package suite_test

import (
	"slices"
	"testing"
	"time"

	"github.com/huiyuan-dev/huiyuan/pkg/kittest"
	"github.com/huiyuan-dev/huiyuan/services/suite/internal/suite"

	iamv1 "github.com/huiyuan-dev/huiyuan/gen/huiyuan/iam/v1"
)

// TestEdgePlanLifecycle drives a paid membership through the JSON edge on a fake clock (the
// whole suite, events on, through kit.Run): a purchase that holds the plan's tier, a renewal
// retried with its request id and never extending twice, the reminder, grace and the lapse.
func TestEdgePlanLifecycle(t *testing.T) {
	h := kittest.Start(t, suite.Services, kittest.Options{Events: true,
		Args: []string{"--http-addr=127.0.0.1:0", "--member-job-interval=20ms"}})
	r := &running{base: "http://" + h.Process.Addr("http")}
	admin, till := h.Key(kittest.Tenant, iamv1.Role_ADMIN), h.Key(kittest.Tenant, iamv1.Role_SERVICE)
	for _, tier := range []map[string]any{
		{"id": "basic", "displayName": "Basic", "rank": 0},
		{"id": "plus", "displayName": "Plus", "rank": 1, "minSpendMinor": "1000000", "pointsMultiplierPercent": 150},
	} {
		r.call(t, "POST", "/v1/tiers", admin, map[string]any{"requestId": "t-" + tier["id"].(string), "tier": tier}).must(t, 200)
	}
	r.call(t, "POST", "/v1/benefits", admin, map[string]any{"requestId": "b-ship", "benefit": map[string]any{
		"id": "free-shipping", "displayName": "Free shipping", "kind": "FREE_SHIPPING", "limitPerPeriod": 4, "period": "TERM"}}).must(t, 200)
	plan := r.call(t, "POST", "/v1/plans", admin, map[string]any{"requestId": "p-1", "plan": map[string]any{
		"id": "plus-monthly", "displayName": "Plus monthly", "priceMinor": "1990", "currency": "CNY", "termMonths": 1,
		"tierId": "plus", "benefits": []string{"free-shipping"}, "renewal": "MANUAL", "graceDays": 5, "reminderDays": 3}}).must(t, 200)
	if plan["renewal"] != "MANUAL" || !slices.Equal(toStrings(plan["benefits"]), []string{"free-shipping"}) {
		t.Fatalf("plan %v", plan)
	}
	r.call(t, "POST", "/v1/plans", admin, map[string]any{"requestId": "p-2", "plan": map[string]any{
		"id": "bad", "displayName": "Bad", "currency": "CNY", "termMonths": 1, "renewal": "SOMETIMES"}}).must(t, 400)

	m := r.call(t, "POST", "/v1/members", till, map[string]any{"requestId": "pm", "member": map[string]any{
		"displayName": "Plan Zhao", "phone": "13700137002"}}).must(t, 200)
	id := m["id"].(string)
	subs := "/v1/members/" + id + "/subscriptions"
	sub := r.call(t, "POST", subs, till, map[string]any{"requestId": "buy-1", "planId": "plus-monthly",
		"payment": map[string]any{"reference": "alipay-2026-0001"}}).must(t, 200)
	if sub["state"] != "ACTIVE" {
		t.Fatalf("subscription %v", sub)
	}
	subID := sub["id"].(string)
	if tier := r.call(t, "GET", "/v1/members/"+id, till, nil).must(t, 200)["tier"]; tier != "plus" {
		t.Fatalf("tier on the plan %v, want plus", tier)
	}
	ents := r.call(t, "GET", "/v1/members/"+id+"/benefits", till, nil).must(t, 200)["benefits"].([]any)
	if len(ents) != 1 || ents[0].(map[string]any)["remaining"] != float64(4) {
		t.Fatalf("plan benefits %v", ents)
	}

	renew := map[string]any{"requestId": "renew-1", "payment": map[string]any{"reference": "alipay-2026-0002"}}
	r1 := r.call(t, "POST", subs+"/"+subID+":renew", till, renew).must(t, 200)
	r2 := r.call(t, "POST", subs+"/"+subID+":renew", till, renew).must(t, 200) // retried
	if r1["termEndTime"] != r2["termEndTime"] {
		t.Fatalf("a retried renewal moved the term: %v then %v", r1["termEndTime"], r2["termEndTime"])
	}
	rp := r.call(t, "POST", subs+"/"+subID+":renew", till, map[string]any{"requestId": "renew-2",
		"payment": map[string]any{"reference": "alipay-2026-0003"}})
	rp.must(t, 400)
	if reason, _ := rp.reason(); reason != "SUBSCRIPTION_ALREADY_RENEWED" {
		t.Fatalf("second renewal: %s", rp.raw)
	}

	end, err := time.Parse(time.RFC3339, r1["termEndTime"].(string))
	if err != nil {
		t.Fatal(err)
	}
	h.Clock.Advance(end.Add(-2 * 24 * time.Hour).Sub(h.Clock.Now()))
	events := func() []string { return h.Events("member", kittest.Tenant) }
	kittest.Eventually(t, 5*time.Second, func() bool { return slices.Contains(events(), "subscription_expiring") }, "no reminder")
	h.Clock.Advance(3 * 24 * time.Hour)
	kittest.Eventually(t, 5*time.Second, func() bool { return slices.Contains(events(), "subscription_grace_started") }, "no grace")
	if tier := r.call(t, "GET", "/v1/members/"+id, till, nil).must(t, 200)["tier"]; tier != "plus" {
		t.Fatalf("tier in grace %v, want plus", tier)
	}
	h.Clock.Advance(5 * 24 * time.Hour)
	kittest.Eventually(t, 5*time.Second, func() bool {
		return r.call(t, "GET", "/v1/members/"+id, till, nil).must(t, 200)["tier"] == "basic"
	}, "the lapse did not end the plan's tier")
	list := r.call(t, "GET", subs, till, nil).must(t, 200)["subscriptions"].([]any)
	if len(list) != 1 || list[0].(map[string]any)["state"] != "LAPSED" {
		t.Fatalf("subscriptions %v", list)
	}
	reps := r.call(t, "GET", "/v1/planReports", admin, nil).must(t, 200)["reports"].([]any)
	rep := reps[0].(map[string]any)
	if rep["planId"] != "plus-monthly" || rep["purchases"] != "1" || rep["renewals"] != "1" || rep["lapses"] != "1" ||
		rep["revenueMinor"] != "3980" || rep["active"] != "0" {
		t.Fatalf("report %v", rep)
	}
	evs := events()
	for _, want := range []string{"subscription_purchased", "subscription_renewed", "subscription_expiring", "subscription_expired",
		"subscription_grace_started", "subscription_lapsed"} {
		if !slices.Contains(evs, want) {
			t.Fatalf("no %s in %v", want, evs)
		}
	}
}

func toStrings(v any) []string {
	var out []string
	for _, x := range v.([]any) {
		out = append(out, x.(string))
	}
	return out
}
