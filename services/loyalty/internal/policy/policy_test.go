package policy_test

import (
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/fieldmaskpb"

	"github.com/huiyuan-dev/huiyuan/pkg/apperr"
	"github.com/huiyuan-dev/huiyuan/services/loyalty/internal/ledger"
	"github.com/huiyuan-dev/huiyuan/services/loyalty/internal/loyalty"
	"github.com/huiyuan-dev/huiyuan/services/loyalty/internal/policy"

	loyaltyv1 "github.com/huiyuan-dev/huiyuan/gen/huiyuan/loyalty/v1"
)

func valid() *loyaltyv1.LoyaltyPolicy {
	return &loyaltyv1.LoyaltyPolicy{BaseRatePercent: 150, MinOrderMinor: 1000, ExcludedCategories: []string{"tobacco"},
		ExpiryKind: loyaltyv1.LoyaltyPolicy_AFTER_DAYS, ExpiryN: 30, PendingDays: 7, RefundPolicy: loyaltyv1.LoyaltyPolicy_ONLY_PENDING, TimeZone: "Europe/Berlin",
		ExpiringSoonDays: 5, TransferLimitPoints: 100, TransferWindowDays: 7, TransferResetsExpiry: true, CheckinPoints: 2,
		CheckinStreakBonuses: []*loyaltyv1.StreakBonus{{Day: 3, Points: 10}}, PointValueMinor: 2, PointValueCurrency: "EUR"}
}

