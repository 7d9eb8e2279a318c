package coupon

import (
	"fmt"
	"sync"
	"time"
)

// DefaultTimeZone is the zone of a tenant that never set one in its loyalty policy.
const DefaultTimeZone = "Asia/Shanghai"

// Usage counts one member's coupons of one template, for the per-member limits.
type Usage struct {
	Total       int64  // coupons received in all
	PeriodKey   string // the period PeriodCount counts ("2026-03-01", "2026-W09", "2026-03")
	PeriodCount int64
}

// IssueState is what an issue decides on, loaded in the issuing transaction. The decision
// updates Issued and Usage; the store saves them with the coupon.
type IssueState struct {
	Template     *Template
	Member       string       // who the coupon is for; "" for an unclaimed batch code
	MemberStatus MemberStatus // what the member service's events said of Member
	Issued       int64        // coupons issued from the template so far
	Usage        Usage        // the member's (zero for an unclaimed batch code)
	Zone         string       // the tenant's IANA time zone; "" means DefaultTimeZone
}

// MemberStatus is a member's standing as the coupon service last heard it from the member
// service's events (registration, status changes).
type MemberStatus uint8

// The standings. A member not heard of yet is issued to: the events may simply not have
// arrived, and refusing on a guess would refuse a member who registered a moment ago.
const (
	MemberUnheard  MemberStatus = iota
	MemberActive                // registered, or thawed
	MemberInactive              // frozen, closed or erased: nothing is issued to it
)

// IssueFunc decides one issue on st: it returns the coupon to store and the events, or an error
// (then nothing is stored). A store may call it more than once.
type IssueFunc func(st *IssueState) (*Coupon, []Event, error)

// periodKey names the calendar period of p holding t in zone.
func periodKey(p Period, t time.Time, zone *time.Location) string {
	l := t.In(zone)
	switch p {
	case PeriodDay:
		return l.Format("2006-01-02")
	case PeriodWeek:
		y, w := l.ISOWeek()
		return fmt.Sprintf("%04d-W%02d", y, w)
	case PeriodMonth:
		return l.Format("2006-01")
	}
	return ""
}

// issue is one coupon to issue: who gets it, how, and what it will be called.
type issue struct {
	member string
	source Source
	id     string
	code   string
	now    time.Time
	zone   *time.Location
	state  State // StateAvailable, or StatePending for an exchange
}

// decide checks that st's template may issue one more coupon to in.member and, if so, counts it
// (st.Issued, st.Usage) and returns the coupon. The order of the checks fixes which refusal a
// caller sees: the template's status, how it may be issued, its validity, its stock, then the
// member's limits. Stock and limit refusals are COUPON_OUT_OF_STOCK and COUPON_LIMIT_REACHED.
func decide(st *IssueState, in issue) (*Coupon, error) {
	t := st.Template
	if in.member != "" && st.MemberStatus == MemberInactive {
		return nil, memberNotActive(in.member)
	}
	if t.Status != StatusActive {
		return nil, failed(ReasonTemplateNotActive, "coupon template %q is %s", t.ID, t.Status).With("status", t.Status.String())
	}
	switch {
	case in.source == SourceClaim && !t.Claimable:
		return nil, failed(ReasonNotClaimable, "coupons of template %q are not claimable", t.ID)
	case in.source == SourceExchange && t.PointsPrice <= 0:
		return nil, failed(ReasonNotExchangeable, "coupons of template %q are not exchanged for points", t.ID)
	}
	start, end := t.Validity(in.now, in.zone)
	if !end.After(in.now) {
		return nil, failed(ReasonTemplateExpired, "the validity of template %q ended at %s", t.ID, end.Format(time.RFC3339))
	}
	if t.TotalStock > 0 && st.Issued >= t.TotalStock {
		return nil, outOfStock(t.ID, t.TotalStock)
	}
	var key string
	if in.member != "" {
		u := st.Usage
		if t.PerMemberLimit > 0 && u.Total >= t.PerMemberLimit {
			return nil, limitReached(t.ID, "per-member", t.PerMemberLimit)
		}
		if t.PeriodLimit > 0 {
			key = periodKey(t.Period, in.now, in.zone)
			if u.PeriodKey == key && u.PeriodCount >= t.PeriodLimit {
				return nil, limitReached(t.ID, "per-"+t.Period.String(), t.PeriodLimit)
			}
			if u.PeriodKey != key {
				u.PeriodKey, u.PeriodCount = key, 0
			}
			u.PeriodCount++
		}
		u.Total++
		st.Usage = u
	}
	st.Issued++
	return &Coupon{ID: in.id, Code: in.code, TemplateID: t.ID, MemberID: in.member, State: in.state, Source: in.source,
		IssueTime: in.now, StartTime: start, ExpireTime: end, PeriodKey: key, UpdateTime: in.now}, nil
}

// unissue takes coupon c back from st's counts: for an exchange that failed, whose coupon was
// never usable, so its stock and the member's limits are given back.
func unissue(st *IssueState, c *Coupon) {
	if st.Issued > 0 {
		st.Issued--
	}
	if c.MemberID == "" {
		return
	}
	if st.Usage.Total > 0 {
		st.Usage.Total--
	}
	if c.PeriodKey != "" && st.Usage.PeriodKey == c.PeriodKey && st.Usage.PeriodCount > 0 {
		st.Usage.PeriodCount--
	}
}

// issuedEvent is the event of coupon c becoming its member's.
func issuedEvent(c *Coupon) CouponChanged {
	return CouponChanged{Kind: EventIssued, CouponID: c.ID, TemplateID: c.TemplateID, MemberID: c.MemberID, State: c.State,
		Source: c.Source, ExpireTime: c.ExpireTime, At: c.IssueTime}
}

// zones resolves IANA time zone names once each (time.LoadLocation reads the zone database).
type zones struct {
	mu sync.RWMutex
	m  map[string]*time.Location
}

func (z *zones) get(name string) *time.Location {
	if name == "" {
		name = DefaultTimeZone
	}
	z.mu.RLock()
	loc := z.m[name]
	z.mu.RUnlock()
	if loc != nil {
		return loc
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		// Names come from loyalty policies, which validate them; an unknown one (an older zone
		// database) falls back rather than refusing every issue.
		loc, err = time.LoadLocation(DefaultTimeZone)
		if err != nil {
			loc = time.FixedZone("UTC+8", 8*3600)
		}
	}
	z.mu.Lock()
	if z.m == nil {
		z.m = map[string]*time.Location{}
	}
	z.m[name] = loc
	z.mu.Unlock()
	return loc
}
