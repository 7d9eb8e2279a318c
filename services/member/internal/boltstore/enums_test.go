package boltstore_test

import (
	"testing"

	"google.golang.org/protobuf/reflect/protoreflect"

	storagev1 "github.com/huiyuan-dev/huiyuan/gen/huiyuan/member/storage/v1"
	memberv1 "github.com/huiyuan-dev/huiyuan/gen/huiyuan/member/v1"
)

// TestStorageEnumsMatchDomain guards the conversions, which cast numbers: each storage enum has
// the values, by number and name, of the API enum the domain's numbers follow (grpcapi's
// TestEnumsMatch ties the domain to the API), so a value never changes meaning on its way to
// the file.
func TestStorageEnumsMatchDomain(t *testing.T) {
	for _, tc := range []struct{ stored, api protoreflect.EnumDescriptor }{
		{storagev1.MemberRecord_GENDER_UNSPECIFIED.Descriptor(), memberv1.Member_GENDER_UNSPECIFIED.Descriptor()},
		{storagev1.MemberRecord_CHANNEL_UNSPECIFIED.Descriptor(), memberv1.Member_CHANNEL_UNSPECIFIED.Descriptor()},
		{storagev1.MemberRecord_STATUS_UNSPECIFIED.Descriptor(), memberv1.Member_STATUS_UNSPECIFIED.Descriptor()},
		{storagev1.ConsentRecord_PURPOSE_UNSPECIFIED.Descriptor(), memberv1.Consent_PURPOSE_UNSPECIFIED.Descriptor()},
		{storagev1.TierRecord_BASIS_UNSPECIFIED.Descriptor(), memberv1.Tier_BASIS_UNSPECIFIED.Descriptor()},
		{storagev1.TierSettingsRecord_DROP_RULE_UNSPECIFIED.Descriptor(), memberv1.TierSettings_DROP_RULE_UNSPECIFIED.Descriptor()},
		{storagev1.BenefitRecord_KIND_UNSPECIFIED.Descriptor(), memberv1.Benefit_KIND_UNSPECIFIED.Descriptor()},
		{storagev1.BenefitRecord_PERIOD_UNSPECIFIED.Descriptor(), memberv1.Benefit_PERIOD_UNSPECIFIED.Descriptor()},
		{storagev1.PlanRecord_RENEWAL_UNSPECIFIED.Descriptor(), memberv1.Plan_RENEWAL_UNSPECIFIED.Descriptor()},
		{storagev1.SubscriptionRecord_STATE_UNSPECIFIED.Descriptor(), memberv1.Subscription_STATE_UNSPECIFIED.Descriptor()},
		{storagev1.ComplaintRecord_STATE_UNSPECIFIED.Descriptor(), memberv1.BenefitComplaint_STATE_UNSPECIFIED.Descriptor()},
	} {
		sv, av := tc.stored.Values(), tc.api.Values()
		if sv.Len() != av.Len() {
			t.Errorf("%s has %d values, %s %d", tc.stored.FullName(), sv.Len(), tc.api.FullName(), av.Len())
			continue
		}
		for i := range av.Len() {
			a := av.Get(i)
			s := sv.ByNumber(a.Number())
			if s == nil || s.Name() != a.Name() {
				t.Errorf("%s %d is %v, the API's %s", tc.stored.FullName(), a.Number(), s, a.Name())
			}
		}
	}
}
