package boltstore

import (
	"reflect"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/huiyuan-dev/huiyuan/services/member/internal/membership"

	storagev1 "github.com/huiyuan-dev/huiyuan/gen/huiyuan/member/storage/v1"
)

// TestAccountRecordWindow: an account's window survives its record as packed lists, a record
// written before them (days as messages) reads the same, and lists of unequal length (damage)
// read as far as all three go.
func TestAccountRecordWindow(t *testing.T) {
	days := []membership.Day{{Day: 20400, Spend: 1200, Orders: 1}, {Day: 20401, Spend: -300, Orders: 0}, {Day: 20430, Spend: 99, Orders: 3}}
	a := &membership.Account{MemberID: "m1", Exists: true, Tier: "gold", Figures: membership.Figures{Days: days}}
	raw, err := proto.Marshal(toAccountRecord(a))
	if err != nil {
		t.Fatal(err)
	}
	var rec storagev1.AccountRecord
	if err := proto.Unmarshal(raw, &rec); err != nil {
		t.Fatal(err)
	}
	if len(rec.GetDays()) != 0 || len(rec.GetWindowDays()) != 3 {
		t.Fatalf("written as %v and %v, want the packed lists only", rec.GetDays(), rec.GetWindowDays())
	}
	if got := fromAccountRecord(&rec).Figures.Days; !reflect.DeepEqual(got, days) {
		t.Fatalf("round trip %v, want %v", got, days)
	}

	old := &storagev1.AccountRecord{MemberId: "m1"}
	for _, d := range days {
		old.Days = append(old.Days, &storagev1.DayFigure{Day: d.Day, SpendMinor: d.Spend, Orders: d.Orders})
	}
	if got := fromAccountRecord(old).Figures.Days; !reflect.DeepEqual(got, days) {
		t.Fatalf("a record of before the packed lists: %v, want %v", got, days)
	}

	damaged := &storagev1.AccountRecord{WindowDays: []int32{1, 2, 3}, WindowSpendMinor: []int64{10, 20}, WindowOrders: []int32{1, 1, 1}}
	if got, want := fromAccountRecord(damaged).Figures.Days, []membership.Day{{Day: 1, Spend: 10, Orders: 1}, {Day: 2, Spend: 20, Orders: 1}}; !reflect.DeepEqual(got, want) {
		t.Fatalf("damaged lists: %v, want %v", got, want)
	}
	if got := fromAccountRecord(&storagev1.AccountRecord{}).Figures.Days; got != nil {
		t.Fatalf("no days: %v, want nil", got)
	}
}

// BenchmarkAccountRecordWindow reads and writes the account of a member who bought on every
// day of a year's window, as the tier loop does for each of its orders.
func BenchmarkAccountRecordWindow(b *testing.B) {
	a := &membership.Account{MemberID: "01a232b0-8b30-71e6-8eee-0d824355334c", Exists: true, Tier: "gold"}
	for i := range 365 {
		a.Figures.Days = append(a.Figures.Days, membership.Day{Day: int32(20000 + i), Spend: 12345, Orders: 1})
	}
	raw, err := marshal.Marshal(toAccountRecord(a))
	if err != nil {
		b.Fatal(err)
	}
	b.Run("decode", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			var rec storagev1.AccountRecord
			if err := proto.Unmarshal(raw, &rec); err != nil {
				b.Fatal(err)
			}
			_ = fromAccountRecord(&rec)
		}
	})
	b.Run("encode", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := marshal.Marshal(toAccountRecord(a)); err != nil {
				b.Fatal(err)
			}
		}
	})
}
