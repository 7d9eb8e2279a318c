package ledger_test

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/huiyuan-dev/huiyuan/pkg/apperr"
	"github.com/huiyuan-dev/huiyuan/services/loyalty/internal/ledger"
)

var redemption = ledger.Cause{Type: ledger.CauseRedemption, Ref: "checkout-1"}

// mixedBook has, in consumption order: a pending lot expiring first (25), a lot expiring on day
// 5 (30), one earned an hour later expiring on day 6 (20), one on day 10 (40), and one that
// never expires (50).
func mixedBook(t *testing.T, l *ledger.Ledger) *ops {
	t.Helper()
	o := newOps(t, l, "m1")
	o.earn(40, t0, t0.Add(day(10)))
	o.earn(50, t0, time.Time{})
	o.earn(30, t0, t0.Add(day(5)))
	o.record(l.Earn(o.b, ledger.EarnRequest{Points: 25, At: t0, ExpiresAt: t0.Add(day(3)), PendingUntil: t0.Add(day(7)),
		Cause: ledger.Cause{Type: ledger.CauseOrder, Ref: "o1"}}))
	o.earn(20, t0.Add(time.Hour), t0.Add(day(6)))
	return o
}

func TestRedeemConsumesSoonestExpiryFirst(t *testing.T) {
	tests := []struct {
		points int64
		want   [][2]int64 // (remaining, held) per lot in consumption order, pending lot first
	}{
		{10, [][2]int64{{25, 0}, {20, 0}, {20, 0}, {40, 0}, {50, 0}}},
		{30, [][2]int64{{25, 0}, {20, 0}, {40, 0}, {50, 0}}},
		{45, [][2]int64{{25, 0}, {5, 0}, {40, 0}, {50, 0}}},
		{50, [][2]int64{{25, 0}, {40, 0}, {50, 0}}},
		{100, [][2]int64{{25, 0}, {40, 0}}},
		{140, [][2]int64{{25, 0}}},
	}
	for _, tc := range tests {
		l := newLedger(t, ledger.Config{})
		o := mixedBook(t, l)
		txns := o.record(l.Redeem(o.b, ledger.RedeemRequest{Points: tc.points, Cause: redemption, At: t0.Add(2 * time.Hour)}))
		if got := postings(txns[0]); !reflect.DeepEqual(got, map[ledger.Account]int64{ledger.Available: -tc.points, ledger.Redeemed: tc.points}) {
			t.Errorf("redeem %d: postings %v", tc.points, got)
		}
		if got := remaining(o.b); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("redeem %d: lots %v, want %v", tc.points, got, tc.want)
		}
	}
}

func TestRedeemFailures(t *testing.T) {
	l := newLedger(t, ledger.Config{})
	o := mixedBook(t, l)
	at := t0.Add(2 * time.Hour)
	tests := []struct {
		name   string
		req    ledger.RedeemRequest
		reason string
	}{
		{"pending points are not spendable", ledger.RedeemRequest{Points: 141, Cause: redemption, At: at}, ledger.ReasonInsufficientPoints},
		{"zero", ledger.RedeemRequest{Points: 0, Cause: redemption, At: at}, "INVALID_ARGUMENT"},
		{"credit cause", ledger.RedeemRequest{Points: 1, Cause: ledger.Cause{Type: ledger.CauseOrder + "x"}, At: at}, "INVALID_ARGUMENT"},
		{"no time", ledger.RedeemRequest{Points: 1, Cause: redemption}, "INVALID_ARGUMENT"},
		// On day 6 the day-5 lots (50) are due: only 90 can be spent, and the failed
		// redemption must not post their expiry either.
		{"expired points are not spendable", ledger.RedeemRequest{Points: 91, Cause: redemption, At: t0.Add(day(6))}, ledger.ReasonInsufficientPoints},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			failsUnchanged(t, o.b, tc.reason, func(b *ledger.Book) error { _, err := l.Redeem(b, tc.req); return err })
		})
	}
	_, err := l.Redeem(o.b.Clone(), ledger.RedeemRequest{Points: 141, Cause: redemption, At: at})
	var e *apperr.Error
	if !asAppErr(err, &e) || e.Code != apperr.FailedPrecondition || e.Metadata["available"] != "140" || e.Metadata["needed"] != "141" {
		t.Fatalf("error %+v", e)
	}
}

