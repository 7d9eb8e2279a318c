package member_test

import (
	"slices"
	"testing"
	"time"

	"github.com/huiyuan-dev/huiyuan/services/member/internal/member"
)

// TestClearPersonal: what a reader without the right to personal data gets, and what erasure
// keeps. Identifier values are personal (a card number, an open id); their types are not.
func TestClearPersonal(t *testing.T) {
	full := func() *member.Member {
		return &member.Member{ID: "m1", DisplayName: "Li", Phone: "+8613812345678", Email: "li@x.cn", Birthday: "1990-01-02",
			Address: "1 Road", SpecialNeeds: member.SpecialNeeds{Allergies: []string{"nuts"}}, Gender: member.GenderFemale,
			Channel: member.ChannelStore, StoreID: "s1", Tags: []string{"vip"}, Tier: "gold", Status: member.StatusActive,
			Identifiers: []member.Identifier{{Type: "card", Value: "8800001"}}, Preferences: map[string]string{"lang": "zh"},
			Consents: []member.Consent{{Purpose: member.PurposeProfiling, Granted: true}}, ReferralCode: "R1"}
	}
	for _, tc := range []struct {
		name  string
		apply func(m *member.Member)
		want  *member.Member
	}{
		{"redacted", (*member.Member).ClearPersonal, &member.Member{ID: "m1", Gender: member.GenderFemale, Channel: member.ChannelStore,
			StoreID: "s1", Tags: []string{"vip"}, Tier: "gold", Status: member.StatusActive, Identifiers: []member.Identifier{{Type: "card"}},
			Preferences: map[string]string{"lang": "zh"}, Consents: []member.Consent{{Purpose: member.PurposeProfiling, Granted: true}},
			ReferralCode: "R1"}},
		{"anonymised", func(m *member.Member) { member.Anonymise(m, t0) }, &member.Member{ID: "m1", Channel: member.ChannelStore,
			StoreID: "s1", Tier: "gold", Status: member.StatusErased, UpdateTime: t0}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			orig := full()
			m := orig.Clone()
			tc.apply(m)
			if !equalMembers(m, tc.want) {
				t.Fatalf("got %+v\nwant %+v", m, tc.want)
			}
			if orig.Identifiers[0].Value != "8800001" {
				t.Fatal("clearing a copy reached the original's identifiers")
			}
		})
	}
}

func equalMembers(a, b *member.Member) bool {
	return a.ID == b.ID && a.DisplayName == b.DisplayName && a.Phone == b.Phone && a.Email == b.Email && a.Birthday == b.Birthday &&
		a.Address == b.Address && a.SpecialNeeds.IsZero() == b.SpecialNeeds.IsZero() && a.Gender == b.Gender && a.Channel == b.Channel &&
		a.StoreID == b.StoreID && slices.Equal(a.Tags, b.Tags) && a.Tier == b.Tier && a.Status == b.Status &&
		slices.Equal(a.Identifiers, b.Identifiers) && len(a.Preferences) == len(b.Preferences) && slices.Equal(a.Consents, b.Consents) &&
		a.ReferralCode == b.ReferralCode && a.UpdateTime.Equal(b.UpdateTime) && a.CreateTime.Equal(time.Time{}) == b.CreateTime.Equal(time.Time{})
}
