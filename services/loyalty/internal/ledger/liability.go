package ledger

import (
	"time"

	"github.com/huiyuan-dev/huiyuan/pkg/apperr"
)

// Totals are the figures of one book, or summed over many, that the points liability is made of.
type Totals struct {
	Available int64
	Held      int64
	Pending   int64
	Owed      int64 // points owed on debt accounts (>= 0)
	// Issued is the net points put into members' hands: from issued, campaign budgets and
	// adjustments, less what refunds reversed and corrections took back.
	Issued   int64
	Redeemed int64
	Expired  int64
}

// Totals returns b's figures.
func (b *Book) Totals() Totals {
	t := Totals{
		Available: b.Balances[Available],
		Held:      b.Balances[Held],
		Pending:   b.Balances[Pending],
		Owed:      b.Owed(),
		Redeemed:  b.Balances[Redeemed],
		Expired:   b.Balances[Expired],
	}
	for a, v := range b.Balances {
		if _, ok := a.CampaignOf(); ok || a == Issued || a == Adjustments {
			t.Issued = clampAdd(t.Issued, -v)
		}
	}
	return t
}

// Add returns the sum of t and o, saturating rather than overflowing.
func (t Totals) Add(o Totals) Totals {
	return Totals{
		Available: clampAdd(t.Available, o.Available),
		Held:      clampAdd(t.Held, o.Held),
		Pending:   clampAdd(t.Pending, o.Pending),
		Owed:      clampAdd(t.Owed, o.Owed),
		Issued:    clampAdd(t.Issued, o.Issued),
		Redeemed:  clampAdd(t.Redeemed, o.Redeemed),
		Expired:   clampAdd(t.Expired, o.Expired),
	}
}

// Outstanding is the points members still hold: available, held and pending.
func (t Totals) Outstanding() int64 { return clampAdd(clampAdd(t.Available, t.Held), t.Pending) }

// Price is what points are worth: Minor minor units of the tenant's currency per Points points
// ({1, 1}: one cent a point; {1, 10}: a tenth of a cent).
type Price struct {
	Minor  int64
	Points int64
}

// Validate checks p. Errors: Invalid on "price.minor", "price.points".
func (p Price) Validate() error {
	var v apperr.Violations
	if p.Minor < 0 {
		v.Add("price.minor", "must not be negative")
	}
	if p.Points <= 0 {
		v.Add("price.points", "must be positive")
	}
	return v.Err()
}

// Liability is the points liability of a tenant (or of one member).
type Liability struct {
	OutstandingPoints int64
	ValueMinor        int64 // floor(outstanding × price), saturating at the int64 maximum
	IssuedPoints      int64
	ExpiredPoints     int64
	// BreakageBasisPoints is expired / issued in hundredths of a percent (10000 = all), rounded
	// down; 0 when nothing was issued.
	BreakageBasisPoints int64
}

// LiabilityOf values t at p. Errors: Invalid on "price.*".
func LiabilityOf(t Totals, p Price) (Liability, error) {
	if err := p.Validate(); err != nil {
		return Liability{}, err
	}
	out := Liability{OutstandingPoints: t.Outstanding(), IssuedPoints: t.Issued, ExpiredPoints: t.Expired}
	out.ValueMinor = mulDiv(out.OutstandingPoints, p.Minor, p.Points)
	if t.Issued > 0 {
		out.BreakageBasisPoints = mulDiv(max(t.Expired, 0), 10000, t.Issued)
	}
	return out, nil
}

// MonthBucket is the available points that expire within one calendar month.
type MonthBucket struct {
	Month  string // "2006-01" in the tenant's time zone
	Points int64
}

// ExpiringByMonth returns b's available points by the month, in the tenant's time zone, whose
// last moment they can be used in (points expiring at local midnight on 1 May count for
// April), soonest first, as of at (see Balance). A store sums them over members.
func (l *Ledger) ExpiringByMonth(b *Book, at time.Time) []MonthBucket {
	var out []MonthBucket
	for _, e := range l.Balance(b, at).Expiring {
		m := e.ExpiresAt.Add(-time.Nanosecond).In(l.loc).Format("2006-01")
		if n := len(out); n > 0 && out[n-1].Month == m {
			out[n-1].Points += e.Points
			continue
		}
		out = append(out, MonthBucket{Month: m, Points: e.Points})
	}
	return out
}
