package ledger_test

import (
	"testing"
	"time"

	"github.com/huiyuan-dev/huiyuan/services/loyalty/internal/ledger"
)

// bookWith100Lots returns a book of 100 lots with distinct expiries, most of them far off, 10
// pending, plus a debt-free history, as a busy member's book looks.
func bookWith100Lots(b *testing.B, l *ledger.Ledger) *ledger.Book {
	book := ledger.NewBook("m1")
	for i := range 100 {
		req := ledger.EarnRequest{Points: 1_000_000, At: t0, ExpiresAt: t0.Add(day(float64(100 + i))),
			Cause: ledger.Cause{Type: ledger.CauseOrder, Ref: "o"}}
		if i%10 == 0 {
			req.PendingUntil = t0.Add(day(30))
		}
		if _, err := l.Earn(book, req); err != nil {
			b.Fatal(err)
		}
	}
	return book
}

func BenchmarkEarn(b *testing.B) {
	l := newLedger(b, ledger.Config{Expiry: policy30, Location: shanghai})
	template := bookWith100Lots(b, l)
	book := template.Clone()
	req := ledger.EarnRequest{Points: 100, At: t0.Add(time.Hour), Cause: ledger.Cause{Type: ledger.CauseOrder, Ref: "o2"}}
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		if i%100 == 0 { // keep the book at 100 to 200 lots
			b.StopTimer()
			book = template.Clone()
			b.StartTimer()
		}
		if _, err := l.Earn(book, req); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkRedeem(b *testing.B) {
	l := newLedger(b, ledger.Config{})
	book := bookWith100Lots(b, l)
	// Each redemption takes from the first lot; 90 million points last for any b.N used here,
	// and spent lots leave the book, so it stays at about 100 lots.
	req := ledger.RedeemRequest{Points: 10, At: t0.Add(time.Hour), Cause: redemption}
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		if _, err := l.Redeem(book, req); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkHoldCapture(b *testing.B) {
	l := newLedger(b, ledger.Config{})
	book := bookWith100Lots(b, l)
	at := t0.Add(time.Hour)
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		id := "h" + string(rune('a'+i%26)) + string(rune('a'+i/26%26)) + string(rune('a'+i/676%26))
		if i%17576 == 0 {
			book.ForgetClosedHolds(at.Add(time.Hour))
		}
		if _, err := l.Hold(book, ledger.HoldRequest{HoldID: id, Points: 15, At: at, ExpiresAt: at.Add(time.Hour), Cause: redemption}); err != nil {
			b.Fatal(err)
		}
		if _, err := l.Capture(book, ledger.CaptureRequest{HoldID: id, Points: 10, At: at}); err != nil {
			b.Fatal(err)
		}
		if len(book.Holds) > 50 {
			book.ForgetClosedHolds(at.Add(time.Hour))
		}
	}
}

func BenchmarkPointsFor(b *testing.B) {
	rules := ledger.EarnRules{ExcludedCategories: []string{"tobacco"}, CategoryPercent: map[string]int64{"wine": 50}}
	o := ledger.Order{Currency: "CNY", TotalMinor: 45000, Items: []ledger.Item{
		{SKU: "a", Category: "food", Quantity: 2, UnitPriceMinor: 9900},
		{SKU: "b", Category: "wine", Quantity: 1, UnitPriceMinor: 19900},
		{SKU: "c", Category: "tobacco", Quantity: 1, UnitPriceMinor: 6500},
	}}
	b.ReportAllocs()
	for range b.N {
		ledger.PointsFor(o, rules, 150)
	}
}
