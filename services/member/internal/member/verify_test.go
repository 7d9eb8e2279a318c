package member_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/huiyuan-dev/huiyuan/pkg/apperr"
	"github.com/huiyuan-dev/huiyuan/services/member/internal/member"
)

func (s *memStore) RequestVerification(_ context.Context, _, id string, fn member.RequestFunc) (*member.Verification, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	m, ok := s.members[id]
	if !ok {
		return nil, member.NotFoundError(id)
	}
	var pending []member.Verification
	for _, v := range s.pending {
		if v.MemberID == id {
			pending = append(pending, *v)
		}
	}
	v, err := fn(m.Clone(), pending)
	if err != nil {
		return nil, err
	}
	for k, p := range s.pending {
		if p.MemberID == id && p.Medium == v.Medium {
			delete(s.pending, k)
		}
	}
	c := *v
	s.pending[v.ID] = &c
	s.events = append(s.events, v.Requested())
	return v, nil
}

func (s *memStore) ConfirmVerification(_ context.Context, _, id, vid string, fn member.ConfirmFunc) (*member.Member, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	cur, ok := s.members[id]
	if !ok {
		return nil, member.NotFoundError(id)
	}
	v, ok := s.pending[vid]
	if !ok || v.MemberID != id {
		return nil, member.VerificationNotFound(vid)
	}
	m, attempt := cur.Clone(), *v
	ev, err := fn(m, &attempt)
	if err != nil {
		if attempt.AttemptsLeft <= 0 {
			delete(s.pending, vid)
		} else {
			*v = attempt
		}
		return nil, err
	}
	if err := s.taken(m); err != nil {
		return nil, err
	}
	delete(s.pending, vid)
	s.members[id] = m.Clone()
	s.events = append(s.events, ev)
	return m, nil
}

func (s *memStore) Verification(_ context.Context, _, id, vid string) (*member.Verification, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	v, ok := s.pending[vid]
	if !ok || v.MemberID != id {
		return nil, member.VerificationNotFound(vid)
	}
	c := *v
	return &c, nil
}

// code is the code sent for vid, as the notification sender reads it.
func code(t *testing.T, svc *member.Service, id, vid string) string {
	t.Helper()
	msg, err := svc.VerificationMessage(context.Background(), "acme", id, vid)
	if err != nil {
		t.Fatal(err)
	}
	return msg.Code
}

