package loyaltyd_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/huiyuan-dev/huiyuan/pkg/apperr"
	"github.com/huiyuan-dev/huiyuan/pkg/boltx"
	"github.com/huiyuan-dev/huiyuan/services/loyalty/loyaltyd"
)

func TestNewValidatesPolicy(t *testing.T) {
	db, err := boltx.Open(t.TempDir()+"/l.db", boltx.Options{NoSync: true}, loyaltyd.Buckets()...)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	cases := []struct {
		name   string
		policy loyaltyd.TenantPolicy
		want   string // "" means valid
	}{
		{"defaults", loyaltyd.TenantPolicy{}, ""},
		{"never", loyaltyd.TenantPolicy{ExpiryKind: "NEVER", RefundPolicy: "FULL_WITH_DEBT", TimeZone: "UTC"}, ""},
		{"end of month earned", loyaltyd.TenantPolicy{ExpiryKind: "END_OF_MONTH", ExpiryN: 0, ExpiringSoonDays: -1}, ""},
		{"bad kind", loyaltyd.TenantPolicy{ExpiryKind: "SOMETIMES"}, "expiry"},
		{"bad days", loyaltyd.TenantPolicy{ExpiryKind: "AFTER_DAYS", ExpiryN: 0}, "expiry"},
		{"bad zone", loyaltyd.TenantPolicy{TimeZone: "Mars/Olympus"}, "time_zone"},
		{"bad refund", loyaltyd.TenantPolicy{RefundPolicy: "KEEP"}, "refund_policy"},
		{"bad pending", loyaltyd.TenantPolicy{PendingDays: -1}, "pending_days"},
		{"bad hold", loyaltyd.TenantPolicy{HoldTimeout: time.Hour, MaxHoldTimeout: time.Minute}, "hold_timeout"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := loyaltyd.New(loyaltyd.Deps{DB: db, Policy: tc.policy})
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("valid policy refused: %v", err)
			case tc.want != "":
				var e *apperr.Error
				if !errors.As(err, &e) || len(e.Violations) != 1 || e.Violations[0].Field != tc.want || !strings.Contains(err.Error(), "policy") {
					t.Fatalf("err = %v, want a policy violation on %s", err, tc.want)
				}
			}
		})
	}
	if _, err := loyaltyd.New(loyaltyd.Deps{}); err == nil {
		t.Fatal("New without a DB succeeded")
	}
	svc, err := loyaltyd.New(loyaltyd.Deps{DB: db})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Verify(context.Background(), "Not A Tenant"); err == nil {
		t.Fatal("Verify accepted an invalid tenant")
	}
	if rep, err := svc.Verify(context.Background(), "empty"); err != nil || !rep.OK || rep.Transactions != 0 {
		t.Fatalf("empty tenant: %v %+v", err, rep)
	}
}
