package membership

import (
	"slices"
	"strings"
	"time"

	"github.com/huiyuan-dev/huiyuan/pkg/ids"
)

// pass is one evaluation of an account at now: the due work (window, override expiry,
// subscriptions, entry, review), then whatever triggered it, then the rise the figures allow,
// the drop notice and the next due time. settle records each change of the held tier as one
// TierChanged, so every change is one event with the cause that made it.
type pass struct {
	a     *Account
	c     *Catalog
	now   time.Time
	cause Cause  // of rises and of entering the entry tier
	order string // the order of an ORDER or REFUND pass
	// recheck says the pass ended or shortened an override or plan that may have held the tier
	// past the review, so a drop notice it suppressed is due after all.
	recheck bool
	events  []Event
}

func newPass(a *Account, c *Catalog, now time.Time, cause Cause) *pass {
	return &pass{a: a, c: c, now: now.UTC(), cause: cause}
}

// held returns the tier the account holds now: the override's, else the higher of the earned
// tier and the tiers its current subscriptions' plans hold.
func (p *pass) held() string {
	if o := p.a.Override; o != nil {
		return o.Tier
	}
	tier := p.a.Earned.Tier
	for _, s := range p.a.Subscriptions {
		if pl := p.c.Plan(s.PlanID); pl != nil && pl.TierID != "" {
			tier = p.c.higher(tier, pl.TierID)
		}
	}
	return tier
}

// settle moves the account to the tier it holds, recording a TierChanged when that differs. A
// closed or erased member keeps the tier they had.
func (p *pass) settle(cause Cause, subscription string) {
	if p.a.State == MemberGone {
		return
	}
	t := p.held()
	if t == p.a.Tier {
		return
	}
	ev := TierChanged{MemberID: p.a.MemberID, Old: p.a.Tier, New: t, Cause: cause, SubscriptionID: subscription, At: p.now}
	if cause == CauseOrder || cause == CauseRefund {
		ev.OrderID = p.order
	}
	p.events = append(p.events, ev)
	p.a.Tier, p.a.TierSince = t, p.now
}

// run is a whole pass. For a closed or erased member only paid terms run their course (their
// reminders and lapses keep the plan reports right); nothing else changes any more.
func (p *pass) run() {
	if p.a.State == MemberGone {
		p.subscriptions()
		p.a.Due = time.Time{}
		for _, sub := range p.a.Subscriptions {
			if pl := p.c.Plan(sub.PlanID); pl != nil && (p.a.Due.IsZero() || sub.nextDue(pl).Before(p.a.Due)) {
				p.a.Due = sub.nextDue(pl)
			}
		}
		return
	}
	p.catchUp()
	p.finish()
}

// catchUp does the work that fell due by now. The earned tier moves first (entry, review), then
// what holds a tier over it ends (override, plans), so that a member whose plan lapses on the day
// their earned tier drops sees one change, not two.
func (p *pass) catchUp() {
	start := windowStart(p.now, &p.c.Settings)
	if p.a.Earned.ReviewAt.IsZero() || p.a.Earned.Base.Day > start {
		p.a.Figures.prune(start)
	} else {
		p.a.Figures.prune(p.a.Earned.Base.Day - 1) // the review period's first day still counts
	}
	p.enter()
	p.review()
	if o := p.a.Override; o != nil && !p.now.Before(o.Expire) {
		p.a.Override = nil
		p.settle(CauseOverrideExpired, "")
	}
	p.subscriptions()
}

// finish lifts the account as far as the figures allow, checks the drop notice and sets Due.
func (p *pass) finish() {
	p.rise()
	p.notice()
	p.a.Due = p.due()
}

// enter puts an account without a tier on the entry tier (members registered before the tenant
// defined one, or whose tier has gone).
func (p *pass) enter() {
	if p.c.Tier(p.a.Earned.Tier) != nil {
		return
	}
	p.a.Earned = Earned{}
	if e := p.c.Entry(); e != nil {
		p.a.Earned = Earned{Tier: e.ID, Since: p.now}
	}
	p.settle(p.cause, "")
}

