package loyalty_test

import (
	"fmt"
	"slices"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
	"google.golang.org/protobuf/proto"

	"github.com/huiyuan-dev/huiyuan/pkg/apperr"
	"github.com/huiyuan-dev/huiyuan/pkg/boltx"
	"github.com/huiyuan-dev/huiyuan/services/loyalty/internal/ledger"
	"github.com/huiyuan-dev/huiyuan/services/loyalty/internal/loyalty"

	storagev1 "github.com/huiyuan-dev/huiyuan/gen/huiyuan/loyalty/storage/v1"
)

func mustLoc(t *testing.T, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

func afterDays(n, notice int) func(p *loyalty.Policy) {
	return func(p *loyalty.Policy) {
		p.Expiry, p.ExpiringSoonDays = ledger.ExpiryPolicy{Kind: ledger.ExpireAfterDays, N: n}, notice
	}
}

// TestExpiryJob: holds time out, the expiring-soon notice goes out once, and lots expire at
// the right instant, exactly once, across a restart of the store.
func TestExpiryJob(t *testing.T) {
	e := newEnv(t)
	e.policy(t, "acme", afterDays(30, 7))
	e.order(t, "acme", "o1", "m1", 10_000) // 100 points
	e.adjust(t, "acme", "m2", 50)
	hold, err := e.svc.Hold(bg, "acme", "k", "m2", 20, time.Time{}, "")
	if err != nil {
		t.Fatal(err)
	}
	// Earned on 1 March (Shanghai), they last through 31 March: they expire at local midnight
	// starting 1 April, and the notice is due 7 days before.
	expiry := time.Date(2026, 4, 1, 0, 0, 0, 0, mustLoc(t, "Asia/Shanghai"))
	if b := e.balance(t, "acme", "m1"); len(b.Expiring) != 1 || !b.Expiring[0].ExpiresAt.Equal(expiry) {
		t.Fatalf("expiring %+v", b.Expiring)
	}
	steps := []struct {
		at   time.Time
		want loyalty.DueReport
	}{
		{t0.Add(10 * time.Minute), loyalty.DueReport{}},
		{t0.Add(15 * time.Minute), loyalty.DueReport{Books: 1, Transactions: 1}}, // the hold times out
		{expiry.Add(-7*24*time.Hour - time.Second), loyalty.DueReport{}},
		{expiry.Add(-7 * 24 * time.Hour), loyalty.DueReport{Books: 2, Notices: 2}},
		{expiry.Add(-time.Hour), loyalty.DueReport{}}, // no notice twice
	}
	for i, s := range steps {
		if got := e.due(t, s.at, 0); got != s.want {
			t.Fatalf("step %d at %s: %+v, want %+v", i, s.at, got, s.want)
		}
		if i == 1 {
			if _, err := e.svc.Release(bg, "acme", "k", "m2", hold.ID); apperr.ReasonOf(err) != ledger.ReasonHoldClosed {
				t.Fatalf("release after the timeout: %v", err)
			}
			if b := e.balance(t, "acme", "m2"); b.Available != 50 || b.Held != 0 {
				t.Fatalf("after the hold timed out %+v", b)
			}
		}
	}
	e.reopen(t) // the due work survives in the file
	e.clk.Set(expiry.Add(-time.Nanosecond))
	if b := e.balance(t, "acme", "m1"); b.Available != 100 {
		t.Fatalf("expired early %+v", b)
	}
	for i, s := range []struct {
		at   time.Time
		want loyalty.DueReport
	}{
		{expiry.Add(-time.Nanosecond), loyalty.DueReport{}},
		{expiry, loyalty.DueReport{Books: 2, Transactions: 2}},
		{expiry.Add(time.Hour), loyalty.DueReport{}},
	} {
		if got := e.due(t, s.at, 0); got != s.want {
			t.Fatalf("after restart, step %d: %+v, want %+v", i, got, s.want)
		}
	}
	for _, m := range []string{"m1", "m2"} {
		if b := e.balance(t, "acme", m); b.Available != 0 || len(b.Expiring) != 0 {
			t.Fatalf("%s after expiry %+v", m, b)
		}
	}
	evs := e.events(t, "acme")
	if count(evs, "points_expiring_soon") != 2 || count(evs, "points_expired") != 2 || count(evs, "points_released") != 1 {
		t.Fatalf("events %v", evs)
	}
	txns, _, err := e.svc.ListTransactions(bg, "acme", "m1", 0, "")
	if err != nil || txns[0].Kind != ledger.KindExpire || !txns[0].Time.Equal(expiry) || txns[0].Delta(ledger.Available) != -100 {
		t.Fatalf("history %v %+v", err, txns)
	}
	e.verify(t, "acme")
}

// TestPendingMaturity: points in a return window become available when it closes, posted by
// the job once.
func TestPendingMaturity(t *testing.T) {
	e := newEnv(t)
	e.policy(t, "acme", func(p *loyalty.Policy) { p.PendingDays = 7 })
	e.order(t, "acme", "o1", "m1", 10_000)
	if b := e.balance(t, "acme", "m1"); b.Pending != 100 || b.Available != 0 {
		t.Fatalf("pending %+v", b)
	}
	for i, s := range []struct {
		at   time.Time
		want int
	}{{t0.Add(7*24*time.Hour - time.Second), 0}, {t0.Add(7 * 24 * time.Hour), 1}, {t0.Add(8 * 24 * time.Hour), 0}} {
		if got := e.due(t, s.at, 0); got.Transactions != s.want {
			t.Fatalf("step %d: %+v, want %d transactions", i, got, s.want)
		}
	}
	if b := e.balance(t, "acme", "m1"); b.Pending != 0 || b.Available != 100 {
		t.Fatalf("after maturity %+v", b)
	}
	if n := count(e.events(t, "acme"), "points_matured"); n != 1 {
		t.Fatalf("%d points_matured events", n)
	}
	e.verify(t, "acme")
}

// dueIndex returns the due index as "nanos/tenant/member" strings, and the accounts' due times.
func dueIndex(t *testing.T, e *env) (index, accounts []string) {
	t.Helper()
	err := e.db.View(bg, func(tx *bolt.Tx) error {
		if err := tx.Bucket([]byte("loyalty_due")).ForEach(func(k, _ []byte) error {
			index = append(index, fmt.Sprintf("%d/%s", boltx.ParseU64(k[:8]), k[8:]))
			return nil
		}); err != nil {
			return err
		}
		return tx.Bucket([]byte("loyalty_accounts")).ForEach(func(k, v []byte) error {
			var rec storagev1.AccountRecord
			if err := proto.Unmarshal(v, &rec); err != nil {
				return err
			}
			if n := rec.GetDueTimeUnixNano(); n != 0 {
				accounts = append(accounts, fmt.Sprintf("%d/%s", n, k))
			}
			return nil
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(index)
	slices.Sort(accounts)
	return index, accounts
}

// TestDueIndexFollowsAccounts: every save moves the account's one due entry, and the job
// removes it once nothing is due.
func TestDueIndexFollowsAccounts(t *testing.T) {
	e := newEnv(t)
	e.policy(t, "acme", afterDays(10, 2))
	for i := range 3 {
		e.order(t, "acme", fmt.Sprint("o", i), fmt.Sprint("m", i%2), 10_000)
		e.clk.Advance(25 * time.Hour) // a new day: a later expiry
	}
	if _, err := e.svc.Hold(bg, "acme", "k", "m0", 10, time.Time{}, "c1"); err != nil {
		t.Fatal(err)
	}
	index, accounts := dueIndex(t, e)
	if len(index) != 2 || !slices.Equal(index, accounts) {
		t.Fatalf("index %v, accounts %v", index, accounts)
	}
	// m0's hold times out first: its entry is the hold's timeout.
	if want := fmt.Sprintf("%d/acme\x00m0", e.clk.Now().Add(15*time.Minute).UnixNano()); index[0] != want && index[1] != want {
		t.Fatalf("index %q lacks the hold timeout %q", index, want)
	}
	for day := range 20 {
		e.due(t, t0.Add(time.Duration(day)*24*time.Hour), 1)
		if index, accounts := dueIndex(t, e); !slices.Equal(index, accounts) {
			t.Fatalf("day %d: index %v, accounts %v", day, index, accounts)
		}
	}
	if index, _ := dueIndex(t, e); len(index) != 0 {
		t.Fatalf("nothing left to do, index %v", index)
	}
	types := e.events(t, "acme")
	if count(types, "points_expiring_soon") != 3 || count(types, "points_expired") != 3 {
		t.Fatalf("events %v", types)
	}
	e.verify(t, "acme")
}

// TestProcessDueBatches: many due accounts of several tenants are processed in batches, each
// once.
func TestProcessDueBatches(t *testing.T) {
	e := newEnv(t)
	const members = 150
	for _, tenant := range []string{"acme", "globex"} {
		e.policy(t, tenant, afterDays(1, 0))
		for i := range members {
			e.adjust(t, tenant, fmt.Sprint("m", i), 10)
		}
	}
	at := t0.Add(72 * time.Hour)
	var batches int
	var got loyalty.DueReport
	for after := []byte(nil); ; batches++ {
		rep, last, more, err := e.svc.ProcessDue(bg, nil, at, after, 64)
		if err != nil {
			t.Fatal(err)
		}
		got.Books += rep.Books
		got.Transactions += rep.Transactions
		if !more {
			break
		}
		after = last
	}
	if got.Books != 2*members || got.Transactions != 2*members || batches != 4 {
		t.Fatalf("%+v in %d batches", got, batches+1)
	}
	if rep := e.due(t, at, 64); rep.Books != 0 {
		t.Fatalf("second pass %+v", rep)
	}
	e.verify(t, "acme")
	e.verify(t, "globex")
}

// TestDueFailurePostpones: an account whose due work fails (its tenant's stored policy is
// damaged) is postponed by an hour and does not keep the job from the others.
func TestDueFailurePostpones(t *testing.T) {
	e := newEnv(t)
	for _, tenant := range []string{"acme", "broken"} {
		e.policy(t, tenant, afterDays(1, 0))
		e.adjust(t, tenant, "m1", 10)
	}
	var good []byte
	e.raw(t, func(tx *bolt.Tx) error {
		b := tx.Bucket([]byte("loyalty_policies"))
		good = append([]byte(nil), b.Get([]byte("broken"))...)
		raw, err := proto.Marshal(&storagev1.PolicyRecord{TimeZone: "Nowhere/City"})
		if err != nil {
			return err
		}
		return b.Put([]byte("broken"), raw)
	})
	at := t0.Add(72 * time.Hour)
	if rep := e.due(t, at, 0); rep.Books != 2 || rep.Failed != 1 || rep.Transactions != 1 {
		t.Fatalf("%+v", rep)
	}
	if rep := e.due(t, at.Add(59*time.Minute), 0); rep.Books != 0 {
		t.Fatalf("retried too soon: %+v", rep)
	}
	e.raw(t, func(tx *bolt.Tx) error { return tx.Bucket([]byte("loyalty_policies")).Put([]byte("broken"), good) })
	if rep := e.due(t, at.Add(time.Hour), 0); rep.Books != 1 || rep.Transactions != 1 || rep.Failed != 0 {
		t.Fatalf("retry: %+v", rep)
	}
	e.verify(t, "acme")
	e.verify(t, "broken")
}
