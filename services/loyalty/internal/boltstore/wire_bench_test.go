package boltstore

import (
	"fmt"
	"strconv"
	"testing"
	"time"

	"github.com/huiyuan-dev/huiyuan/services/loyalty/internal/ledger"
	"github.com/huiyuan-dev/huiyuan/services/loyalty/internal/loyalty"
)

// BenchmarkAccountCodec decodes and re-encodes an account of a member with 13 lots (a year of
// orders under the default monthly expiry) and 365 (a year under a daily one): what every order
// of such a member costs the writer before and after the ledger's own work, and what the
// account cache costs in their place.
func BenchmarkAccountCodec(b *testing.B) {
	for _, lots := range []int{1, 13, 365} {
		c := newCodec()
		book := ledger.NewBook("01a232b0-8b30-71e6-8eee-0d824355334c")
		book.Balances[ledger.Available], book.Balances[ledger.Issued] = int64(lots)*123, -int64(lots)*123
		for i := range lots {
			book.LotSeq++
			book.Lots = append(book.Lots, ledger.Lot{ID: strconv.FormatUint(book.LotSeq, 36), EarnedAt: t0.Add(time.Duration(i) * 24 * time.Hour),
				ExpiresAt: t0.Add(time.Duration(i+365) * 24 * time.Hour), Points: 123, Remaining: 123})
		}
		book.LifetimeEarned, book.UpdatedAt = int64(lots)*123, t0
		raw := c.appendAccount(nil, &loyalty.Account{MemberID: book.MemberID, Book: book, Due: t0, LastSequence: 9})
		b.Run(fmt.Sprintf("lots-%d/decode", lots), func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(raw)))
			for b.Loop() {
				if _, err := c.decodeAccount(book.MemberID, raw); err != nil {
					b.Fatal(err)
				}
			}
		})
		a, err := c.decodeAccount(book.MemberID, raw)
		if err != nil {
			b.Fatal(err)
		}
		buf := make([]byte, 0, 2*len(raw))
		b.Run(fmt.Sprintf("lots-%d/encode", lots), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				buf = c.appendAccount(buf[:0], a)
			}
		})
		// What the account cache (cache.go) does instead for a long account: clone the
		// cached account, and encode it again with one lot changed, copying the others.
		cached, spans := c.appendAccountFrom(nil, a, nil, []span{})
		base := newCachedAccount(cached, a, spans)
		b.Run(fmt.Sprintf("lots-%d/cached-clone", lots), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				_ = a.Clone()
			}
		})
		next := a.Clone()
		next.Book.Lots[len(next.Book.Lots)-1].Remaining++
		b.Run(fmt.Sprintf("lots-%d/cached-encode", lots), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				buf, spans = c.appendAccountFrom(buf[:0], next, base, spans[:0])
			}
		})
	}
}
