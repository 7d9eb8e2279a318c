package loyalty_test

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"reflect"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
	"google.golang.org/protobuf/proto"

	"github.com/huiyuan-dev/huiyuan/pkg/boltx"
	"github.com/huiyuan-dev/huiyuan/services/loyalty/internal/ledger"
	"github.com/huiyuan-dev/huiyuan/services/loyalty/internal/loyalty"

	storagev1 "github.com/huiyuan-dev/huiyuan/gen/huiyuan/loyalty/storage/v1"
)

// TestLotWindowChangesNothing runs the same 120 days of a daily-expiry program (orders,
// refunds, redemptions, holds captured and released, expiry, maturity and notices by the due
// job) on stores whose updates load a few lots of each account (the default, and one lot at
// each end) and on one whose updates load every lot, and checks after every step that
// members' balances, accounts and every answer agree; the stores are reopened now and then.
func TestLotWindowChangesNothing(t *testing.T) {
	const tenant, days = "t1", 120
	members := []string{"m1", "m2", "m3"}
	off := newEnvWindow(t, -1)
	envs := []*env{off, newEnvWindow(t, 0), newEnvWindow(t, 1)}
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
				b1, a1 := off.balance(t, tenant, m), account(t, off, tenant, m)
				for w, on := range envs[1:] {
					if b0 := on.balance(t, tenant, m); !reflect.DeepEqual(b0, b1) {
						t.Fatalf("day %d, %s, %s: balance with window %d %+v, with every lot %+v", day, what, m, w, b0, b1)
					}
					if a0 := account(t, on, tenant, m); !reflect.DeepEqual(a0, a1) {
						t.Fatalf("day %d, %s, %s: account with window %d\n%+v %+v\nwith every lot\n%+v %+v", day, what, m, w, a0, a0.Book, a1, a1.Book)
					}
				}
			}
		}
		for _, s := range steps {
			// Answers hold random ids (transactions, holds) and hashes over them: they are
			// compared through the state they leave and the errors they give.
			errs := make([]error, len(envs))
			for i, e := range envs {
				e.clk.Set(at.Add(time.Hour))
				_, errs[i] = s.do(e)
			}
			for i := range errs[1:] {
				if fmt.Sprint(errs[i+1]) != fmt.Sprint(errs[0]) {
					t.Fatalf("day %d, %s: with window %d %v, with every lot %v", day, s.name, i, errs[i+1], errs[0])
				}
			}
			same(s.name)
		}
		for _, e := range envs {
			e.due(t, at.Add(23*time.Hour), 2)
		}
		if day%25 == 24 {
			for _, e := range envs {
				e.reopen(t)
			}
		}
		same("the due job")
	}
	if n := len(account(t, off, tenant, "m1").Book.Lots); n < 30 {
		t.Fatalf("m1 has %d lots: too few for updates to leave most of them unread", n)
	}
	for _, e := range envs {
		e.verify(t, tenant)
	}
}

