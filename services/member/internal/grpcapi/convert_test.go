package grpcapi

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/huiyuan-dev/huiyuan/pkg/apperr"
	"github.com/huiyuan-dev/huiyuan/services/member/internal/member"

	memberv1 "github.com/huiyuan-dev/huiyuan/gen/huiyuan/member/v1"
)

func TestParseID(t *testing.T) {
	const id = "01969f2e-7c2a-7b3e-9d4f-2a1b3c4d5e6f"
	for _, tc := range []struct {
		id   string
		code apperr.Code
	}{
		{id, ""},
		{strings.ToUpper(id), ""},
		{"", apperr.Invalid},
		{"members/" + id, apperr.Invalid}, // a resource name is not an id
		{id + "/x", apperr.Invalid},
		{strings.Repeat("a", 65), apperr.Invalid},
		{"abc", apperr.NotFound},
	} {
		got, err := parseID("member_id", tc.id)
		if apperr.CodeOf(err) != tc.code {
			t.Errorf("parseID(%q) error = %v, want %q", tc.id, err, tc.code)
		}
		var ae *apperr.Error
		if tc.code == apperr.Invalid && (!errors.As(err, &ae) || len(ae.Violations) != 1 || ae.Violations[0].Field != "member_id") {
			t.Errorf("parseID(%q) = %v, want a violation on member_id", tc.id, err)
		}
		if tc.code == "" && got != id {
			t.Errorf("parseID(%q) = %q", tc.id, got)
		}
	}
}

// TestEnumsMatch guards the numeric correspondence the mapping relies on: each domain enum
// value has the proto value of the same name, and the proto enums have no value the domain
// lacks.
func TestEnumsMatch(t *testing.T) {
	for s := member.StatusUnspecified; s <= member.StatusErased; s++ {
		if want := s.String(); memberv1.Member_Status(s).String() != want {
			t.Errorf("status %d: proto %s, domain %s", s, memberv1.Member_Status(s), want)
		}
	}
	if n := memberv1.Member_STATUS_UNSPECIFIED.Descriptor().Values().Len(); n != int(member.StatusErased)+1 {
		t.Errorf("proto Member.Status has %d values, the domain %d", n, member.StatusErased+1)
	}
	for c := member.ChannelUnspecified; c <= member.ChannelThirdParty; c++ {
		if want := c.String(); memberv1.Member_Channel(c).String() != want {
			t.Errorf("channel %d: proto %s, domain %s", c, memberv1.Member_Channel(c), want)
		}
	}
	if n := memberv1.Member_CHANNEL_UNSPECIFIED.Descriptor().Values().Len(); n != int(member.ChannelThirdParty)+1 {
		t.Errorf("proto Member.Channel has %d values, the domain %d", n, member.ChannelThirdParty+1)
	}
	genders := map[member.Gender]memberv1.Member_Gender{member.GenderUnspecified: memberv1.Member_GENDER_UNSPECIFIED,
		member.GenderFemale: memberv1.Member_FEMALE, member.GenderMale: memberv1.Member_MALE, member.GenderOther: memberv1.Member_OTHER}
	for d, p := range genders {
		if int32(d) != int32(p) {
			t.Errorf("gender %d != %s", d, p)
		}
	}
	purposes := map[member.ConsentPurpose]memberv1.Consent_Purpose{
		member.PurposeMarketingSMS: memberv1.Consent_MARKETING_SMS, member.PurposeMarketingEmail: memberv1.Consent_MARKETING_EMAIL,
		member.PurposeMarketingPush: memberv1.Consent_MARKETING_PUSH, member.PurposeProfiling: memberv1.Consent_PROFILING}
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
	if p.GetName() != "members/id" || p.GetStatus() != memberv1.Member_FROZEN || !p.GetCreateTime().AsTime().Equal(now) {
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
