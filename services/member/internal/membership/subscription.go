package membership

import (
	"math/bits"
	"slices"
	"time"

	"github.com/huiyuan-dev/huiyuan/pkg/apperr"
)

// SubState is where a subscription is. The numbers match huiyuan.member.v1.Subscription.State.
type SubState int32

// The subscription states.
const (
	SubUnspecified SubState = iota
	SubTrial
	SubActive
	SubGrace
	SubLapsed
	SubCancelled
)

// Term is one paid (or trial) stretch of a subscription.
type Term struct {
	Start, End time.Time
	Paid       int64 // minor units of the subscription's currency
}

// Payment is a payment recorded from the business's payment system, or a refund (negative,
// without a reference).
type Payment struct {
	Reference string
	Amount    int64
	Currency  string
	Time      time.Time
}

// Subscription is a member's subscription to a plan.
type Subscription struct {
	ID        string
	PlanID    string
	State     SubState
	Start     time.Time // of the first term
	TermEnd   time.Time // end of the paid or trial time (the last term's end)
	GraceEnd  time.Time // in GRACE
	End       time.Time // when it lapsed or was cancelled
	Reason    string    // why it was cancelled, as given
	AutoRenew bool
	Currency  string
	Reminded  time.Time // the TermEnd the expiring reminder went out for
	Terms     []Term
	Payments  []Payment
}

// Clone returns a deep copy of s.
func (s *Subscription) Clone() *Subscription {
	c := *s
	c.Terms = slices.Clone(s.Terms)
	c.Payments = slices.Clone(s.Payments)
	return &c
}

// CurrentTerm returns the term in force at now (the last one that has started).
func (s *Subscription) CurrentTerm(now time.Time) Term {
	cur := Term{Start: s.Start, End: s.TermEnd}
	for _, t := range s.Terms {
		if !t.Start.After(now) {
			cur = t
		}
	}
	return cur
}

// holdEnd is until when the subscription holds its plan's tier and benefits.
func (s *Subscription) holdEnd() time.Time {
	if s.State == SubGrace {
		return s.GraceEnd
	}
	return s.TermEnd
}

// HoldEnd is until when the subscription holds its plan's tier and benefits.
func (s *Subscription) HoldEnd() time.Time { return s.holdEnd() }

// nextDue is when the subscription next has work: its reminder, term end or grace end.
func (s *Subscription) nextDue(pl *Plan) time.Time {
	switch s.State {
	case SubTrial, SubActive:
		if pl.ReminderDays > 0 && !s.Reminded.Equal(s.TermEnd) {
			if r := s.TermEnd.AddDate(0, 0, -pl.ReminderDays); r.Before(s.TermEnd) {
				return r
			}
		}
		return s.TermEnd
	case SubGrace:
		return s.GraceEnd
	}
	return time.Time{}
}

// refundDue is what cancelling at now refunds: terms not begun in full, the current one pro
// rata by the time left.
func (s *Subscription) refundDue(now time.Time) int64 {
	var total int64
	for _, t := range s.Terms {
		switch {
		case !now.Before(t.End) || t.Paid <= 0:
		case !t.Start.Before(now):
			total += t.Paid
		default:
			total += prorate(t.Paid, t.End.Sub(now), t.End.Sub(t.Start))
		}
	}
	return total
}

// prorate returns paid * left / whole, rounded down, without overflow (0 < left < whole).
func prorate(paid int64, left, whole time.Duration) int64 {
	hi, lo := bits.Mul64(uint64(paid), uint64(left))
	q, _ := bits.Div64(hi, lo, uint64(whole)) // hi < whole because left < whole
	return int64(q)
}

// count adds n to the counter of state in st.
func count(st *PlanStats, state SubState, n int64) {
	switch state {
	case SubTrial:
		st.Trialing += n
	case SubActive:
		st.Active += n
	case SubGrace:
		st.InGrace += n
	}
}

