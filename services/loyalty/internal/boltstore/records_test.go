package boltstore

import (
	"bytes"
	"reflect"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/huiyuan-dev/huiyuan/services/loyalty/internal/ledger"
	"github.com/huiyuan-dev/huiyuan/services/loyalty/internal/loyalty"

	storagev1 "github.com/huiyuan-dev/huiyuan/gen/huiyuan/loyalty/storage/v1"
)

var t0 = time.Date(2026, 3, 1, 2, 0, 0, 0, time.UTC)

// TestAccountRecordRoundTrip: every field of an account survives its record.
func TestAccountRecordRoundTrip(t *testing.T) {
	c := newCodec()
	b := ledger.NewBook("m1")
	b.Balances = map[ledger.Account]int64{ledger.Available: 70, ledger.Held: 30, ledger.Issued: -120, ledger.Redeemed: 20,
		ledger.CampaignBudget("spring"): -5, ledger.Pending: 5}
	b.Lots = []ledger.Lot{{ID: "l1", EarnedAt: t0, ExpiresAt: t0.Add(time.Hour), Points: 100, Remaining: 70, Held: 30, Notified: true},
		{ID: "l2", Order: "o9", EarnedAt: t0, ExpiresAt: t0.Add(2 * time.Hour), PendingUntil: t0.Add(time.Hour), Pending: true, Points: 5, Remaining: 5}}
	b.Holds = []ledger.Hold{{ID: "h1", Cause: ledger.Cause{Type: ledger.CauseRedemption, Ref: "c", Actor: "k"}, Amount: 30, Points: 30,
		Portions: []ledger.Portion{{LotID: "l1", Points: 30}}, CreatedAt: t0, ExpiresAt: t0.Add(time.Minute), Status: ledger.HoldOpen}}
	b.LifetimeEarned, b.UpdatedAt = 125, t0
	b.RecentTransfers = []ledger.TransferMark{{At: t0, Points: 3}}
	a := &loyalty.Account{MemberID: "m1", Book: b, Tier: "gold", CheckIn: ledger.CheckInState{LastDate: "2026-03-01", Streak: 2, Days: 9},
		Due: t0.Add(time.Minute), LastSequence: 42}
	raw, err := proto.Marshal(c.toAccountRecord(a))
	if err != nil {
		t.Fatal(err)
	}
	var rec storagev1.AccountRecord
	if err := proto.Unmarshal(raw, &rec); err != nil {
		t.Fatal(err)
	}
	back, err := c.fromAccountRecord("m1", &rec)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(back, a) {
		t.Fatalf("round trip\n got %+v\nwant %+v", back, a)
	}
}

// TestEntryRecordRoundTrip: an entry survives its record, and an order's earning does not
// repeat the order id the entry holds anyway.
func TestEntryRecordRoundTrip(t *testing.T) {
	c := newCodec()
	o := &loyalty.Order{ID: "o1", MemberID: "m1", AmountMinor: 100, Currency: "CNY", StoreID: "s", CreateTime: t0,
		TimeDefaulted: true, PointsEarned: 1, Sequence: 3, Items: []ledger.Item{{SKU: "a", Quantity: 1, UnitPriceMinor: 100}}}
	e := &loyalty.Entry{Sequence: 3, Hash: [32]byte{9}, Time: t0, MemberID: "m1", MemberPrevious: 2, AvailableAfter: 1, Order: o,
		Txn: &ledger.Txn{ID: "t", MemberID: "m1", Kind: ledger.KindEarn, Time: t0, Cause: ledger.Cause{Type: ledger.CauseOrder, Ref: "o1", Actor: "k"},
			Postings: []ledger.Posting{{Account: ledger.CampaignBudget("x"), Points: -1}, {Account: ledger.Available, Points: 1}}},
		Refund: &loyalty.Refund{OrderID: "o0", AmountMinor: 5, RefundedTotal: 6, PointsReversed: 1, PointsToDebt: 2, ReversedTotal: 3, ToDebtTotal: 4}}
	rec := c.toEntryRecord(e)
	if rec.GetTransaction().GetCause().GetRef() != "" || rec.GetOrder().GetCreateTimeUnixNano() != 0 {
		t.Fatalf("record repeats what the entry says: %v", rec)
	}
	raw, err := proto.Marshal(rec)
	if err != nil {
		t.Fatal(err)
	}
	var got storagev1.EntryRecord
	if err := proto.Unmarshal(raw, &got); err != nil {
		t.Fatal(err)
	}
	back, err := c.fromEntryRecord(3, &got)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(back, e) {
		t.Fatalf("round trip\n got %+v %+v\nwant %+v %+v", back, back.Txn, e, e.Txn)
	}
}

// TestPolicyRecordRoundTrip: a policy survives its record; unknown enum values read back as
// values validation refuses.
func TestPolicyRecordRoundTrip(t *testing.T) {
	p := loyalty.DefaultPolicy()
	p.CurrencyRatePercent, p.SKURatePercent, p.TierMultiplierPercent = map[string]int64{"USD": 7}, map[string]int64{"x": 5}, map[string]int64{"g": 150}
	p.ExcludedSKUs, p.CheckInCycleDays = []string{"gift"}, 7
	back := fromPolicyRecord(toPolicyRecord(&p))
	if !reflect.DeepEqual(back, p) {
		t.Fatalf("round trip\n got %+v\nwant %+v", back, p)
	}
	bad := fromPolicyRecord(&storagev1.PolicyRecord{ExpiryKind: 42, RefundPolicy: 42})
	if bad.Expiry.Kind == ledger.ExpireNever || bad.Refund.Valid() {
		t.Fatalf("unknown enums read as valid values: %+v", bad)
	}
}

// TestRedemptionStatusNumbers: the record stores the domain's status numbers, so both lists
// must name the same statuses in the same order.
func TestRedemptionStatusNumbers(t *testing.T) {
	for s := loyalty.RedemptionPending; s <= loyalty.RedemptionFailed; s++ {
		if got := storagev1.RedemptionStatus(s).String(); got != "REDEMPTION_"+s.String() {
			t.Errorf("status %d is %s in the record, %s in the domain", s, got, s)
		}
	}
}

func TestDueKeyRoundTrip(t *testing.T) {
	k := dueKey(t0.UnixNano(), "acme", "m-1")
	at, tenant, member, ok := parseDueKey(k)
	if !ok || at != t0.UnixNano() || tenant != "acme" || member != "m-1" {
		t.Fatalf("parse %d %q %q %v", at, tenant, member, ok)
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
		at, tenant, member, ok := parseDueKey(k)
		if !ok {
			return
		}
		if at >= 1 && !bytes.Equal(dueKey(at, tenant, member), k) {
			t.Fatalf("%q parses as %d %q %q, which builds %q", k, at, tenant, member, dueKey(at, tenant, member))
		}
	})
}