// qualified returns the highest tier the figures of the window ending at at qualify for.
func (p *pass) qualified(at time.Time) string {
	spend, orders := p.a.Figures.after(windowStart(at, &p.c.Settings))
	return p.qualifiedBy(spend, orders, TenureMonths(p.a.Joined, at))
}

// qualifiedBy returns the highest tier spend and orders over a window and tenure qualify for:
// the entry tier at least, "" when the tenant has none and nothing qualifies.
func (p *pass) qualifiedBy(spend, orders int64, tenure int) string {
	for i := len(p.c.Tiers) - 1; i >= 0; i-- {
		if t := p.c.Tiers[i]; t.Rank == 0 || t.meets(spend, orders, tenure) {
			return t.ID
		}
	}
	return ""
}

// reach makes tier the earned tier from now, with a review one window ahead (none for the
// entry tier).
func (p *pass) reach(tier string) {
	p.a.Earned = Earned{Tier: tier, Since: p.now, Base: p.a.Figures.on(p.day(p.now))}
	if p.c.rank(tier) > 0 {
		p.a.Earned.ReviewAt = p.now.AddDate(0, p.c.Settings.WindowMonths, 0)
	}
}

func (p *pass) day(t time.Time) int32 { return DayOf(t, p.c.Settings.Location()) }

// sinceEarned sums the figures of the review period so far: the days after the earned tier's
// first day, and what that day gained after the tier was reached or retained.
func (p *pass) sinceEarned() (spend, orders int64) {
	b := p.a.Earned.Base
	spend, orders = p.a.Figures.after(b.Day)
	d := p.a.Figures.on(b.Day)
	return spend + max(0, d.Spend-b.Spend), orders + int64(max(0, d.Orders-b.Orders))
}

// rise lifts the earned tier at once when the figures qualify for a higher one.
func (p *pass) rise() {
	q := p.qualified(p.now)
	if p.c.rank(q) <= p.c.rank(p.a.Earned.Tier) {
		return
	}
	p.reach(q)
	p.settle(p.cause, "")
}

// dropTarget is where a member earning cur goes at review when the figures qualify for q, a
// lower tier: one step down, or straight to q, as the tenant's drop rule says.
func (p *pass) dropTarget(cur, q string) string {
	if p.c.Settings.DropRule == DropOneStep {
		if b := p.c.below(cur); b != nil {
			return p.c.higher(q, b.ID)
		}
	}
	return q
}

// review ends the review period that fell due: the member keeps the tier for another period
// when the period's figures (what came after reaching or last keeping it) still hold it, and
// drops as far as the drop rule says otherwise. Refunds take effect here and nowhere else.
func (p *pass) review() {
	e := &p.a.Earned
	if e.ReviewAt.IsZero() || p.now.Before(e.ReviewAt) {
		return
	}
	spend, orders := p.sinceEarned()
	q := p.qualifiedBy(spend, orders, TenureMonths(p.a.Joined, p.now))
	if p.c.rank(q) >= p.c.rank(e.Tier) {
		retained := e.ReviewAt
		next := retained.AddDate(0, p.c.Settings.WindowMonths, 0)
		if !next.After(p.now) { // the job was down for a whole period: one review, from now
			next = p.now.AddDate(0, p.c.Settings.WindowMonths, 0)
		}
		e.Since, e.ReviewAt, e.Base = retained, next, p.a.Figures.on(p.day(retained))
		if p.c.rank(e.Tier) == 0 {
			e.ReviewAt = time.Time{}
		}
		return
	}
	p.reach(p.dropTarget(e.Tier, q))
	p.settle(CauseReview, "")
}

