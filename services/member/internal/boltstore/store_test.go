package boltstore_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/huiyuan-dev/huiyuan/pkg/apperr"
	"github.com/huiyuan-dev/huiyuan/pkg/boltx"
	"github.com/huiyuan-dev/huiyuan/pkg/clock"
	"github.com/huiyuan-dev/huiyuan/pkg/eventlog"
	"github.com/huiyuan-dev/huiyuan/pkg/idempotency"
	"github.com/huiyuan-dev/huiyuan/pkg/pii"
	"github.com/huiyuan-dev/huiyuan/services/member/internal/boltstore"
	"github.com/huiyuan-dev/huiyuan/services/member/internal/member"
	"github.com/huiyuan-dev/huiyuan/services/member/internal/membership"

	memberv1 "github.com/huiyuan-dev/huiyuan/gen/huiyuan/member/v1"
)

type fixture struct {
	path  string
	db    *boltx.DB
	w     *boltx.Writer
	log   *eventlog.Log
	store *boltstore.Store
	svc   *member.Service
	clk   *clock.Fake
}

type noAudit struct{}

func (noAudit) PersonalDataRead(context.Context, string, string, []string) {}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	f := &fixture{path: filepath.Join(t.TempDir(), "member.db"), log: eventlog.New("member"),
		clk: clock.NewFake(time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC))}
	buckets := slices.Concat(boltstore.Buckets(), f.log.Buckets(), idempotency.Buckets())
	db, err := boltx.Open(f.path, boltx.Options{NoSync: true}, buckets...)
	if err != nil {
		t.Fatal(err)
	}
	f.db = db
	f.w = boltx.NewWriter(db, boltx.WriterOptions{})
	t.Cleanup(func() { f.close(t) })
	kek := make([]byte, 32)
	_, _ = rand.Read(kek)
	kr, err := pii.NewKeyring(kek)
	if err != nil {
		t.Fatal(err)
	}
	f.store, err = boltstore.New(boltstore.Config{DB: db, Writer: f.w, Keyring: kr, Log: f.log, Clock: f.clk})
	if err != nil {
		t.Fatal(err)
	}
	f.svc, err = member.NewService(f.store, f.clk, noAudit{}, member.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func (f *fixture) close(t *testing.T) {
	if f.w != nil {
		if err := f.w.Close(); err != nil {
			t.Error(err)
		}
		f.w = nil
	}
	if f.db != nil {
		if err := f.db.Close(); err != nil {
			t.Error(err)
		}
		f.db = nil
	}
}

func (f *fixture) create(t *testing.T, tenant string, m member.Member) *member.Member {
	t.Helper()
	out, err := f.svc.Create(context.Background(), tenant, &m)
	if err != nil {
		t.Fatalf("create: %v", err)
	}
	return out
}

func (f *fixture) eventTypes(t *testing.T, tenant string) []string {
	t.Helper()
	evs, _, err := f.log.List(context.Background(), f.db, tenant, 0, 1000)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range evs {
		out = append(out, e.GetType())
	}
	return out
}

// TestNoPlaintextAtRest writes, updates and erases members, with request ids so that their
// answers are stored too, closes the database and scans the raw file: no name, phone (any form),
// email, address, allergy or identifier value may appear in it.
func TestNoPlaintextAtRest(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	secrets := []string{}
	var first *member.Member
	for i := range 20 {
		name := fmt.Sprintf("Zhangsan%03dUnique", i)
		local := fmt.Sprintf("1381234%04d", i)
		email := fmt.Sprintf("zhang.%03d@secret-mail.example", i)
		addr := fmt.Sprintf("%d Hidden Lane Shanghai", 100+i)
		card := fmt.Sprintf("CARD%06dSECRET", i)
		openid := fmt.Sprintf("oWx_%03d_SecretOpenId", i)
		idem := idempotency.NewContext(ctx, idempotency.Key{Tenant: "acme", Method: "/create", RequestID: fmt.Sprintf("c%d", i)})
		m, err := f.svc.Create(idem, "acme", &member.Member{DisplayName: name, Phone: local, Email: email, Address: addr,
			Birthday: "1990-07-15", SpecialNeeds: member.SpecialNeeds{Allergies: []string{"Peanutallergy"}, Note: "QuietNoteText"},
			Identifiers: []member.Identifier{{Type: "card", Value: card}}})
		if err != nil {
			t.Fatal(err)
		}
		idem = idempotency.NewContext(ctx, idempotency.Key{Tenant: "acme", Method: "/add", RequestID: fmt.Sprintf("a%d", i)})
		if _, err := f.svc.AddIdentifier(idem, "acme", m.ID, member.Identifier{Type: "wechat_openid", Value: openid}); err != nil {
			t.Fatal(err)
		}
		if first == nil {
			first = m
		}
		secrets = append(secrets, name, local, m.Phone, email, addr, card, openid)
	}
	if _, err := f.svc.Update(ctx, "acme", first.ID, &member.Member{DisplayName: "RenamedSecretName", Phone: "+86 139 0000 1111"}, []string{"display_name", "phone"}); err != nil {
		t.Fatal(err)
	}
	secrets = append(secrets, "RenamedSecretName", "+8613900001111", "13900001111", "Peanutallergy", "QuietNoteText", "1990-07-15")
	if _, err := f.svc.Erase(ctx, "acme", first.ID); err != nil {
		t.Fatal(err)
	}
	f.close(t)
	raw, err := os.ReadFile(f.path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(raw, []byte(first.ID)) {
		t.Fatal("the file does not even hold the member ids: the scan proves nothing")
	}
	for _, s := range secrets {
		if bytes.Contains(raw, []byte(s)) {
			t.Errorf("plaintext %q found in the database file", s)
		}
	}
}

func TestUniqueness(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	f.create(t, "acme", member.Member{DisplayName: "a", Phone: "13812345678", Email: "a@x.cn",
		Identifiers: []member.Identifier{{Type: "card", Value: "C1"}}})
	for _, tc := range []struct {
		name   string
		in     member.Member
		reason string
		field  string
	}{
		{"phone other format", member.Member{DisplayName: "b", Phone: "+86 138-1234-5678"}, member.ReasonPhoneExists, "member.phone"},
		{"email other case", member.Member{DisplayName: "b", Email: "A@X.CN"}, member.ReasonEmailExists, "member.email"},
		{"identifier", member.Member{DisplayName: "b", Email: "b@x.cn", Identifiers: []member.Identifier{{Type: "x", Value: "1"}, {Type: "card", Value: "C1"}}},
			member.ReasonIdentifierExists, "member.identifiers[1]"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := f.svc.Create(ctx, "acme", &tc.in)
			var ae *apperr.Error
			if apperr.CodeOf(err) != apperr.AlreadyExists || apperr.ReasonOf(err) != tc.reason || !errorsAs(err, &ae) ||
				len(ae.Violations) != 1 || ae.Violations[0].Field != tc.field {
				t.Fatalf("Create error = %#v, want %s on %s", err, tc.reason, tc.field)
			}
			// Another tenant is another world.
			if _, err := f.svc.Create(ctx, "other", &tc.in); err != nil {
				t.Fatalf("other tenant: %v", err)
			}
		})
	}
	// The failed registrations left nothing behind: identifier x/1 is free in acme.
	if _, err := f.svc.Create(ctx, "acme", &member.Member{DisplayName: "c", Email: "c@x.cn", Identifiers: []member.Identifier{{Type: "x", Value: "1"}}}); err != nil {
		t.Fatalf("identifier of a failed registration stayed reserved: %v", err)
	}
	if got := f.eventTypes(t, "acme"); len(got) != 2 {
		t.Fatalf("events %v, want two registrations", got)
	}
}

func TestUpdateMovesIndexes(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	a := f.create(t, "acme", member.Member{DisplayName: "a", Phone: "13812345678", Email: "a@x.cn"})
	b := f.create(t, "acme", member.Member{DisplayName: "b", Phone: "13912345678"})
	if _, err := f.svc.Update(ctx, "acme", b.ID, &member.Member{Email: "a@x.cn"}, nil); apperr.ReasonOf(err) != member.ReasonEmailExists {
		t.Fatalf("taking a's email: %v", err)
	}
	if _, err := f.svc.Update(ctx, "acme", a.ID, &member.Member{Phone: "13700000000"}, []string{"phone", "email"}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.Lookup(ctx, "acme", member.LookupQuery{Phone: "13812345678"}, member.ViewFull); apperr.CodeOf(err) != apperr.NotFound {
		t.Fatalf("old phone still found: %v", err)
	}
	got, err := f.svc.Lookup(ctx, "acme", member.LookupQuery{Phone: "+8613700000000"}, member.ViewFull)
	if err != nil || got.ID != a.ID || got.Email != "" {
		t.Fatalf("lookup new phone: %v %+v", err, got)
	}
	if _, err := f.svc.Update(ctx, "acme", b.ID, &member.Member{Email: "a@x.cn", Phone: "13812345678"}, nil); err != nil {
		t.Fatalf("freed phone and email not reusable: %v", err)
	}
	if _, err := f.svc.AddIdentifier(ctx, "acme", a.ID, member.Identifier{Type: "openid", Value: "o1"}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.AddIdentifier(ctx, "acme", b.ID, member.Identifier{Type: "openid", Value: "o1"}); apperr.ReasonOf(err) != member.ReasonIdentifierExists {
		t.Fatalf("identifier taken twice: %v", err)
	}
	if got, err := f.svc.Lookup(ctx, "acme", member.LookupQuery{IdentifierType: "openid", IdentifierValue: "o1"}, member.ViewRedacted); err != nil || got.ID != a.ID || got.Phone != "" {
		t.Fatalf("identifier lookup: %v %+v", err, got)
	}
	if _, err := f.svc.RemoveIdentifier(ctx, "acme", a.ID, member.Identifier{Type: "openid", Value: "o1"}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.AddIdentifier(ctx, "acme", b.ID, member.Identifier{Type: "openid", Value: "o1"}); err != nil {
		t.Fatalf("removed identifier not freed: %v", err)
	}
	want := []string{"member_registered", "member_registered", "member_updated", "member_updated", "member_updated",
		"member_updated", "member_updated"}
	if got := f.eventTypes(t, "acme"); !slices.Equal(got, want) {
		t.Fatalf("events %v, want %v", got, want)
	}
}

func TestEraseShreds(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	idem := idempotency.NewContext(ctx, idempotency.Key{Tenant: "acme", Method: "/create", RequestID: "r1"})
	m, err := f.svc.Create(idem, "acme", &member.Member{DisplayName: "Secret", Phone: "13812345678", Email: "s@x.cn",
		Tags: []string{"vip"}, Identifiers: []member.Identifier{{Type: "card", Value: "C1"}}, StoreID: "s1"})
	if err != nil {
		t.Fatal(err)
	}
	addIdem := idempotency.NewContext(ctx, idempotency.Key{Tenant: "acme", Method: "/add", RequestID: "r2"})
	if _, err := f.svc.AddIdentifier(addIdem, "acme", m.ID, member.Identifier{Type: "wechat_openid", Value: "oSecret"}); err != nil {
		t.Fatal(err)
	}
	// Before erasure, the retry is the first answer, identifier values included.
	if got, err := f.svc.AddIdentifier(addIdem, "acme", m.ID, member.Identifier{Type: "wechat_openid", Value: "oSecret"}); err != nil ||
		len(got.Identifiers) != 2 || got.Identifiers[1].Value != "oSecret" || got.Phone != "+8613812345678" {
		t.Fatalf("replay before erasure: %v %+v", err, got)
	}
	f.clk.Advance(time.Hour)
	erased, err := f.svc.Erase(ctx, "acme", m.ID)
	if err != nil {
		t.Fatal(err)
	}
	if erased.Status != member.StatusErased || erased.DisplayName != "" || erased.Tags != nil || erased.StoreID != "s1" {
		t.Fatalf("erased = %+v", erased)
	}
	got, err := f.svc.Get(ctx, "acme", m.ID, member.ViewFull)
	if err != nil || got.Status != member.StatusErased || got.Phone != "" || got.Email != "" || got.Identifiers != nil {
		t.Fatalf("get erased: %v %+v", err, got)
	}
	err = f.db.View(ctx, func(tx *bolt.Tx) error {
		if tx.Bucket([]byte("member_data_keys")).Get(boltx.Key("acme", m.ID)) != nil {
			return fmt.Errorf("data key survived erasure")
		}
		for _, b := range []string{"member_phone_index", "member_email_index", "member_identifier_index"} {
			if k, _ := tx.Bucket([]byte(b)).Cursor().First(); k != nil {
				return fmt.Errorf("%s still holds an entry", b)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// Retries of the registration and of the identifier's addition: their stored answers can no
	// longer be opened, so they answer with the erased member, nothing personal or identifying.
	replay, err := f.svc.Create(idem, "acme", &member.Member{DisplayName: "Secret", Phone: "13812345678", Email: "s@x.cn",
		Tags: []string{"vip"}, Identifiers: []member.Identifier{{Type: "card", Value: "C1"}}, StoreID: "s1"})
	if err != nil || replay.ID != m.ID || replay.Status != member.StatusErased || replay.DisplayName != "" || replay.Phone != "" ||
		replay.Email != "" || replay.Identifiers != nil || replay.Tags != nil || replay.Preferences != nil || replay.Consents != nil {
		t.Fatalf("replay after erasure: %v %+v", err, replay)
	}
	replay, err = f.svc.AddIdentifier(addIdem, "acme", m.ID, member.Identifier{Type: "wechat_openid", Value: "oSecret"})
	if err != nil || replay.ID != m.ID || replay.Status != member.StatusErased || replay.Identifiers != nil {
		t.Fatalf("replay of an identifier's addition after erasure: %v %+v", err, replay)
	}
	again := f.create(t, "acme", member.Member{DisplayName: "New", Phone: "13812345678", Email: "s@x.cn",
		Identifiers: []member.Identifier{{Type: "card", Value: "C1"}}})
	if again.ID == m.ID {
		t.Fatal("same id")
	}
	if _, err := f.svc.Erase(ctx, "acme", m.ID); err != nil {
		t.Fatalf("erasing twice: %v", err)
	}
	if _, err := f.svc.Update(ctx, "acme", m.ID, &member.Member{DisplayName: "x"}, nil); apperr.ReasonOf(err) != member.ReasonErased {
		t.Fatalf("updating an erased member: %v", err)
	}
	if _, err := f.svc.ChangeStatus(ctx, "acme", m.ID, member.StatusActive, ""); apperr.ReasonOf(err) != member.ReasonErased {
		t.Fatalf("reactivating an erased member: %v", err)
	}
	if _, err := f.svc.AddIdentifier(ctx, "acme", m.ID, member.Identifier{Type: "card", Value: "C9"}); apperr.ReasonOf(err) != member.ReasonErased {
		t.Fatalf("adding an identifier to an erased member: %v", err)
	}
	want := []string{"member_registered", "member_updated", "member_status_changed", "member_tokens_revoked", "member_registered"}
	if got := f.eventTypes(t, "acme"); !slices.Equal(got, want) {
		t.Fatalf("events %v, want %v", got, want)
	}
}

func TestIdempotentMutations(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	key := func(id string, hash byte) context.Context {
		return idempotency.NewContext(ctx, idempotency.Key{Tenant: "acme", Method: "/m", RequestID: id, Hash: [32]byte{hash}})
	}
	in := member.Member{DisplayName: "a", Phone: "13812345678"}
	first, err := f.svc.Create(key("c", 1), "acme", &in)
	if err != nil {
		t.Fatal(err)
	}
	f.clk.Advance(time.Minute)
	second, err := f.svc.Create(key("c", 1), "acme", &in)
	if err != nil || second.ID != first.ID || !second.CreateTime.Equal(first.CreateTime) || second.Phone != first.Phone {
		t.Fatalf("retry: %v %+v", err, second)
	}
	if _, err := f.svc.Create(key("c", 2), "acme", &in); apperr.ReasonOf(err) != idempotency.ReasonRequestIDReused {
		t.Fatalf("reused id: %v", err)
	}
	u1, err := f.svc.Update(key("u", 1), "acme", first.ID, &member.Member{Tags: []string{"t1"}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.Update(ctx, "acme", first.ID, &member.Member{Tags: []string{"t2"}}, nil); err != nil {
		t.Fatal(err)
	}
	u2, err := f.svc.Update(key("u", 1), "acme", first.ID, &member.Member{Tags: []string{"t1"}}, nil)
	if err != nil || !slices.Equal(u2.Tags, u1.Tags) || !u2.UpdateTime.Equal(u1.UpdateTime) {
		t.Fatalf("update retry: %v %+v, want the first answer %+v", err, u2, u1)
	}
	want := []string{"member_registered", "member_updated", "member_updated"}
	if got := f.eventTypes(t, "acme"); !slices.Equal(got, want) {
		t.Fatalf("events %v, want %v", got, want)
	}
}

func TestEventPayloadsCarryNoPersonalData(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	m := f.create(t, "acme", member.Member{DisplayName: "Wangwu", Phone: "13812345678", Channel: member.ChannelStore, StoreID: "s9", Tags: []string{"vip"}})
	if _, err := f.svc.Update(ctx, "acme", m.ID, &member.Member{DisplayName: "Wangliu"}, nil); err != nil {
		t.Fatal(err)
	}
	evs, last, err := f.log.List(ctx, f.db, "acme", 0, 10)
	if err != nil || last != 2 || len(evs) != 2 {
		t.Fatalf("List: %v last=%d n=%d", err, last, len(evs))
	}
	for _, e := range evs {
		if bytes.Contains(e.GetPayload(), []byte("Wang")) || bytes.Contains(e.GetPayload(), []byte("13812345678")) {
			t.Errorf("event %s carries personal data", e.GetType())
		}
	}
	var reg memberv1.MemberRegisteredEvent
	if err := protoUnmarshal(evs[0].GetPayload(), &reg); err != nil || reg.GetMemberId() != m.ID || reg.GetStoreId() != "s9" ||
		reg.GetChannel() != memberv1.Member_STORE {
		t.Fatalf("registered payload: %v %v", err, &reg)
	}
	var upd memberv1.MemberUpdatedEvent
	if err := protoUnmarshal(evs[1].GetPayload(), &upd); err != nil || !slices.Equal(upd.GetChangedFields(), []string{"display_name"}) {
		t.Fatalf("updated payload: %v %v", err, &upd)
	}
}

func TestListPaging(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	var vip []string
	for i := range 25 {
		m := member.Member{DisplayName: fmt.Sprintf("m%d", i), Phone: fmt.Sprintf("1381234%04d", i)}
		if i%3 == 0 {
			m.Tags = []string{"vip"}
		}
		out := f.create(t, "acme", m)
		if i%3 == 0 {
			vip = append(vip, out.ID)
		}
		f.create(t, "other", m) // interleaved tenant must never leak in
	}
	collect := func(filter string, size int, view member.View) ([]string, int) {
		var ids []string
		tok, pages := "", 0
		for {
			ms, next, err := f.svc.List(ctx, "acme", member.ListRequest{PageSize: size, PageToken: tok, Filter: filter, View: view})
			if err != nil {
				t.Fatal(err)
			}
			pages++
			for _, m := range ms {
				ids = append(ids, m.ID)
				if (view == member.ViewFull) != (m.DisplayName != "") {
					t.Fatalf("view %d returned display name %q", view, m.DisplayName)
				}
			}
			if next == "" {
				return ids, pages
			}
			tok = next
		}
	}
	all, pages := collect("", 10, member.ViewFull)
	if len(all) != 25 || pages != 3 || !slices.IsSorted(all) {
		t.Fatalf("all: %d members in %d pages", len(all), pages)
	}
	got, _ := collect("tag = vip", 4, member.ViewRedacted)
	if !slices.Equal(got, vip) {
		t.Fatalf("vip = %v, want %v", got, vip)
	}
	exact, pages := collect("", 25, member.ViewRedacted)
	if len(exact) != 25 || pages != 1 {
		t.Fatalf("exact page: %d members, %d pages", len(exact), pages)
	}
	f.store.SetScanLimit(5)
	got, pages = collect("tag = vip", 100, member.ViewRedacted)
	if !slices.Equal(got, vip) || pages != 5 {
		t.Fatalf("scan-limited: %v in %d pages", got, pages)
	}
	_, next, err := f.svc.List(ctx, "other", member.ListRequest{PageSize: 1})
	if err != nil || next == "" {
		t.Fatal(err)
	}
	if _, _, err := f.svc.List(ctx, "acme", member.ListRequest{PageToken: next}); apperr.CodeOf(err) != apperr.Invalid {
		t.Fatalf("another tenant's token: %v", err)
	}
	if _, _, err := f.svc.List(ctx, "acme", member.ListRequest{PageToken: "!!"}); apperr.CodeOf(err) != apperr.Invalid {
		t.Fatalf("garbage token: %v", err)
	}
}

// TestConcurrentSamePhone races 50 registrations of one phone through the group-commit
// writer: exactly one wins, the rest get MEMBER_PHONE_EXISTS.
func TestConcurrentSamePhone(t *testing.T) {
	f := newFixture(t)
	var ok, dup atomic.Int32
	var wg sync.WaitGroup
	for i := range 50 {
		wg.Go(func() {
			_, err := f.svc.Create(context.Background(), "acme", &member.Member{DisplayName: fmt.Sprintf("m%d", i), Phone: "13812345678"})
			switch apperr.ReasonOf(err) {
			case "":
				if err == nil {
					ok.Add(1)
				}
			case member.ReasonPhoneExists:
				dup.Add(1)
			default:
				t.Errorf("unexpected error %v", err)
			}
		})
	}
	wg.Wait()
	if ok.Load() != 1 || dup.Load() != 49 {
		t.Fatalf("%d succeeded, %d duplicates", ok.Load(), dup.Load())
	}
	if got := f.eventTypes(t, "acme"); len(got) != 1 {
		t.Fatalf("events %v", got)
	}
}

// TestEventsCarryTier: a registration enrolls the member at the tenant's entry tier and carries
// it; updates carry the tier as stored. That is how loyalty learns a member's tier.
func TestEventsCarryTier(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	now := f.clk.Now()
	if _, err := f.store.UpdateCatalog(ctx, "acme", func(c *membership.Catalog) (membership.Result, []membership.Event, error) {
		v, evs, err := membership.CreateTier(c, &membership.Tier{ID: "bronze", DisplayName: "Bronze", MultiplierPercent: 100}, nil, now)
		return v, evs, err
	}); err != nil {
		t.Fatal(err)
	}
	m := &member.Member{ID: "m-tier", Phone: "+8613812345678", Status: member.StatusActive, Tier: "gold", CreateTime: now, UpdateTime: now}
	created, err := f.store.Create(ctx, "acme", m, member.Registered{MemberID: m.ID, At: now})
	if err != nil || created.Tier != "bronze" {
		t.Fatalf("created %v %v", created, err)
	}
	if _, err := f.store.Update(ctx, "acme", m.ID, func(m *member.Member) (member.Event, error) {
		m.Tier = "silver"
		return member.Updated{MemberID: m.ID, ChangedFields: []string{"tier"}, At: now}, nil
	}); err != nil {
		t.Fatal(err)
	}
	evs, _, err := f.log.List(ctx, f.db, "acme", 0, 10)
	if err != nil || len(evs) != 3 || evs[0].GetType() != membership.EventTierDefined {
		t.Fatalf("List: %v %v", err, evs)
	}
	var reg memberv1.MemberRegisteredEvent
	if err := protoUnmarshal(evs[1].GetPayload(), &reg); err != nil || reg.GetTier() != "bronze" {
		t.Fatalf("registered payload: %v %v", err, &reg)
	}
	var upd memberv1.MemberUpdatedEvent
	if err := protoUnmarshal(evs[2].GetPayload(), &upd); err != nil || upd.GetTier() != "silver" {
		t.Fatalf("updated payload: %v %v", err, &upd)
	}
}

// TestRedactedIdentifiers: a read without personal data shows each identifier's type, never its
// value; the full read and a lookup by the value still work.
func TestRedactedIdentifiers(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	m := f.create(t, "acme", member.Member{DisplayName: "a", Phone: "13812345678",
		Identifiers: []member.Identifier{{Type: "card", Value: "8800001"}, {Type: "wechat_openid", Value: "oAbC"}}})
	red, err := f.svc.Get(ctx, "acme", m.ID, member.ViewRedacted)
	if err != nil || !slices.Equal(red.Identifiers, []member.Identifier{{Type: "card"}, {Type: "wechat_openid"}}) {
		t.Fatalf("redacted: %v %+v", err, red.Identifiers)
	}
	page, _, err := f.svc.List(ctx, "acme", member.ListRequest{View: member.ViewRedacted})
	if err != nil || len(page) != 1 || page[0].Identifiers[0].Value != "" {
		t.Fatalf("redacted list: %v %+v", err, page)
	}
	full, err := f.svc.Lookup(ctx, "acme", member.LookupQuery{IdentifierType: "wechat_openid", IdentifierValue: "oAbC"}, member.ViewFull)
	if err != nil || full.ID != m.ID || !slices.Equal(full.Identifiers, m.Identifiers) {
		t.Fatalf("lookup: %v %+v", err, full)
	}
}
