package boltstore

import (
	"bytes"
	"encoding/hex"
	"testing"
	"time"

	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"

	"github.com/huiyuan-dev/huiyuan/services/loyalty/internal/ledger"
	"github.com/huiyuan-dev/huiyuan/services/loyalty/internal/loyalty"

	loyaltyv1 "github.com/huiyuan-dev/huiyuan/gen/huiyuan/loyalty/v1"
)

// TestDecodeLegacyPolicy reads a policy stored while expiry_kind (4) and refund_policy (7)
// were strings: their values come back as the enums, other unknown fields stay, and a
// policy in the current encoding decodes unchanged.
func TestDecodeLegacyPolicy(t *testing.T) {
	str := func(b []byte, num protowire.Number, v string) []byte {
		return protowire.AppendString(protowire.AppendTag(b, num, protowire.BytesType), v)
	}
	num := func(b []byte, n protowire.Number, v uint64) []byte {
		return protowire.AppendVarint(protowire.AppendTag(b, n, protowire.VarintType), v)
	}
	var raw []byte
	raw = num(raw, 1, 150)
	raw = str(raw, 4, "AFTER_DAYS")
	raw = num(raw, 5, 30)
	raw = str(raw, 7, "FULL_WITH_DEBT")
	raw = str(raw, 8, "Asia/Shanghai")
	raw = num(raw, 99, 1) // a field this version does not know: kept
	p, err := decodePolicy(raw)
	if err != nil {
		t.Fatal(err)
	}
	if p.GetBaseRatePercent() != 150 || p.GetExpiryKind() != loyaltyv1.LoyaltyPolicy_AFTER_DAYS || p.GetExpiryN() != 30 ||
		p.GetRefundPolicy() != loyaltyv1.LoyaltyPolicy_FULL_WITH_DEBT || p.GetTimeZone() != "Asia/Shanghai" {
		t.Fatalf("legacy policy decoded as %v", p)
	}
	if got, want := p.ProtoReflect().GetUnknown(), num(nil, 99, 1); !bytes.Equal(got, want) {
		t.Fatalf("unknown fields %x, want %x", got, want)
	}

	// A legacy name the enum does not have stays unset, for validation to refuse.
	p, err = decodePolicy(str(nil, 7, "KEEP"))
	if err != nil || p.GetRefundPolicy() != loyaltyv1.LoyaltyPolicy_REFUND_POLICY_UNSPECIFIED || len(p.ProtoReflect().GetUnknown()) != 0 {
		t.Fatalf("KEEP: %v %v", p, err)
	}

	cur := &loyaltyv1.LoyaltyPolicy{BaseRatePercent: 100, ExpiryKind: loyaltyv1.LoyaltyPolicy_NEVER,
		RefundPolicy: loyaltyv1.LoyaltyPolicy_ONLY_PENDING, TimeZone: "UTC"}
	enc, err := proto.Marshal(cur)
	if err != nil {
		t.Fatal(err)
	}
	if p, err = decodePolicy(enc); err != nil || !proto.Equal(p, cur) {
		t.Fatalf("current encoding: %v %v", p, err)
	}
	if _, err := decodePolicy([]byte{0x22, 0x05, 'A'}); err == nil {
		t.Fatal("truncated policy decoded")
	}
}

var t0 = time.Date(2026, 3, 1, 2, 0, 0, 0, time.UTC)

