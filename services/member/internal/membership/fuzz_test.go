package membership_test

import (
	"testing"

	"github.com/huiyuan-dev/huiyuan/pkg/apperr"
	"github.com/huiyuan-dev/huiyuan/services/member/internal/membership"
)

func FuzzValidID(f *testing.F) {
	f.Fuzz(func(t *testing.T, s string) {
		if !membership.ValidID(s) {
			return
		}
		if len(s) == 0 || len(s) > membership.MaxIDLen || s[0] < 'a' || s[0] > 'z' {
			t.Fatalf("ValidID(%q) accepted a bad id", s)
		}
		for _, r := range s {
			if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-' || r == '_') {
				t.Fatalf("ValidID(%q) accepted %q", s, r)
			}
		}
	})
}

// FuzzCreateTier: any tier either is refused with an Invalid or conflict error naming fields of
// the request, or is accepted with a basis its minimums satisfy.
func FuzzCreateTier(f *testing.F) {
	f.Fuzz(func(t *testing.T, id, name string, rank, basis int32, spend int64, orders, tenure, pct int32) {
		c := catalog(membership.DropOneStep)
		tier := &membership.Tier{ID: id, DisplayName: name, Rank: int(rank), Basis: membership.Basis(basis), MinSpend: spend,
			MinOrders: int(orders), MinTenureMonths: int(tenure), MultiplierPercent: int(pct)}
		v, _, err := membership.CreateTier(c, tier, nil, t0)
		if err != nil {
			switch apperr.CodeOf(err) {
			case apperr.Invalid, apperr.AlreadyExists, apperr.FailedPrecondition:
			default:
				t.Fatalf("unexpected error %v", err)
			}
			for _, f := range violations(err) {
				if len(f) < 5 || f[:5] != "tier." {
					t.Fatalf("violation on %q", f)
				}
			}
			return
		}
		got := v.Tier
		if got.Rank != 0 && got.Basis == membership.BasisUnspecified || got.Rank == 0 && (got.MinSpend != 0 || got.MinOrders != 0) {
			t.Fatalf("accepted %+v", got)
		}
		if c.Tier(id) == nil {
			t.Fatalf("accepted but not in the catalogue: %+v", got)
		}
	})
}
