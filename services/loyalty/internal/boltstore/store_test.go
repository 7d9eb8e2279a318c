package boltstore_test

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
	"google.golang.org/protobuf/proto"

	"github.com/huiyuan-dev/huiyuan/pkg/apperr"
	"github.com/huiyuan-dev/huiyuan/pkg/boltx"
	"github.com/huiyuan-dev/huiyuan/pkg/idempotency"
	"github.com/huiyuan-dev/huiyuan/services/loyalty/internal/ledger"
	"github.com/huiyuan-dev/huiyuan/services/loyalty/internal/loyalty"

	storagev1 "github.com/huiyuan-dev/huiyuan/gen/huiyuan/loyalty/storage/v1"
)

func order(id, member string, amount int64) loyalty.Order {
	return loyalty.Order{ID: id, MemberID: member, AmountMinor: amount, Currency: "CNY"}
}

// TestConcurrentSameOrder races 50 recordings of one order id: all get the first answer, and
// the points are earned once.
func TestConcurrentSameOrder(t *testing.T) {
	f := newFixture(t, fixtureOpts{})
	ctx := context.Background()
	var wg sync.WaitGroup
	var mu sync.Mutex
	var answers []loyalty.Order
	for range 50 {
		wg.Go(func() {
			o, err := f.store.RecordOrder(ctx, "acme", order("o1", "m1", 10_000), "k")
			if err != nil {
				t.Error(err)
				return
			}
			mu.Lock()
			answers = append(answers, o)
			mu.Unlock()
		})
	}
	wg.Wait()
	for _, a := range answers {
		if a.PointsEarned != 100 || !a.CreateTime.Equal(answers[0].CreateTime) {
			t.Fatalf("answer %+v", a)
		}
	}
	b, err := f.store.Balance(ctx, "acme", "m1")
	if err != nil || b.Available != 100 {
		t.Fatalf("balance %v %+v", err, b)
	}
	if got := f.eventTypes(t, "acme"); !slices.Equal(got, []string{"order_recorded", "points_earned"}) {
		t.Fatalf("events %v", got)
	}
}

// TestTenantIsolation: the same ids in two tenants are two orders, two books and two chains.
func TestTenantIsolation(t *testing.T) {
	f := newFixture(t, fixtureOpts{})
	ctx := context.Background()
	for i, tenant := range []string{"acme", "globex"} {
		if _, err := f.store.RecordOrder(ctx, tenant, order("o1", "m1", int64(i+1)*10_000), "k"); err != nil {
			t.Fatal(err)
		}
	}
	for i, tenant := range []string{"acme", "globex"} {
		b, err := f.store.Balance(ctx, tenant, "m1")
		if err != nil || b.Available != int64(i+1)*100 {
			t.Fatalf("%s balance %v %+v", tenant, err, b)
		}
		txns, _, err := f.store.ListTransactions(ctx, tenant, "m1", 10, "")
		if err != nil || len(txns) != 1 || txns[0].Sequence != 1 {
			t.Fatalf("%s history %v %+v", tenant, err, txns)
		}
		rep, err := f.store.Verify(ctx, tenant)
		if err != nil || !rep.OK || rep.Transactions != 1 || rep.Members != 1 {
			t.Fatalf("%s verify %v %+v", tenant, err, rep)
		}
	}
	if _, err := f.store.GetOrder(ctx, "initech", "o1"); apperr.ReasonOf(err) != loyalty.ReasonOrderNotFound {
		t.Fatalf("third tenant sees the order: %v", err)
	}
}

