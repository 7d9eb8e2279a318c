package boltstore_test

import (
	"context"
	"crypto/rand"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/huiyuan-dev/huiyuan/pkg/apperr"
	"github.com/huiyuan-dev/huiyuan/pkg/boltx"
	"github.com/huiyuan-dev/huiyuan/pkg/idempotency"
	"github.com/huiyuan-dev/huiyuan/pkg/pii"
	"github.com/huiyuan-dev/huiyuan/services/member/internal/boltstore"
	"github.com/huiyuan-dev/huiyuan/services/member/internal/member"
	"github.com/huiyuan-dev/huiyuan/services/member/internal/membership"
)

// tiersFixture is a store with bronze (entry) and silver (1,000 CNY) and the membership use
// cases over it.
func tiersFixture(t *testing.T) (*fixture, *membership.Service) {
	t.Helper()
	f := newFixture(t)
	ms, err := membership.NewService(f.store, f.clk)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for _, tier := range []*membership.Tier{{ID: "bronze", DisplayName: "Bronze"}, {ID: "silver", DisplayName: "Silver", Rank: 1, MinSpend: 100_000}} {
		if _, err := ms.CreateTier(ctx, "acme", tier, nil); err != nil {
			t.Fatal(err)
		}
	}
	return f, ms
}

// reopen closes f's store and opens it again on the same file, as a restart does.
func (f *fixture) reopen(t *testing.T) {
	t.Helper()
	f.close(t)
	db, err := boltx.Open(f.path, boltx.Options{NoSync: true}, slices.Concat(boltstore.Buckets(), f.log.Buckets(), idempotency.Buckets())...)
	if err != nil {
		t.Fatal(err)
	}
	kek := make([]byte, 32)
	_, _ = rand.Read(kek)
	kr, _ := pii.NewKeyring(kek)
	f.db, f.w = db, boltx.NewWriter(db, boltx.WriterOptions{})
	if f.store, err = boltstore.New(boltstore.Config{DB: db, Writer: f.w, Keyring: kr, Log: f.log, Clock: f.clk}); err != nil {
		t.Fatal(err)
	}
}

func (f *fixture) order(t *testing.T, id, m string, amount int64) {
	t.Helper()
	fact := membership.OrderFact{OrderID: id, MemberID: m, Amount: amount, Currency: "CNY"}
	if err := f.db.Update(context.Background(), func(tx *bolt.Tx) error {
		return f.store.ApplyOrder(tx, "acme", m, id, func(a *membership.Account, c *membership.Catalog, prev *membership.Contribution) (*membership.Contribution, []membership.Event) {
			return membership.ApplyOrder(a, c, prev, fact, f.clk.Now())
		})
	}); err != nil {
		t.Fatal(err)
	}
}

func (f *fixture) due(t *testing.T) int {
	t.Helper()
	total := 0
	var after []byte
	for {
		n, last, more, err := f.store.ProcessDue(context.Background(), f.clk.Now(), after, 2, func(a *membership.Account, c *membership.Catalog) []membership.Event {
			return membership.Evaluate(a, c, f.clk.Now())
		})
		if err != nil {
			t.Fatal(err)
		}
		total += n
		if !more {
			return total
		}
		after = last
	}
}

func countType(evs []string, typ string) int {
	n := 0
	for _, e := range evs {
		if e == typ {
			n++
		}
	}
	return n
}