// TestUpdateSelf: what a member's own token may change, and that a refusal changes nothing.
func TestUpdateSelf(t *testing.T) {
	for _, tc := range []struct {
		name      string
		birthday  string // the member's, before
		patch     member.Member
		mask      []string
		code      apperr.Code
		reason    string
		fields    []string
		wantName  string
		wantBirth string
	}{
		{name: "display name", patch: member.Member{DisplayName: "New"}, mask: []string{"display_name"}, wantName: "New"},
		{name: "first birthday", patch: member.Member{Birthday: "1990-01-02"}, wantBirth: "1990-01-02"},
		{name: "birthday again", birthday: "1990-01-02", patch: member.Member{Birthday: "1991-01-02"},
			code: apperr.FailedPrecondition, reason: member.ReasonBirthdaySet, fields: []string{"member.birthday"}},
		{name: "birthday cleared", birthday: "1990-01-02", mask: []string{"birthday"},
			code: apperr.FailedPrecondition, reason: member.ReasonBirthdaySet, fields: []string{"member.birthday"}},
		{name: "same birthday", birthday: "1990-01-02", patch: member.Member{DisplayName: "New", Birthday: "1990-01-02"},
			wantName: "New", wantBirth: "1990-01-02"},
		{name: "gender, preferences, consents", patch: member.Member{Gender: member.GenderOther, Preferences: map[string]string{"lang": "en"},
			Consents: []member.Consent{{Purpose: member.PurposeMarketingSMS, Granted: true}}}},
		{name: "tags", patch: member.Member{Tags: []string{"vip"}}, code: apperr.PermissionDenied, reason: member.ReasonStaffOnly,
			fields: []string{"member.tags"}},
		{name: "store and tags", patch: member.Member{DisplayName: "New", StoreID: "s9", Tags: []string{"vip"}},
			code: apperr.PermissionDenied, reason: member.ReasonStaffOnly, fields: []string{"member.store_id", "member.tags"}},
		{name: "address", patch: member.Member{Address: "1 Road"}, code: apperr.PermissionDenied, reason: member.ReasonStaffOnly,
			fields: []string{"member.address"}},
		{name: "allergies", mask: []string{"special_needs.allergies"}, code: apperr.PermissionDenied, reason: member.ReasonStaffOnly,
			fields: []string{"member.special_needs.allergies"}},
		{name: "phone", patch: member.Member{Phone: "13900000000"}, code: apperr.FailedPrecondition,
			reason: member.ReasonVerificationRequired, fields: []string{"member.phone"}},
		{name: "email and tags", patch: member.Member{Email: "x@y.cn", Tags: []string{"vip"}}, code: apperr.PermissionDenied,
			reason: member.ReasonStaffOnly, fields: []string{"member.tags"}},
		{name: "star means the member's own fields", patch: member.Member{DisplayName: "Star", Tags: nil}, mask: []string{"*"},
			wantName: "Star"},
		{name: "unknown path", mask: []string{"status"}, code: apperr.Invalid, fields: []string{"update_mask"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			svc, st, _, _ := newService(t)
			ctx := context.Background()
			m, err := svc.Create(ctx, "acme", &member.Member{DisplayName: "Old", Phone: "13812345678", Birthday: tc.birthday,
				Tags: []string{"regular"}, StoreID: "s1"})
			if err != nil {
				t.Fatal(err)
			}
			events := len(st.events)
			got, err := svc.UpdateSelf(ctx, "acme", m.ID, &tc.patch, tc.mask)
			if apperr.CodeOf(err) != tc.code || (tc.reason != "" && apperr.ReasonOf(err) != tc.reason) {
				t.Fatalf("err = %v, want %q %q", err, tc.code, tc.reason)
			}
			if tc.fields != nil && !slices.Equal(violations(err), tc.fields) {
				t.Fatalf("violations %v, want %v", violations(err), tc.fields)
			}
			after, _ := svc.Get(ctx, "acme", m.ID, member.ViewFull)
			if err != nil {
				if len(st.events) != events || after.DisplayName != "Old" || after.Birthday != tc.birthday || !slices.Equal(after.Tags, []string{"regular"}) {
					t.Fatalf("a refused update changed the member: %+v", after)
				}
				return
			}
			if tc.wantName != "" && got.DisplayName != tc.wantName || tc.wantBirth != "" && got.Birthday != tc.wantBirth ||
				!slices.Equal(got.Tags, []string{"regular"}) || got.StoreID != "s1" || got.Phone != "+8613812345678" {
				t.Fatalf("updated %+v", got)
			}
		})
	}
}

