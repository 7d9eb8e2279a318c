package loyaltyd_test

import (
	"context"
	"testing"

	bolt "go.etcd.io/bbolt"
	"google.golang.org/protobuf/proto"

	"github.com/huiyuan-dev/huiyuan/pkg/eventlog"
	"github.com/huiyuan-dev/huiyuan/services/loyalty/loyaltyd"

	memberv1 "github.com/huiyuan-dev/huiyuan/gen/huiyuan/member/v1"
)

// TestTierEvents: the member service's tier_defined sets a tier's multiplier and tier_changed a
// member's tier; a tier the member service defines earns its own multiplier over the policy's,
// and after tier_deleted the policy's counts again.
func TestTierEvents(t *testing.T) {
	h := newHarness(t, harnessOpts{noSync: true})
	h.tierPolicy(t) // the policy says gold earns ×1.5
	handle := h.svc.MemberEvents()
	seq := uint64(0)
	apply := func(typ string, m proto.Message) {
		t.Helper()
		b, err := proto.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		seq++
		d := eventlog.Delivery{Tenant: tenant, Service: loyaltyd.MemberService, Sequence: seq, Type: typ, Payload: b}
		for range 2 { // applied twice: as once
			if err := h.db.Update(context.Background(), func(tx *bolt.Tx) error { return handle(tx, d) }); err != nil {
				t.Fatal(err)
			}
		}
	}
	apply("tier_defined", &memberv1.TierDefinedEvent{TierId: "gold", Rank: 2, PointsMultiplierPercent: 200})
	apply("tier_changed", &memberv1.TierChangedEvent{MemberId: "m1", OldTier: "bronze", NewTier: "gold", Cause: memberv1.TierChangedEvent_ORDER})
	if got := earned(t, h, "o1", "m1"); got != 200 {
		t.Fatalf("gold earned %d, want 200 (the tier's multiplier)", got)
	}
	apply("tier_defined", &memberv1.TierDefinedEvent{TierId: "gold", Rank: 2, PointsMultiplierPercent: 300})
	if got := earned(t, h, "o2", "m1"); got != 300 {
		t.Fatalf("after the update earned %d, want 300", got)
	}
	apply("tier_deleted", &memberv1.TierDeletedEvent{TierId: "gold"})
	if got := earned(t, h, "o3", "m1"); got != 150 {
		t.Fatalf("after deletion earned %d, want the policy's 150", got)
	}
	apply("tier_changed", &memberv1.TierChangedEvent{MemberId: "m1", OldTier: "gold", NewTier: "", Cause: memberv1.TierChangedEvent_REVIEW})
	if got := earned(t, h, "o4", "m1"); got != 100 {
		t.Fatalf("without a tier earned %d, want 100", got)
	}
}