// PaymentInput is a payment as a request gives it.
type PaymentInput struct {
	Reference string
	Amount    int64 // 0: the plan's price
	Currency  string
}

// MaxReference is the length limit of a payment reference.
const MaxReference = 128

// checkPayment validates a payment for one term of pl, filling in the price and currency.
func checkPayment(pl *Plan, in PaymentInput, now time.Time) (Payment, error) {
	var v apperr.Violations
	pm := Payment{Reference: in.Reference, Amount: in.Amount, Currency: in.Currency, Time: now}
	if pm.Amount == 0 {
		pm.Amount = pl.PriceMinor
	}
	if pm.Currency == "" {
		pm.Currency = pl.Currency
	}
	switch {
	case pm.Amount < 0:
		v.Add("payment.amount_minor", "must not be negative")
	case pm.Amount > MaxPrice:
		v.Add("payment.amount_minor", "must be at most %d", int64(MaxPrice))
	}
	if pm.Currency != pl.Currency {
		v.Add("payment.currency", "must be the plan's currency, %s", pl.Currency)
	}
	switch {
	case pm.Reference == "" && pm.Amount > 0:
		v.Add("payment.reference", "is required: the payment system's reference of the payment")
	case pm.Reference != "" && !externalID(pm.Reference, MaxReference):
		v.Add("payment.reference", "must be 1 to %d of A-Z a-z 0-9 . _ - :", MaxReference)
	}
	return pm, invalid(ReasonPaymentInvalid, v)
}

// Purchase subscribes the member to plan planID, paid with pay or (trial) on the plan's free
// trial, as subscription id. The plan's tier is held from now.
// Errors: FailedPrecondition (MEMBER_NOT_ACTIVE, PLAN_NO_TRIAL, TRIAL_ALREADY_USED); NotFound
// (PLAN_NOT_FOUND); AlreadyExists (SUBSCRIPTION_EXISTS); Invalid (PAYMENT_INVALID).
func Purchase(a *Account, c *Catalog, planID string, pay PaymentInput, trial bool, id string, now time.Time) (*Subscription, []Event, error) {
	if a.State != MemberActive {
		return nil, nil, memberNotActive(a.MemberID)
	}
	pl := c.Plan(planID)
	if pl == nil {
		return nil, nil, PlanNotFound(planID)
	}
	p := newPass(a, c, now, CausePlan)
	p.catchUp() // a subscription that lapsed by now no longer blocks a new one
	for _, s := range a.Subscriptions {
		if s.PlanID == planID {
			return nil, nil, apperr.E(apperr.AlreadyExists, ReasonSubscriptionExists,
				"member %q already subscribes to plan %q", a.MemberID, planID).With("subscription_id", s.ID)
		}
	}
	now = p.now
	sub := &Subscription{ID: id, PlanID: planID, Start: now, AutoRenew: pl.Renewal == RenewalAutomatic, Currency: pl.Currency}
	st := a.stats(planID, pl.Currency)
	ev := SubscriptionChanged{Kind: EventSubscriptionPurchased, MemberID: a.MemberID, Currency: pl.Currency, At: now}
	if trial {
		switch {
		case pl.TrialDays == 0:
			return nil, nil, apperr.E(apperr.FailedPrecondition, ReasonPlanNoTrial, "plan %q has no trial", planID)
		case slices.Contains(a.Trials, planID):
			return nil, nil, apperr.E(apperr.FailedPrecondition, ReasonTrialUsed, "member %q has had the trial of plan %q", a.MemberID, planID)
		}
		sub.State, sub.TermEnd = SubTrial, now.AddDate(0, 0, pl.TrialDays)
		sub.Terms = []Term{{Start: now, End: sub.TermEnd}}
		a.Trials = append(a.Trials, planID)
	} else {
		pm, err := checkPayment(pl, pay, now)
		if err != nil {
			return nil, nil, err
		}
		sub.State, sub.TermEnd = SubActive, pl.termEnd(now)
		sub.Terms = []Term{{Start: now, End: sub.TermEnd, Paid: pm.Amount}}
		sub.Payments = []Payment{pm}
		st.RevenueMinor += pm.Amount
		ev.Amount, ev.Reference = pm.Amount, pm.Reference
		if pm.Reference != "" {
			a.NewPayments = append(a.NewPayments, pm.Reference)
		}
	}
	count(st, sub.State, 1)
	st.Purchases++
	a.Subscriptions = append(a.Subscriptions, sub)
	ev.Subscription = *sub.Clone()
	p.events = append(p.events, ev)
	p.settle(CausePlan, sub.ID)
	p.finish()
	return sub, p.events, nil
}

