package coupon_test

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/huiyuan-dev/huiyuan/pkg/apperr"
	"github.com/huiyuan-dev/huiyuan/pkg/boltx"
	"github.com/huiyuan-dev/huiyuan/pkg/boltx/bolttest"
	"github.com/huiyuan-dev/huiyuan/pkg/clock"
	"github.com/huiyuan-dev/huiyuan/pkg/eventlog"
	"github.com/huiyuan-dev/huiyuan/pkg/idempotency"
	"github.com/huiyuan-dev/huiyuan/services/coupon/internal/boltstore"
	"github.com/huiyuan-dev/huiyuan/services/coupon/internal/coupon"
)

const tenant = "acme"

var t0 = time.Date(2026, 3, 1, 2, 0, 0, 0, time.UTC)

// counting wraps a Store and counts issue transactions, to show what the sold-out flag spares.
type counting struct {
	coupon.Store
	issues atomic.Int64
}

func (c *counting) Issue(ctx context.Context, tenant, templateID, member string, fn coupon.IssueFunc) (*coupon.Coupon, error) {
	c.issues.Add(1)
	return c.Store.Issue(ctx, tenant, templateID, member, fn)
}

type fixture struct {
	svc   *coupon.Service
	store *counting
	clk   *clock.Fake
	db    *boltx.DB
	log   *eventlog.Log
}

