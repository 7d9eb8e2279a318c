package loyalty_test

import (
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/huiyuan-dev/huiyuan/pkg/apperr"
	"github.com/huiyuan-dev/huiyuan/services/loyalty/internal/loyalty"
)

// setStatus applies a status the member service's events reported, in a transaction of its
// own as the consumer does.
func (e *env) setStatus(tb testing.TB, tenant, member string, st loyalty.MemberStatus) {
	tb.Helper()
	if err := e.w.Update(bg, func(tx *bolt.Tx) error {
		return e.store.Apply(tx, tenant, func(t loyalty.Tx) error { return loyalty.SetMemberStatus(t, member, st) })
	}); err != nil {
		tb.Fatal(err)
	}
}

// memberOps are the operations that need an ACTIVE member, each as a call on member m (and, for
// a transfer, the field its check names).
var memberOps = []struct {
	name  string
	field string
	call  func(e *env, m string) error // the reward is e.reward
}{
	{"order", "order.member_id", func(e *env, m string) error {
		_, err := e.svc.RecordOrder(bg, "acme", "k", order(fmt.Sprintf("o-%s-%d", m, e.clk.Now().Unix()), m, 10_000))
		return err
	}},
	{"batch", "orders[0].member_id", func(e *env, m string) error {
		r, err := e.svc.RecordOrders(bg, "acme", "k", []loyalty.Order{order(fmt.Sprintf("b-%s-%d", m, e.clk.Now().Unix()), m, 10_000)}, 0)
		if err != nil {
			return err
		}
		return r.Outcomes[0].Err
	}},
	{"redeem", "member_id", func(e *env, m string) error {
		_, err := e.svc.Redeem(bg, "acme", "k", m, 1, "")
		return err
	}},
	{"hold", "member_id", func(e *env, m string) error {
		_, err := e.svc.Hold(bg, "acme", "k", m, 1, time.Time{}, "")
		return err
	}},
	{"transfer from", "member_id", func(e *env, m string) error {
		_, err := e.svc.Transfer(bg, "acme", "k", m, "rich", 1, "")
		return err
	}},
	{"transfer to", "to_member_id", func(e *env, m string) error {
		_, err := e.svc.Transfer(bg, "acme", "k", "rich", m, 1, "")
		return err
	}},
	{"check-in", "member_id", func(e *env, m string) error {
		_, err := e.svc.CheckIn(bg, "acme", "k", m)
		return err
	}},
	{"reward", "member_id", func(e *env, m string) error {
		_, err := e.svc.RedeemReward(bg, "acme", "k", m, e.reward, 1)
		return err
	}},
}

// memberEnv is an env whose tenant allows transfers and sells a reward, with a member "rich"
// who has points; statuses of other members are set per test.
func memberEnv(t *testing.T) *env {
	e := newEnv(t)
	e.policy(t, "acme", func(p *loyalty.Policy) { p.TransferLimitPoints, p.TransferWindowDays = 1000, 30 })
	r, err := e.svc.CreateReward(bg, "acme", loyalty.Reward{Title: "Cup", Kind: loyalty.RewardGoods, CostPoints: 1, Stock: 10, Active: true})
	if err != nil {
		t.Fatal(err)
	}
	e.reward = r.ID
	e.adjust(t, "acme", "rich", 100)
	return e
}