// TestLotsAfterRollback: a transaction that changed a long account's lots and then rolled
// back leaves nothing of its change, for reads or for the next write.
func TestLotsAfterRollback(t *testing.T) {
	const tenant = "t1"
	e := dailyMember(t, tenant)
	e.order(t, tenant, "o-last", "m1", 10_000)
	before := e.balance(t, tenant, "m1")
	abort := errors.New("abort")
	err := e.db.Update(bg, func(btx *bolt.Tx) error {
		if err := e.store.Apply(btx, tenant, func(tx loyalty.Tx) error {
			a, err := tx.Account("m1")
			if err != nil {
				return err
			}
			// A few of its lots loaded, one of them dropped.
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

// memberLots returns the lots bucket's records of member (key and value), in key order.
func memberLots(tb testing.TB, e *env, tenant, member string) [][2]string {
	tb.Helper()
	var out [][2]string
	if err := e.db.View(bg, func(tx *bolt.Tx) error {
		out = memberLotsTx(tx, tenant, member)
		return nil
	}); err != nil {
		tb.Fatal(err)
	}
	return out
}

// accountRecord returns member's stored AccountRecord.
func accountRecord(tb testing.TB, e *env, tenant, member string) *storagev1.AccountRecord {
	tb.Helper()
	rec := &storagev1.AccountRecord{}
	if err := e.db.View(bg, func(tx *bolt.Tx) error {
		return proto.Unmarshal(tx.Bucket([]byte("loyalty_accounts")).Get(boltx.Key(tenant, member)), rec)
	}); err != nil {
		tb.Fatal(err)
	}
	return rec
}

// TestLotsLayout: a member with a lot per day keeps its last two to four lots in its account
// record and the others under keys of their own; another order the same day writes none of
// those; and an account written before lots had keys (every lot in the record) reads whole and
// moves all but its last two lots out at its next write.
func TestLotsLayout(t *testing.T) {
	const tenant = "t1"
	e := dailyMember(t, tenant)
	whole := account(t, e, tenant, "m1")
	if n := len(whole.Book.Lots); n != 60 {
		t.Fatalf("m1 has %d lots, want one per day: 60", n)
	}
	before := memberLots(t, e, tenant, "m1")
	if rec := accountRecord(t, e, tenant, "m1"); len(rec.GetLots()) < 2 || len(rec.GetLots()) > 4 || len(before)+len(rec.GetLots()) != 60 ||
		rec.GetLots()[len(rec.GetLots())-1].GetId() != whole.Book.Lots[59].ID || !rec.GetLotsPrecede() {
		t.Fatalf("%d lots under their own keys and %d in the record; want the last 2 to 4 in the record, the others under keys", len(before), len(rec.GetLots()))
	}
	e.order(t, tenant, "o-again", "m1", 10_000)
	if after := memberLots(t, e, tenant, "m1"); !reflect.DeepEqual(after, before) {
		t.Fatalf("a second order of the day rewrote lots under their own keys: %d before, %d after", len(before), len(after))
	}
	balance := e.balance(t, tenant, "m1")

	// The layout before lots had keys: every lot in the record.
	rec := accountRecord(t, e, tenant, "m1")
	rec.Lots, rec.LotsPrecede = rec.Lots[:0], false
	for _, l := range account(t, e, tenant, "m1").Book.Lots {
		rec.Lots = append(rec.Lots, &storagev1.LotRecord{Id: l.ID, EarnTimeUnixNano: l.EarnedAt.UnixNano(),
			ExpireTimeUnixNano: l.ExpiresAt.UnixNano(), Points: l.Points, Remaining: l.Remaining})
	}
	if err := e.db.Update(bg, func(tx *bolt.Tx) error {
		lots := tx.Bucket([]byte("loyalty_lots"))
		for _, kv := range memberLotsTx(tx, tenant, "m1") {
			if err := lots.Delete([]byte(kv[0])); err != nil {
				return err
			}
		}
		raw, err := proto.Marshal(rec)
		if err != nil {
			return err
		}
		return tx.Bucket([]byte("loyalty_accounts")).Put(boltx.Key(tenant, "m1"), raw)
	}); err != nil {
		t.Fatal(err)
	}
	if got := e.balance(t, tenant, "m1"); !reflect.DeepEqual(got, balance) {
		t.Fatalf("the old layout reads %+v, want %+v", got, balance)
	}
	e.clk.Set(t0.Add(60 * 24 * time.Hour))
	e.order(t, tenant, "o-next-day", "m1", 10_000)
	if n, rec := len(memberLots(t, e, tenant, "m1")), accountRecord(t, e, tenant, "m1"); n != 59 || len(rec.GetLots()) != 2 {
		t.Fatalf("after the next write: %d lots under their own keys, %d in the record; want 59 and 2", n, len(rec.GetLots()))
	}
	if got := e.balance(t, tenant, "m1"); got.Available != balance.Available+100 {
		t.Fatalf("available %d, want %d", got.Available, balance.Available+100)
	}
	// From there the record takes the new days' lots up to four, then keeps the last two.
	for day := 61; day <= 65; day++ {
		e.clk.Set(t0.Add(time.Duration(day) * 24 * time.Hour))
		e.order(t, tenant, fmt.Sprintf("o%d", day), "m1", 10_000)
		want := 2 + (day-60)%3
		if got := len(accountRecord(t, e, tenant, "m1").GetLots()); got != want {
			t.Fatalf("day %d: %d lots in the record, want %d", day, got, want)
		}
	}
	e.verify(t, tenant)
}

// memberLotsTx is memberLots in tx.
func memberLotsTx(tx *bolt.Tx, tenant, member string) [][2]string {
	prefix := append(boltx.Key(tenant, member), 0)
	var out [][2]string
	c := tx.Bucket([]byte("loyalty_lots")).Cursor()
	for k, v := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
		out = append(out, [2]string{string(k), string(v)})
	}
	return out
}

// dailyMember returns an env whose tenant has a daily expiry (365 days) and whose member m1 has
// ordered once a day for 60 days, so its account has 60 lots.
func dailyMember(tb testing.TB, tenant string) *env {
	tb.Helper()
	e := newEnv(tb)
	e.policy(tb, tenant, func(p *loyalty.Policy) { p.Expiry = ledger.ExpiryPolicy{Kind: ledger.ExpireAfterDays, N: 365} })
	for day := range 60 {
		e.clk.Set(t0.Add(time.Duration(day) * 24 * time.Hour))
		e.order(tb, tenant, fmt.Sprintf("o%d", day), "m1", 10_000)
	}
	return e
}