func newFixture(t *testing.T, points coupon.Points) *fixture {
	t.Helper()
	log := eventlog.New("coupon")
	buckets := append(append(boltstore.Buckets(), log.Buckets()...), idempotency.Buckets()...)
	db := bolttest.Open(t, buckets...)
	w := boltx.NewWriter(db, boltx.WriterOptions{})
	t.Cleanup(func() { _ = w.Close() })
	clk := clock.NewFake(t0)
	st, err := boltstore.New(boltstore.Config{DB: db, Writer: w, Log: log, Clock: clk})
	if err != nil {
		t.Fatal(err)
	}
	cs := &counting{Store: st}
	svc, err := coupon.NewService(cs, clk, points, coupon.Options{ExchangeGrace: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	return &fixture{svc: svc, store: cs, clk: clk, db: db, log: log}
}

func (f *fixture) template(t *testing.T, fn func(*coupon.Template)) string {
	t.Helper()
	in := &coupon.Template{Title: "满100减20", Type: coupon.TypeThreshold, Currency: "CNY", ThresholdMinor: 10000, DiscountMinor: 2000,
		ValidDays: 7, Claimable: true}
	if fn != nil {
		fn(in)
	}
	tv, err := f.svc.CreateTemplate(context.Background(), tenant, in)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.SetStatus(context.Background(), tenant, tv.Template.ID, coupon.StatusActive); err != nil {
		t.Fatal(err)
	}
	return tv.Template.ID
}

func (f *fixture) events(t *testing.T) []string {
	t.Helper()
	evs, _, err := f.log.List(context.Background(), f.db, tenant, 0, 10000)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range evs {
		out = append(out, e.GetType())
	}
	return out
}

func withRequest(ctx context.Context, method, id string) context.Context {
	return idempotency.NewContext(ctx, idempotency.Key{Tenant: tenant, Method: method, RequestID: id})
}

func TestSoldOutAnswersFromMemory(t *testing.T) {
	f := newFixture(t, nil)
	ctx := context.Background()
	id := f.template(t, func(x *coupon.Template) { x.TotalStock = 2 })
	first := withRequest(ctx, "/claim", "r-1")
	c1, _, err := f.svc.Claim(first, tenant, id, "m1")
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := f.svc.Claim(ctx, tenant, id, "m2"); err != nil { // takes the last one and marks the template
		t.Fatal(err)
	}
	before := f.store.issues.Load()
	for i := range 100 {
		_, _, err := f.svc.Claim(ctx, tenant, id, fmt.Sprint("late-", i))
		if apperr.ReasonOf(err) != coupon.ReasonOutOfStock {
			t.Fatalf("claim after sell-out: %v", err)
		}
	}
	if n := f.store.issues.Load() - before; n != 0 {
		t.Fatalf("%d issue transactions after sell-out, want 0", n)
	}
	// A retry of a claim that succeeded still gets its coupon.
	again, _, err := f.svc.Claim(first, tenant, id, "m1")
	if err != nil || again.Code != c1.Code {
		t.Fatalf("replay after sell-out: %v %v", again, err)
	}
	// Raising the stock clears the flag at once.
	if _, err := f.svc.UpdateTemplate(ctx, tenant, id, &coupon.Template{TotalStock: 3}, []string{coupon.FieldTotalStock}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := f.svc.Claim(ctx, tenant, id, "m3"); err != nil {
		t.Fatalf("claim after raise: %v", err)
	}
}

// TestSoldOutNeverRefusesAfterRaise hammers one template with claims while its stock is raised
// step by step: once a raise has returned, a claim is refused only if the stock really is used up,
// and no more coupons are issued than the stock allows.
func TestSoldOutNeverRefusesAfterRaise(t *testing.T) {
	f := newFixture(t, nil)
	ctx := context.Background()
	id := f.template(t, func(x *coupon.Template) { x.TotalStock = 10 })
	var issued atomic.Int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for g := range 16 {
		wg.Go(func() {
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				if _, _, err := f.svc.Claim(ctx, tenant, id, fmt.Sprintf("g%d-%d", g, i)); err == nil {
					issued.Add(1)
				} else if apperr.ReasonOf(err) != coupon.ReasonOutOfStock {
					t.Error(err)
					return
				}
			}
		})
	}
	for stock := int64(20); stock <= 200; stock += 10 {
		// Wait for the storm to use up the current stock, then raise it while claims keep coming.
		for issued.Load() < stock-10 {
			time.Sleep(time.Millisecond)
		}
		if _, err := f.svc.UpdateTemplate(ctx, tenant, id, &coupon.Template{TotalStock: stock}, []string{coupon.FieldTotalStock}); err != nil {
			t.Fatal(err)
		}
		// Right after the raise returns, a claim must not be refused from memory.
		if _, _, err := f.svc.Claim(ctx, tenant, id, fmt.Sprint("probe-", stock)); err == nil {
			issued.Add(1)
		} else {
			tv, _ := f.svc.GetTemplate(ctx, tenant, id)
			if tv.Issued < stock {
				t.Fatalf("claim refused after raising stock to %d with %d issued: %v", stock, tv.Issued, err)
			}
		}
	}
	for issued.Load() < 200 {
		time.Sleep(time.Millisecond)
	}
	close(stop)
	wg.Wait()
	tv, err := f.svc.GetTemplate(ctx, tenant, id)
	if err != nil {
		t.Fatal(err)
	}
	if tv.Issued != 200 || issued.Load() != 200 {
		t.Fatalf("issued %d (acknowledged %d), stock 200", tv.Issued, issued.Load())
	}
}

func TestLockTimesOutAndReturns(t *testing.T) {
	f := newFixture(t, nil)
	ctx := context.Background()
	id := f.template(t, nil)
	c, _, err := f.svc.Claim(ctx, tenant, id, "m1")
	if err != nil {
		t.Fatal(err)
	}
	cart := func() *coupon.Cart { return &coupon.Cart{AmountMinor: 12000, Currency: "CNY", StoreID: "s1"} }
	if _, _, err := f.svc.Lock(ctx, tenant, c.Code, coupon.UseInput{Member: "m1", Order: "o1", Cart: cart()}); err != nil {
		t.Fatal(err)
	}
	_, _, err = f.svc.Redeem(ctx, tenant, c.Code, coupon.UseInput{Member: "m1", Order: "o2", Cart: cart()})
	if apperr.ReasonOf(err) != coupon.ReasonCouponLocked {
		t.Fatalf("redeem for another order while locked: %v", err)
	}
	f.clk.Advance(coupon.DefaultLockTimeout)
	got, _, err := f.svc.GetCoupon(ctx, tenant, c.Code, "")
	if err != nil || got.State != coupon.StateAvailable {
		t.Fatalf("after the timeout the coupon is %v (%v)", got, err)
	}
	n, err := f.svc.SweepDue(ctx)
	if err != nil || n != 1 {
		t.Fatalf("sweep = %d, %v", n, err)
	}
	if evs := f.events(t); evs[len(evs)-1] != coupon.EventReleased {
		t.Fatalf("events %v", evs)
	}
	if r, _, err := f.svc.Redeem(ctx, tenant, c.Code, coupon.UseInput{Member: "m1", Order: "o2", Cart: cart()}); err != nil || r.Redemption.DiscountMinor != 2000 {
		t.Fatalf("redeem after the lock lapsed: %v %v", r, err)
	}
	if n, err := f.svc.SweepDue(ctx); err != nil || n != 0 {
		t.Fatalf("second sweep = %d, %v", n, err)
	}
}

// A claim ahead of valid_from gets its valid_days from valid_from: counted from the claim, the
// coupon would expire before it began and still take the stock and the member's limit.
func TestClaimAheadOfValidFrom(t *testing.T) {
	f := newFixture(t, nil)
	ctx := context.Background()
	from := t0.Add(30 * 24 * time.Hour)
	id := f.template(t, func(x *coupon.Template) { x.ValidFrom, x.ValidDays, x.PerMemberLimit = from, 7, 1 })
	c, _, err := f.svc.Claim(ctx, tenant, id, "m1")
	if err != nil {
		t.Fatal(err)
	}
	if !c.StartTime.Equal(from) || c.ExpireTime.Before(from.Add(7*24*time.Hour)) || c.ExpireTime.After(from.Add(8*24*time.Hour)) {
		t.Fatalf("window %s..%s, want from %s for 7 days", c.StartTime, c.ExpireTime, from)
	}
	cart := &coupon.Cart{AmountMinor: 12000, Currency: "CNY"}
	if _, _, err := f.svc.Redeem(ctx, tenant, c.Code, coupon.UseInput{Member: "m1", Order: "o1", Cart: cart}); apperr.ReasonOf(err) != coupon.ReasonCouponNotYetValid {
		t.Fatalf("redeem before valid_from: %v", err)
	}
	f.clk.Advance(from.Sub(f.clk.Now()) + 6*24*time.Hour)
	if _, _, err := f.svc.Redeem(ctx, tenant, c.Code, coupon.UseInput{Member: "m1", Order: "o1", Cart: cart}); err != nil {
		t.Fatalf("redeem on the sixth day of validity: %v", err)
	}
}

// A lock may outlive the coupon's validity, so the order that locked it in time can redeem it;
// locking it again after the validity ended is refused, or a till could keep an expired coupon
// alive by locking it every day.
func TestRelockAfterValidityEnded(t *testing.T) {
	ctx := context.Background()
	cart := func() *coupon.Cart { return &coupon.Cart{AmountMinor: 12000, Currency: "CNY"} }
	lock := coupon.UseInput{Member: "m1", Order: "o1", Timeout: 2 * time.Hour}
	for _, tt := range []struct {
		name    string
		after   time.Duration // from the lock
		relock  string        // reason of locking again; "" for success
		redeems bool          // whether o1 then redeems
	}{
		{"within validity", 30 * time.Minute, "", true},
		{"validity ended, lock holds", 90 * time.Minute, coupon.ReasonCouponExpired, true},
		{"validity and lock ended", 3 * time.Hour, coupon.ReasonCouponExpired, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, nil)
			id := f.template(t, func(x *coupon.Template) { x.ValidDays, x.ValidUntil = 0, t0.Add(time.Hour) })
			c, _, err := f.svc.Claim(ctx, tenant, id, "m1")
			if err != nil {
				t.Fatal(err)
			}
			if _, _, err := f.svc.Lock(ctx, tenant, c.Code, lock); err != nil {
				t.Fatal(err)
			}
			f.clk.Advance(tt.after)
			if _, _, err := f.svc.Lock(ctx, tenant, c.Code, lock); apperr.ReasonOf(err) != tt.relock || (tt.relock == "") != (err == nil) {
				t.Fatalf("lock again: %v, want %q", err, tt.relock)
			}
			_, _, err = f.svc.Redeem(ctx, tenant, c.Code, coupon.UseInput{Member: "m1", Order: "o1", Cart: cart()})
			if (err == nil) != tt.redeems {
				t.Fatalf("redeem: %v, want success %v", err, tt.redeems)
			}
		})
	}
}

