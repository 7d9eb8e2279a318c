package ledger_test

import (
	"math"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/huiyuan-dev/huiyuan/services/loyalty/internal/ledger"
)

var policy30 = ledger.ExpiryPolicy{Kind: ledger.ExpireAfterDays, N: 30}

// postings returns a transaction's postings as a map, for comparison.
func postings(t ledger.Txn) map[ledger.Account]int64 {
	m := map[ledger.Account]int64{}
	for _, p := range t.Postings {
		m[p.Account] += p.Points
	}
	return m
}

// indebted returns a book owing owed points: an order's points were spent, then refunded in full.
func indebted(t *testing.T, l *ledger.Ledger, owed int64) *ops {
	t.Helper()
	o := newOps(t, l, "debtor")
	o.record(l.Earn(o.b, ledger.EarnRequest{Points: owed, At: t0, Cause: ledger.Cause{Type: ledger.CauseOrder, Ref: "o-debt"}}))
	o.record(l.Redeem(o.b, ledger.RedeemRequest{Points: owed, At: t0, Cause: ledger.Cause{Type: ledger.CauseRedemption}}))
	rev, err := l.Reverse(o.b, ledger.ReverseRequest{Order: "o-debt", RefundID: "rf", Earned: owed, OrderAmount: 100,
		RefundAmount: 100, Policy: ledger.RefundFullWithDebt, At: t0})
	o.record(rev.Txns, err)
	if o.b.Owed() != owed {
		t.Fatalf("owed %d, want %d", o.b.Owed(), owed)
	}
	return o
}

func TestEarn(t *testing.T) {
	order := ledger.Cause{Type: ledger.CauseOrder, Ref: "o1"}
	exp := t0.Add(day(10))
	tests := []struct {
		name         string
		owed         int64
		req          ledger.EarnRequest
		wantPostings map[ledger.Account]int64
		wantLot      *ledger.Lot // ID is not compared
		wantLifetime int64
	}{
		{
			name:         "order points get the policy's expiry",
			req:          ledger.EarnRequest{Points: 100, Cause: order, At: t0},
			wantPostings: map[ledger.Account]int64{ledger.Issued: -100, ledger.Available: 100},
			// An available lot forgets its order: only refunds of pending points look for it.
			// Earned 10:00 on 1 March in Shanghai; 30 days later is 31 March; gone at midnight.
			wantLot:      &ledger.Lot{EarnedAt: t0, ExpiresAt: time.Date(2026, 4, 1, 0, 0, 0, 0, shanghai).UTC(), Points: 100, Remaining: 100},
			wantLifetime: 100,
		},
		{
			name:         "explicit expiry",
			req:          ledger.EarnRequest{Points: 7, Cause: ledger.Cause{Type: ledger.CauseReward}, At: t0, ExpiresAt: exp},
			wantPostings: map[ledger.Account]int64{ledger.Issued: -7, ledger.Available: 7},
			wantLot:      &ledger.Lot{EarnedAt: t0, ExpiresAt: exp, Points: 7, Remaining: 7},
			wantLifetime: 7,
		},
		{
			name:         "never expires",
			req:          ledger.EarnRequest{Points: 5, Cause: ledger.Cause{Type: ledger.CauseCheckIn}, At: t0, NeverExpires: true},
			wantPostings: map[ledger.Account]int64{ledger.Issued: -5, ledger.Available: 5},
			wantLot:      &ledger.Lot{EarnedAt: t0, Points: 5, Remaining: 5},
			wantLifetime: 5,
		},
		{
			name:         "pending during the return window",
			req:          ledger.EarnRequest{Points: 100, Cause: order, At: t0, ExpiresAt: exp, PendingUntil: t0.Add(day(7))},
			wantPostings: map[ledger.Account]int64{ledger.Issued: -100, ledger.Pending: 100},
			wantLot:      &ledger.Lot{Order: "o1", EarnedAt: t0, ExpiresAt: exp, PendingUntil: t0.Add(day(7)), Pending: true, Points: 100, Remaining: 100},
			wantLifetime: 100,
		},
		{
			name:         "a return window already over is available at once",
			req:          ledger.EarnRequest{Points: 100, Cause: order, At: t0, ExpiresAt: exp, PendingUntil: t0},
			wantPostings: map[ledger.Account]int64{ledger.Issued: -100, ledger.Available: 100},
			wantLot:      &ledger.Lot{EarnedAt: t0, ExpiresAt: exp, Points: 100, Remaining: 100},
			wantLifetime: 100,
		},
		{
			name:         "campaign points come from its budget",
			req:          ledger.EarnRequest{Points: 50, Cause: ledger.Cause{Type: ledger.CauseCampaign, Ref: "c9"}, At: t0, ExpiresAt: exp},
			wantPostings: map[ledger.Account]int64{ledger.CampaignBudget("c9"): -50, ledger.Available: 50},
			wantLot:      &ledger.Lot{EarnedAt: t0, ExpiresAt: exp, Points: 50, Remaining: 50},
			wantLifetime: 50,
		},
		{
			name:         "debt is repaid first",
			owed:         30,
			req:          ledger.EarnRequest{Points: 100, Cause: order, At: t0, ExpiresAt: exp},
			wantPostings: map[ledger.Account]int64{ledger.Issued: -100, ledger.Debt: 30, ledger.Available: 70},
			wantLot:      &ledger.Lot{EarnedAt: t0, ExpiresAt: exp, Points: 70, Remaining: 70},
			wantLifetime: 100,
		},
		{
			name:         "debt larger than the earning takes it all",
			owed:         150,
			req:          ledger.EarnRequest{Points: 100, Cause: order, At: t0, ExpiresAt: exp},
			wantPostings: map[ledger.Account]int64{ledger.Issued: -100, ledger.Debt: 100},
			wantLifetime: 100,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			l := newLedger(t, ledger.Config{Location: shanghai, Expiry: policy30})
			o := newOps(t, l, "m1")
			if tc.owed > 0 {
				o = indebted(t, l, tc.owed)
			}
			lotsBefore := len(o.b.Lots)
			lifeBefore := o.b.LifetimeEarned
			txns := o.record(l.Earn(o.b, tc.req))
			if len(txns) != 1 || txns[0].Kind != ledger.KindEarn || txns[0].Cause != tc.req.Cause || !txns[0].Time.Equal(t0) {
				t.Fatalf("txns %+v", txns)
			}
			if got := postings(txns[0]); !reflect.DeepEqual(got, tc.wantPostings) {
				t.Errorf("postings %v, want %v", got, tc.wantPostings)
			}
			if got := txns[0].Delta(ledger.Available); got != tc.wantPostings[ledger.Available] {
				t.Errorf("Delta(available) = %d", got)
			}
			if got := o.b.LifetimeEarned - lifeBefore; got != tc.wantLifetime {
				t.Errorf("lifetime +%d, want +%d", got, tc.wantLifetime)
			}
			switch {
			case tc.wantLot == nil && len(o.b.Lots) != lotsBefore:
				t.Errorf("lots %+v, want none added", o.b.Lots)
			case tc.wantLot != nil:
				if len(o.b.Lots) != lotsBefore+1 {
					t.Fatalf("lots %+v, want one added", o.b.Lots)
				}
				got := o.b.Lots[len(o.b.Lots)-1]
				if got.ID == "" {
					t.Errorf("lot without an id: %+v", got)
				}
				got.ID = ""
				if !reflect.DeepEqual(got, *tc.wantLot) {
					t.Errorf("lot\n got %+v\nwant %+v", got, *tc.wantLot)
				}
			}
		})
	}
}

