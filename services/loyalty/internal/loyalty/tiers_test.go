package loyalty_test

import (
	"fmt"
	"sync"
	"testing"

	bolt "go.etcd.io/bbolt"

	"github.com/huiyuan-dev/huiyuan/services/loyalty/internal/loyalty"
)

// setTier applies a tier the member service reported, in a transaction of its own as the
// consumer does.
func (e *env) setTier(tb testing.TB, tenant, member, tier string) {
	tb.Helper()
	if err := e.w.Update(bg, func(tx *bolt.Tx) error {
		return e.store.Apply(tx, tenant, func(t loyalty.Tx) error { return loyalty.SetTier(t, member, tier) })
	}); err != nil {
		tb.Fatal(err)
	}
}

// TestTierMultiplier: each order earns at the multiplier of the tier its member had when it was
// recorded; later tier changes leave it alone.
func TestTierMultiplier(t *testing.T) {
	e := newEnv(t)
	e.policy(t, "acme", func(p *loyalty.Policy) {
		p.TierMultiplierPercent = map[string]int64{"gold": 150, "silver": 120, "lead": 0}
	})
	type tier struct{ tenant, member, tier string }
	steps := []struct {
		tiers  []tier
		order  string
		member string
		want   int64
	}{
		{[]tier{{"acme", "m-gold", "gold"}}, "o1", "m-gold", 150},
		{nil, "o2", "m-none", 100}, // never heard of: ×1
		{[]tier{{"acme", "m-bronze", "bronze"}}, "o3", "m-bronze", 100},
		{[]tier{{"acme", "m-gold", "silver"}}, "o4", "m-gold", 120},
		// The same tier again changes nothing.
		{[]tier{{"acme", "m-gold", "silver"}, {"acme", "m-gold", "silver"}}, "o5", "m-gold", 120},
		{[]tier{{"acme", "m-gold", "lead"}}, "o6", "m-gold", 0},
		{[]tier{{"acme", "m-gold", ""}}, "o7", "m-gold", 100},
		// Another tenant's tiers do not matter.
		{[]tier{{"other", "m-bronze", "gold"}}, "o8", "m-bronze", 100},
		// An id no order can carry is skipped, not refused.
		{[]tier{{"acme", "bad id", "gold"}}, "o9", "m-bronze", 100},
	}
	for i, s := range steps {
		for _, x := range s.tiers {
			e.setTier(t, x.tenant, x.member, x.tier)
		}
		if o := e.order(t, "acme", s.order, s.member, 10_000); o.PointsEarned != s.want {
			t.Fatalf("step %d: order %s earned %d, want %d", i, s.order, o.PointsEarned, s.want)
		}
	}
	for _, s := range steps {
		if o, err := e.svc.GetOrder(bg, "acme", s.order); err != nil || o.PointsEarned != s.want {
			t.Fatalf("order %s: %v earned %d, want %d", s.order, err, o.PointsEarned, s.want)
		}
	}
	if b := e.balance(t, "acme", "m-gold"); b.Available != 150+120+120+0+100 {
		t.Fatalf("m-gold balance %+v", b)
	}
	e.verify(t, "acme")
}

// TestTierMultiplierConcurrent records orders while the member's tier changes under them: every
// order earns at one of the tiers, consistent with the tier it read.
func TestTierMultiplierConcurrent(t *testing.T) {
	e := newEnv(t)
	e.policy(t, "acme", func(p *loyalty.Policy) { p.TierMultiplierPercent = map[string]int64{"gold": 150} })
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 20 {
				if g == 0 {
					e.setTier(t, "acme", "m1", []string{"gold", ""}[i%2])
					continue
				}
				o, err := e.svc.RecordOrder(bg, "acme", "k", order(fmt.Sprintf("c%d-%d", g, i), "m1", 10_000))
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
	e.verify(t, "acme")
}