// Releasing a lapsed lock succeeds for its order whether or not the sweep has released it yet;
// another order's release, or a coupon never locked, is COUPON_NOT_LOCKED.
func TestReleaseLapsedLock(t *testing.T) {
	ctx := context.Background()
	for _, tt := range []struct {
		name   string
		sweep  bool
		order  string
		reason string
	}{
		{"before the sweep", false, "o1", ""},
		{"after the sweep", true, "o1", ""},
		{"after the sweep, no order named", true, "", ""},
		{"after the sweep, another order", true, "o2", coupon.ReasonCouponNotLocked},
	} {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, nil)
			id := f.template(t, nil)
			c, _, err := f.svc.Claim(ctx, tenant, id, "m1")
			if err != nil {
				t.Fatal(err)
			}
			if _, _, err := f.svc.Release(ctx, tenant, c.Code, "", ""); apperr.ReasonOf(err) != coupon.ReasonCouponNotLocked {
				t.Fatalf("release of a coupon never locked: %v", err)
			}
			if _, _, err := f.svc.Lock(ctx, tenant, c.Code, coupon.UseInput{Member: "m1", Order: "o1"}); err != nil {
				t.Fatal(err)
			}
			f.clk.Advance(coupon.DefaultLockTimeout + time.Second)
			if tt.sweep {
				if n, err := f.svc.SweepDue(ctx); err != nil || n != 1 {
					t.Fatalf("sweep = %d, %v", n, err)
				}
			}
			got, _, err := f.svc.Release(ctx, tenant, c.Code, tt.order, "")
			if apperr.ReasonOf(err) != tt.reason || (tt.reason == "") != (err == nil) {
				t.Fatalf("release: %v, want %q", err, tt.reason)
			}
			if err == nil && got.State != coupon.StateAvailable {
				t.Fatalf("released coupon is %s", got.State)
			}
			if _, _, err := f.svc.Redeem(ctx, tenant, c.Code, coupon.UseInput{Member: "m1", Order: "o3",
				Cart: &coupon.Cart{AmountMinor: 12000, Currency: "CNY"}}); err != nil {
				t.Fatalf("redeem for a new order after the lapsed lock: %v", err)
			}
		})
	}
}

func TestExpirySweep(t *testing.T) {
	f := newFixture(t, nil)
	ctx := context.Background()
	id := f.template(t, func(x *coupon.Template) { x.ValidDays = 1 })
	for i := range 300 {
		if _, _, err := f.svc.Claim(ctx, tenant, id, fmt.Sprint("m", i)); err != nil {
			t.Fatal(err)
		}
	}
	f.clk.Advance(72 * time.Hour)
	n, err := f.svc.SweepDue(ctx)
	if err != nil || n != 300 {
		t.Fatalf("sweep = %d, %v", n, err)
	}
	cs, _, err := f.svc.ListMemberCoupons(ctx, tenant, "m7", coupon.StateExpired, 0, "")
	if err != nil || len(cs) != 1 {
		t.Fatalf("expired coupons of m7: %v %v", cs, err)
	}
}