// Renew adds one paid term to current subscription id, from the end of the paid time (so grace
// days are paid for and nothing is given twice). A trial renewed becomes ACTIVE; a subscription
// in grace comes back. It refuses to add a term while one term ahead is already paid, so a
// renewal that is repeated with a new request id still never extends the term twice.
// Errors: NotFound (SUBSCRIPTION_NOT_FOUND: no current subscription with that id);
// FailedPrecondition (SUBSCRIPTION_ALREADY_RENEWED, MEMBER_NOT_ACTIVE); Invalid (PAYMENT_INVALID).
func Renew(a *Account, c *Catalog, id string, pay PaymentInput, now time.Time) (*Subscription, []Event, error) {
	if a.State == MemberGone {
		return nil, nil, memberNotActive(a.MemberID)
	}
	p := newPass(a, c, now, CausePlan)
	p.catchUp()
	now = p.now
	sub := a.sub(id)
	if sub == nil {
		return nil, nil, SubscriptionNotFound(id)
	}
	pl := c.Plan(sub.PlanID)
	if pl == nil {
		return nil, nil, PlanNotFound(sub.PlanID)
	}
	if sub.TermEnd.After(pl.termEnd(now)) {
		return nil, nil, apperr.E(apperr.FailedPrecondition, ReasonSubscriptionRenewed,
			"subscription %q is paid until %s, a term ahead already", id, sub.TermEnd.Format(time.RFC3339)).With("subscription_id", id)
	}
	pm, err := checkPayment(pl, pay, now)
	if err != nil {
		return nil, nil, err
	}
	start := sub.TermEnd
	if !pl.termEnd(start).After(now) { // renewed so late in a long grace that a term from the end is over
		start = now
	}
	st := a.stats(sub.PlanID, sub.Currency)
	count(st, sub.State, -1)
	sub.State, sub.GraceEnd = SubActive, time.Time{}
	count(st, sub.State, 1)
	st.Renewals++
	st.RevenueMinor += pm.Amount
	sub.TermEnd = pl.termEnd(start)
	sub.Terms = append(sub.Terms, Term{Start: start, End: sub.TermEnd, Paid: pm.Amount})
	sub.Payments = append(sub.Payments, pm)
	if pm.Reference != "" {
		a.NewPayments = append(a.NewPayments, pm.Reference)
	}
	p.events = append(p.events, SubscriptionChanged{Kind: EventSubscriptionRenewed, Subscription: *sub.Clone(), MemberID: a.MemberID,
		Amount: pm.Amount, Currency: pm.Currency, Reference: pm.Reference, At: now})
	p.settle(CausePlan, sub.ID)
	p.finish()
	return sub, p.events, nil
}