// TestMemberRefusals: each operation refuses a member the member service does not have
// (MEMBER_NOT_FOUND on the member's field) and one that is not ACTIVE (MEMBER_NOT_ACTIVE, its
// status in the metadata), whether loyalty heard the status from events or asked; and changes
// nothing.
func TestMemberRefusals(t *testing.T) {
	statuses := []struct {
		st         loyalty.MemberStatus
		fromEvents bool
		code       apperr.Code
		reason     string
	}{
		{loyalty.MemberMissing, false, apperr.NotFound, loyalty.ReasonMemberNotFound},
		{loyalty.MemberFrozen, true, apperr.FailedPrecondition, loyalty.ReasonMemberNotActive},
		{loyalty.MemberFrozen, false, apperr.FailedPrecondition, loyalty.ReasonMemberNotActive},
		{loyalty.MemberClosed, true, apperr.FailedPrecondition, loyalty.ReasonMemberNotActive},
		{loyalty.MemberErased, true, apperr.FailedPrecondition, loyalty.ReasonMemberNotActive},
		{loyalty.MemberErased, false, apperr.FailedPrecondition, loyalty.ReasonMemberNotActive},
	}
	for _, op := range memberOps {
		for _, s := range statuses {
			t.Run(fmt.Sprintf("%s/%s/events=%t", op.name, s.st, s.fromEvents), func(t *testing.T) {
				e := memberEnv(t)
				if s.fromEvents {
					e.setStatus(t, "acme", "m1", s.st)
				} else {
					e.dir.set("acme", "m1", s.st)
				}
				before, lookups := len(e.events(t, "acme")), e.dir.count()
				err := op.call(e, "m1")
				var ae *apperr.Error
				if !errors.As(err, &ae) || ae.Code != s.code || ae.Reason != s.reason {
					t.Fatalf("err %v, want %s %s", err, s.code, s.reason)
				}
				if s.st == loyalty.MemberMissing && (len(ae.Violations) != 1 || ae.Violations[0].Field != op.field) {
					t.Fatalf("violations %+v, want one on %s", ae.Violations, op.field)
				}
				if s.st != loyalty.MemberMissing && ae.Metadata["status"] != s.st.String() {
					t.Fatalf("metadata %v", ae.Metadata)
				}
				if got := len(e.events(t, "acme")); got != before {
					t.Fatalf("%d events after the refusal, want %d", got, before)
				}
				if b := e.balance(t, "acme", "rich"); b.Available != 100 {
					t.Fatalf("rich has %d", b.Available)
				}
				if n := e.dir.count() - lookups; s.fromEvents && n != 0 {
					t.Fatalf("%d lookups for a member the events told of", n)
				}
			})
		}
	}
}

// TestMemberLookupKept: a member loyalty has not heard of is asked about once; the answer is
// kept with the account, so later operations ask no more; a later event overrides it.
func TestMemberLookupKept(t *testing.T) {
	for _, op := range memberOps {
		if op.name == "transfer to" || op.name == "reward" || op.name == "redeem" || op.name == "hold" {
			continue // these need points first; the earning ops below cover the path
		}
		t.Run(op.name, func(t *testing.T) {
			e := memberEnv(t)
			lookups := e.dir.count()
			if err := op.call(e, "m1"); err != nil && op.name != "transfer from" {
				t.Fatal(err)
			}
			if op.name == "transfer from" {
				return // m1 has no points: refused by the ledger, so nothing kept; asked once
			}
			if got := e.dir.count() - lookups; got != 1 {
				t.Fatalf("%d lookups, want 1", got)
			}
			e.clk.Advance(25 * time.Hour) // a new day for the check-in
			if _, err := e.svc.Redeem(bg, "acme", "k", "m1", 1, ""); err != nil && apperr.ReasonOf(err) != "INSUFFICIENT_POINTS" {
				t.Fatal(err)
			}
			if got := e.dir.count() - lookups; got != 1 {
				t.Fatalf("%d lookups after a second operation, want 1", got)
			}
			e.setStatus(t, "acme", "m1", loyalty.MemberFrozen)
			if err := op.call(e, "m1"); apperr.ReasonOf(err) != loyalty.ReasonMemberNotActive {
				t.Fatalf("after the freeze: %v", err)
			}
		})
	}
}

// TestMemberAdjust: staff corrections need a member that exists, whatever its status.
func TestMemberAdjust(t *testing.T) {
	e := memberEnv(t)
	e.dir.set("acme", "ghost", loyalty.MemberMissing)
	if _, err := e.svc.Adjust(bg, "acme", "admin", "ghost", 5, "fix"); apperr.ReasonOf(err) != loyalty.ReasonMemberNotFound {
		t.Fatalf("adjust of a missing member: %v", err)
	}
	e.setStatus(t, "acme", "m1", loyalty.MemberFrozen)
	if _, err := e.svc.Adjust(bg, "acme", "admin", "m1", 5, "fix"); err != nil {
		t.Fatalf("adjust of a frozen member: %v", err)
	}
	if b := e.balance(t, "acme", "m1"); b.Available != 5 {
		t.Fatalf("balance %+v", b)
	}
}