// TestContactVerification walks a phone change through its code: refusals, the cooldown, wrong
// codes up to the limit, expiry, and the change applying only on the right code.
func TestContactVerification(t *testing.T) {
	svc, st, au, clk := newService(t)
	ctx := context.Background()
	m, err := svc.Create(ctx, "acme", &member.Member{DisplayName: "a", Phone: "13812345678", Email: "a@x.cn"})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name   string
		c      member.ContactChange
		reason string
		field  string
	}{
		{"nothing", member.ContactChange{}, "INVALID_ARGUMENT", "phone"},
		{"both", member.ContactChange{Phone: "13900000000", Email: "b@x.cn"}, "INVALID_ARGUMENT", "phone"},
		{"bad phone", member.ContactChange{Phone: "12"}, "INVALID_ARGUMENT", "phone"},
		{"bad email", member.ContactChange{Email: "not mail"}, "INVALID_ARGUMENT", "email"},
		{"the same phone", member.ContactChange{Phone: "+86 138 1234 5678"}, member.ReasonContactUnchanged, "phone"},
	} {
		_, err := svc.RequestContactChange(ctx, "acme", m.ID, tc.c)
		if apperr.ReasonOf(err) != tc.reason || !slices.Equal(violations(err), []string{tc.field}) {
			t.Errorf("%s: %v, want %s on %s", tc.name, err, tc.reason, tc.field)
		}
	}
	first, err := svc.RequestContactChange(ctx, "acme", m.ID, member.ContactChange{Phone: "139 0000 0000"})
	if err != nil || first.Code != "" || first.Destination != "" || first.AttemptsLeft != member.VerificationAttempts ||
		!first.ExpireTime.Equal(clk.Now().Add(member.VerificationTTL)) || first.Medium != member.MediumSMS {
		t.Fatalf("request: %+v %v (the answer shows no code or destination)", first, err)
	}
	if ev, ok := st.events[len(st.events)-1].(member.VerificationRequested); !ok || ev.VerificationID != first.ID {
		t.Fatalf("event %+v", st.events[len(st.events)-1])
	}
	if _, err := svc.RequestContactChange(ctx, "acme", m.ID, member.ContactChange{Phone: "13900000001"}); apperr.CodeOf(err) != apperr.ResourceExhausted ||
		apperr.ReasonOf(err) != member.ReasonVerificationTooSoon {
		t.Fatalf("within the cooldown: %v", err)
	}
	// An email's code is another channel: no cooldown between them.
	mail, err := svc.RequestContactChange(ctx, "acme", m.ID, member.ContactChange{Email: "New@X.cn"})
	if err != nil || mail.Medium != member.MediumEmail {
		t.Fatalf("email: %+v %v", mail, err)
	}
	if msg, err := svc.VerificationMessage(ctx, "acme", m.ID, mail.ID); err != nil || msg.Destination != "new@x.cn" || len(msg.Code) != 6 {
		t.Fatalf("message %+v %v", msg, err)
	}
	if last := au.recs[len(au.recs)-1]; last.action != "verification_message" {
		t.Fatalf("reading a message is not audited: %+v", last)
	}

	// A new phone code after the cooldown replaces the first.
	clk.Advance(member.VerificationCooldown)
	second, err := svc.RequestContactChange(ctx, "acme", m.ID, member.ContactChange{Phone: "13900000000"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.ConfirmContactChange(ctx, "acme", m.ID, first.ID, "000000"); apperr.ReasonOf(err) != member.ReasonVerificationNotFound {
		t.Fatalf("replaced verification: %v", err)
	}
	good := code(t, svc, m.ID, second.ID)
	wrong := "000000"
	if wrong == good {
		wrong = "111111"
	}
	for left := member.VerificationAttempts - 1; left > 0; left-- {
		_, err := svc.ConfirmContactChange(ctx, "acme", m.ID, second.ID, wrong)
		if apperr.ReasonOf(err) != member.ReasonCodeInvalid || !slices.Equal(violations(err), []string{"code"}) {
			t.Fatalf("wrong code with %d left: %v", left, err)
		}
	}
	if _, err := svc.ConfirmContactChange(ctx, "acme", m.ID, second.ID, wrong); apperr.ReasonOf(err) != member.ReasonAttemptsExhausted {
		t.Fatalf("last attempt: %v", err)
	}
	if _, err := svc.ConfirmContactChange(ctx, "acme", m.ID, second.ID, good); apperr.ReasonOf(err) != member.ReasonVerificationNotFound {
		t.Fatalf("the right code after the attempts ran out: %v", err)
	}
	if got, _ := svc.Get(ctx, "acme", m.ID, member.ViewFull); got.Phone != "+8613812345678" {
		t.Fatalf("phone changed without its code: %s", got.Phone)
	}

	// Expiry: the right code ten minutes later is refused.
	clk.Advance(member.VerificationCooldown)
	third, err := svc.RequestContactChange(ctx, "acme", m.ID, member.ContactChange{Phone: "13900000000"})
	if err != nil {
		t.Fatal(err)
	}
	good = code(t, svc, m.ID, third.ID)
	clk.Advance(member.VerificationTTL)
	if _, err := svc.VerificationMessage(ctx, "acme", m.ID, third.ID); apperr.ReasonOf(err) != member.ReasonVerificationExpired {
		t.Fatalf("message of an expired code: %v", err)
	}
	if _, err := svc.ConfirmContactChange(ctx, "acme", m.ID, third.ID, good); apperr.ReasonOf(err) != member.ReasonVerificationExpired {
		t.Fatalf("expired code: %v", err)
	}

	// The right code in time applies the change.
	fourth, err := svc.RequestContactChange(ctx, "acme", m.ID, member.ContactChange{Phone: "13900000000"})
	if err != nil {
		t.Fatal(err)
	}
	clk.Advance(9 * time.Minute)
	got, err := svc.ConfirmContactChange(ctx, "acme", m.ID, fourth.ID, code(t, svc, m.ID, fourth.ID))
	if err != nil || got.Phone != "+8613900000000" || got.Email != "a@x.cn" {
		t.Fatalf("confirm: %+v %v", got, err)
	}
	if ev, ok := st.events[len(st.events)-1].(member.Updated); !ok || !slices.Equal(ev.ChangedFields, []string{"phone"}) {
		t.Fatalf("event %+v", st.events[len(st.events)-1])
	}
	if _, err := svc.ConfirmContactChange(ctx, "acme", m.ID, "not-an-id", "1"); !slices.Equal(violations(err), []string{"verification_id"}) {
		t.Fatalf("bad id: %v", err)
	}
	if _, err := svc.ChangeStatus(ctx, "acme", m.ID, member.StatusClosed, ""); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.RequestContactChange(ctx, "acme", m.ID, member.ContactChange{Phone: "13700000000"}); apperr.ReasonOf(err) != member.ReasonClosed {
		t.Fatalf("closed member: %v", err)
	}
}
