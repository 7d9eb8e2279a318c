package ledger_test

import (
	"testing"
	"time"

	"github.com/huiyuan-dev/huiyuan/services/loyalty/internal/ledger"
)

func TestExpiresAt(t *testing.T) {
	ny := mustLoc("America/New_York")
	local := func(loc *time.Location, y int, m time.Month, d, h, min int) time.Time {
		return time.Date(y, m, d, h, min, 0, 0, loc)
	}
	days := func(n int) ledger.ExpiryPolicy { return ledger.ExpiryPolicy{Kind: ledger.ExpireAfterDays, N: n} }
	months := func(n int) ledger.ExpiryPolicy { return ledger.ExpiryPolicy{Kind: ledger.ExpireEndOfMonth, N: n} }
	tests := []struct {
		name   string
		policy ledger.ExpiryPolicy
		earned time.Time
		loc    *time.Location
		want   time.Time // zero: never
	}{
		{"never", ledger.ExpiryPolicy{}, t0, shanghai, time.Time{}},
		{"never, explicit", ledger.ExpiryPolicy{Kind: ledger.ExpireNever}, t0, shanghai, time.Time{}},
		{"1 day: through tomorrow", days(1), local(shanghai, 2026, 3, 1, 10, 0), shanghai, local(shanghai, 2026, 3, 3, 0, 0)},
		{"the local date counts, not UTC's", days(1), local(shanghai, 2026, 3, 2, 0, 30), shanghai, local(shanghai, 2026, 3, 4, 0, 0)},
		{"365 days over a leap day", days(365), local(shanghai, 2027, 6, 1, 9, 0), shanghai, local(shanghai, 2028, 6, 1, 0, 0)},
		{"across the DST change", days(1), local(ny, 2026, 3, 7, 12, 0), ny, local(ny, 2026, 3, 9, 0, 0)},
		{"end of this month", months(0), local(shanghai, 2026, 3, 15, 12, 0), shanghai, local(shanghai, 2026, 4, 1, 0, 0)},
		{"end of next month", months(1), local(shanghai, 2026, 1, 31, 23, 0), shanghai, local(shanghai, 2026, 3, 1, 0, 0)},
		{"end of the 12th month", months(12), local(shanghai, 2026, 12, 31, 23, 59), shanghai, local(shanghai, 2028, 1, 1, 0, 0)},
		{"nil location is UTC", months(0), time.Date(2026, 3, 31, 23, 0, 0, 0, time.UTC), nil, time.Date(2026, 4, 1, 0, 0, 0, 0, time.UTC)},
		{"invalid policy: never", days(0), t0, shanghai, time.Time{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := tc.policy.ExpiresAt(tc.earned, tc.loc)
			if !got.Equal(tc.want) || (!got.IsZero() && got.Location() != time.UTC) {
				t.Fatalf("ExpiresAt = %v, want %v", got, tc.want.UTC())
			}
		})
	}
}

func TestExpiryPolicyValidate(t *testing.T) {
	for _, p := range []ledger.ExpiryPolicy{{}, {Kind: ledger.ExpireNever}, {Kind: ledger.ExpireAfterDays, N: 1},
		{Kind: ledger.ExpireEndOfMonth, N: 0}, {Kind: ledger.ExpireEndOfMonth, N: ledger.MaxExpiryMonths}} {
		if err := p.Validate(); err != nil {
			t.Errorf("%+v: %v", p, err)
		}
	}
	for _, tc := range []struct {
		p     ledger.ExpiryPolicy
		field string
	}{
		{ledger.ExpiryPolicy{Kind: "YEARLY"}, "kind"},
		{ledger.ExpiryPolicy{Kind: ledger.ExpireAfterDays}, "n"},
		{ledger.ExpiryPolicy{Kind: ledger.ExpireAfterDays, N: ledger.MaxExpiryDays + 1}, "n"},
		{ledger.ExpiryPolicy{Kind: ledger.ExpireEndOfMonth, N: -1}, "n"},
	} {
		if got := violations(tc.p.Validate()); len(got) != 1 || got[0] != tc.field {
			t.Errorf("%+v: violations %v, want [%s]", tc.p, got, tc.field)
		}
	}
}
