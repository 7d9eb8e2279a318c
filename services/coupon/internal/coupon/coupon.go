package coupon

import (
	"time"
)

// Lock timeouts.
const (
	DefaultLockTimeout = 15 * time.Minute
	MaxLockTimeout     = 24 * time.Hour
)

// Lock holds a coupon for one order.
type Lock struct {
	OrderID          string
	Time, ExpireTime time.Time
}

// Redemption records where and how a coupon was used.
type Redemption struct {
	OrderID, StoreID, StaffID string
	DiscountMinor             int64
	Currency                  string
	Time                      time.Time
}

// Coupon is one issued coupon. Code is normalised (no dashes); FormatCode groups it.
type Coupon struct {
	ID         string
	Code       string
	TemplateID string
	MemberID   string // "" for an unclaimed batch code
	State      State
	Source     Source

	IssueTime, StartTime, ExpireTime time.Time
	PeriodKey                        string // period the issue counted in for the member's period limit

	Lock       Lock // while LOCKED; after a lock lapsed, that lock (Release reads it)
	Redemption Redemption

	BatchID, ExchangeID, SharedCode string
	VoidReason                      string
	UpdateTime                      time.Time
}

// Clone returns a copy of c.
func (c *Coupon) Clone() *Coupon {
	d := *c
	return &d
}

// DueTime is when the coupon changes on its own: the end of its lock, or the end of its
// validity while available; zero when never.
func (c *Coupon) DueTime() time.Time {
	switch c.State {
	case StateLocked:
		return c.Lock.ExpireTime
	case StateAvailable:
		return c.ExpireTime
	}
	return time.Time{}
}

// settle applies what time did by now: a lapsed lock returns the coupon (released, reason
// "timeout"), and an available coupon past its validity expires. It returns the events.
func (c *Coupon) settle(now time.Time) []Event {
	var evs []Event
	if c.State == StateLocked && !now.Before(c.Lock.ExpireTime) {
		ev := c.change(EventReleased, StateAvailable, c.Lock.ExpireTime)
		ev.OrderID, ev.Reason = c.Lock.OrderID, "timeout"
		// c.Lock stays, read only while c is LOCKED, so that releasing the lapsed lock still
		// succeeds after the sweep has released it, as it did before.
		evs = append(evs, ev)
	}
	if c.State == StateAvailable && !now.Before(c.ExpireTime) {
		evs = append(evs, c.change(EventExpired, StateExpired, c.ExpireTime))
	}
	return evs
}

// Effective returns c as it stands at now: a lapsed lock released, a validity that ended
// expired. It does not change c.
func (c *Coupon) Effective(now time.Time) *Coupon {
	e := c.Clone()
	e.settle(now)
	return e
}

// change moves c to state at time at and returns the event that records it.
func (c *Coupon) change(kind string, to State, at time.Time) CouponChanged {
	ev := CouponChanged{Kind: kind, CouponID: c.ID, TemplateID: c.TemplateID, MemberID: c.MemberID,
		Previous: c.State, State: to, Source: c.Source, ExpireTime: c.ExpireTime, At: at}
	c.State, c.UpdateTime = to, at
	return ev
}

// usable checks that c (settled at now) may be locked or redeemed by member for order.
func (c *Coupon) usable(member, order string, now time.Time) error {
	if c.MemberID != "" && member != c.MemberID {
		return failed(ReasonCouponNotOwned, "the coupon belongs to another member")
	}
	switch c.State {
	case StateRedeemed:
		return failed(ReasonAlreadyRedeemed, "the coupon is already redeemed").With("order_id", c.Redemption.OrderID)
	case StateExpired:
		return failed(ReasonCouponExpired, "the coupon expired at %s", c.ExpireTime.Format(time.RFC3339))
	case StateVoided:
		return failed(ReasonCouponVoided, "the coupon is voided")
	case StatePending:
		return failed(ReasonCouponPending, "the coupon's points exchange has not settled")
	case StateLocked:
		if c.Lock.OrderID != order {
			return failed(ReasonCouponLocked, "the coupon is locked for another order until %s", c.Lock.ExpireTime.Format(time.RFC3339))
		}
	}
	if now.Before(c.StartTime) {
		return failed(ReasonCouponNotYetValid, "the coupon is valid from %s", c.StartTime.Format(time.RFC3339))
	}
	return nil
}

// take readies c to be locked or redeemed by member for order at now: it applies what time did,
// checks the coupon is usable, and binds an unclaimed batch code to the member. It returns the
// events so far.
func (c *Coupon) take(member, order string, now time.Time) ([]Event, error) {
	evs := c.settle(now)
	if err := c.usable(member, order, now); err != nil {
		return nil, err
	}
	return append(evs, c.bind(member, now)...), nil
}

// bind gives an unclaimed batch code to member; it returns the issued event.
func (c *Coupon) bind(member string, now time.Time) []Event {
	if c.MemberID != "" {
		return nil
	}
	c.MemberID = member
	ev := c.change(EventIssued, c.State, now)
	ev.MemberID, ev.Previous = member, StateUnspecified
	return []Event{ev}
}