// TestLinkHashGolden pins the canonical encoding: changing it would make every stored chain
// fail verification, so it may only change with a new canonVersion.
func TestLinkHashGolden(t *testing.T) {
	txn := loyalty.Txn{Txn: ledger.Txn{ID: "t1", MemberID: "m1", Kind: ledger.KindEarn,
		Cause: ledger.Cause{Type: ledger.CauseOrder, Ref: "o1", Reason: "", Actor: "key-1"}, Time: t0,
		Postings: []ledger.Posting{{Account: ledger.Issued, Points: -100}, {Account: ledger.Available, Points: 100}}},
		Sequence: 1, AvailableAfter: 100}
	h1, _ := linkHash(nil, [32]byte{}, &txn)
	const want = "b1b6e1dad77a10b822e954b94849a40540c102ced4b2856ef7ff34821a1721a1"
	if got := hex.EncodeToString(h1[:]); got != want {
		// Only a deliberate change of the encoding, with a new canonVersion, may update want.
		t.Fatalf("hash = %s, want %s", got, want)
	}
	// Every field takes part: changing any one changes the hash.
	mutations := []func(t *loyalty.Txn){
		func(t *loyalty.Txn) { t.Sequence = 2 },
		func(t *loyalty.Txn) { t.ID = "t2" },
		func(t *loyalty.Txn) { t.MemberID = "m2" },
		func(t *loyalty.Txn) { t.Kind = ledger.KindAdjust },
		func(t *loyalty.Txn) { t.Cause.Type = ledger.CauseReward },
		func(t *loyalty.Txn) { t.Cause.Ref = "o2" },
		func(t *loyalty.Txn) { t.Cause.Reason = "r" },
		func(t *loyalty.Txn) { t.Cause.Actor = "key-2" },
		func(t *loyalty.Txn) { t.Time = t.Time.Add(time.Nanosecond) },
		func(t *loyalty.Txn) { t.AvailableAfter = 99 },
		func(t *loyalty.Txn) { t.Postings[0].Points = -99 },
		func(t *loyalty.Txn) { t.Postings[1].Account = ledger.Pending },
		func(t *loyalty.Txn) { t.Postings = t.Postings[:1] },
		// Moving bytes between adjacent strings must not collide.
		func(t *loyalty.Txn) { t.Cause.Ref, t.Cause.Reason = "o", "1" },
	}
	for i, m := range mutations {
		c := txn
		c.Postings = append([]ledger.Posting(nil), txn.Postings...)
		m(&c)
		if h, _ := linkHash(nil, [32]byte{}, &c); h == h1 {
			t.Errorf("mutation %d leaves the hash unchanged", i)
		}
	}
	if h, _ := linkHash(nil, [32]byte{1}, &txn); h == h1 {
		t.Error("the previous hash does not take part")
	}
}

func TestNextDue(t *testing.T) {
	day := 24 * time.Hour
	exp := t0.Add(30 * day)
	cases := []struct {
		name   string
		book   ledger.Book
		notice time.Duration
		want   time.Time
	}{
		{"empty", ledger.Book{}, day, time.Time{}},
		{"never expires", ledger.Book{Lots: []ledger.Lot{{Remaining: 5}}}, day, time.Time{}},
		{"expiry", ledger.Book{Lots: []ledger.Lot{{Remaining: 5, ExpiresAt: exp}}}, 0, exp},
		{"notice first", ledger.Book{Lots: []ledger.Lot{{Remaining: 5, ExpiresAt: exp}}}, 7 * day, exp.Add(-7 * day)},
		{"notified", ledger.Book{Lots: []ledger.Lot{{Remaining: 5, ExpiresAt: exp, Notified: true}}}, 7 * day, exp},
		{"fully held lot waits for its hold", ledger.Book{
			Lots:  []ledger.Lot{{Held: 5, ExpiresAt: t0.Add(day)}},
			Holds: []ledger.Hold{{Status: ledger.HoldOpen, ExpiresAt: t0.Add(2 * day)}}}, 0, t0.Add(2 * day)},
		{"pending matures before notice", ledger.Book{Lots: []ledger.Lot{{Remaining: 5, Pending: true,
			PendingUntil: t0.Add(7 * day), ExpiresAt: exp}}}, 30 * day, t0.Add(7 * day)},
		{"closed holds do not count", ledger.Book{Holds: []ledger.Hold{{Status: ledger.HoldCaptured, ExpiresAt: t0}}}, 0, time.Time{}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := nextDue(&tc.book, tc.notice); !got.Equal(tc.want) {
				t.Fatalf("nextDue = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestDueKeyRoundTrip(t *testing.T) {
	k := dueKey(t0.UnixNano(), "acme", "m-1")
	e, ok := parseDueKey(k)
	if !ok || e.at != t0.UnixNano() || e.tenant != "acme" || e.member != "m-1" || !bytes.Equal(e.key, k) {
		t.Fatalf("parse %+v %v", e, ok)
	}
	// Keys sort by due time first, across tenants.
	if bytes.Compare(dueKey(1, "zz", "a"), dueKey(2, "aa", "a")) >= 0 {
		t.Fatal("due keys do not sort by time")
	}
}

// FuzzParseDueKey: any bytes parse without panicking, and what parses is exactly the key
// dueKey builds from its parts.
func FuzzParseDueKey(f *testing.F) {
	f.Add(dueKey(t0.UnixNano(), "acme", "m1"))
	f.Add([]byte{})
	f.Add([]byte("\x00\x00\x00\x00\x00\x00\x00\x01acme\x00"))
	f.Fuzz(func(t *testing.T, k []byte) {
		e, ok := parseDueKey(k)
		if !ok {
			return
		}
		if e.at >= 1 && !bytes.Equal(dueKey(e.at, e.tenant, e.member), k) {
			t.Fatalf("%q parses as %+v, which builds %q", k, e, dueKey(e.at, e.tenant, e.member))
		}
	})
}
