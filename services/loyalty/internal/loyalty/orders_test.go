package loyalty_test

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/huiyuan-dev/huiyuan/pkg/apperr"
	"github.com/huiyuan-dev/huiyuan/pkg/idempotency"
	"github.com/huiyuan-dev/huiyuan/services/loyalty/internal/ledger"
	"github.com/huiyuan-dev/huiyuan/services/loyalty/internal/loyalty"
)

func order(id, member string, amount int64) loyalty.Order {
	return loyalty.Order{ID: id, MemberID: member, AmountMinor: amount, Currency: "CNY"}
}

// withKey returns a context carrying a request_id, as the interceptor would.
func withKey(id string, hash byte) context.Context {
	return idempotency.NewContext(bg, idempotency.Key{Tenant: "acme", Method: "/m/" + id, RequestID: id, Hash: [32]byte{hash}})
}

// TestConcurrentSameOrder races 50 recordings of one order id: all get the first answer, and
// the points are earned once, announced by one event.
func TestConcurrentSameOrder(t *testing.T) {
	e := newEnv(t)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var answers []*loyalty.Order
	for range 50 {
		wg.Go(func() {
			o, err := e.svc.RecordOrder(bg, "acme", "k", order("o1", "m1", 10_000))
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
		if a.PointsEarned != 100 || !a.CreateTime.Equal(answers[0].CreateTime) || a.Sequence != 1 {
			t.Fatalf("answer %+v", a)
		}
	}
	if b := e.balance(t, "acme", "m1"); b.Available != 100 {
		t.Fatalf("balance %+v", b)
	}
	if got := e.events(t, "acme"); !slices.Equal(got, []string{"order_recorded"}) {
		t.Fatalf("events %v", got)
	}
}

// TestTenantIsolation: the same ids in two tenants are two orders, two books and two chains.
func TestTenantIsolation(t *testing.T) {
	e := newEnv(t)
	for i, tenant := range []string{"acme", "globex"} {
		e.order(t, tenant, "o1", "m1", int64(i+1)*10_000)
	}
	for i, tenant := range []string{"acme", "globex"} {
		if b := e.balance(t, tenant, "m1"); b.Available != int64(i+1)*100 {
			t.Fatalf("%s balance %+v", tenant, b)
		}
		txns, _, err := e.svc.ListTransactions(bg, tenant, "m1", 10, "")
		if err != nil || len(txns) != 1 || txns[0].Sequence != 1 {
			t.Fatalf("%s history %v %+v", tenant, err, txns)
		}
		if r := e.verify(t, tenant); r.Transactions != 1 || r.Members != 1 {
			t.Fatalf("%s verify %+v", tenant, r)
		}
	}
	if _, err := e.svc.GetOrder(bg, "initech", "o1"); apperr.ReasonOf(err) != loyalty.ReasonOrderNotFound {
		t.Fatalf("a third tenant sees the order: %v", err)
	}
}

// TestRecordOrders: a batch records each order on its own, idempotent by id; a bad order fails
// alone; a retried batch records nothing twice.
func TestRecordOrders(t *testing.T) {
	e := newEnv(t)
	e.order(t, "acme", "before", "m1", 500)
	batch := []loyalty.Order{
		order("b1", "m1", 10_000),
		order("b2", "m2", 20_000),
		{ID: "bad id", AmountMinor: -1, Currency: "cny"},
		order("before", "m1", 500),   // recorded before: answered as recorded
		order("before", "m1", 600),   // the same id with other content
		order("b1", "m1", 10_000),    // twice in one batch: the first records it
		order("guest", "", 9_900),    // a non-member's order earns nothing
		order("b3", "m1", 1_000_000), // the same member again in the batch
	}
	ctx := withKey("batch-1", 1)
	res, err := e.svc.RecordOrders(ctx, "acme", "k", batch, 10)
	if err != nil {
		t.Fatal(err)
	}
	type want struct {
		points int64
		reason string
		fields []string
	}
	wants := []want{{points: 100}, {points: 200}, {reason: "INVALID_ARGUMENT",
		fields: []string{"orders[12].id", "orders[12].amount_minor", "orders[12].currency"}}, {points: 5},
		{reason: loyalty.ReasonOrderExists, fields: []string{"orders[14].id"}}, {points: 100}, {points: 0}, {points: 10_000}}
	check := func(res *loyalty.BatchResult) {
		t.Helper()
		for i, w := range wants {
			o := res.Outcomes[i]
			if w.reason != "" {
				if apperr.ReasonOf(o.Err) != w.reason || !slices.Equal(violations(o.Err), w.fields) {
					t.Fatalf("order %d: %v %v, want %s %v", i, o.Err, violations(o.Err), w.reason, w.fields)
				}
				continue
			}
			if o.Err != nil || o.Order.PointsEarned != w.points || o.Order.ID != batch[i].ID {
				t.Fatalf("order %d: %+v %v, want %d points", i, o.Order, o.Err, w.points)
			}
		}
	}
	check(res)
	e.clk.Advance(time.Minute)
	again, err := e.svc.RecordOrders(ctx, "acme", "k", batch, 10)
	if err != nil {
		t.Fatal(err)
	}
	check(again)
	if _, err := e.svc.RecordOrders(withKey("batch-1", 2), "acme", "k", batch[:1], 0); apperr.ReasonOf(err) != idempotency.ReasonRequestIDReused {
		t.Fatalf("a reused request_id: %v", err)
	}
	if b := e.balance(t, "acme", "m1"); b.Available != 5+100+10_000 {
		t.Fatalf("m1 %+v", b)
	}
	if n := count(e.events(t, "acme"), "order_recorded"); n != 5 { // before, b1, b2, guest, b3
		t.Fatalf("%d order_recorded events, want 5", n)
	}
	e.verify(t, "acme")
	for _, n := range []int{0, loyalty.MaxBatch + 1} {
		_, err := e.svc.RecordOrders(bg, "acme", "k", make([]loyalty.Order, n), 0)
		if !slices.Equal(violations(err), []string{"orders"}) {
			t.Fatalf("%d orders: %v", n, err)
		}
	}
}

// TestRecordOrdersConcurrently hammers one member with batches from many goroutines: every
// order earns once, the balance is their sum, and the books verify.
func TestRecordOrdersConcurrently(t *testing.T) {
	e := newEnv(t)
	const workers, batches, size = 16, 8, 25
	var wg sync.WaitGroup
	for g := range workers {
		wg.Go(func() {
			for b := range batches {
				orders := make([]loyalty.Order, size)
				for i := range orders {
					// Half the ids repeat another worker's, so retries race recordings.
					orders[i] = order(fmt.Sprintf("o-%d-%d-%d", g%(workers/2), b, i), fmt.Sprintf("m%d", i%3), 10_000)
				}
				res, err := e.svc.RecordOrders(bg, "acme", "k", orders, 0)
				if err != nil {
					t.Error(err)
					return
				}
				for _, o := range res.Outcomes {
					if o.Err != nil || o.Order.PointsEarned != 100 {
						t.Errorf("outcome %+v", o)
						return
					}
				}
			}
		})
	}
	wg.Wait()
	var total int64
	for m := range 3 {
		total += e.balance(t, "acme", fmt.Sprintf("m%d", m)).Available
	}
	if want := int64(workers/2*batches*size) * 100; total != want {
		t.Fatalf("points %d, want %d", total, want)
	}
	e.verify(t, "acme")
}

// TestIdempotentReplayAcrossOperations: each mutation answers a retried request_id from what it
// stored without acting again, whatever changed meanwhile.
func TestIdempotentReplayAcrossOperations(t *testing.T) {
	e := newEnv(t)
	if _, err := e.svc.Adjust(withKey("a", 1), "acme", "admin", "m1", 100, "seed"); err != nil {
		t.Fatal(err)
	}
	r1, err := e.svc.Redeem(withKey("r", 1), "acme", "k", "m1", 30, "")
	if err != nil {
		t.Fatal(err)
	}
	e.clk.Advance(time.Minute)
	r2, err := e.svc.Redeem(withKey("r", 1), "acme", "k", "m1", 30, "")
	if err != nil || r2.ID != r1.ID || r2.Hash != r1.Hash || !r2.Time.Equal(r1.Time) || r2.AvailableAfter != 70 {
		t.Fatalf("redeem replay %v %+v", err, r2)
	}
	if _, err := e.svc.Redeem(withKey("r", 2), "acme", "k", "m1", 30, ""); apperr.ReasonOf(err) != idempotency.ReasonRequestIDReused {
		t.Fatalf("reused id: %v", err)
	}
	h1, err := e.svc.Hold(withKey("h", 1), "acme", "k", "m1", 20, time.Time{}, "c")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.Capture(bg, "acme", "m1", h1.ID, 5); err != nil {
		t.Fatal(err)
	}
	h2, err := e.svc.Hold(withKey("h", 1), "acme", "k", "m1", 20, time.Time{}, "c")
	if err != nil || h2.ID != h1.ID || h2.Status != ledger.HoldOpen {
		t.Fatalf("hold replay (the first answer, not the hold as it is now) %v %+v", err, h2)
	}
	o1, err := e.svc.RecordOrder(withKey("o", 1), "acme", "k", order("o1", "m1", 500))
	if err != nil {
		t.Fatal(err)
	}
	f1, err := e.svc.RefundOrder(withKey("f", 1), "acme", "k", "o1", 200)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.RefundOrder(bg, "acme", "k", "o1", 300); err != nil {
		t.Fatal(err)
	}
	if f2, err := e.svc.RefundOrder(withKey("f", 1), "acme", "k", "o1", 200); err != nil || f2.Order.RefundedMinor != 200 ||
		f2.PointsReversed != f1.PointsReversed || f2.Sequence != f1.Sequence {
		t.Fatalf("refund replay %v %+v, first %+v", err, f2, f1)
	}
	if o2, err := e.svc.RecordOrder(withKey("o", 1), "acme", "k", order("o1", "m1", 500)); err != nil || o2.RefundedMinor != 0 ||
		o2.PointsEarned != o1.PointsEarned || o2.Sequence != o1.Sequence {
		t.Fatalf("order replay %v %+v", err, o2)
	}
	tr1, err := e.svc.Transfer(withKey("t", 1), "acme", "k", "m1", "m2", 10, "")
	if err != nil {
		t.Fatal(err)
	}
	if tr2, err := e.svc.Transfer(withKey("t", 1), "acme", "k", "m1", "m2", 10, ""); err != nil || tr2.Sent.ID != tr1.Sent.ID ||
		tr2.Received.ID != tr1.Received.ID {
		t.Fatalf("transfer replay %v %+v", err, tr2)
	}
	c1, err := e.svc.CheckIn(withKey("c", 1), "acme", "k", "m1")
	if err != nil {
		t.Fatal(err)
	}
	if c2, err := e.svc.CheckIn(withKey("c", 1), "acme", "k", "m1"); err != nil || c2.Points != c1.Points || c2.Streak != 1 ||
		c2.Txn.ID != c1.Txn.ID {
		t.Fatalf("check-in replay %v %+v", err, c2)
	}
	// 100 adjusted, 30 redeemed, 5 captured, 5 earned and reversed, 10 sent, 5 checked in.
	if b := e.balance(t, "acme", "m1"); b.Available != 100-30-5+5-5-10+5 || b.Held != 0 {
		t.Fatalf("balance %+v", b)
	}
	e.verify(t, "acme")
}

// TestRefund: partial refunds reverse proportional points, the limit is the order's amount,
// and a refund of a non-member's order is recorded without points.
func TestRefund(t *testing.T) {
	e := newEnv(t)
	e.order(t, "acme", "o1", "m1", 12_345)
	e.order(t, "acme", "guest", "", 5_000)
	r1, err := e.svc.RefundOrder(bg, "acme", "k", "o1", 4115)
	if err != nil || r1.PointsReversed != 41 || r1.Order.RefundedMinor != 4115 {
		t.Fatalf("refund 1: %v %+v", err, r1)
	}
	_, err = e.svc.RefundOrder(bg, "acme", "k", "o1", 8231)
	if apperr.ReasonOf(err) != ledger.ReasonRefundExceedsOrder || !slices.Equal(violations(err), []string{"amount_minor"}) {
		t.Fatalf("over-refund: %v", err)
	}
	r2, err := e.svc.RefundOrder(bg, "acme", "k", "o1", 8230)
	if err != nil || r2.PointsReversed != 82 || r2.Order.PointsReversed != 123 || r2.Order.RefundedMinor != 12_345 {
		t.Fatalf("refund 2: %v %+v", err, r2)
	}
	if _, err := e.svc.RefundOrder(bg, "acme", "k", "guest", 5_000); err != nil {
		t.Fatal(err)
	}
	_, err = e.svc.RefundOrder(bg, "acme", "k", "guest", 1)
	if apperr.ReasonOf(err) != ledger.ReasonRefundExceedsOrder {
		t.Fatalf("a refund beyond a guest order: %v", err)
	}
	if o, err := e.svc.GetOrder(bg, "acme", "o1"); err != nil || o.RefundedMinor != 12_345 || o.PointsReversed != 123 || o.RefundCount != 2 {
		t.Fatalf("order after refunds %v %+v", err, o)
	}
	want := []string{"order_recorded", "order_recorded", "order_refunded", "order_refunded", "order_refunded"}
	if got := e.events(t, "acme"); !slices.Equal(got, want) {
		t.Fatalf("events %v, want %v", got, want)
	}
	if r := e.verify(t, "acme"); r.Entries != 5 || r.Transactions != 3 {
		t.Fatalf("verify %+v", r)
	}
}

// TestRefundDebtRepaidFirst: under FULL_WITH_DEBT, a refund that books debt while the member's
// points are held or pending is repaid by them when they come back (the hold released, the
// points matured): the member never has points to spend while owing.
func TestRefundDebtRepaidFirst(t *testing.T) {
	tests := []struct {
		name    string
		pending int
		run     func(t *testing.T, e *env) // orders, the refund of o1, and the points coming back
	}{
		{"held points released", 0, func(t *testing.T, e *env) {
			e.order(t, "acme", "o1", "m1", 10_000) // 100 points
			h, err := e.svc.Hold(bg, "acme", "k", "m1", 100, time.Time{}, "checkout")
			if err != nil {
				t.Fatal(err)
			}
			if _, err := e.svc.RefundOrder(bg, "acme", "k", "o1", 10_000); err != nil {
				t.Fatal(err)
			}
			if _, err := e.svc.Release(bg, "acme", "k", "m1", h.ID); err != nil {
				t.Fatal(err)
			}
		}},
		{"pending points mature", 7, func(t *testing.T, e *env) {
			e.order(t, "acme", "o1", "m1", 10_000) // 100 pending
			e.due(t, t0.Add(8*24*time.Hour), 0)    // o1 matures
			if _, err := e.svc.Redeem(bg, "acme", "k", "m1", 100, ""); err != nil {
				t.Fatal(err)
			}
			e.order(t, "acme", "o2", "m1", 10_000) // 100 pending
			if _, err := e.svc.RefundOrder(bg, "acme", "k", "o1", 10_000); err != nil {
				t.Fatal(err)
			}
			e.due(t, t0.Add(16*24*time.Hour), 0) // o2 matures
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			e.policy(t, "acme", func(p *loyalty.Policy) { p.Refund = ledger.RefundFullWithDebt; p.PendingDays = tc.pending })
			tc.run(t, e)
			if b := e.balance(t, "acme", "m1"); b.Available != 0 || b.Owed != 0 || b.Held != 0 || b.Pending != 0 {
				t.Fatalf("balance %+v: the points that came back should have repaid the 100 owed", b)
			}
			e.verify(t, "acme")
		})
	}
}
