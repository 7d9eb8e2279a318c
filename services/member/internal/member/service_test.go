package member_test

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/huiyuan-dev/huiyuan/pkg/apperr"
	"github.com/huiyuan-dev/huiyuan/pkg/clock"
	"github.com/huiyuan-dev/huiyuan/services/member/internal/member"
)

// memStore is an in-memory member.Store: one tenant map, uniqueness of phone and email, and
// the events recorded, enough to drive the use cases.
type memStore struct {
	mu      sync.Mutex
	members map[string]*member.Member
	events  []member.Event
	gens    map[string]uint64 // token generation per member
	revoked map[string]bool   // member/token revoked alone
	pending map[string]*member.Verification
}

func newMemStore() *memStore {
	return &memStore{members: map[string]*member.Member{}, gens: map[string]uint64{}, revoked: map[string]bool{},
		pending: map[string]*member.Verification{}}
}

func (s *memStore) taken(m *member.Member) error {
	for _, o := range s.members {
		if o.ID == m.ID || o.Status == member.StatusErased {
			continue
		}
		if m.Phone != "" && o.Phone == m.Phone {
			return member.ExistsError("phone", "member.phone", "")
		}
		if m.Email != "" && o.Email == m.Email {
			return member.ExistsError("email", "member.email", "")
		}
		for _, id := range m.Identifiers {
			if slices.Contains(o.Identifiers, id) {
				return member.ExistsError("identifier", "identifier", id.Type)
			}
		}
	}
	return nil
}

func (s *memStore) Create(_ context.Context, tenant string, m *member.Member, ev member.Event) (*member.Member, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.taken(m); err != nil {
		return nil, err
	}
	s.members[m.ID] = m.Clone()
	s.events = append(s.events, ev)
	return m.Clone(), nil
}

func (s *memStore) change(id string, fn member.ChangeFunc) (*member.Member, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	cur, ok := s.members[id]
	if !ok {
		return nil, member.NotFoundError(id)
	}
	m := cur.Clone()
	ev, err := fn(m)
	if err != nil {
		return nil, err
	}
	if ev == nil {
		return m, nil
	}
	if err := s.taken(m); err != nil {
		return nil, err
	}
	s.members[id] = m.Clone()
	s.events = append(s.events, ev)
	if sc, ok := ev.(member.StatusChanged); ok && sc.Revoked != nil {
		s.revoke(*sc.Revoked)
	}
	return m, nil
}

func (s *memStore) Update(_ context.Context, _, id string, fn member.ChangeFunc) (*member.Member, error) {
	return s.change(id, fn)
}

func (s *memStore) Erase(_ context.Context, _, id string, fn member.ChangeFunc) (*member.Member, error) {
	return s.change(id, fn)
}

func (s *memStore) Get(_ context.Context, _, id string, view member.View) (*member.Member, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	m, ok := s.members[id]
	if !ok {
		return nil, member.NotFoundError(id)
	}
	c := m.Clone()
	if view == member.ViewRedacted {
		c.ClearPersonal()
	}
	return c, nil
}

func (s *memStore) Lookup(_ context.Context, _ string, k member.LookupKey, _ member.View) (*member.Member, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, m := range s.members {
		switch {
		case m.Status == member.StatusErased:
		case k.Kind == member.ByPhone && m.Phone == k.Value,
			k.Kind == member.ByEmail && m.Email == k.Value,
			k.Kind == member.ByIdentifier && slices.Contains(m.Identifiers, k.Identifier):
			return m.Clone(), nil
		}
	}
	return nil, nil
}

func (s *memStore) List(_ context.Context, _ string, q member.ListQuery) ([]*member.Member, string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []*member.Member
	for _, m := range s.members {
		if q.Filter.Match(m) {
			out = append(out, m.Clone())
		}
	}
	return out, "", nil
}

type auditRec struct {
	action string
	ids    []string
}

type memAudit struct {
	mu   sync.Mutex
	recs []auditRec
}

func (a *memAudit) PersonalDataRead(_ context.Context, _, action string, ids []string) {
	a.mu.Lock()
	a.recs = append(a.recs, auditRec{action, ids})
	a.mu.Unlock()
}

var t0 = time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC)