// notice sends the drop notice once per review, notice_days ahead, when the figures that will
// count at review (the period's so far) do not hold the earned tier. A refund within the notice
// period checks again, and so does the end of an override or plan that held the tier past the
// review (the drop is then what the member will see); NoticeSent keeps it to one notice.
func (p *pass) notice() {
	a, s := p.a, &p.c.Settings
	r := a.Earned.ReviewAt
	if r.IsZero() || s.NoticeDays <= 0 || p.now.Before(r.AddDate(0, 0, -s.NoticeDays)) {
		return
	}
	if a.NoticeChecked.Equal(r) && (a.NoticeSent || (p.cause != CauseRefund && !p.recheck)) {
		return
	}
	a.NoticeChecked, a.NoticeSent = r, false
	t := p.c.Tier(a.Earned.Tier)
	if t == nil || t.Rank == 0 || p.heldPast(r) {
		return
	}
	spend, orders := p.sinceEarned()
	q := p.qualifiedBy(spend, orders, TenureMonths(a.Joined, r))
	if p.c.rank(q) >= t.Rank { // kept (or passed) at review as the figures stand
		return
	}
	ms, mo := t.missing(spend, orders)
	p.events = append(p.events, DropNotice{MemberID: a.MemberID, Tier: t.ID, DropTo: p.dropTarget(t.ID, q), ReviewAt: r,
		MissingSpend: ms, Currency: s.Currency, MissingOrders: mo, At: p.now})
	a.NoticeSent = true
}

// heldPast reports whether an override or a plan keeps the member at least at the earned tier
// beyond r, so a drop at r would change nothing they see.
func (p *pass) heldPast(r time.Time) bool {
	if o := p.a.Override; o != nil && o.Expire.After(r) {
		return true
	}
	for _, s := range p.a.Subscriptions {
		if pl := p.c.Plan(s.PlanID); pl != nil && pl.TierID != "" &&
			p.c.rank(pl.TierID) >= p.c.rank(p.a.Earned.Tier) && s.holdEnd().After(r) {
			return true
		}
	}
	return false
}

// due returns when the account next has work: an override's expiry, a drop notice, a review,
// a subscription's reminder, end or grace end, or a tenure qualification.
func (p *pass) due() time.Time {
	var due time.Time
	consider := func(t time.Time) {
		if !t.IsZero() && (due.IsZero() || t.Before(due)) {
			due = t
		}
	}
	a, s := p.a, &p.c.Settings
	if a.Override != nil {
		consider(a.Override.Expire)
	}
	if r := a.Earned.ReviewAt; !r.IsZero() {
		consider(r)
		if s.NoticeDays > 0 && !a.NoticeChecked.Equal(r) {
			consider(r.AddDate(0, 0, -s.NoticeDays))
		}
	}
	for _, sub := range a.Subscriptions {
		if pl := p.c.Plan(sub.PlanID); pl != nil {
			consider(sub.nextDue(pl))
		}
	}
	earned := p.c.rank(a.Earned.Tier)
	for _, t := range p.c.Tiers {
		if t.Rank > earned && t.Basis == BasisTenure {
			consider(a.Joined.AddDate(0, t.MinTenureMonths, 0))
		}
	}
	if !due.IsZero() && !due.After(p.now) {
		// Everything due by now was just done; a past time would make the job spin on this
		// account, so look again shortly instead.
		due = p.now.Add(time.Minute)
	}
	return due
}

// Enroll starts a new member's account at the entry tier, without an event: the registration
// event carries the tier.
func Enroll(a *Account, c *Catalog, now time.Time) {
	p := newPass(a, c, now, CauseReview)
	if e := c.Entry(); e != nil {
		a.Earned = Earned{Tier: e.ID, Since: p.now}
		a.Tier, a.TierSince = e.ID, p.now
	}
	a.Due = p.due()
}

// Referred counts a member who registered with a's member id as their referral code, and
// reports whether it did: a closed or erased member's account changes no more.
func Referred(a *Account) bool {
	if a.State == MemberGone {
		return false
	}
	a.Value.Referrals++
	return true
}

// Evaluate does the account's due work as of now (reviews, notices, override expiry,
// subscription reminders and lapses, tenure) and returns the events; the job and explicit
// evaluations call it. Reads call it on a clone, to show the account as of now.
func Evaluate(a *Account, c *Catalog, now time.Time) []Event {
	p := newPass(a, c, now, CauseReview)
	p.run()
	return p.events
}

