package suite_test

import (
	"context"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// memberTier reads a member's tier through the JSON edge.
func (r *running) memberTier(t testing.TB, key, id string) string {
	t.Helper()
	m := r.call(t, "GET", "/v1/members/"+id, key, nil).must(t, 200)
	tier, _ := m["tier"].(string)
	return tier
}

// waitConsumed waits until the durable consumer of stream has been given and has acknowledged
// every message the stream holds.
func waitConsumed(t testing.TB, natsURL string, opts []nats.Option, stream, consumer string) {
	t.Helper()
	nc, err := nats.Connect(natsURL, opts...)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	deadline := time.Now().Add(15 * time.Second)
	for {
		s, serr := js.Stream(ctx, stream)
		c, cerr := js.Consumer(ctx, stream, consumer)
		if serr == nil && cerr == nil {
			si, err1 := s.Info(ctx)
			ci, err2 := c.Info(ctx)
			if err1 == nil && err2 == nil && ci.Delivered.Stream >= si.State.LastSeq && ci.NumPending == 0 && ci.NumAckPending == 0 {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s did not consume %s: %v %v", consumer, stream, serr, cerr)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestEdgeTierLoop is the loop of API.md's tiers: tiers created through the JSON edge, an order
// that qualifies lifts the member within a second, and the next order earns at the new tier's
// multiplier, which loyalty learns from the member service's events.
func TestEdgeTierLoop(t *testing.T) {
	r := startSuite(t)
	_, op := r.newKey(t, "OPERATOR", "")
	_, till := r.newKey(t, "SERVICE", "")
	for _, tier := range []map[string]any{
		{"id": "bronze", "displayName": "Bronze", "rank": 0, "pointsMultiplierPercent": 100},
		{"id": "silver", "displayName": "Silver", "rank": 1, "minSpendMinor": "100000", "pointsMultiplierPercent": 150},
		{"id": "gold", "displayName": "Gold", "rank": 2, "minSpendMinor": "500000", "minOrders": 5, "pointsMultiplierPercent": 200},
	} {
		got := r.call(t, "POST", "/v1/tiers", adminKey, map[string]any{"requestId": "tier-" + tier["id"].(string), "tier": tier}).must(t, 200)
		if got["id"] != tier["id"] || got["name"] != "tiers/"+tier["id"].(string) {
			t.Fatalf("created %v", got)
		}
	}
	list := r.call(t, "GET", "/v1/tiers", op, nil).must(t, 200)
	tiers, _ := list["tiers"].([]any)
	if len(tiers) != 3 || tiers[2].(map[string]any)["basis"] != "SPEND_AND_ORDERS" || tiers[1].(map[string]any)["pointsMultiplierPercent"] != float64(150) {
		t.Fatalf("tiers %v", list)
	}
	rp := r.call(t, "POST", "/v1/tiers", adminKey, map[string]any{"requestId": "tier-bad", "tier": map[string]any{
		"id": "vip", "displayName": "VIP", "rank": 3, "basis": "SPEND", "minOrders": 3}})
	rp.must(t, 400)
	if reason, fields := rp.reason(); reason != "TIER_RULE_INVALID" || len(fields) != 2 {
		t.Fatalf("bad tier: %s %v", reason, fields)
	}
	r.call(t, "POST", "/v1/tiers", op, map[string]any{"requestId": "tier-op", "tier": map[string]any{"id": "x", "displayName": "X", "rank": 9}}).must(t, 403)

	m := r.call(t, "POST", "/v1/members", op, map[string]any{"requestId": "loop-m", "member": map[string]any{
		"displayName": "Loop Li", "phone": "13700137000"}}).must(t, 200)
	id := m["id"].(string)
	if m["tier"] != "bronze" {
		t.Fatalf("registered at %v, want the entry tier", m["tier"])
	}
	waitConsumed(t, r.NATSURL(), []nats.Option{r.brokerCredential(t)}, "MEMBER", "loyalty")
	body := r.call(t, "POST", "/v1/orders", till, map[string]any{"requestId": "loop-o1", "order": map[string]any{
		"id": "loop-1", "memberId": id, "amountMinor": "120000", "currency": "CNY"}}).must(t, 200)
	if body["pointsEarned"] != "1200" {
		t.Fatalf("bronze earned %v, want 1200", body["pointsEarned"])
	}
	start := time.Now()
	for r.memberTier(t, op, id) != "silver" {
		if time.Since(start) > time.Second {
			t.Fatalf("not silver a second after the qualifying order")
		}
		time.Sleep(5 * time.Millisecond)
	}
	lift := time.Since(start)
	waitConsumed(t, r.NATSURL(), []nats.Option{r.brokerCredential(t)}, "MEMBER", "loyalty") // loyalty has applied the tier_changed
	body = r.call(t, "POST", "/v1/orders", till, map[string]any{"requestId": "loop-o2", "order": map[string]any{
		"id": "loop-2", "memberId": id, "amountMinor": "10000", "currency": "CNY"}}).must(t, 200)
	if body["pointsEarned"] != "150" {
		t.Fatalf("silver earned %v for 100 CNY, want 150", body["pointsEarned"])
	}
	waitConsumed(t, r.NATSURL(), []nats.Option{r.brokerCredential(t)}, "LOYALTY", "member") // the member service has counted it
	st := r.call(t, "GET", "/v1/members/"+id+"/tier", op, nil).must(t, 200)
	v, _ := st["value"].(map[string]any)
	if st["tierId"] != "silver" || st["reviewTime"] == nil || v["lifetimeSpendMinor"] != "130000" || v["lifetimeOrders"] != "2" {
		t.Fatalf("member tier %v", st)
	}
	// A refund undoing the qualification does not drop the member.
	r.call(t, "POST", "/v1/orders/loop-1:refund", till, map[string]any{"requestId": "loop-f1", "amountMinor": "120000"}).must(t, 200)
	waitConsumed(t, r.NATSURL(), []nats.Option{r.brokerCredential(t)}, "LOYALTY", "member")
	if got := r.memberTier(t, op, id); got != "silver" {
		t.Fatalf("a refund dropped the member to %s", got)
	}
	// Staff override with reason and expiry.
	ov := r.call(t, "POST", "/v1/members/"+id+"/tier:override", op, map[string]any{"requestId": "loop-ov", "tierId": "gold",
		"reason": "complaint goodwill", "expireTime": time.Now().Add(24 * time.Hour).UTC().Format(time.RFC3339)}).must(t, 200)
	if ov["tierId"] != "gold" || ov["override"].(map[string]any)["reason"] != "complaint goodwill" {
		t.Fatalf("override %v", ov)
	}
	t.Logf("lifted to silver %s after the order was acknowledged", lift)
}
