package memberd_test

import (
	"slices"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/types/known/fieldmaskpb"

	"github.com/huiyuan-dev/huiyuan/pkg/kittest"

	iamv1 "github.com/huiyuan-dev/huiyuan/gen/huiyuan/iam/v1"
	memberv1 "github.com/huiyuan-dev/huiyuan/gen/huiyuan/member/v1"
)

// TestSelfService: a member's own token changes what the member owns and nothing staff manage;
// its phone changes only through a code the notification sender delivers, which the member
// cannot read; a wrong or late code changes nothing; staff still set phone and email directly.
func TestSelfService(t *testing.T) {
	h, c := startKit(t)
	notices := memberv1.NewNotificationServiceClient(h.Conn)
	op := h.As(iamv1.Role_OPERATOR)
	created, err := c.members.CreateMember(op, &memberv1.CreateMemberRequest{Member: &memberv1.Member{DisplayName: "Zhao",
		Phone: "13800138401", Email: "zhao@example.com", StoreId: "sh-001", Tags: []string{"regular"}}})
	if err != nil {
		t.Fatal(err)
	}
	id := created.GetMember().GetId()
	self := h.AsMember(id)
	update := func(m *memberv1.Member, paths ...string) (*memberv1.Member, error) {
		m.Id = id
		resp, err := c.members.UpdateMember(self, &memberv1.UpdateMemberRequest{Member: m, UpdateMask: &fieldmaskpb.FieldMask{Paths: paths}})
		return resp.GetMember(), err
	}

	got, err := update(&memberv1.Member{DisplayName: "Zhao Lei", Birthday: "1991-02-03", Gender: memberv1.Member_MALE,
		Preferences: map[string]string{"language": "zh-CN"}, Consents: []*memberv1.Consent{{Purpose: memberv1.Consent_PROFILING, Granted: true}}},
		"display_name", "birthday", "gender", "preferences", "consents")
	if err != nil || got.GetDisplayName() != "Zhao Lei" || got.GetBirthday() != "1991-02-03" || len(got.GetConsents()) != 1 {
		t.Fatalf("own fields: %v %v", got, err)
	}
	for _, tc := range []struct {
		name   string
		m      *memberv1.Member
		paths  []string
		code   codes.Code
		reason string
		fields []string
	}{
		{"tags", &memberv1.Member{Tags: []string{"vip"}}, []string{"tags"}, codes.PermissionDenied, "MEMBER_FIELD_STAFF_ONLY", []string{"member.tags"}},
		{"store", &memberv1.Member{StoreId: "bj-009"}, nil, codes.PermissionDenied, "MEMBER_FIELD_STAFF_ONLY", []string{"member.store_id"}},
		{"status by the mask", &memberv1.Member{Status: memberv1.Member_ACTIVE}, []string{"status"}, codes.InvalidArgument, "INVALID_ARGUMENT", []string{"update_mask"}},
		{"phone", &memberv1.Member{Phone: "13900139000"}, []string{"phone"}, codes.FailedPrecondition, "CONTACT_VERIFICATION_REQUIRED", []string{"member.phone"}},
		{"email", &memberv1.Member{Email: "thief@example.com"}, nil, codes.FailedPrecondition, "CONTACT_VERIFICATION_REQUIRED", []string{"member.email"}},
		{"birthday again", &memberv1.Member{Birthday: "1990-01-01"}, []string{"birthday"}, codes.FailedPrecondition, "MEMBER_BIRTHDAY_SET", []string{"member.birthday"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := update(tc.m, tc.paths...)
			kittest.WantErr(t, err, tc.code, tc.reason, tc.fields...)
		})
	}
	// Nor may it change its status, nor its identifiers.
	_, err = c.members.ChangeMemberStatus(self, &memberv1.ChangeMemberStatusRequest{MemberId: id, Status: memberv1.Member_FROZEN})
	kittest.WantErr(t, err, codes.PermissionDenied, "PERMISSION_DENIED")
	_, err = c.members.AddMemberIdentifier(self, &memberv1.AddMemberIdentifierRequest{MemberId: id, Identifier: &memberv1.Identifier{Type: "card", Value: "1"}})
	kittest.WantErr(t, err, codes.PermissionDenied, "PERMISSION_DENIED")
	now, err := c.members.GetMember(op, &memberv1.GetMemberRequest{MemberId: id})
	if err != nil || !slices.Equal(now.GetMember().GetTags(), []string{"regular"}) || now.GetMember().GetStoreId() != "sh-001" ||
		now.GetMember().GetPhone() != "+8613800138401" || now.GetMember().GetBirthday() != "1991-02-03" || now.GetMember().GetStatus() != memberv1.Member_ACTIVE {
		t.Fatalf("refused updates changed the member: %v %v", now, err)
	}

	// The phone changes by verification: the event names the verification, the sender reads
	// the code, the member gives it back.
	req, err := c.members.RequestContactChange(self, &memberv1.RequestContactChangeRequest{RequestId: "cc-1", MemberId: id, Phone: "139 0013 9000"})
	if err != nil || req.GetVerification().GetChannel() != memberv1.ContactVerification_SMS || req.GetVerification().GetAttemptsLeft() != 5 {
		t.Fatalf("request: %v %v", req, err)
	}
	vid := req.GetVerification().GetId()
	if !slices.Contains(h.Events("member", kittest.Tenant), "verification_code_requested") {
		t.Fatal("no verification_code_requested event")
	}
	_, err = notices.GetVerificationMessage(self, &memberv1.GetVerificationMessageRequest{MemberId: id, VerificationId: vid})
	kittest.WantErr(t, err, codes.PermissionDenied, "PERMISSION_DENIED")
	msg, err := notices.GetVerificationMessage(h.As(iamv1.Role_SERVICE), &memberv1.GetVerificationMessageRequest{MemberId: id, VerificationId: vid})
	if err != nil || msg.GetMessage().GetDestination() != "+8613900139000" || len(msg.GetMessage().GetCode()) != 6 {
		t.Fatalf("message: %v %v", msg, err)
	}
	code := msg.GetMessage().GetCode()
	wrong := "000000"
	if code == wrong {
		wrong = "999999"
	}
	_, err = c.members.ConfirmContactChange(self, &memberv1.ConfirmContactChangeRequest{MemberId: id, VerificationId: vid, Code: wrong})
	kittest.WantErr(t, err, codes.InvalidArgument, "VERIFICATION_CODE_INVALID", "code")
	if m, _ := c.members.GetMember(op, &memberv1.GetMemberRequest{MemberId: id}); m.GetMember().GetPhone() != "+8613800138401" {
		t.Fatalf("a wrong code changed the phone to %s", m.GetMember().GetPhone())
	}
	confirmed, err := c.members.ConfirmContactChange(self, &memberv1.ConfirmContactChangeRequest{RequestId: "cf-1", MemberId: id, VerificationId: vid, Code: code})
	if err != nil || confirmed.GetMember().GetPhone() != "+8613900139000" {
		t.Fatalf("confirm: %v %v", confirmed, err)
	}
	if found, err := c.members.LookupMember(op, &memberv1.LookupMemberRequest{Phone: "13900139000"}); err != nil || found.GetMember().GetId() != id {
		t.Fatalf("lookup by the new phone: %v %v", found, err)
	}

	// A late code is refused.
	req, err = c.members.RequestContactChange(self, &memberv1.RequestContactChangeRequest{MemberId: id, Email: "zhao.lei@example.com"})
	if err != nil {
		t.Fatal(err)
	}
	msg, err = notices.GetVerificationMessage(h.As(iamv1.Role_SERVICE), &memberv1.GetVerificationMessageRequest{MemberId: id, VerificationId: req.GetVerification().GetId()})
	if err != nil {
		t.Fatal(err)
	}
	h.Clock.Advance(10*time.Minute + time.Second)
	_, err = c.members.ConfirmContactChange(self, &memberv1.ConfirmContactChangeRequest{MemberId: id, VerificationId: req.GetVerification().GetId(),
		Code: msg.GetMessage().GetCode()})
	kittest.WantErr(t, err, codes.FailedPrecondition, "VERIFICATION_EXPIRED")

	// Staff set the email directly.
	if _, err := c.members.UpdateMember(op, &memberv1.UpdateMemberRequest{Member: &memberv1.Member{Id: id, Email: "zl@example.com", Tags: []string{"vip"}}}); err != nil {
		t.Fatalf("staff update: %v", err)
	}
}
