package boltstore

import (
	"reflect"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/huiyuan-dev/huiyuan/services/loyalty/internal/ledger"
	"github.com/huiyuan-dev/huiyuan/services/loyalty/internal/loyalty"
)

// longAccount is an account of n daily lots, long enough to be cached for n >= 30.
func longAccount(n int) *loyalty.Account {
	b := ledger.NewBook("01a232b0-8b30-71e6-8eee-0d824355334c")
	for i := range n {
		b.LotSeq++
		b.Lots = append(b.Lots, ledger.Lot{ID: strconv.FormatUint(b.LotSeq, 36), EarnedAt: t0.Add(time.Duration(i) * 24 * time.Hour),
			ExpiresAt: t0.Add(time.Duration(i+365) * 24 * time.Hour), Points: 123, Remaining: 123})
	}
	b.Balances[ledger.Available], b.Balances[ledger.Issued] = int64(n)*123, -int64(n)*123
	b.LifetimeEarned, b.UpdatedAt = int64(n)*123, t0
	return &loyalty.Account{MemberID: b.MemberID, Book: b, Due: t0, LastSequence: 9}
}

// TestAppendAccountFrom: a record written from a cached account's bytes, whatever the
// transaction did to the lots, decodes to the account as encoding it from scratch does, and
// its spans locate each lot.
func TestAppendAccountFrom(t *testing.T) {
	c := newCodec()
	lot := func(id string, day int) ledger.Lot {
		return ledger.Lot{ID: id, EarnedAt: t0.Add(time.Duration(day) * 24 * time.Hour),
			ExpiresAt: t0.Add(time.Duration(day+365) * 24 * time.Hour), Points: 7, Remaining: 7}
	}
	cases := []struct {
		name   string
		change func(a *loyalty.Account)
	}{
		{"unchanged", func(*loyalty.Account) {}},
		{"first lots expired", func(a *loyalty.Account) { a.Book.Lots = a.Book.Lots[3:] }},
		{"a lot partly spent", func(a *loyalty.Account) { a.Book.Lots[20].Remaining -= 50; a.Book.Lots[20].Held = 10 }},
		{"the last lot grew", func(a *loyalty.Account) { l := &a.Book.Lots[len(a.Book.Lots)-1]; l.Points, l.Remaining = 500, 500 }},
		{"a lot announced", func(a *loyalty.Account) { a.Book.Lots[0].Notified = true }},
		{"a lot's order forgotten", func(a *loyalty.Account) { a.Book.Lots[5].Order = "" }},
		{"a lot pending with an order", func(a *loyalty.Account) {
			a.Book.Lots[6].Order, a.Book.Lots[6].Pending, a.Book.Lots[6].PendingUntil = "order-6", true, t0
		}},
		{"lots inserted in the middle and at the end", func(a *loyalty.Account) {
			a.Book.Lots = slices.Insert(a.Book.Lots, 10, lot("new1", 9))
			a.Book.Lots = append(a.Book.Lots, lot("new2", 99))
		}},
		{"a lot removed, one inserted in its place", func(a *loyalty.Account) { a.Book.Lots[12] = lot("other", 12) }},
		{"every lot replaced", func(a *loyalty.Account) {
			for i := range a.Book.Lots {
				a.Book.Lots[i] = lot("r"+strconv.Itoa(i), i)
			}
		}},
		{"lots reversed", func(a *loyalty.Account) { slices.Reverse(a.Book.Lots) }},
		{"no lots left", func(a *loyalty.Account) { a.Book.Lots = nil }},
		{"the rest of the account changed", func(a *loyalty.Account) {
			a.Tier, a.LastSequence, a.Book.LifetimeEarned = "gold", 10, 1
			a.Book.Balances[ledger.Available] = 1
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			a := longAccount(40)
			a.Book.Lots[3].Order = "order-3"
			raw, spans := c.appendAccountFrom(nil, a, nil, []span{})
			dec, err := c.decodeAccount(a.MemberID, raw)
			if err != nil {
				t.Fatal(err)
			}
			base := newCachedAccount(raw, dec, spans)
			next := dec.Clone()
			tc.change(next)
			prefix := []byte("prefix") // a record appended after other bytes
			got, gotSpans := c.appendAccountFrom(prefix, next, base, []span{})
			back, err := c.decodeAccount(next.MemberID, got[len(prefix):])
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(back, next) {
				t.Fatalf("decoded\n got %+v\nwant %+v", back.Book.Lots, next.Book.Lots)
			}
			if len(gotSpans) != len(next.Book.Lots) {
				t.Fatalf("%d spans for %d lots", len(gotSpans), len(next.Book.Lots))
			}
			for i, s := range gotSpans {
				one, err := c.decodeAccount(next.MemberID, got[len(prefix):][s.from:s.to])
				if err != nil || len(one.Book.Lots) != 1 || one.Book.Lots[0] != next.Book.Lots[i] {
					t.Fatalf("span %d holds %+v (%v), want lot %+v", i, one, err, next.Book.Lots[i])
				}
			}
			if !reflect.DeepEqual(dec, base.a) {
				t.Fatal("encoding changed the cached account")
			}
		})
	}
}

// TestAccountCache: an entry is used only while the stored record is the one it was made
// from; small records are not kept; the limit holds.
func TestAccountCache(t *testing.T) {
	c := newCodec()
	entry := func(n int) *cachedAccount {
		a := longAccount(n)
		raw, spans := c.appendAccountFrom(nil, a, nil, []span{})
		return newCachedAccount(raw, a, spans)
	}
	e := entry(40)
	if len(e.raw) < cacheMinRecord {
		t.Fatalf("a record of 40 lots is %d bytes: not cached", len(e.raw))
	}
	cache := newAccountCache(3 * e.size)
	key := []byte("tenant\x00m1")
	cache.put(key, e)
	if got := cache.get(key, slices.Clone(e.raw)); got != e {
		t.Fatalf("get with the same record: %v", got)
	}
	changed := slices.Clone(e.raw)
	changed[len(changed)-1] ^= 1
	if got := cache.get(key, changed); got != nil {
		t.Fatal("get with another record returned the entry")
	}
	if got := cache.get([]byte("tenant\x00m2"), e.raw); got != nil {
		t.Fatal("another member's key returned the entry")
	}
	small := entry(2)
	if len(small.raw) >= cacheMinRecord {
		t.Fatalf("a record of 2 lots is %d bytes", len(small.raw))
	}
	cache.put(key, small)
	if cache.get(key, small.raw) != nil || cache.get(key, e.raw) != nil || cache.size != 0 {
		t.Fatalf("a small record replaced the entry: size %d", cache.size)
	}
	for i := range 10 {
		cache.put([]byte("tenant\x00k"+strconv.Itoa(i)), entry(40))
		if cache.size > cache.limit || len(cache.m) > 3 {
			t.Fatalf("after %d puts: %d bytes in %d entries, limit %d", i+1, cache.size, len(cache.m), cache.limit)
		}
	}
	var off *accountCache // the cache turned off
	off.put(key, e)
	if off.get(key, e.raw) != nil {
		t.Fatal("a nil cache returned an entry")
	}
}
