package suite_test

import (
	"context"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// TestEdgeTierMultiplier sets the tenant's tier multipliers through the JSON edge and shows
// loyalty following the member service's events: a member registered through the API reaches
// loyalty's "loyalty" consumer on the MEMBER stream, and (having no tier yet) earns ×1.
func TestEdgeTierMultiplier(t *testing.T) {
	r := startSuite(t)
	_, op := r.newKey(t, "OPERATOR", "")
	pol := r.call(t, "PATCH", "/v1/loyaltyPolicy?updateMask=tierMultiplierPercent", adminKey,
		map[string]any{"tierMultiplierPercent": map[string]any{"gold": 150}}).must(t, 200)
	if tiers, _ := pol["tierMultiplierPercent"].(map[string]any); tiers["gold"] != float64(150) {
		t.Fatalf("updated policy: %v", pol)
	}
	if got := r.call(t, "GET", "/v1/loyaltyPolicy", adminKey, nil).must(t, 200); got["tierMultiplierPercent"] == nil {
		t.Fatalf("policy read back without tiers: %v", got)
	}
	rp := r.call(t, "PATCH", "/v1/loyaltyPolicy?updateMask=tierMultiplierPercent", adminKey,
		map[string]any{"tierMultiplierPercent": map[string]any{"gold": 10_001}})
	rp.must(t, 400)
	if _, fields := rp.reason(); len(fields) != 1 || fields[0] != "tierMultiplierPercent[gold]" {
		t.Fatalf("violations %v", fields)
	}

	created := r.call(t, "POST", "/v1/members", op, map[string]any{"requestId": "reg-tier",
		"member": map[string]any{"displayName": "Han Meimei", "phone": "138 0013 8001", "channel": "STORE"}}).must(t, 200)
	id, _ := created["id"].(string)

	nc, err := nats.Connect(r.NATSURL(), r.brokerCredential(t))
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
		cons, err := js.Consumer(ctx, "MEMBER", "loyalty")
		if err == nil {
			if info, err := cons.Info(ctx); err == nil && info.Delivered.Stream >= 1 && info.NumPending == 0 && info.NumAckPending == 0 {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("loyalty did not consume the registration: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	body := r.call(t, "POST", "/v1/orders", op, map[string]any{"requestId": "o-tier", "order": map[string]any{
		"id": "tier-1", "memberId": id, "amountMinor": "10000", "currency": "CNY"}}).must(t, 200)
	if body["pointsEarned"] != "100" {
		t.Fatalf("a member without a tier earned %v, want 100", body["pointsEarned"])
	}
}
