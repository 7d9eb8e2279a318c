package loyalty_test

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"reflect"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/huiyuan-dev/huiyuan/services/loyalty/internal/ledger"
	"github.com/huiyuan-dev/huiyuan/services/loyalty/internal/loyalty"
)

// TestAccountCacheChangesNothing runs the same 120 days of a daily-expiry program (orders,
// refunds, redemptions, holds captured and released, expiry and maturity by the due job) on a
// store with the account cache and one without, and checks after every day that members'
// balances, accounts and every answer agree; the cached store is reopened now and then, so
// what it wrote is read back without the cache too.
func TestAccountCacheChangesNothing(t *testing.T) {
	const tenant, days = "t1", 120
	members := []string{"m1", "m2", "m3"}
	on, off := newEnvCache(t, 0), newEnvCache(t, -1)
	envs := []*env{on, off}
	for _, e := range envs {
		e.policy(t, tenant, func(p *loyalty.Policy) {
			p.Expiry, p.PendingDays, p.ExpiringSoonDays = ledger.ExpiryPolicy{Kind: ledger.ExpireAfterDays, N: 45}, 2, 5
		})
	}
	rng := rand.New(rand.NewPCG(1, 2))
	orders := 0
	for day := range days {
		at := t0.Add(time.Duration(day) * 24 * time.Hour)
		type step struct {
			name string
			do   func(e *env) (any, error)
		}
		var steps []step
		for _, m := range members {
			for range 1 + rng.IntN(3) {
				orders++
				id, amount := fmt.Sprintf("o%d", orders), int64(500+rng.IntN(20_000))
				steps = append(steps, step{"order " + id, func(e *env) (any, error) {
					return e.svc.RecordOrder(bg, tenant, "key-1", loyalty.Order{ID: id, MemberID: m, AmountMinor: amount, Currency: "CNY"})
				}})
			}
			switch rng.IntN(6) {
			case 0:
				id, amount := fmt.Sprintf("o%d", 1+rng.IntN(orders)), int64(1+rng.IntN(10_000))
				steps = append(steps, step{"refund " + id, func(e *env) (any, error) { return e.svc.RefundOrder(bg, tenant, "key-1", id, amount) }})
			case 1:
				points := int64(1 + rng.IntN(400))
				steps = append(steps, step{"redeem", func(e *env) (any, error) { return e.svc.Redeem(bg, tenant, "key-1", m, points, "gift") }})
			case 2:
				points, capture := int64(1+rng.IntN(300)), rng.IntN(2) == 0
				steps = append(steps, step{"hold", func(e *env) (any, error) {
					h, err := e.svc.Hold(bg, tenant, "key-1", m, points, time.Time{}, "checkout")
					if err != nil {
						return nil, err
					}
					if capture {
						h, err = e.svc.Capture(bg, tenant, m, h.ID, points/2)
					} else {
						h, err = e.svc.Release(bg, tenant, "key-1", m, h.ID)
					}
					return h, err
				}})
			}
		}
		same := func(what string) {
			t.Helper()
			for _, m := range members {
				if b0, b1 := on.balance(t, tenant, m), off.balance(t, tenant, m); !reflect.DeepEqual(b0, b1) {
					t.Fatalf("day %d, %s, %s: balance with the cache %+v, without %+v", day, what, m, b0, b1)
				}
				if a0, a1 := account(t, on, tenant, m), account(t, off, tenant, m); !reflect.DeepEqual(a0, a1) {
					t.Fatalf("day %d, %s, %s: account with the cache\n%+v %+v\nwithout\n%+v %+v", day, what, m, a0, a0.Book, a1, a1.Book)
				}
			}
		}
		for _, s := range steps {
			// Answers hold random ids (transactions, holds) and hashes over them: they are
			// compared through the state they leave and the errors they give.
			var errs [2]error
			for i, e := range envs {
				e.clk.Set(at.Add(time.Hour))
				_, errs[i] = s.do(e)
			}
			if fmt.Sprint(errs[0]) != fmt.Sprint(errs[1]) {
				t.Fatalf("day %d, %s: with the cache %v, without %v", day, s.name, errs[0], errs[1])
			}
			same(s.name)
		}
		for _, e := range envs {
			e.due(t, at.Add(23*time.Hour), 2)
		}
		if day%25 == 24 {
			on.reopen(t)
		}
		same("the due job")
	}
	if n := len(account(t, on, tenant, "m1").Book.Lots); n < 30 {
		t.Fatalf("m1 has %d lots: too few for its account to be cached", n)
	}
	on.verify(t, tenant)
	off.verify(t, tenant)
}

// TestAccountCacheAfterRollback: a transaction that saved a long account and then rolled back
// leaves nothing of its change in use, for reads or for the next write.
func TestAccountCacheAfterRollback(t *testing.T) {
	const tenant = "t1"
	e := newEnv(t)
	e.policy(t, tenant, func(p *loyalty.Policy) { p.Expiry = ledger.ExpiryPolicy{Kind: ledger.ExpireAfterDays, N: 365} })
	for day := range 60 {
		e.clk.Set(t0.Add(time.Duration(day) * 24 * time.Hour))
		e.order(t, tenant, fmt.Sprintf("o%d", day), "m1", 10_000)
	}
	e.order(t, tenant, "o-last", "m1", 10_000) // the account is now in the cache
	before := e.balance(t, tenant, "m1")
	abort := errors.New("abort")
	err := e.db.Update(bg, func(btx *bolt.Tx) error {
		if err := e.store.Apply(btx, tenant, func(tx loyalty.Tx) error {
			a, err := tx.Account("m1")
			if err != nil {
				return err
			}
			// Still long: the change itself is cached before the rollback.
			a.Tier = "gold"
			a.Book.Lots = a.Book.Lots[1:]
			a.Book.Balances[ledger.Available] = 1
			tx.SaveAccount(a)
			return nil
		}); err != nil {
			return err
		}
		return abort
	})
	if !errors.Is(err, abort) {
		t.Fatalf("update: %v", err)
	}
	if a := account(t, e, tenant, "m1"); a.Tier != "" || len(a.Book.Lots) != 60 {
		t.Fatalf("after the rollback the account has tier %q and %d lots", a.Tier, len(a.Book.Lots))
	}
	if got := e.balance(t, tenant, "m1"); !reflect.DeepEqual(got, before) {
		t.Fatalf("balance after the rollback %+v, before %+v", got, before)
	}
	e.order(t, tenant, "o-after", "m1", 10_000)
	if got := e.balance(t, tenant, "m1"); got.Available != before.Available+100 {
		t.Fatalf("available after one more order: %d, want %d", got.Available, before.Available+100)
	}
	e.verify(t, tenant)
}

// account reads member's account as the store hands it to transactions, hold ids cleared
// (they are random) and empty lists nil.
func account(tb testing.TB, e *env, tenant, member string) *loyalty.Account {
	tb.Helper()
	var out *loyalty.Account
	if err := e.store.View(bg, tenant, func(v loyalty.View) error {
		a, err := v.Account(member)
		out = a.Clone()
		return err
	}); err != nil {
		tb.Fatal(err)
	}
	b := out.Book
	for i := range b.Holds {
		b.Holds[i].ID = ""
	}
	// A decoded account has nil for an empty list, one the domain emptied has an empty slice.
	if len(b.Lots) == 0 {
		b.Lots = nil
	}
	if len(b.Holds) == 0 {
		b.Holds = nil
	}
	if len(b.RecentTransfers) == 0 {
		b.RecentTransfers = nil
	}
	return out
}