func TestSettings(t *testing.T) {
	set, err := policy.Settings(valid(), policy.Holds{Timeout: time.Minute, MaxTimeout: time.Hour, KeepClosed: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	if set.Ledger.Location().String() != "Europe/Berlin" || set.PendingDays != 7 || set.Refund != ledger.RefundOnlyPending ||
		set.NoticeWithin != 5*24*time.Hour || set.HoldTimeout != time.Minute || set.CheckIn.BasePoints != 2 ||
		len(set.CheckIn.Bonuses) != 1 || set.PointValue.Minor != 2 || set.Currency != "EUR" {
		t.Fatalf("settings %+v", set)
	}
	cases := []struct {
		name string
		o    loyalty.Order
		want int64
	}{
		{"1.5 points per unit", loyalty.Order{MemberID: "m", Currency: "EUR", AmountMinor: 10_000}, 150},
		{"below the minimum", loyalty.Order{MemberID: "m", Currency: "EUR", AmountMinor: 999}, 0},
		{"excluded category", loyalty.Order{MemberID: "m", Currency: "EUR", AmountMinor: 2_000,
			Items: []ledger.Item{{SKU: "c", Category: "tobacco", Quantity: 1, UnitPriceMinor: 2_000}}}, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := set.Earned(&tc.o, 100); got != tc.want {
				t.Fatalf("earned %d, want %d", got, tc.want)
			}
		})
	}
}

func TestSettingsInvalid(t *testing.T) {
	p := valid()
	p.ExpiryKind, p.TimeZone, p.TransferWindowDays = 99, "Nowhere/City", 0
	_, err := policy.Settings(p, policy.Holds{})
	var ae *apperr.Error
	if !errors.As(err, &ae) || len(ae.Violations) != 3 {
		t.Fatalf("err %v", err)
	}
	if err := policy.Validate(valid()); err != nil {
		t.Fatal(err)
	}
}

// TestEnums checks the policy's enums against the ledger's values: each valid value maps both
// ways, and the zero value or a number outside the enum is a violation, never a default.
func TestEnums(t *testing.T) {
	for _, tc := range []struct {
		kind  loyaltyv1.LoyaltyPolicy_ExpiryKind
		n     int32
		want  ledger.ExpiryKind
		field string // violation; "" valid
	}{
		{loyaltyv1.LoyaltyPolicy_AFTER_DAYS, 30, ledger.ExpireAfterDays, ""},
		{loyaltyv1.LoyaltyPolicy_END_OF_MONTH, 12, ledger.ExpireEndOfMonth, ""},
		{loyaltyv1.LoyaltyPolicy_NEVER, 0, ledger.ExpireNever, ""},
		{loyaltyv1.LoyaltyPolicy_EXPIRY_KIND_UNSPECIFIED, 0, "", "policy.expiry_kind"},
		{7, 0, "", "policy.expiry_kind"},
	} {
		p := valid()
		p.ExpiryKind, p.ExpiryN = tc.kind, tc.n
		violations(t, tc.kind.String(), policy.Validate(p), tc.field)
		if tc.field == "" {
			if got := policy.ExpiryKindOf(tc.want); got != tc.kind {
				t.Errorf("ExpiryKindOf(%q) = %v, want %v", tc.want, got, tc.kind)
			}
		}
	}
	if got := policy.ExpiryKindOf(""); got != loyaltyv1.LoyaltyPolicy_NEVER {
		t.Errorf(`ExpiryKindOf("") = %v, want NEVER`, got)
	}
	if got := policy.ExpiryKindOf("SOMETIMES"); got != loyaltyv1.LoyaltyPolicy_EXPIRY_KIND_UNSPECIFIED {
		t.Errorf("ExpiryKindOf(SOMETIMES) = %v", got)
	}
	for _, tc := range []struct {
		refund loyaltyv1.LoyaltyPolicy_RefundPolicy
		want   ledger.RefundPolicy
		field  string
	}{
		{loyaltyv1.LoyaltyPolicy_ONLY_PENDING, ledger.RefundOnlyPending, ""},
		{loyaltyv1.LoyaltyPolicy_WITHIN_AVAILABLE, ledger.RefundWithinAvailable, ""},
		{loyaltyv1.LoyaltyPolicy_FULL_WITH_DEBT, ledger.RefundFullWithDebt, ""},
		{loyaltyv1.LoyaltyPolicy_REFUND_POLICY_UNSPECIFIED, "", "policy.refund_policy"},
		{4, "", "policy.refund_policy"},
	} {
		p := valid()
		p.RefundPolicy = tc.refund
		set, err := policy.Settings(p, policy.Holds{})
		violations(t, tc.refund.String(), err, tc.field)
		if tc.field != "" {
			continue
		}
		if set.Refund != tc.want {
			t.Errorf("%v: settings refund %q, want %q", tc.refund, set.Refund, tc.want)
		}
		if got := policy.RefundPolicyOf(tc.want); got != tc.refund {
			t.Errorf("RefundPolicyOf(%q) = %v, want %v", tc.want, got, tc.refund)
		}
	}
	if got := policy.RefundPolicyOf("KEEP"); got != loyaltyv1.LoyaltyPolicy_REFUND_POLICY_UNSPECIFIED {
		t.Errorf("RefundPolicyOf(KEEP) = %v", got)
	}
}

// violations fails t unless err is nil (field "") or Invalid with exactly one violation on field.
func violations(t *testing.T, name string, err error, field string) {
	t.Helper()
	if field == "" {
		if err != nil {
			t.Errorf("%s: %v", name, err)
		}
		return
	}
	var ae *apperr.Error
	if !errors.As(err, &ae) || ae.Code != apperr.Invalid || len(ae.Violations) != 1 || ae.Violations[0].Field != field {
		t.Errorf("%s: err %v, want one violation on %s", name, err, field)
	}
}

func TestTierMultipliers(t *testing.T) {
	many := make(map[string]int32, policy.MaxTiers+1)
	for i := range policy.MaxTiers + 1 {
		many[fmt.Sprintf("t%d", i)] = 100
	}
	cases := []struct {
		name   string
		tiers  map[string]int32
		fields []string // violations; nil: valid
	}{
		{"none", nil, nil},
		{"bounds", map[string]int32{"gold": 150, "zero": 0, "max": policy.MaxTierPercent}, nil},
		{"too high", map[string]int32{"gold": policy.MaxTierPercent + 1}, []string{"policy.tier_multiplier_percent[gold]"}},
		{"negative", map[string]int32{"gold": -1}, []string{"policy.tier_multiplier_percent[gold]"}},
		{"bad tier ids", map[string]int32{"": 100, "has space": 100, "ok": 100}, []string{"policy.tier_multiplier_percent", "policy.tier_multiplier_percent"}},
		{"too many", many, []string{"policy.tier_multiplier_percent"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := valid()
			p.TierMultiplierPercent = tc.tiers
			set, err := policy.Settings(p, policy.Holds{})
			if tc.fields == nil {
				if err != nil {
					t.Fatal(err)
				}
				for tier, pct := range tc.tiers {
					if got := set.TierMultiplier(tier); got != int64(pct) {
						t.Fatalf("TierMultiplier(%q) = %d, want %d", tier, got, pct)
					}
				}
				if got := set.TierMultiplier("unlisted"); got != 100 {
					t.Fatalf("unlisted tier earns %d%%", got)
				}
				return
			}
			var ae *apperr.Error
			if !errors.As(err, &ae) {
				t.Fatalf("err %v, want violations", err)
			}
			var got []string
			for _, v := range ae.Violations {
				got = append(got, v.Field)
			}
			if !slices.Equal(got, tc.fields) {
				t.Fatalf("violations %v, want %v", got, tc.fields)
			}
		})
	}
}

func TestFieldsAndApply(t *testing.T) {
	cur := valid()
	cases := []struct {
		name  string
		req   *loyaltyv1.LoyaltyPolicy
		paths []string
		want  func(p *loyaltyv1.LoyaltyPolicy)
		bad   bool
	}{
		{"set fields", &loyaltyv1.LoyaltyPolicy{PendingDays: 1, TimeZone: "UTC"}, nil,
			func(p *loyaltyv1.LoyaltyPolicy) { p.PendingDays, p.TimeZone = 1, "UTC" }, false},
		{"mask clears", &loyaltyv1.LoyaltyPolicy{PendingDays: 1}, []string{"min_order_minor", "excludedCategories"},
			func(p *loyaltyv1.LoyaltyPolicy) { p.MinOrderMinor, p.ExcludedCategories = 0, nil }, false},
		{"nil policy with mask", nil, []string{"checkin_streak_bonuses"},
			func(p *loyaltyv1.LoyaltyPolicy) { p.CheckinStreakBonuses = nil }, false},
		{"tiers by JSON name", &loyaltyv1.LoyaltyPolicy{TierMultiplierPercent: map[string]int32{"gold": 150}}, []string{"tierMultiplierPercent"},
			func(p *loyaltyv1.LoyaltyPolicy) { p.TierMultiplierPercent = map[string]int32{"gold": 150} }, false},
		{"unknown", &loyaltyv1.LoyaltyPolicy{}, []string{"rate"}, nil, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var mask *fieldmaskpb.FieldMask
			if tc.paths != nil {
				mask = &fieldmaskpb.FieldMask{Paths: tc.paths}
			}
			fields, err := policy.Fields(tc.req, mask)
			if tc.bad {
				if apperr.CodeOf(err) != apperr.Invalid {
					t.Fatalf("err %v, want Invalid", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got := policy.Apply(cur, tc.req, fields)
			want := valid()
			tc.want(want)
			if !proto.Equal(got, want) {
				t.Fatalf("got %v, want %v", got, want)
			}
			if !proto.Equal(cur, valid()) {
				t.Fatal("Apply changed cur")
			}
		})
	}
}