// dueEntries returns the due index as "tenant/member" strings, and the books' due fields.
func dueEntries(t *testing.T, f *fixture) (index, books []string) {
	t.Helper()
	err := f.db.View(context.Background(), func(tx *bolt.Tx) error {
		if err := tx.Bucket([]byte("loyalty_due")).ForEach(func(k, _ []byte) error {
			index = append(index, fmt.Sprintf("%d/%s", boltx.ParseU64(k[:8]), k[8:]))
			return nil
		}); err != nil {
			return err
		}
		return tx.Bucket([]byte("loyalty_books")).ForEach(func(k, v []byte) error {
			var rec storagev1.BookRecord
			if proto.Unmarshal(v, &rec) != nil || rec.GetMemberId() == "" {
				return nil // a history entry
			}
			if n := rec.GetDueTimeUnixNano(); n != 0 {
				books = append(books, fmt.Sprintf("%d/%s", n, k))
			}
			return nil
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(index)
	slices.Sort(books)
	return index, books
}

// TestDueIndexFollowsBooks: every save moves the book's one due entry, and the job removes it
// once nothing is due.
func TestDueIndexFollowsBooks(t *testing.T) {
	f := newFixture(t, fixtureOpts{expiry: ledger.ExpiryPolicy{Kind: ledger.ExpireAfterDays, N: 10}, notice: 48 * time.Hour})
	ctx := context.Background()
	for i := range 3 {
		if _, err := f.store.RecordOrder(ctx, "acme", order(fmt.Sprint("o", i), fmt.Sprint("m", i%2), 10_000), "k"); err != nil {
			t.Fatal(err)
		}
		f.clk.Advance(25 * time.Hour) // a new day: a later expiry
	}
	if _, err := f.store.Hold(ctx, "acme", "m0", 10, time.Time{}, "c1", "k"); err != nil {
		t.Fatal(err)
	}
	index, books := dueEntries(t, f)
	if len(index) != 2 || !slices.Equal(index, books) {
		t.Fatalf("index %v, books %v", index, books)
	}
	// m0's hold times out first: its entry is the hold's timeout.
	if want := fmt.Sprintf("%d/acme\x00m0", f.clk.Now().Add(15*time.Minute).UnixNano()); index[0] != want && index[1] != want {
		t.Fatalf("index %q lacks the hold timeout %q", index, want)
	}
	for day := range 20 {
		at := t0.Add(time.Duration(day) * 24 * time.Hour)
		f.clk.Set(at)
		for after := []byte(nil); ; {
			_, last, more, err := f.store.ProcessDue(ctx, at, after, 1)
			if err != nil {
				t.Fatal(err)
			}
			if !more {
				break
			}
			after = last
		}
		index, books := dueEntries(t, f)
		if !slices.Equal(index, books) {
			t.Fatalf("day %d: index %v, books %v", day, index, books)
		}
	}
	if index, _ := dueEntries(t, f); len(index) != 0 {
		t.Fatalf("nothing left to do, index %v", index)
	}
	for _, m := range []string{"m0", "m1"} {
		if b, _ := f.store.Balance(ctx, "acme", m); b.Available != 0 {
			t.Fatalf("%s still has %+v", m, b)
		}
	}
	types := f.eventTypes(t, "acme")
	if n := countOf(types, "points_expiring_soon"); n != 3 {
		t.Fatalf("%d notices in %v", n, types)
	}
	if n := countOf(types, "points_expired"); n != 3 {
		t.Fatalf("%d expiries in %v", n, types)
	}
	rep, err := f.store.Verify(ctx, "acme")
	if err != nil || !rep.OK {
		t.Fatalf("verify %v %+v", err, rep)
	}
}

func countOf(s []string, v string) int {
	n := 0
	for _, x := range s {
		if x == v {
			n++
		}
	}
	return n
}

// TestProcessDueBatches: many due books are processed in batches, each once.
func TestProcessDueBatches(t *testing.T) {
	f := newFixture(t, fixtureOpts{expiry: ledger.ExpiryPolicy{Kind: ledger.ExpireAfterDays, N: 1}})
	ctx := context.Background()
	const members = 150
	for i := range members {
		if _, err := f.store.Adjust(ctx, "acme", fmt.Sprint("m", i), 10, "seed", "admin"); err != nil {
			t.Fatal(err)
		}
	}
	at := t0.Add(72 * time.Hour)
	var books, txns, batches int
	for after := []byte(nil); ; batches++ {
		rep, last, more, err := f.store.ProcessDue(ctx, at, after, 64)
		if err != nil {
			t.Fatal(err)
		}
		books += rep.Books
		txns += rep.Transactions
		if !more {
			break
		}
		after = last
	}
	if books != members || txns != members || batches != 2 {
		t.Fatalf("%d books, %d transactions in %d batches", books, txns, batches+1)
	}
	if rep, _, _, err := f.store.ProcessDue(ctx, at, nil, 64); err != nil || rep.Books != 0 {
		t.Fatalf("second pass %v %+v", err, rep)
	}
}

// TestIdempotentReplayAcrossOperations: each mutation answers a retried request_id from its
// stored result without acting again.
func TestIdempotentReplayAcrossOperations(t *testing.T) {
	f := newFixture(t, fixtureOpts{})
	key := func(id string, h byte) context.Context {
		return idempotency.NewContext(context.Background(), idempotency.Key{Tenant: "acme", Method: "/m/" + id, RequestID: id, Hash: [32]byte{h}})
	}
	if _, err := f.store.Adjust(key("a", 1), "acme", "m1", 100, "seed", "admin"); err != nil {
		t.Fatal(err)
	}
	r1, err := f.store.Redeem(key("r", 1), "acme", "m1", 30, "", "k")
	if err != nil {
		t.Fatal(err)
	}
	f.clk.Advance(time.Minute)
	r2, err := f.store.Redeem(key("r", 1), "acme", "m1", 30, "", "k")
	if err != nil || r2.ID != r1.ID || r2.Hash != r1.Hash || !r2.Time.Equal(r1.Time) {
		t.Fatalf("redeem replay %v %+v", err, r2)
	}
	if _, err := f.store.Redeem(key("r", 2), "acme", "m1", 30, "", "k"); apperr.ReasonOf(err) != idempotency.ReasonRequestIDReused {
		t.Fatalf("reused id: %v", err)
	}
	h1, err := f.store.Hold(key("h", 1), "acme", "m1", 20, time.Time{}, "c", "k")
	if err != nil {
		t.Fatal(err)
	}
	h2, err := f.store.Hold(key("h", 1), "acme", "m1", 20, time.Time{}, "c", "k")
	if err != nil || h2.ID != h1.ID {
		t.Fatalf("hold replay %v %+v", err, h2)
	}
	if _, err := f.store.RecordOrder(key("o", 1), "acme", order("o1", "m1", 500), "k"); err != nil {
		t.Fatal(err)
	}
	if _, err := f.store.RefundOrder(key("f", 1), "acme", "o1", 500, "k"); err != nil {
		t.Fatal(err)
	}
	if r, err := f.store.RefundOrder(key("f", 1), "acme", "o1", 500, "k"); err != nil || r.Order.RefundedMinor != 500 {
		t.Fatalf("refund replay %v %+v", err, r)
	}
	b, err := f.store.Balance(context.Background(), "acme", "m1")
	if err != nil || b.Available != 50 || b.Held != 20 {
		t.Fatalf("balance %v %+v", err, b)
	}
	rep, err := f.store.Verify(context.Background(), "acme")
	if err != nil || !rep.OK || rep.Transactions != 5 {
		t.Fatalf("verify %v %+v", err, rep)
	}
}

// FuzzListTransactionsToken: a page token from a client never panics the store; it is either
// accepted or refused as INVALID_PAGE_TOKEN.
func FuzzListTransactionsToken(f *testing.F) {
	fx := newFixture(f, fixtureOpts{})
	ctx := context.Background()
	for i := range 5 {
		if _, err := fx.store.Adjust(ctx, "acme", "m1", int64(i+1), "seed", "admin"); err != nil {
			f.Fatal(err)
		}
	}
	_, tok, err := fx.store.ListTransactions(ctx, "acme", "m1", 2, "")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(tok)
	f.Add("")
	f.Add("AAAA")
	f.Add("YWNtZQBtMQA")
	var calls atomic.Int64
	f.Fuzz(func(t *testing.T, token string) {
		calls.Add(1)
		txns, _, err := fx.store.ListTransactions(ctx, "acme", "m1", 2, token)
		if err != nil {
			if apperr.ReasonOf(err) != boltx.ReasonInvalidPageToken {
				t.Fatalf("token %q: %v", token, err)
			}
			return
		}
		for _, x := range txns {
			if x.MemberID != "m1" {
				t.Fatalf("token %q returned %+v", token, x)
			}
		}
	})
}

// TestDueFailurePostpones: a book whose due work fails is postponed by an hour and does not
// keep the job from the others.
func TestDueFailurePostpones(t *testing.T) {
	f := newFixture(t, fixtureOpts{expiry: ledger.ExpiryPolicy{Kind: ledger.ExpireAfterDays, N: 1}})
	ctx := context.Background()
	for _, tenant := range []string{"acme", "broken"} {
		if _, err := f.store.Adjust(ctx, tenant, "m1", 10, "seed", "admin"); err != nil {
			t.Fatal(err)
		}
	}
	f.broken.Store(true)
	at := t0.Add(72 * time.Hour)
	rep, _, _, err := f.store.ProcessDue(ctx, at, nil, 0)
	if err != nil || rep.Books != 2 || rep.Failed != 1 || rep.Transactions != 1 {
		t.Fatalf("%v %+v", err, rep)
	}
	if rep, _, _, _ := f.store.ProcessDue(ctx, at.Add(59*time.Minute), nil, 0); rep.Books != 0 {
		t.Fatalf("retried too soon: %+v", rep)
	}
	f.broken.Store(false)
	if rep, _, _, _ := f.store.ProcessDue(ctx, at.Add(time.Hour), nil, 0); rep.Books != 1 || rep.Transactions != 1 || rep.Failed != 0 {
		t.Fatalf("retry: %+v", rep)
	}
	for _, tenant := range []string{"acme", "broken"} {
		if r, err := f.store.Verify(ctx, tenant); err != nil || !r.OK {
			t.Fatalf("%s: %v %+v", tenant, err, r)
		}
	}
}
