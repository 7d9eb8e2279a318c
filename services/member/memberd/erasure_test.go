package memberd_test

import (
	"testing"

	"google.golang.org/protobuf/types/known/fieldmaskpb"

	"github.com/huiyuan-dev/huiyuan/pkg/kit"
	"github.com/huiyuan-dev/huiyuan/pkg/kittest"
	"github.com/huiyuan-dev/huiyuan/services/loyalty/loyaltyd"
	"github.com/huiyuan-dev/huiyuan/services/member/memberd"

	iamv1 "github.com/huiyuan-dev/huiyuan/gen/huiyuan/iam/v1"
	memberv1 "github.com/huiyuan-dev/huiyuan/gen/huiyuan/member/v1"
)

// startMember runs the member service (with loyalty, whose events it consumes) through kit.Run,
// without a broker.
func startMember(t *testing.T) (*kittest.Harness, memberv1.MemberServiceClient) {
	t.Helper()
	h := kittest.Start(t, func() []kit.Service { return []kit.Service{memberd.Module(), loyaltyd.Module()} }, kittest.Options{})
	return h, memberv1.NewMemberServiceClient(h.Conn)
}

// personal reports what of m is personal or identifying beyond its id, for the erasure checks.
func personal(m *memberv1.Member) []string {
	var out []string
	add := func(set bool, f string) {
		if set {
			out = append(out, f)
		}
	}
	add(m.GetDisplayName() != "", "display_name")
	add(m.GetPhone() != "", "phone")
	add(m.GetEmail() != "", "email")
	add(m.GetBirthday() != "", "birthday")
	add(m.GetAddress() != "", "address")
	add(m.GetSpecialNeeds() != nil, "special_needs")
	add(len(m.GetIdentifiers()) > 0, "identifiers")
	add(len(m.GetTags()) > 0, "tags")
	add(len(m.GetPreferences()) > 0, "preferences")
	add(len(m.GetConsents()) > 0, "consents")
	add(m.GetGender() != memberv1.Member_GENDER_UNSPECIFIED, "gender")
	return out
}

// TestIdentifiersSealedAndErased: analysts see an identifier's type, never its value; after
// erasure, a retry of every earlier request answers with the erased member and nothing personal
// (the stored answers were sealed under the member's data key, which erasure destroyed), and
// the identifiers are free for another member.
func TestIdentifiersSealedAndErased(t *testing.T) {
	h, c := startMember(t)
	op := h.As(iamv1.Role_OPERATOR)
	create := &memberv1.CreateMemberRequest{RequestId: "reg-1", Member: &memberv1.Member{DisplayName: "Wang Fang",
		Phone: "13800138201", Email: "wang@example.com", Birthday: "1990-05-06", Gender: memberv1.Member_FEMALE, Tags: []string{"vip"},
		Identifiers: []*memberv1.Identifier{{Type: "card", Value: "8800123"}}, Preferences: map[string]string{"language": "zh-CN"}},
		Consents: []*memberv1.ConsentChoice{{Purpose: memberv1.Consent_MARKETING_SMS, Granted: true}}}
	created, err := c.CreateMember(op, create)
	if err != nil {
		t.Fatal(err)
	}
	id := created.GetMember().GetId()
	add := &memberv1.AddMemberIdentifierRequest{RequestId: "add-1", MemberId: id,
		Identifier: &memberv1.Identifier{Type: "wechat_openid", Value: "oWx-Secret-1"}}
	if _, err := c.AddMemberIdentifier(op, add); err != nil {
		t.Fatal(err)
	}
	update := &memberv1.UpdateMemberRequest{RequestId: "upd-1", Member: &memberv1.Member{Id: id, Address: "1 Nanjing Road"},
		UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"address"}}}
	if _, err := c.UpdateMember(op, update); err != nil {
		t.Fatal(err)
	}

	// An analyst sees the types of the identifiers, not their values, in a read and in a list.
	got, err := c.GetMember(h.As(iamv1.Role_ANALYST), &memberv1.GetMemberRequest{MemberId: id})
	if err != nil {
		t.Fatal(err)
	}
	list, err := c.ListMembers(h.As(iamv1.Role_ANALYST), &memberv1.ListMembersRequest{})
	if err != nil || len(list.GetMembers()) != 1 {
		t.Fatalf("list %v %v", list, err)
	}
	for _, m := range []*memberv1.Member{got.GetMember(), list.GetMembers()[0]} {
		ids := m.GetIdentifiers()
		if len(ids) != 2 || ids[0].GetType() != "card" || ids[1].GetType() != "wechat_openid" || ids[0].GetValue() != "" || ids[1].GetValue() != "" ||
			m.GetPhone() != "" || m.GetDisplayName() != "" {
			t.Fatalf("analyst sees %v", m)
		}
	}
	// Staff see the values, and find the member by one.
	if found, err := c.LookupMember(h.As(iamv1.Role_SERVICE), &memberv1.LookupMemberRequest{IdentifierType: "card", IdentifierValue: "8800123"}); err != nil ||
		found.GetMember().GetIdentifiers()[0].GetValue() != "8800123" {
		t.Fatalf("lookup %v %v", found, err)
	}

	if _, err := c.EraseMember(h.As(iamv1.Role_ADMIN), &memberv1.EraseMemberRequest{RequestId: "erase-1", MemberId: id}); err != nil {
		t.Fatal(err)
	}
	replays := map[string]func() (*memberv1.Member, error){
		"create": func() (*memberv1.Member, error) { r, err := c.CreateMember(op, create); return r.GetMember(), err },
		"add":    func() (*memberv1.Member, error) { r, err := c.AddMemberIdentifier(op, add); return r.GetMember(), err },
		"update": func() (*memberv1.Member, error) { r, err := c.UpdateMember(op, update); return r.GetMember(), err },
		"erase": func() (*memberv1.Member, error) {
			r, err := c.EraseMember(h.As(iamv1.Role_ADMIN), &memberv1.EraseMemberRequest{RequestId: "erase-1", MemberId: id})
			return r.GetMember(), err
		},
	}
	for name, replay := range replays {
		m, err := replay()
		if err != nil || m.GetId() != id || m.GetStatus() != memberv1.Member_ERASED || len(personal(m)) > 0 {
			t.Fatalf("%s replayed after erasure: %v, personal %v: %v", name, err, personal(m), m)
		}
	}
	// Nothing was done twice, and the identifiers are free again.
	if n := count(h.Events("member", kittest.Tenant), "member_registered"); n != 1 {
		t.Fatalf("%d registrations", n)
	}
	again, err := c.CreateMember(op, &memberv1.CreateMemberRequest{Member: &memberv1.Member{DisplayName: "Other", Phone: "13800138202",
		Identifiers: []*memberv1.Identifier{{Type: "card", Value: "8800123"}, {Type: "wechat_openid", Value: "oWx-Secret-1"}}}})
	if err != nil || again.GetMember().GetId() == id {
		t.Fatalf("identifiers not freed by erasure: %v", err)
	}
}