func TestEarnRejects(t *testing.T) {
	ok := ledger.EarnRequest{Points: 10, Cause: ledger.Cause{Type: ledger.CauseReward}, At: t0}
	tests := []struct {
		name   string
		edit   func(*ledger.EarnRequest)
		field  string
		reason string
	}{
		{"zero points", func(r *ledger.EarnRequest) { r.Points = 0 }, "points", "INVALID_ARGUMENT"},
		{"negative points", func(r *ledger.EarnRequest) { r.Points = -5 }, "points", "INVALID_ARGUMENT"},
		{"too many points", func(r *ledger.EarnRequest) { r.Points = ledger.MaxPoints + 1 }, "points", "INVALID_ARGUMENT"},
		{"no time", func(r *ledger.EarnRequest) { r.At = time.Time{} }, "time", "INVALID_ARGUMENT"},
		{"debit cause", func(r *ledger.EarnRequest) { r.Cause.Type = ledger.CauseRedemption }, "cause.type", "INVALID_ARGUMENT"},
		{"campaign without id", func(r *ledger.EarnRequest) { r.Cause.Type = ledger.CauseCampaign }, "cause.ref", "INVALID_ARGUMENT"},
		{"ref too long", func(r *ledger.EarnRequest) { r.Cause.Ref = strings.Repeat("x", 129) }, "cause.ref", "INVALID_ARGUMENT"},
		{"reason not UTF-8", func(r *ledger.EarnRequest) { r.Cause.Reason = "\xff" }, "cause.reason", "INVALID_ARGUMENT"},
		{"expiry in the past", func(r *ledger.EarnRequest) { r.ExpiresAt = t0 }, "expire_time", "INVALID_ARGUMENT"},
		{"never but with expiry", func(r *ledger.EarnRequest) { r.NeverExpires, r.ExpiresAt = true, t0.Add(day(1)) }, "expire_time", "INVALID_ARGUMENT"},
	}
	l := newLedger(t, ledger.Config{Expiry: policy30})
	o := newOps(t, l, "m1")
	o.earn(40, t0, t0.Add(day(3)))
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req := ok
			tc.edit(&req)
			failsUnchanged(t, o.b, tc.reason, func(b *ledger.Book) error {
				_, err := l.Earn(b, req)
				if fs := violations(err); len(fs) != 1 || fs[0] != tc.field {
					t.Errorf("violations %v, want [%s]", fs, tc.field)
				}
				return err
			})
		})
	}
	t.Run("lifetime overflow", func(t *testing.T) {
		b := o.b.Clone()
		b.LifetimeEarned = math.MaxInt64 - 5
		failsUnchanged(t, b, ledger.ReasonPointsLimit, func(b *ledger.Book) error { _, err := l.Earn(b, ok); return err })
	})
	t.Run("balance overflow", func(t *testing.T) {
		b := o.b.Clone()
		b.Balances[ledger.Issued] = math.MinInt64 + 5
		failsUnchanged(t, b, ledger.ReasonPointsLimit, func(b *ledger.Book) error { _, err := l.Earn(b, ok); return err })
	})
	t.Run("nil book", func(t *testing.T) {
		if _, err := l.Earn(nil, ok); err == nil {
			t.Fatal("no error")
		}
	})
}

