package grpcapi

import (
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/fieldmaskpb"

	"github.com/huiyuan-dev/huiyuan/pkg/apperr"
	"github.com/huiyuan-dev/huiyuan/services/loyalty/internal/loyalty"
	"github.com/huiyuan-dev/huiyuan/services/loyalty/internal/loyaltypb"

	loyaltyv1 "github.com/huiyuan-dev/huiyuan/gen/huiyuan/loyalty/v1"
)

func valid() *loyaltyv1.LoyaltyPolicy {
	p := loyalty.DefaultPolicy()
	p.BaseRatePercent, p.MinOrderMinor, p.ExcludedCategories, p.TimeZone = 150, 1000, []string{"tobacco"}, "Europe/Berlin"
	return loyaltypb.Policy(&p)
}

func TestMaskFieldsAndApply(t *testing.T) {
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
		{"earn rules", &loyaltyv1.LoyaltyPolicy{ExcludedSkus: []string{"gift-card"}, SkuRatePercent: map[string]int32{"wine": 50}}, nil,
			func(p *loyaltyv1.LoyaltyPolicy) {
				p.ExcludedSkus, p.SkuRatePercent = []string{"gift-card"}, map[string]int32{"wine": 50}
			}, false},
		{"unknown", &loyaltyv1.LoyaltyPolicy{}, []string{"rate"}, nil, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var mask *fieldmaskpb.FieldMask
			if tc.paths != nil {
				mask = &fieldmaskpb.FieldMask{Paths: tc.paths}
			}
			fields, err := maskFields(tc.req, mask)
			if tc.bad {
				if apperr.CodeOf(err) != apperr.Invalid {
					t.Fatalf("err %v, want Invalid", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got := applyMask(cur, tc.req, fields)
			want := valid()
			tc.want(want)
			if !proto.Equal(got, want) {
				t.Fatalf("got %v, want %v", got, want)
			}
			if !proto.Equal(cur, valid()) {
				t.Fatal("applyMask changed cur")
			}
		})
	}
}

// FuzzUpdate decodes a policy and a comma-separated mask, as an update request carries them:
// the mask is refused as Invalid or the result validates or fails as Invalid, never panicking,
// and applyMask never changes the current policy.
func FuzzUpdate(f *testing.F) {
	f.Add([]byte{0x08, 0xc8, 0x01}, "")
	f.Add([]byte{}, "time_zone,pendingDays")
	f.Fuzz(func(t *testing.T, raw []byte, paths string) {
		req := &loyaltyv1.LoyaltyPolicy{}
		if proto.Unmarshal(raw, req) != nil {
			return
		}
		var mask *fieldmaskpb.FieldMask
		if paths != "" {
			mask = &fieldmaskpb.FieldMask{Paths: strings.Split(paths, ",")}
		}
		fields, err := maskFields(req, mask)
		if err != nil {
			if apperr.CodeOf(err) != apperr.Invalid {
				t.Fatalf("maskFields: %v", err)
			}
			return
		}
		cur := valid()
		next := applyMask(cur, req, fields)
		if !proto.Equal(cur, valid()) {
			t.Fatal("applyMask changed cur")
		}
		if err := loyaltypb.PolicyFrom(next).Validate(); err != nil && apperr.CodeOf(err) != apperr.Invalid {
			t.Fatalf("Validate: %v", err)
		}
	})
}
