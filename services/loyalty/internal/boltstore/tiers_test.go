package boltstore_test

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"google.golang.org/protobuf/proto"

	bolt "go.etcd.io/bbolt"

	"github.com/huiyuan-dev/huiyuan/services/loyalty/internal/boltstore"

	memberv1 "github.com/huiyuan-dev/huiyuan/gen/huiyuan/member/v1"
)

// memberEvent is a member service event's type and payload.
type memberEvent struct {
	typ     string
	payload []byte
}

func registered(tb testing.TB, member, tier string) memberEvent {
	tb.Helper()
	b, err := proto.Marshal(&memberv1.MemberRegisteredEvent{MemberId: member, Tier: tier})
	if err != nil {
		tb.Fatal(err)
	}
	return memberEvent{boltstore.MemberRegistered, b}
}

func updated(tb testing.TB, member, tier string) memberEvent {
	tb.Helper()
	b, err := proto.Marshal(&memberv1.MemberUpdatedEvent{MemberId: member, Tier: tier, ChangedFields: []string{"tier"}})
	if err != nil {
		tb.Fatal(err)
	}
	return memberEvent{boltstore.MemberUpdated, b}
}

func (f *fixture) apply(tb testing.TB, tenant string, e memberEvent) {
	tb.Helper()
	if err := f.w.Update(context.Background(), func(tx *bolt.Tx) error {
		return boltstore.ApplyMemberEvent(tx, tenant, e.typ, e.payload)
	}); err != nil {
		tb.Fatal(err)
	}
}

// TestTierMultiplier feeds member events through the handler's store function and records
// orders: each earns at the multiplier of the tier its member had when it was recorded.
func TestTierMultiplier(t *testing.T) {
	f := newFixture(t, fixtureOpts{})
	f.set.TierPercent = map[string]int64{"gold": 150, "silver": 120, "lead": 0}
	ctx := context.Background()
	type step struct {
		events []memberEvent
		order  string // recorded for member after the events
		member string
		want   int64
	}
	steps := []step{
		{[]memberEvent{registered(t, "m-gold", "gold")}, "o1", "m-gold", 150},
		{nil, "o2", "m-none", 100}, // never heard of: ×1
		{[]memberEvent{registered(t, "m-bronze", "bronze")}, "o3", "m-bronze", 100},
		{[]memberEvent{updated(t, "m-gold", "silver")}, "o4", "m-gold", 120},
		// A redelivered event applies to the same state again: nothing changes twice.
		{[]memberEvent{updated(t, "m-gold", "silver"), updated(t, "m-gold", "silver")}, "o5", "m-gold", 120},
		{[]memberEvent{updated(t, "m-gold", "lead")}, "o6", "m-gold", 0},
		{[]memberEvent{updated(t, "m-gold", "")}, "o7", "m-gold", 100},
		// Other tenants' tiers and other event types do not matter.
		{[]memberEvent{registered(t, "m-other", "gold"), {"member_status_changed", []byte("not a payload")}}, "o8", "m-bronze", 100},
		// An id no order can carry is skipped, not retried forever.
		{[]memberEvent{registered(t, "bad id", "gold")}, "o9", "m-bronze", 100},
	}
	for i, s := range steps {
		for _, e := range s.events {
			tenant := "acme"
			if i == 7 {
				tenant = "other"
			}
			f.apply(t, tenant, e)
		}
		o, err := f.store.RecordOrder(ctx, "acme", order(s.order, s.member, 10_000), "k")
		if err != nil {
			t.Fatal(err)
		}
		if o.PointsEarned != s.want {
			t.Fatalf("step %d: order %s earned %d, want %d", i, s.order, o.PointsEarned, s.want)
		}
	}
	// Later tier changes left the earlier orders alone.
	for _, s := range steps {
		o, err := f.store.GetOrder(ctx, "acme", s.order)
		if err != nil || o.PointsEarned != s.want {
			t.Fatalf("order %s: %v earned %d, want %d", s.order, err, o.PointsEarned, s.want)
		}
	}
	bal, err := f.store.Balance(ctx, "acme", "m-gold")
	if err != nil || bal.Available != 150+120+120+0+100 {
		t.Fatalf("m-gold balance %+v, %v", bal, err)
	}
}

func TestApplyMemberEventErrors(t *testing.T) {
	f := newFixture(t, fixtureOpts{})
	err := f.w.Update(context.Background(), func(tx *bolt.Tx) error {
		return boltstore.ApplyMemberEvent(tx, "acme", boltstore.MemberUpdated, []byte{0xff, 0xff})
	})
	if err == nil {
		t.Fatal("an undecodable payload was applied")
	}
}

// TestTierMultiplierConcurrent records orders while the member's tier changes under them:
// every order earns at one of the tiers, and the store's single writer keeps each one
// consistent with the tier it read.
func TestTierMultiplierConcurrent(t *testing.T) {
	f := newFixture(t, fixtureOpts{})
	f.set.TierPercent = map[string]int64{"gold": 150}
	ctx := context.Background()
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 20 {
				if g == 0 {
					tier := []string{"gold", ""}[i%2]
					f.apply(t, "acme", updated(t, "m1", tier))
					continue
				}
				o, err := f.store.RecordOrder(ctx, "acme", order(fmt.Sprintf("c%d-%d", g, i), "m1", 10_000), "k")
				if err != nil {
					t.Error(err)
					return
				}
				if o.PointsEarned != 100 && o.PointsEarned != 150 {
					t.Errorf("order earned %d", o.PointsEarned)
				}
			}
		})
	}
	wg.Wait()
}