func TestRedeemExpiresDueLotsFirst(t *testing.T) {
	l := newLedger(t, ledger.Config{})
	o := mixedBook(t, l)
	// Day 8: the pending lot matured on day 7 but expired on day 3 while pending; the day-5
	// lots are gone too. 90 points are left.
	txns := o.record(l.Redeem(o.b, ledger.RedeemRequest{Points: 60, Cause: redemption, At: t0.Add(day(8))}))
	if got := kinds(txns); !reflect.DeepEqual(got, []ledger.Kind{ledger.KindExpire, ledger.KindRedeem}) {
		t.Fatalf("kinds %v", got)
	}
	if got := postings(txns[0]); !reflect.DeepEqual(got, map[ledger.Account]int64{ledger.Available: -50, ledger.Pending: -25, ledger.Expired: 75}) {
		t.Fatalf("expiry postings %v", got)
	}
	if got := remaining(o.b); !reflect.DeepEqual(got, [][2]int64{{30, 0}}) {
		t.Fatalf("lots %v", got)
	}
}

func TestAdjust(t *testing.T) {
	l := newLedger(t, ledger.Config{Location: shanghai, Expiry: policy30})
	t.Run("positive credits a lot with the policy's expiry", func(t *testing.T) {
		o := newOps(t, l, "m1")
		txns := o.record(l.Adjust(o.b, ledger.AdjustRequest{Points: 15, Reason: "missing points", Actor: "staff-7", Ref: "ticket-9", At: t0}))
		want := ledger.Cause{Type: ledger.CauseAdmin, Ref: "ticket-9", Reason: "missing points", Actor: "staff-7"}
		if txns[0].Kind != ledger.KindAdjust || txns[0].Cause != want {
			t.Fatalf("txn %+v", txns[0])
		}
		if got := postings(txns[0]); !reflect.DeepEqual(got, map[ledger.Account]int64{ledger.Adjustments: -15, ledger.Available: 15}) {
			t.Fatalf("postings %v", got)
		}
		if len(o.b.Lots) != 1 || !o.b.Lots[0].ExpiresAt.Equal(policy30.ExpiresAt(t0, shanghai)) || o.b.LifetimeEarned != 0 {
			t.Fatalf("book %+v", o.b)
		}
	})
	t.Run("positive repays debt first", func(t *testing.T) {
		o := indebted(t, l, 10)
		txns := o.record(l.Adjust(o.b, ledger.AdjustRequest{Points: 15, Reason: "r", Actor: "a", At: t0}))
		if got := postings(txns[0]); !reflect.DeepEqual(got, map[ledger.Account]int64{ledger.Adjustments: -15, ledger.Debt: 10, ledger.Available: 5}) {
			t.Fatalf("postings %v", got)
		}
	})
	t.Run("negative consumes like a redemption", func(t *testing.T) {
		o := mixedBook(t, l)
		txns := o.record(l.Adjust(o.b, ledger.AdjustRequest{Points: -45, Reason: "duplicate", Actor: "a", At: t0.Add(2 * time.Hour)}))
		if got := postings(txns[0]); !reflect.DeepEqual(got, map[ledger.Account]int64{ledger.Available: -45, ledger.Adjustments: 45}) {
			t.Fatalf("postings %v", got)
		}
		if got := remaining(o.b); !reflect.DeepEqual(got, [][2]int64{{25, 0}, {5, 0}, {40, 0}, {50, 0}}) {
			t.Fatalf("lots %v", got)
		}
	})
	o := mixedBook(t, l)
	for _, tc := range []struct {
		name   string
		req    ledger.AdjustRequest
		reason string
		field  string
	}{
		{"below zero", ledger.AdjustRequest{Points: -141, Reason: "r", Actor: "a", At: t0}, ledger.ReasonInsufficientPoints, ""},
		{"zero", ledger.AdjustRequest{Points: 0, Reason: "r", Actor: "a", At: t0}, "INVALID_ARGUMENT", "points"},
		{"no reason", ledger.AdjustRequest{Points: 1, Actor: "a", At: t0}, "INVALID_ARGUMENT", "reason"},
		{"no actor", ledger.AdjustRequest{Points: 1, Reason: "r", At: t0}, "INVALID_ARGUMENT", "actor"},
		{"reason too long", ledger.AdjustRequest{Points: 1, Reason: strings.Repeat("字", 501), Actor: "a", At: t0}, "INVALID_ARGUMENT", "reason"},
		{"too large", ledger.AdjustRequest{Points: -ledger.MaxPoints - 1, Reason: "r", Actor: "a", At: t0}, "INVALID_ARGUMENT", "points"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			failsUnchanged(t, o.b, tc.reason, func(b *ledger.Book) error {
				_, err := l.Adjust(b, tc.req)
				if fs := violations(err); tc.field != "" && (len(fs) != 1 || fs[0] != tc.field) {
					t.Errorf("violations %v, want [%s]", fs, tc.field)
				}
				return err
			})
		})
	}
}
