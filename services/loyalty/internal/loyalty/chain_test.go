package loyalty_test

import (
	"encoding/hex"
	"testing"
	"time"

	"github.com/huiyuan-dev/huiyuan/services/loyalty/internal/ledger"
	"github.com/huiyuan-dev/huiyuan/services/loyalty/internal/loyalty"
)

func goldenEntry() loyalty.Entry {
	return loyalty.Entry{Sequence: 1, Time: t0, MemberID: "m1", AvailableAfter: 100,
		Txn: &ledger.Txn{ID: "t1", MemberID: "m1", Kind: ledger.KindEarn, Time: t0,
			Cause:    ledger.Cause{Type: ledger.CauseOrder, Ref: "o1", Actor: "key-1"},
			Postings: []ledger.Posting{{Account: ledger.Issued, Points: -100}, {Account: ledger.Available, Points: 100}}},
		Order: &loyalty.Order{ID: "o1", MemberID: "m1", AmountMinor: 10_000, Currency: "CNY", StoreID: "s1",
			Items:      []ledger.Item{{SKU: "tea", Category: "drinks", Quantity: 2, UnitPriceMinor: 5_000}},
			CreateTime: t0, TimeDefaulted: true, PointsEarned: 100},
	}
}

// TestLinkGolden pins the canonical encoding: changing it would make every stored chain fail
// verification, so it may only change with a new version byte.
func TestLinkGolden(t *testing.T) {
	e := goldenEntry()
	h1, _ := loyalty.Link(nil, [32]byte{}, &e)
	const want = "eae845473ee98d9c05593e40d2dd56762b13ba83af2bbfd861b7f5b1d5e20b59"
	if got := hex.EncodeToString(h1[:]); got != want {
		// Only a deliberate change of the encoding, with a new version, may update want.
		t.Fatalf("hash = %s, want %s", got, want)
	}
	// Every field takes part: changing any one changes the hash.
	mutations := []func(e *loyalty.Entry){
		func(e *loyalty.Entry) { e.Sequence = 2 },
		func(e *loyalty.Entry) { e.Time = e.Time.Add(time.Nanosecond) },
		func(e *loyalty.Entry) { e.MemberID = "m2" },
		func(e *loyalty.Entry) { e.AvailableAfter = 99 },
		func(e *loyalty.Entry) { e.Txn.ID = "t2" },
		func(e *loyalty.Entry) { e.Txn.Kind = ledger.KindAdjust },
		func(e *loyalty.Entry) { e.Txn.Cause.Type = ledger.CauseReward },
		func(e *loyalty.Entry) { e.Txn.Cause.Ref = "o2" },
		func(e *loyalty.Entry) { e.Txn.Cause.Reason = "r" },
		func(e *loyalty.Entry) { e.Txn.Cause.Actor = "key-2" },
		func(e *loyalty.Entry) { e.Txn.Postings[0].Points = -99 },
		func(e *loyalty.Entry) { e.Txn.Postings[1].Account = ledger.Pending },
		func(e *loyalty.Entry) { e.Txn.Postings = e.Txn.Postings[:1] },
		func(e *loyalty.Entry) { e.Txn = nil },
		func(e *loyalty.Entry) { e.Order.ID = "o2" },
		func(e *loyalty.Entry) { e.Order.AmountMinor++ },
		func(e *loyalty.Entry) { e.Order.Currency = "EUR" },
		func(e *loyalty.Entry) { e.Order.StoreID = "s2" },
		func(e *loyalty.Entry) { e.Order.Items[0].Quantity = 3 },
		func(e *loyalty.Entry) { e.Order.Items = nil },
		func(e *loyalty.Entry) { e.Order.TimeDefaulted = false },
		func(e *loyalty.Entry) { e.Order.PointsEarned = 99 },
		func(e *loyalty.Entry) { e.Order = nil },
		func(e *loyalty.Entry) { e.Refund = &loyalty.Refund{OrderID: "o1", AmountMinor: 1} },
		// Moving bytes between adjacent strings must not collide.
		func(e *loyalty.Entry) { e.Txn.Cause.Ref, e.Txn.Cause.Reason = "o", "1" },
	}
	for i, m := range mutations {
		c := goldenEntry()
		m(&c)
		if h, _ := loyalty.Link(nil, [32]byte{}, &c); h == h1 {
			t.Errorf("mutation %d leaves the hash unchanged", i)
		}
	}
	// The history link is an index, not a fact: it does not take part.
	c := goldenEntry()
	c.MemberPrevious = 9
	if h, _ := loyalty.Link(nil, [32]byte{}, &c); h != h1 {
		t.Error("the history link changes the hash")
	}
	if h, _ := loyalty.Link(nil, [32]byte{1}, &e); h == h1 {
		t.Error("the previous hash does not take part")
	}
}