// TestDueWorkOnceAcrossRestarts: reviews that fall due are done by the job once, however often it
// runs and across a restart; the member record carries the tier the account holds.
func TestDueWorkOnceAcrossRestarts(t *testing.T) {
	f, _ := tiersFixture(t)
	var ids []string
	for i := range 5 {
		m := f.create(t, "acme", member.Member{DisplayName: "d", Phone: fmt.Sprintf("1380000%04d", i)})
		if m.Tier != "bronze" {
			t.Fatalf("registered at %q", m.Tier)
		}
		ids = append(ids, m.ID)
		f.order(t, fmt.Sprintf("o%d", i), m.ID, 100_000)
		f.order(t, fmt.Sprintf("o%d", i), m.ID, 100_000) // the same order again counts once
	}
	if n := countType(f.eventTypes(t, "acme"), membership.EventTierChanged); n != 5 {
		t.Fatalf("%d tier changes, want 5", n)
	}
	if n := f.due(t); n != 0 {
		t.Fatalf("%d accounts due before anything is", n)
	}
	f.clk.Advance(366 * 24 * time.Hour)
	if n := f.due(t); n != 5 {
		t.Fatalf("%d accounts reviewed, want 5", n)
	}
	f.reopen(t)
	if n := f.due(t); n != 0 {
		t.Fatalf("%d accounts reviewed again after a restart", n)
	}
	evs := f.eventTypes(t, "acme")
	if n := countType(evs, membership.EventTierChanged); n != 10 {
		t.Fatalf("%d tier changes, want 10 (5 rises, 5 drops): %v", n, evs)
	}
	for _, id := range ids {
		m, err := f.store.Get(context.Background(), "acme", id, member.ViewRedacted)
		if err != nil || m.Tier != "bronze" {
			t.Fatalf("member %s: %v %v", id, m, err)
		}
	}
	c, err := f.store.Catalog(context.Background(), "acme")
	if err != nil || c.Holders["bronze"] != 5 || c.Holders["silver"] != 0 {
		t.Fatalf("holders %v %v", c.Holders, err)
	}
}

// TestPaymentReferenceOnce: concurrent purchases paid with one payment reference: one wins.
func TestPaymentReferenceOnce(t *testing.T) {
	f, ms := tiersFixture(t)
	ctx := context.Background()
	if _, err := ms.CreatePlan(ctx, "acme", &membership.Plan{ID: "p", DisplayName: "P", PriceMinor: 100, Currency: "CNY", TermDays: 30,
		Renewal: membership.RenewalManual}, nil); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make([]error, 10)
	for i := range errs {
		m := f.create(t, "acme", member.Member{DisplayName: "p", Phone: fmt.Sprintf("1390000%04d", i)})
		wg.Go(func() {
			_, errs[i] = ms.Purchase(ctx, "acme", m.ID, "p", membership.PaymentInput{Reference: "same-ref"}, false)
		})
	}
	wg.Wait()
	ok := 0
	for _, err := range errs {
		switch apperr.ReasonOf(err) {
		case "":
			if err == nil {
				ok++
			}
		case membership.ReasonPaymentReferenceUsed:
		default:
			t.Fatalf("purchase: %v", err)
		}
	}
	if ok != 1 {
		t.Fatalf("%d purchases with one payment reference", ok)
	}
	reps, err := f.store.PlanReports(ctx, "acme")
	if err != nil || len(reps) != 1 || reps[0].Stats.Purchases != 1 || reps[0].Stats.Active != 1 || reps[0].Stats.RevenueMinor != 100 {
		t.Fatalf("reports %+v %v", reps, err)
	}
}

// TestCatalogCacheFollowsChanges: an account change sees a catalogue change at once, also when
// a change in the same batch was rolled back.
func TestCatalogCacheFollowsChanges(t *testing.T) {
	f, ms := tiersFixture(t)
	ctx := context.Background()
	m := f.create(t, "acme", member.Member{DisplayName: "c", Phone: "13700000001"})
	f.order(t, "c1", m.ID, 50_000)
	// A change that fails after loading is rolled back and leaves nothing behind.
	_, err := f.store.UpdateCatalog(ctx, "acme", func(c *membership.Catalog) (membership.Result, []membership.Event, error) {
		return nil, nil, apperr.E(apperr.FailedPrecondition, "NOPE", "no")
	})
	if apperr.ReasonOf(err) != "NOPE" {
		t.Fatal(err)
	}
	if _, err := ms.UpdateTier(ctx, "acme", "silver", &membership.Tier{MinSpend: 60_000}, nil, []string{"min_spend_minor"}); err != nil {
		t.Fatal(err)
	}
	f.order(t, "c2", m.ID, 10_000)
	got, err := f.store.Get(ctx, "acme", m.ID, member.ViewRedacted)
	if err != nil || got.Tier != "silver" {
		t.Fatalf("after lowering silver: %v %v", got, err)
	}
}
