package membership_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/huiyuan-dev/huiyuan/services/member/internal/membership"
)

// t0 is the tests' start: 10:00 on 1 March 2026 in Shanghai.
var t0 = time.Date(2026, 3, 1, 2, 0, 0, 0, time.UTC)

const day = 24 * time.Hour

// catalog is a tenant with bronze (entry), silver (1,000 CNY in 12 months), gold (5,000 CNY
// and 5 orders), loyal (24 months a member, ranked between), and a plan holding gold.
func catalog(drop membership.DropRule) *membership.Catalog {
	s := membership.DefaultSettings()
	s.DropRule = drop
	c := &membership.Catalog{Settings: s, Tiers: []*membership.Tier{
		{ID: "bronze", DisplayName: "Bronze", Rank: 0, MultiplierPercent: 100},
		{ID: "silver", DisplayName: "Silver", Rank: 10, Basis: membership.BasisSpend, MinSpend: 100_000, MultiplierPercent: 120},
		{ID: "loyal", DisplayName: "Loyal", Rank: 15, Basis: membership.BasisTenure, MinTenureMonths: 24, MultiplierPercent: 130},
		{ID: "gold", DisplayName: "Gold", Rank: 20, Basis: membership.BasisSpendAndOrders, MinSpend: 500_000, MinOrders: 5, MultiplierPercent: 150},
	}, Plans: []*membership.Plan{
		{ID: "gold-pass", DisplayName: "Gold pass", PriceMinor: 19_900, Currency: "CNY", TermMonths: 12, TierID: "gold", Renewal: membership.RenewalManual,
			GraceDays: 7, TrialDays: 14, Refundable: true, ReminderDays: 7},
		{ID: "box", DisplayName: "Box", PriceMinor: 9_900, Currency: "CNY", TermDays: 30, Renewal: membership.RenewalAutomatic, ReminderDays: 3},
	}}
	c.Sort()
	return c
}

// member is an account under test with the contributions of its orders.
type member struct {
	a       *membership.Account
	c       *membership.Catalog
	contrib map[string]*membership.Contribution
	orders  int
}

func newMember(c *membership.Catalog, joined time.Time) *member {
	a := &membership.Account{MemberID: "m1", Joined: joined}
	membership.Enroll(a, c, joined)
	return &member{a: a, c: c, contrib: map[string]*membership.Contribution{}}
}

func (m *member) order(amount int64, now time.Time) (string, []membership.Event) {
	m.orders++
	id := fmt.Sprintf("o%d", m.orders)
	var evs []membership.Event
	m.contrib[id], evs = membership.ApplyOrder(m.a, m.c, m.contrib[id],
		membership.OrderFact{OrderID: id, MemberID: "m1", Amount: amount, Currency: "CNY", Time: now}, now)
	return id, evs
}

func (m *member) refund(id string, amount, total int64, now time.Time) []membership.Event {
	var evs []membership.Event
	m.contrib[id], evs = membership.ApplyRefund(m.a, m.c, m.contrib[id],
		membership.RefundFact{OrderID: id, MemberID: "m1", Amount: amount, RefundedTotal: total, Currency: "CNY"}, now)
	return evs
}

// summary writes events compactly: "tier_changed ORDER bronze>silver", "tier_drop_notice gold>silver".
func summary(evs []membership.Event) string {
	var out []string
	for _, e := range evs {
		switch e := e.(type) {
		case membership.TierChanged:
			out = append(out, fmt.Sprintf("%s %s %s>%s", e.Type(), causeName(e.Cause), e.Old, e.New))
		case membership.DropNotice:
			out = append(out, fmt.Sprintf("%s %s>%s spend %d orders %d", e.Type(), e.Tier, e.DropTo, e.MissingSpend, e.MissingOrders))
		default:
			out = append(out, e.Type())
		}
	}
	return strings.Join(out, "; ")
}

func causeName(c membership.Cause) string {
	return [...]string{"UNSPECIFIED", "ORDER", "REFUND", "REVIEW", "OVERRIDE", "OVERRIDE_EXPIRED", "PLAN"}[c]
}

func wantEvents(t *testing.T, step string, evs []membership.Event, want string) {
	t.Helper()
	if got := summary(evs); got != want {
		t.Fatalf("%s: events\n got %q\nwant %q", step, got, want)
	}
}