func newService(t *testing.T) (*member.Service, *memStore, *memAudit, *clock.Fake) {
	t.Helper()
	st, au, clk := newMemStore(), &memAudit{}, clock.NewFake(t0)
	svc, err := member.NewService(st, clk, au, member.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return svc, st, au, clk
}

func violations(err error) []string {
	var ae *apperr.Error
	if !asAppErr(err, &ae) {
		return nil
	}
	var out []string
	for _, v := range ae.Violations {
		out = append(out, v.Field)
	}
	return out
}

func TestCreateValidation(t *testing.T) {
	svc, _, _, _ := newService(t)
	ctx := context.Background()
	for _, tc := range []struct {
		name string
		in   member.Member
		want []string // violated fields; nil means success
	}{
		{"ok phone only", member.Member{DisplayName: "Li Lei", Phone: "13812345678"}, nil},
		{"ok email only", member.Member{DisplayName: "Han Meimei", Email: "HAN@example.com"}, nil},
		{"no contact", member.Member{DisplayName: "X"}, []string{"member.phone"}},
		{"no name", member.Member{Phone: "13912345678"}, []string{"member.display_name"}},
		{"bad everything", member.Member{
			DisplayName: "ok", Phone: "123", Email: "nope", Birthday: "2023-02-29",
			Tags: []string{"ok", "bad tag"}, Identifiers: []member.Identifier{{Type: "card", Value: ""}},
			Preferences: map[string]string{"bad key": "v"}, Gender: 9, Channel: 9, StoreID: "a b",
			Consents: []member.Consent{{Purpose: 0}}, ReferralCode: "a b",
		}, []string{"member.phone", "member.email", "member.birthday", "member.gender", "member.channel",
			"member.store_id", "member.tags[1]", "member.identifiers[0].value", "member.preferences",
			"consents[0].purpose", "referral_code"}},
		{"future birthday", member.Member{DisplayName: "x", Email: "a@b.cn", Birthday: "2027-01-01"}, []string{"member.birthday"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m, err := svc.Create(ctx, "acme", &tc.in)
			if tc.want == nil {
				if err != nil {
					t.Fatalf("Create: %v", err)
				}
				if m.ID == "" || m.Status != member.StatusActive || m.Channel != member.ChannelOnline || !m.CreateTime.Equal(t0) {
					t.Fatalf("Create = %+v", m)
				}
				return
			}
			if apperr.CodeOf(err) != apperr.Invalid {
				t.Fatalf("Create error = %v, want Invalid", err)
			}
			got := violations(err)
			slices.Sort(got)
			want := slices.Clone(tc.want)
			slices.Sort(want)
			if !slices.Equal(got, want) {
				t.Fatalf("violations = %v, want %v", got, want)
			}
		})
	}
}

func TestCreateNormalisesAndRecords(t *testing.T) {
	svc, st, au, _ := newService(t)
	m, err := svc.Create(context.Background(), "acme", &member.Member{
		DisplayName: " 李雷 ", Phone: "138 1234 5678", Email: "Li@Example.com", Channel: member.ChannelStore,
		StoreID: "sh-001", Tags: []string{"VIP", "vip", "new"}, ReferralCode: "R1",
		Consents:    []member.Consent{{Purpose: member.PurposeProfiling, Granted: true}, {Purpose: member.PurposeMarketingSMS}},
		Identifiers: []member.Identifier{{Type: "Card", Value: " 0001 "}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if m.DisplayName != "李雷" || m.Phone != "+8613812345678" || m.Email != "li@example.com" ||
		!slices.Equal(m.Tags, []string{"vip", "new"}) || m.Identifiers[0] != (member.Identifier{Type: "card", Value: "0001"}) {
		t.Fatalf("not normalised: %+v", m)
	}
	if m.Consents[0].Purpose != member.PurposeMarketingSMS || m.Consents[1].Channel != member.ChannelStore || !m.Consents[1].UpdateTime.Equal(t0) {
		t.Fatalf("consents: %+v", m.Consents)
	}
	ev, ok := st.events[0].(member.Registered)
	if !ok || ev.MemberID != m.ID || ev.StoreID != "sh-001" || ev.Channel != member.ChannelStore || ev.ReferralCode != "R1" {
		t.Fatalf("event: %#v", st.events[0])
	}
	if len(au.recs) != 1 || au.recs[0].action != "create" {
		t.Fatalf("audit: %+v", au.recs)
	}
}

func TestLookup(t *testing.T) {
	svc, _, _, _ := newService(t)
	ctx := context.Background()
	m, err := svc.Create(ctx, "acme", &member.Member{DisplayName: "x", Phone: "+86 138 1234 5678", Email: "x@y.cn",
		Identifiers: []member.Identifier{{Type: "openid", Value: "oAbC"}}})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name  string
		q     member.LookupQuery
		code  apperr.Code
		field string
	}{
		{"phone local", member.LookupQuery{Phone: "13812345678"}, "", ""},
		{"email any case", member.LookupQuery{Email: "X@Y.CN"}, "", ""},
		{"identifier", member.LookupQuery{IdentifierType: "OPENID", IdentifierValue: "oAbC"}, "", ""},
		{"identifier value is case sensitive", member.LookupQuery{IdentifierType: "openid", IdentifierValue: "oabc"}, apperr.NotFound, ""},
		{"unknown phone", member.LookupQuery{Phone: "13912345678"}, apperr.NotFound, ""},
		{"bad phone", member.LookupQuery{Phone: "12"}, apperr.Invalid, "phone"},
		{"bad email", member.LookupQuery{Email: "x"}, apperr.Invalid, "email"},
		{"no key", member.LookupQuery{}, apperr.Invalid, "phone"},
		{"two keys", member.LookupQuery{Phone: "13812345678", Email: "x@y.cn"}, apperr.Invalid, "phone"},
		{"identifier without type", member.LookupQuery{IdentifierValue: "v"}, apperr.Invalid, "identifier_type"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := svc.Lookup(ctx, "acme", tc.q, member.ViewFull)
			if apperr.CodeOf(err) != tc.code {
				t.Fatalf("Lookup error = %v, want %q", err, tc.code)
			}
			if tc.code == "" && got.ID != m.ID {
				t.Fatalf("Lookup = %s, want %s", got.ID, m.ID)
			}
			if tc.field != "" && !slices.Contains(violations(err), tc.field) {
				t.Fatalf("violations %v lack %q", violations(err), tc.field)
			}
		})
	}
}

func TestUpdate(t *testing.T) {
	ctx := context.Background()
	base := member.Member{DisplayName: "x", Phone: "13812345678", Email: "x@y.cn", Tags: []string{"a"},
		Consents: []member.Consent{{Purpose: member.PurposeMarketingSMS, Granted: true}}}
	for _, tc := range []struct {
		name    string
		patch   member.Member
		mask    []string
		code    apperr.Code
		field   string
		changed []string
		check   func(t *testing.T, m *member.Member)
	}{
		{name: "display name", patch: member.Member{DisplayName: "y"}, mask: []string{"display_name"},
			changed: []string{"display_name"}, check: func(t *testing.T, m *member.Member) {
				if m.DisplayName != "y" || m.Phone != "+8613812345678" {
					t.Errorf("%+v", m)
				}
			}},
		{name: "implied mask", patch: member.Member{Birthday: "1990-01-01", Tags: []string{"b"}},
			changed: []string{"birthday", "tags"}},
		{name: "clear email keeps phone", patch: member.Member{}, mask: []string{"email"}, changed: []string{"email"}},
		{name: "clear both contacts", patch: member.Member{}, mask: []string{"email", "phone"}, code: apperr.Invalid, field: "member.email"},
		{name: "clear display name", patch: member.Member{}, mask: []string{"display_name"}, code: apperr.Invalid, field: "member.display_name"},
		{name: "read-only field", patch: member.Member{}, mask: []string{"status"}, code: apperr.Invalid, field: "update_mask"},
		{name: "star with others", patch: member.Member{}, mask: []string{"*", "tags"}, code: apperr.Invalid, field: "update_mask"},
		{name: "empty patch and mask", patch: member.Member{}, code: apperr.Invalid, field: "update_mask"},
		{name: "bad phone", patch: member.Member{Phone: "1"}, mask: []string{"phone"}, code: apperr.Invalid, field: "member.phone"},
		{name: "same value no change", patch: member.Member{Email: "X@Y.cn"}, mask: []string{"email"}, changed: nil},
		{name: "allergies part", patch: member.Member{SpecialNeeds: member.SpecialNeeds{Allergies: []string{"peanuts"}}},
			mask: []string{"special_needs.allergies"}, changed: []string{"special_needs"}},
		{name: "consents merge by purpose", patch: member.Member{Consents: []member.Consent{
			{Purpose: member.PurposeProfiling, Granted: true}, {Purpose: member.PurposeMarketingSMS, Granted: true}}},
			mask: []string{"consents"}, changed: []string{"consents"}, check: func(t *testing.T, m *member.Member) {
				if len(m.Consents) != 2 || !m.Consents[0].UpdateTime.Equal(t0) || m.Consents[1].UpdateTime.Equal(t0) {
					t.Errorf("consents: %+v", m.Consents)
				}
			}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			svc, st, _, clk := newService(t)
			in := base.Clone()
			m, err := svc.Create(ctx, "acme", in)
			if err != nil {
				t.Fatal(err)
			}
			clk.Advance(time.Hour)
			got, err := svc.Update(ctx, "acme", m.ID, &tc.patch, tc.mask)
			if apperr.CodeOf(err) != tc.code {
				t.Fatalf("Update error = %v, want %q", err, tc.code)
			}
			if tc.field != "" && !slices.Contains(violations(err), tc.field) {
				t.Fatalf("violations %v lack %q", violations(err), tc.field)
			}
			if err != nil {
				return
			}
			if len(tc.changed) == 0 {
				if len(st.events) != 1 {
					t.Fatalf("no-op update recorded %v", st.events[1:])
				}
				return
			}
			ev, ok := st.events[len(st.events)-1].(member.Updated)
			if !ok || !slices.Equal(ev.ChangedFields, tc.changed) || !got.UpdateTime.Equal(t0.Add(time.Hour)) {
				t.Fatalf("event %#v, want changed %v", st.events[len(st.events)-1], tc.changed)
			}
			if tc.check != nil {
				tc.check(t, got)
			}
		})
	}
}

func TestStatusAndErase(t *testing.T) {
	ctx := context.Background()
	svc, st, au, _ := newService(t)
	m, err := svc.Create(ctx, "acme", &member.Member{DisplayName: "x", Phone: "13812345678", Tags: []string{"vip"},
		Identifiers: []member.Identifier{{Type: "card", Value: "1"}}})
	if err != nil {
		t.Fatal(err)
	}
	steps := []struct {
		op   func() (*member.Member, error)
		code apperr.Code
		want member.Status
	}{
		{func() (*member.Member, error) {
			return svc.ChangeStatus(ctx, "acme", m.ID, member.StatusFrozen, "fraud check")
		}, "", member.StatusFrozen},
		{func() (*member.Member, error) { return svc.ChangeStatus(ctx, "acme", m.ID, member.StatusFrozen, "") }, "", member.StatusFrozen},
		{func() (*member.Member, error) {
			return svc.Update(ctx, "acme", m.ID, &member.Member{DisplayName: "z"}, nil)
		}, "", member.StatusFrozen},
		{func() (*member.Member, error) { return svc.ChangeStatus(ctx, "acme", m.ID, member.StatusErased, "") }, apperr.Invalid, 0},
		{func() (*member.Member, error) {
			return svc.ChangeStatus(ctx, "acme", m.ID, member.StatusClosed, "asked")
		}, "", member.StatusClosed},
		{func() (*member.Member, error) { return svc.ChangeStatus(ctx, "acme", m.ID, member.StatusActive, "") }, apperr.FailedPrecondition, 0},
		{func() (*member.Member, error) {
			return svc.Update(ctx, "acme", m.ID, &member.Member{DisplayName: "z"}, nil)
		}, apperr.FailedPrecondition, 0},
		{func() (*member.Member, error) {
			return svc.AddIdentifier(ctx, "acme", m.ID, member.Identifier{Type: "card", Value: "2"})
		}, apperr.FailedPrecondition, 0},
		{func() (*member.Member, error) { return svc.Erase(ctx, "acme", m.ID) }, "", member.StatusErased},
		{func() (*member.Member, error) { return svc.Erase(ctx, "acme", m.ID) }, "", member.StatusErased},
		{func() (*member.Member, error) { return svc.ChangeStatus(ctx, "acme", m.ID, member.StatusActive, "") }, apperr.FailedPrecondition, 0},
		{func() (*member.Member, error) { return svc.Erase(ctx, "acme", "missing") }, apperr.NotFound, 0},
	}
	for i, s := range steps {
		got, err := s.op()
		if apperr.CodeOf(err) != s.code {
			t.Fatalf("step %d: error %v, want %q", i, err, s.code)
		}
		if err == nil && got.Status != s.want {
			t.Fatalf("step %d: status %s, want %s", i, got.Status, s.want)
		}
	}
	erased, _ := svc.Get(ctx, "acme", m.ID, member.ViewFull)
	if erased.Phone != "" || erased.DisplayName != "" || erased.Tags != nil || erased.Identifiers != nil || erased.ID != m.ID {
		t.Fatalf("erased member keeps data: %+v", erased)
	}
	var kinds []string
	for _, e := range st.events {
		kinds = append(kinds, map[string]string{"member.Registered": "member_registered", "member.Updated": "member_updated",
			"member.StatusChanged": "member_status_changed", "member.TokensRevoked": "member_tokens_revoked"}[fmt.Sprintf("%T", e)])
	}
	// Closing and erasure each revoke all of the member's tokens, recorded after the status change.
	want := []string{"member_registered", "member_status_changed", "member_updated", "member_status_changed", "member_tokens_revoked",
		"member_status_changed", "member_tokens_revoked"}
	if !slices.Equal(kinds, want) {
		t.Fatalf("events %v, want %v", kinds, want)
	}
	if last := st.events[len(st.events)-2].(member.StatusChanged); last.New != member.StatusErased || last.Old != member.StatusClosed ||
		last.Revoked == nil || last.Revoked.Cause != member.RevokeErased {
		t.Fatalf("erase event %+v", last)
	}
	for _, r := range au.recs {
		if r.action == "get" {
			t.Fatalf("reading an erased member was audited as a personal-data read: %+v", r)
		}
	}
}

func TestIdentifiers(t *testing.T) {
	ctx := context.Background()
	svc, _, _, _ := newService(t)
	a, _ := svc.Create(ctx, "acme", &member.Member{DisplayName: "a", Phone: "13812345678"})
	b, _ := svc.Create(ctx, "acme", &member.Member{DisplayName: "b", Phone: "13912345678"})
	card := member.Identifier{Type: "card", Value: "C-1"}
	if _, err := svc.AddIdentifier(ctx, "acme", a.ID, member.Identifier{Type: "Card", Value: " C-1 "}); err != nil {
		t.Fatal(err)
	}
	if m, err := svc.AddIdentifier(ctx, "acme", a.ID, card); err != nil || len(m.Identifiers) != 1 {
		t.Fatalf("re-adding: %v %+v", err, m)
	}
	if _, err := svc.AddIdentifier(ctx, "acme", b.ID, card); apperr.ReasonOf(err) != member.ReasonIdentifierExists {
		t.Fatalf("duplicate identifier: %v", err)
	}
	if _, err := svc.AddIdentifier(ctx, "acme", b.ID, member.Identifier{Type: "bad type"}); !slices.Equal(violations(err), []string{"identifier.type", "identifier.value"}) {
		t.Fatalf("bad identifier: %v", violations(err))
	}
	if _, err := svc.RemoveIdentifier(ctx, "acme", b.ID, card); apperr.ReasonOf(err) != member.ReasonIdentifierMissing {
		t.Fatalf("removing absent identifier: %v", err)
	}
	if m, err := svc.RemoveIdentifier(ctx, "acme", a.ID, card); err != nil || len(m.Identifiers) != 0 {
		t.Fatalf("remove: %v %+v", err, m)
	}
	if _, err := svc.AddIdentifier(ctx, "acme", b.ID, card); err != nil {
		t.Fatalf("identifier not freed: %v", err)
	}
	for i := 1; i < member.MaxIdentifiers; i++ {
		if _, err := svc.AddIdentifier(ctx, "acme", b.ID, member.Identifier{Type: "t", Value: string(rune('a' + i))}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := svc.AddIdentifier(ctx, "acme", b.ID, member.Identifier{Type: "t", Value: "zz"}); apperr.ReasonOf(err) != member.ReasonIdentifierLimit {
		t.Fatalf("limit: %v", err)
	}
}

func TestListArgsAndAudit(t *testing.T) {
	ctx := context.Background()
	svc, _, au, _ := newService(t)
	if _, err := svc.Create(ctx, "acme", &member.Member{DisplayName: "a", Phone: "13812345678", Tags: []string{"vip"}}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := svc.List(ctx, "acme", member.ListRequest{PageSize: -1}); !slices.Equal(violations(err), []string{"page_size"}) {
		t.Fatalf("negative page size: %v", err)
	}
	if _, _, err := svc.List(ctx, "acme", member.ListRequest{Filter: "x = 1"}); !slices.Equal(violations(err), []string{"filter"}) {
		t.Fatalf("bad filter: %v", err)
	}
	au.recs = nil
	ms, _, err := svc.List(ctx, "acme", member.ListRequest{Filter: "tag = vip", View: member.ViewRedacted})
	if err != nil || len(ms) != 1 || len(au.recs) != 0 {
		t.Fatalf("redacted list: %v %d audit %v", err, len(ms), au.recs)
	}
	if _, _, err := svc.List(ctx, "acme", member.ListRequest{Filter: "tag = vip"}); err != nil || len(au.recs) != 1 || au.recs[0].action != "list" {
		t.Fatalf("full list audit: %v %v", err, au.recs)
	}
}