// OrderFact is an order as loyalty recorded it (order_recorded).
type OrderFact struct {
	OrderID  string
	MemberID string
	Amount   int64 // minor units of Currency
	Currency string
	Time     time.Time // the order's time; zero means the event's
}

// RefundFact is a refund as loyalty recorded it (order_refunded).
type RefundFact struct {
	OrderID       string
	MemberID      string
	Amount        int64 // refunded now
	RefundedTotal int64 // refunded in total so far
	Currency      string
}

// ApplyOrder adds an order to the account and evaluates it: a member rises as soon as an
// order qualifies. prev is the order's contribution when it was counted before (then nothing
// changes). It returns the contribution to keep for refunds.
func ApplyOrder(a *Account, c *Catalog, prev *Contribution, o OrderFact, now time.Time) (*Contribution, []Event) {
	if prev != nil || a.State == MemberGone {
		return prev, nil
	}
	s := &c.Settings
	at := o.Time
	if at.IsZero() || at.After(now) {
		at = now
	}
	var spend int64
	if o.Currency == s.Currency && o.Amount > 0 {
		spend = o.Amount
	}
	day := DayOf(at, s.Location())
	a.Value.LifetimeSpend += spend
	a.Value.LifetimeOrders++
	if day > windowStart(now, s) {
		a.Figures.add(day, spend, 1)
	}
	contrib := &Contribution{MemberID: a.MemberID, Day: day, Spend: spend, Amount: o.Amount,
		KeepUntil: at.In(s.Location()).AddDate(0, s.WindowMonths+1, 0).UTC(), Time: at.UTC()}
	p := newPass(a, c, now, CauseOrder)
	p.order = o.OrderID
	p.run()
	return contrib, p.events
}

// ApplyRefund takes a refund off the account's figures and value. It never drops the member:
// that happens at review, if the figures still do not hold the tier then. prev is the refunded
// order's contribution (nil when unknown or no longer kept: then only the lifetime spend
// changes).
func ApplyRefund(a *Account, c *Catalog, prev *Contribution, r RefundFact, now time.Time) (*Contribution, []Event) {
	if a.State == MemberGone {
		return prev, nil
	}
	s := &c.Settings
	var spend int64
	if r.Currency == s.Currency && r.Amount > 0 {
		spend = r.Amount
	}
	if prev != nil {
		spend = min(spend, prev.Spend-prev.RefundedSpend)
		prev.RefundedSpend += spend
		var orders int32
		if !prev.FullyRefunded && prev.Amount > 0 && r.RefundedTotal >= prev.Amount {
			prev.FullyRefunded = true
			a.Value.LifetimeOrders = max(0, a.Value.LifetimeOrders-1)
			orders = -1
		}
		if prev.Day > windowStart(now, s) || !a.Earned.ReviewAt.IsZero() && prev.Day >= a.Earned.Base.Day {
			a.Figures.add(prev.Day, -spend, orders)
		}
		if b := &a.Earned.Base; prev.Day == b.Day && !prev.Time.After(a.Earned.Since) {
			// The order came before the tier was reached: it never counted for the review period.
			b.Spend, b.Orders = max(0, b.Spend-spend), max(0, b.Orders+orders)
		}
	}
	a.Value.LifetimeSpend = max(0, a.Value.LifetimeSpend-spend)
	p := newPass(a, c, now, CauseRefund)
	p.order = r.OrderID
	p.run()
	return prev, p.events
}

// sub returns the current subscription id, or nil.
func (a *Account) sub(id string) *Subscription {
	i := slices.IndexFunc(a.Subscriptions, func(s *Subscription) bool { return s.ID == id })
	if i < 0 {
		return nil
	}
	return a.Subscriptions[i]
}

// Referrer returns the member a referral code names: a code that is a member id credits that
// member (whose app shows the id as their code); anything else is another system's code.
func Referrer(code string) (string, bool) {
	if !ids.Valid(code) {
		return "", false
	}
	return strings.ToLower(code), true
}