// TestTimeNeverGoesBackwards: an operation dated before the book's last transaction is posted
// at that transaction's time.
func TestTimeNeverGoesBackwards(t *testing.T) {
	l := newLedger(t, ledger.Config{})
	o := newOps(t, l, "m1")
	o.earn(10, t0.Add(time.Hour), time.Time{})
	txns := o.earn(10, t0, time.Time{})
	if !txns[0].Time.Equal(t0.Add(time.Hour)) || !o.b.UpdatedAt.Equal(t0.Add(time.Hour)) {
		t.Fatalf("posted at %v, book at %v", txns[0].Time, o.b.UpdatedAt)
	}
}

func TestNewRejectsBadConfig(t *testing.T) {
	for name, cfg := range map[string]ledger.Config{
		"expiry kind":   {Expiry: ledger.ExpiryPolicy{Kind: "WEEKLY"}},
		"expiry days":   {Expiry: ledger.ExpiryPolicy{Kind: ledger.ExpireAfterDays}},
		"transfer cap":  {Transfer: ledger.TransferRules{MaxPointsPerWindow: 10}},
		"negative cap":  {Transfer: ledger.TransferRules{MaxPointsPerWindow: -1}},
		"months bounds": {Expiry: ledger.ExpiryPolicy{Kind: ledger.ExpireEndOfMonth, N: -1}},
	} {
		if _, err := ledger.New(cfg); err == nil {
			t.Errorf("%s: New accepted %+v", name, cfg)
		}
	}
}

func TestBookCloneIsDeep(t *testing.T) {
	l := newLedger(t, ledger.Config{Transfer: ledger.TransferRules{Enabled: true, MaxPointsPerWindow: 100, Window: time.Hour}})
	a, b := newOps(t, l, "a"), newOps(t, l, "b")
	a.earn(50, t0, time.Time{})
	a.record(l.Hold(a.b, ledger.HoldRequest{HoldID: "h", Points: 10, At: t0, ExpiresAt: t0.Add(time.Hour), Cause: ledger.Cause{Type: ledger.CauseRedemption}}))
	if _, err := l.Transfer(a.b, b.b, ledger.TransferRequest{TransferID: "t", Points: 5, At: t0}); err != nil {
		t.Fatal(err)
	}
	c := a.b.Clone()
	if !reflect.DeepEqual(c, a.b) {
		t.Fatal("clone differs")
	}
	c.Balances[ledger.Available] = 1
	c.Lots[0].Remaining = 1
	c.Holds[0].Portions[0].Points = 1
	c.RecentTransfers[0].Points = 1
	if a.b.Balances[ledger.Available] == 1 || a.b.Lots[0].Remaining == 1 || a.b.Holds[0].Portions[0].Points == 1 || a.b.RecentTransfers[0].Points == 1 {
		t.Fatal("clone shares memory with the original")
	}
}

func TestAccounts(t *testing.T) {
	a := ledger.CampaignBudget("spring-sale")
	if a != "campaign/spring-sale/budget" {
		t.Fatalf("CampaignBudget = %q", a)
	}
	if id, ok := a.CampaignOf(); !ok || id != "spring-sale" {
		t.Fatalf("CampaignOf = %q, %v", id, ok)
	}
	for _, x := range []ledger.Account{"campaign//budget", "campaign/x", ledger.Issued} {
		if _, ok := x.CampaignOf(); ok {
			t.Errorf("%q is not a campaign budget", x)
		}
	}
	if !ledger.Debt.IsMember() || ledger.Issued.IsMember() || a.IsMember() {
		t.Fatal("IsMember wrong")
	}
}