// TestMemberLookupFails: when the member service cannot answer, the operation fails with that
// error and nothing is recorded; a non-member's order asks nothing.
func TestMemberLookupFails(t *testing.T) {
	e := memberEnv(t)
	e.dir.err = apperr.E(apperr.Unavailable, "", "member service down")
	if _, err := e.svc.RecordOrder(bg, "acme", "k", order("o1", "m1", 10_000)); apperr.CodeOf(err) != apperr.Unavailable {
		t.Fatalf("err %v", err)
	}
	if o, err := e.svc.GetOrder(bg, "acme", "o1"); err == nil {
		t.Fatalf("order recorded: %+v", o)
	}
	if _, err := e.svc.RecordOrder(bg, "acme", "k", order("o2", "", 10_000)); err != nil {
		t.Fatalf("a non-member's order: %v", err)
	}
}

// TestMemberBatch: a batch asks about each unheard member once; the missing member's order
// fails with its field, the others are recorded.
func TestMemberBatch(t *testing.T) {
	e := memberEnv(t)
	e.dir.set("acme", "ghost", loyalty.MemberMissing)
	e.setStatus(t, "acme", "frozen", loyalty.MemberFrozen)
	lookups := e.dir.count()
	orders := []loyalty.Order{order("a", "m1", 100), order("b", "ghost", 100), order("c", "m2", 100), order("d", "m1", 100),
		order("e", "frozen", 100), order("f", "", 100)}
	r, err := e.svc.RecordOrders(bg, "acme", "k", orders, 10)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"", loyalty.ReasonMemberNotFound, "", "", loyalty.ReasonMemberNotActive, ""}
	for i, o := range r.Outcomes {
		if apperr.ReasonOf(o.Err) != want[i] || (want[i] == "") != (o.Order != nil) {
			t.Fatalf("outcome %d: %+v, want %q", i, o, want[i])
		}
	}
	var ae *apperr.Error
	if !errors.As(r.Outcomes[1].Err, &ae) || ae.Violations[0].Field != "orders[11].member_id" {
		t.Fatalf("ghost's error %v", r.Outcomes[1].Err)
	}
	if got := e.dir.count() - lookups; got != 3 { // m1, ghost, m2
		t.Fatalf("%d lookups, want 3", got)
	}
}

// TestMemberBatchLookupFails: a member whose lookup fails fails only its own orders of a batch,
// with the lookup's error; the batch run again once the member service answers records them.
func TestMemberBatchLookupFails(t *testing.T) {
	e := memberEnv(t)
	e.dir.mu.Lock()
	e.dir.errs = map[string]error{"acme/m2": apperr.E(apperr.Unavailable, "", "member service shard down")}
	e.dir.mu.Unlock()
	orders := []loyalty.Order{order("a", "m1", 100), order("b", "m2", 100), order("c", "", 100), order("d", "m2", 100)}
	r, err := e.svc.RecordOrders(bg, "acme", "k", orders, 0)
	if err != nil {
		t.Fatalf("the batch failed: %v", err)
	}
	for i, want := range []apperr.Code{"", apperr.Unavailable, "", apperr.Unavailable} {
		if o := r.Outcomes[i]; apperr.CodeOf(o.Err) != want || (want == "") != (o.Order != nil) {
			t.Fatalf("outcome %d: %+v, want %q", i, o, want)
		}
	}
	e.dir.mu.Lock()
	e.dir.errs = nil
	e.dir.mu.Unlock()
	if r, err = e.svc.RecordOrders(bg, "acme", "k", orders, 0); err != nil {
		t.Fatal(err)
	}
	for i, o := range r.Outcomes {
		if o.Err != nil {
			t.Fatalf("outcome %d after the member service recovered: %v", i, o.Err)
		}
	}
}

// TestMemberFirstOrdersRace: 32 first orders of one member nobody told loyalty of, at once,
// all earn, each once.
func TestMemberFirstOrdersRace(t *testing.T) {
	e := newEnv(t)
	var wg sync.WaitGroup
	for i := range 32 {
		wg.Go(func() {
			if _, err := e.svc.RecordOrder(bg, "acme", "k", order(fmt.Sprintf("o%d", i), "m1", 10_000)); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if b := e.balance(t, "acme", "m1"); b.Available != 32*100 {
		t.Fatalf("balance %+v", b)
	}
	if n := e.dir.count(); n < 1 || n > 32 {
		t.Fatalf("%d lookups", n)
	}
}