// Cancel ends current subscription id now, for reason (optional). Where the plan is refundable
// it refunds the terms not begun and the current one pro rata; a trial refunds nothing. The
// refund is for the business's payment system to pay: it is returned, recorded and announced.
// Errors: Invalid on reason; NotFound (SUBSCRIPTION_NOT_FOUND).
func Cancel(a *Account, c *Catalog, id, reason string, now time.Time) (*Subscription, int64, []Event, error) {
	var v apperr.Violations
	reason = text(reason, MaxReason, false, false, "reason", &v)
	if err := v.Err(); err != nil {
		return nil, 0, nil, err
	}
	p := newPass(a, c, now, CausePlan)
	p.catchUp()
	now = p.now
	sub := a.sub(id)
	if sub == nil {
		return nil, 0, nil, SubscriptionNotFound(id)
	}
	var refund int64
	if pl := c.Plan(sub.PlanID); pl != nil && pl.Refundable {
		refund = sub.refundDue(now)
	}
	st := a.stats(sub.PlanID, sub.Currency)
	count(st, sub.State, -1)
	st.Cancellations++
	st.RefundedMinor += refund
	sub.State, sub.End, sub.Reason = SubCancelled, now, reason
	if refund > 0 {
		sub.Payments = append(sub.Payments, Payment{Amount: -refund, Currency: sub.Currency, Time: now})
	}
	a.endSub(sub)
	p.recheck = true
	p.events = append(p.events, SubscriptionChanged{Kind: EventSubscriptionCancelled, Subscription: *sub.Clone(), MemberID: a.MemberID,
		Amount: refund, Currency: sub.Currency, At: now})
	p.settle(CausePlan, sub.ID)
	p.finish()
	return sub, refund, p.events, nil
}

// endSub moves sub from the current subscriptions to those that ended in this change.
func (a *Account) endSub(sub *Subscription) {
	a.Subscriptions = slices.DeleteFunc(a.Subscriptions, func(s *Subscription) bool { return s == sub })
	a.Ended = append(a.Ended, sub)
}

// subscriptions moves every current subscription along as of now: the expiring reminder, the
// end of the term (into grace, or lapsed), the end of grace.
func (p *pass) subscriptions() {
	for _, sub := range slices.Clone(p.a.Subscriptions) {
		if pl := p.c.Plan(sub.PlanID); pl != nil { // plans with current subscriptions are never deleted
			p.advance(sub, pl)
			p.settle(CausePlan, sub.ID)
		}
	}
}

func (p *pass) advance(sub *Subscription, pl *Plan) {
	now := p.now
	emit := func(kind string, daysLeft int) {
		p.events = append(p.events, SubscriptionChanged{Kind: kind, Subscription: *sub.Clone(), MemberID: p.a.MemberID,
			Currency: sub.Currency, DaysLeft: daysLeft, At: now})
	}
	st := p.a.stats(sub.PlanID, sub.Currency)
	if sub.State == SubTrial || sub.State == SubActive {
		if pl.ReminderDays > 0 && !sub.Reminded.Equal(sub.TermEnd) && now.Before(sub.TermEnd) &&
			!now.Before(sub.TermEnd.AddDate(0, 0, -pl.ReminderDays)) {
			sub.Reminded = sub.TermEnd
			emit(EventSubscriptionExpiring, int((sub.TermEnd.Sub(now)+24*time.Hour-1)/(24*time.Hour)))
		}
		if now.Before(sub.TermEnd) {
			return
		}
		emit(EventSubscriptionExpired, 0)
		count(st, sub.State, -1)
		if sub.State == SubTrial || pl.GraceDays == 0 {
			p.lapse(sub, st, sub.TermEnd)
			return
		}
		sub.State, sub.GraceEnd = SubGrace, sub.TermEnd.AddDate(0, 0, pl.GraceDays)
		count(st, sub.State, 1)
		emit(EventSubscriptionGraceStarted, 0)
	}
	if sub.State == SubGrace && !now.Before(sub.GraceEnd) {
		count(st, sub.State, -1)
		p.lapse(sub, st, sub.GraceEnd)
	}
}

func (p *pass) lapse(sub *Subscription, st *PlanStats, at time.Time) {
	sub.State, sub.End = SubLapsed, at
	st.Lapses++
	p.a.endSub(sub)
	p.events = append(p.events, SubscriptionChanged{Kind: EventSubscriptionLapsed, Subscription: *sub.Clone(), MemberID: p.a.MemberID,
		Currency: sub.Currency, At: p.now})
}
