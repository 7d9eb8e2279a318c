package loyalty_test

import (
	"context"
	"sync"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/huiyuan-dev/huiyuan/pkg/boltx"
	"github.com/huiyuan-dev/huiyuan/pkg/clock"
	"github.com/huiyuan-dev/huiyuan/pkg/eventlog"
	"github.com/huiyuan-dev/huiyuan/pkg/idempotency"
	"github.com/huiyuan-dev/huiyuan/services/loyalty/internal/boltstore"
	"github.com/huiyuan-dev/huiyuan/services/loyalty/internal/loyalty"
)

// t0 is the tests' epoch: 10:00 on 1 March 2026 in Shanghai.
var t0 = time.Date(2026, 3, 1, 2, 0, 0, 0, time.UTC)

// env is the use cases over the real store: a temporary bbolt file written through the
// group-commit writer, on a fake clock.
type env struct {
	path   string
	sync   bool // fsync every commit (benchmarks)
	window int  // the store's LotWindow: 0 its default, -1 every lot
	db     *boltx.DB
	w      *boltx.Writer
	log    *eventlog.Log
	clk    *clock.Fake
	store  *boltstore.Store
	svc    *loyalty.Service
	dir    *directory
	// reward is a reward the test created, for tests that redeem one.
	reward string
}

// directory is the member service as the tests have it: every member is ACTIVE unless the test
// says otherwise (status, or missing); it counts the lookups.
type directory struct {
	mu      sync.Mutex
	status  map[string]loyalty.MemberStatus // tenant/member -> status
	lookups int
	err     error            // every lookup's
	errs    map[string]error // tenant/member -> that member's lookup's
}

func (d *directory) set(tenant, member string, st loyalty.MemberStatus) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.status == nil {
		d.status = map[string]loyalty.MemberStatus{}
	}
	d.status[tenant+"/"+member] = st
}

func (d *directory) count() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.lookups
}

// Status implements loyalty.Members.
func (d *directory) Status(_ context.Context, tenant, member string) (loyalty.MemberStatus, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.lookups++
	if d.err != nil {
		return 0, d.err
	}
	if err := d.errs[tenant+"/"+member]; err != nil {
		return 0, err
	}
	if st, ok := d.status[tenant+"/"+member]; ok {
		return st, nil
	}
	return loyalty.MemberActive, nil
}

func newEnv(tb testing.TB) *env { return newEnvWindow(tb, 0) }

// newEnvWindow is newEnv with the store's LotWindow set to window.
func newEnvWindow(tb testing.TB, window int) *env {
	tb.Helper()
	e := &env{path: tb.TempDir() + "/loyalty.db", clk: clock.NewFake(t0), dir: &directory{}, window: window}
	e.open(tb)
	tb.Cleanup(e.close)
	return e
}

func (e *env) open(tb testing.TB) {
	tb.Helper()
	e.log = eventlog.New("loyalty")
	buckets := append(append(boltstore.Buckets(), e.log.Buckets()...), idempotency.Buckets()...)
	var err error
	if e.db, err = boltx.Open(e.path, boltx.Options{NoSync: !e.sync}, buckets...); err != nil {
		tb.Fatal(err)
	}
	e.w = boltx.NewWriter(e.db, boltx.WriterOptions{})
	if e.store, err = boltstore.New(boltstore.Config{DB: e.db, Writer: e.w, Log: e.log, Clock: e.clk, LotWindow: e.window}); err != nil {
		tb.Fatal(err)
	}
	if e.svc, err = loyalty.NewService(e.store, e.clk, e.dir); err != nil {
		tb.Fatal(err)
	}
}

func (e *env) close() {
	if e.db != nil {
		_ = e.w.Close()
		_ = e.db.Close()
		e.db = nil
	}
}

// reopen closes the store and opens it again on the same file, as a restart does.
func (e *env) reopen(tb testing.TB) {
	tb.Helper()
	e.close()
	e.open(tb)
}

var bg = context.Background()

// clockNow is a fake clock at the real time, for benchmarks whose orders are recorded now.
func clockNow() *clock.Fake { return clock.NewFake(time.Now()) }

// policy changes tenant's policy with change, which starts from the current one.
func (e *env) policy(tb testing.TB, tenant string, change func(p *loyalty.Policy)) {
	tb.Helper()
	if _, err := e.svc.UpdatePolicy(bg, tenant, func(cur loyalty.Policy) (loyalty.Policy, error) {
		change(&cur)
		return cur, nil
	}); err != nil {
		tb.Fatal(err)
	}
}

// order records an order of amount CNY minor units for member (none for "").
func (e *env) order(tb testing.TB, tenant, id, member string, amount int64) *loyalty.Order {
	tb.Helper()
	o, err := e.svc.RecordOrder(bg, tenant, "key-1", loyalty.Order{ID: id, MemberID: member, AmountMinor: amount, Currency: "CNY"})
	if err != nil {
		tb.Fatalf("RecordOrder %s: %v", id, err)
	}
	return o
}

func (e *env) adjust(tb testing.TB, tenant, member string, points int64) {
	tb.Helper()
	if _, err := e.svc.Adjust(bg, tenant, "admin", member, points, "seed"); err != nil {
		tb.Fatal(err)
	}
}

func (e *env) balance(tb testing.TB, tenant, member string) *loyalty.Balance {
	tb.Helper()
	b, err := e.svc.Balance(bg, tenant, member)
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// verify fails unless tenant's books verify.
func (e *env) verify(tb testing.TB, tenant string) *loyalty.VerifyReport {
	tb.Helper()
	r, err := e.svc.Verify(bg, tenant)
	if err != nil || !r.OK {
		tb.Fatalf("verify %s: %v %+v", tenant, err, r)
	}
	return r
}

// events returns the types of tenant's events in order.
func (e *env) events(tb testing.TB, tenant string) []string {
	tb.Helper()
	evs, _, err := e.log.List(bg, e.db, tenant, 0, 1000)
	if err != nil {
		tb.Fatal(err)
	}
	var out []string
	for _, ev := range evs {
		out = append(out, ev.GetType())
	}
	return out
}

// due runs all due work at at, in batches of limit accounts, and sums the reports.
func (e *env) due(tb testing.TB, at time.Time, limit int) loyalty.DueReport {
	tb.Helper()
	e.clk.Set(at)
	var out loyalty.DueReport
	for after := []byte(nil); ; {
		rep, last, more, err := e.svc.ProcessDue(bg, nil, at, after, limit)
		if err != nil {
			tb.Fatal(err)
		}
		out.Books += rep.Books
		out.Transactions += rep.Transactions
		out.Notices += rep.Notices
		out.Failed += rep.Failed
		if !more {
			return out
		}
		after = last
	}
}

// raw runs fn in a write transaction behind the store's back (tampering, damaged records).
func (e *env) raw(tb testing.TB, fn func(tx *bolt.Tx) error) {
	tb.Helper()
	if err := e.db.Update(bg, fn); err != nil {
		tb.Fatal(err)
	}
}

func count(evs []string, typ string) int {
	n := 0
	for _, e := range evs {
		if e == typ {
			n++
		}
	}
	return n
}
