package grpcapi

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/huiyuan-dev/huiyuan/pkg/apperr"
	"github.com/huiyuan-dev/huiyuan/services/member/internal/member"

	memberv1 "github.com/huiyuan-dev/huiyuan/gen/huiyuan/member/v1"
)

func TestParseName(t *testing.T) {
	const id = "01969f2e-7c2a-7b3e-9d4f-2a1b3c4d5e6f"
	for _, tc := range []struct {
		name string
		code apperr.Code
	}{
		{"members/" + id, ""},
		{"members/" + strings.ToUpper(id), ""},
		{"", apperr.Invalid},
		{"members/", apperr.Invalid},
		{"member/" + id, apperr.Invalid},
		{"members/" + id + "/x", apperr.Invalid},
		{"members/" + strings.Repeat("a", 65), apperr.Invalid},
		{"members/abc", apperr.NotFound},
	} {
		got, err := parseName("name", tc.name)
		if apperr.CodeOf(err) != tc.code {
			t.Errorf("parseName(%q) error = %v, want %q", tc.name, err, tc.code)
		}
		if tc.code == "" && !strings.EqualFold(got, id) {
			t.Errorf("parseName(%q) = %q", tc.name, got)
		}
	}
}

// TestEnumsMatch guards the numeric correspondence the mapping relies on: each domain enum
// value has the proto value of the same name.
func TestEnumsMatch(t *testing.T) {
	for s := member.StatusUnspecified; s <= member.StatusErased; s++ {
		if want := "MEMBER_STATUS_" + s.String(); memberv1.MemberStatus(s).String() != want {
			t.Errorf("status %d: proto %s, domain %s", s, memberv1.MemberStatus(s), want)
		}
	}
	for c := member.ChannelUnspecified; c <= member.ChannelThirdParty; c++ {
		if want := "CHANNEL_" + c.String(); memberv1.Channel(c).String() != want {
			t.Errorf("channel %d: proto %s, domain %s", c, memberv1.Channel(c), want)
		}
	}
	genders := map[member.Gender]memberv1.Gender{member.GenderUnspecified: memberv1.Gender_GENDER_UNSPECIFIED,
		member.GenderFemale: memberv1.Gender_GENDER_FEMALE, member.GenderMale: memberv1.Gender_GENDER_MALE, member.GenderOther: memberv1.Gender_GENDER_OTHER}
	for d, p := range genders {
		if int32(d) != int32(p) {
			t.Errorf("gender %d != %s", d, p)
		}
	}
	purposes := map[member.ConsentPurpose]memberv1.ConsentPurpose{
		member.PurposeMarketingSMS: memberv1.ConsentPurpose_CONSENT_PURPOSE_MARKETING_SMS, member.PurposeMarketingEmail: memberv1.ConsentPurpose_CONSENT_PURPOSE_MARKETING_EMAIL,
		member.PurposeMarketingPush: memberv1.ConsentPurpose_CONSENT_PURPOSE_MARKETING_PUSH, member.PurposeProfiling: memberv1.ConsentPurpose_CONSENT_PURPOSE_PROFILING}
	for d, p := range purposes {
		if int32(d) != int32(p) {
			t.Errorf("purpose %d != %s", d, p)
		}
	}
}

func TestConvertRoundTrip(t *testing.T) {
	now := time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC)
	m := &member.Member{ID: "id", DisplayName: "n", Phone: "+8613812345678", Email: "e@x.cn", Birthday: "1990-01-01",
		Address: "a", SpecialNeeds: member.SpecialNeeds{Allergies: []string{"p"}, Note: "n"}, Gender: member.GenderFemale,
		Channel: member.ChannelStore, StoreID: "s", Tags: []string{"t"}, Status: member.StatusFrozen, Tier: "gold",
		Identifiers: []member.Identifier{{Type: "card", Value: "1"}}, Preferences: map[string]string{"k": "v"},
		Consents:   []member.Consent{{Purpose: member.PurposeProfiling, Granted: true, UpdateTime: now, Channel: member.ChannelStore}},
		CreateTime: now, UpdateTime: now}
	p := toProto(m)
	if p.GetName() != "members/id" || p.GetStatus() != memberv1.MemberStatus_MEMBER_STATUS_FROZEN || !p.GetCreateTime().AsTime().Equal(now) {
		t.Fatalf("toProto = %v", p)
	}
	back := fromProto(p)
	// Output-only fields do not come back in.
	if back.ID != "" || back.Status != 0 || back.Tier != "" || !back.CreateTime.IsZero() || !back.Consents[0].UpdateTime.IsZero() {
		t.Fatalf("output-only fields read from input: %+v", back)
	}
	if back.DisplayName != m.DisplayName || back.Phone != m.Phone || !slices.Equal(back.SpecialNeeds.Allergies, m.SpecialNeeds.Allergies) ||
		back.Identifiers[0] != m.Identifiers[0] || back.Preferences["k"] != "v" || back.Gender != m.Gender || back.Channel != m.Channel {
		t.Fatalf("fromProto = %+v", back)
	}
}
