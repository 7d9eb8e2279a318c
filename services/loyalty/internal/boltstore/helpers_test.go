package boltstore_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/huiyuan-dev/huiyuan/pkg/auth"
	"github.com/huiyuan-dev/huiyuan/pkg/boltx"
	"github.com/huiyuan-dev/huiyuan/pkg/clock"
	"github.com/huiyuan-dev/huiyuan/pkg/eventlog"
	"github.com/huiyuan-dev/huiyuan/pkg/idempotency"
	"github.com/huiyuan-dev/huiyuan/services/loyalty/internal/boltstore"
	"github.com/huiyuan-dev/huiyuan/services/loyalty/internal/ledger"
	"github.com/huiyuan-dev/huiyuan/services/loyalty/internal/loyalty"
	"github.com/huiyuan-dev/huiyuan/services/loyalty/internal/policy"

	loyaltyv1 "github.com/huiyuan-dev/huiyuan/gen/huiyuan/loyalty/v1"
)

// t0 is the tests' epoch: 10:00 on 1 March 2026 in Shanghai.
var t0 = time.Date(2026, 3, 1, 2, 0, 0, 0, time.UTC)

// fixture is a Store over a temporary bbolt file written through the group-commit writer.
type fixture struct {
	db    *boltx.DB
	w     *boltx.Writer
	log   *eventlog.Log
	clk   *clock.Fake
	store *boltstore.Store
	set   *loyalty.Settings
	// broken makes the settings of tenant "broken" fail, as a bad configuration would.
	broken atomic.Bool
}

type fixtureOpts struct {
	path   string
	sync   bool
	expiry ledger.ExpiryPolicy
	notice time.Duration
}

func newFixture(tb testing.TB, o fixtureOpts) *fixture {
	tb.Helper()
	if o.path == "" {
		o.path = tb.TempDir() + "/loyalty.db"
	}
	log := eventlog.New("loyalty")
	buckets := append(append(boltstore.Buckets(), log.Buckets()...), idempotency.Buckets()...)
	db, err := boltx.Open(o.path, boltx.Options{NoSync: !o.sync}, append(buckets, auth.Buckets()...)...)
	if err != nil {
		tb.Fatal(err)
	}
	w := boltx.NewWriter(db, boltx.WriterOptions{})
	loc, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		tb.Fatal(err)
	}
	l, err := ledger.New(ledger.Config{Location: loc, Expiry: o.expiry})
	if err != nil {
		tb.Fatal(err)
	}
	f := &fixture{db: db, w: w, log: log, clk: clock.NewFake(t0),
		set: &loyalty.Settings{Ledger: l, Refund: ledger.RefundWithinAvailable, NoticeWithin: o.notice,
			HoldTimeout: 15 * time.Minute, MaxHoldTimeout: 7 * 24 * time.Hour, KeepClosedHolds: 7 * 24 * time.Hour}}
	f.store, err = boltstore.New(boltstore.Config{DB: db, Writer: w, Log: log, Clock: f.clk,
		Settings: func(tenant string) (*loyalty.Settings, error) {
			if tenant == "broken" && f.broken.Load() {
				return nil, errors.New("no settings")
			}
			return f.set, nil
		},
		Policies: boltstore.Policies{Default: defaultPolicy(o),
			Build: func(p *loyaltyv1.LoyaltyPolicy) (*loyalty.Settings, error) {
				return policy.Settings(p, policy.Holds{Timeout: 15 * time.Minute, MaxTimeout: 7 * 24 * time.Hour, KeepClosed: 7 * 24 * time.Hour})
			}}})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		_ = w.Close()
		_ = db.Close()
	})
	return f
}

// defaultPolicy is the policy describing the fixture's default settings.
func defaultPolicy(o fixtureOpts) *loyaltyv1.LoyaltyPolicy {
	if o.expiry.Kind == "" {
		o.expiry.Kind = ledger.ExpireNever
	}
	return &loyaltyv1.LoyaltyPolicy{BaseRatePercent: 100, ExpiryKind: policy.ExpiryKindOf(o.expiry.Kind), ExpiryN: int32(o.expiry.N),
		RefundPolicy: loyaltyv1.LoyaltyPolicy_WITHIN_AVAILABLE, TimeZone: "Asia/Shanghai",
		ExpiringSoonDays: int32(o.notice / (24 * time.Hour)), TransferWindowDays: 30, PointValueMinor: 1, PointValueCurrency: "CNY"}
}

func (f *fixture) eventTypes(tb testing.TB, tenant string) []string {
	tb.Helper()
	evs, _, err := f.log.List(context.Background(), f.db, tenant, 0, 1000)
	if err != nil {
		tb.Fatal(err)
	}
	var out []string
	for _, e := range evs {
		out = append(out, e.GetType())
	}
	return out
}
