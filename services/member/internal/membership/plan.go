package membership

import "time"

// Renewal is how a subscription goes on past its term. The numbers match
// huiyuan.member.v1.Plan.Renewal.
type Renewal int32

// The renewals.
const (
	RenewalUnspecified Renewal = iota
	RenewalManual
	RenewalAutomatic
)

// DefaultReminderDays is how many days before a term's end the expiring reminder goes out when
// a plan does not say.
const DefaultReminderDays = 7

// Plan is a paid membership plan.
type Plan struct {
	ID           string
	DisplayName  string
	PriceMinor   int64
	Currency     string
	TermMonths   int // exactly one of TermMonths and TermDays is set
	TermDays     int
	TierID       string // held for the term, if set
	Renewal      Renewal
	GraceDays    int
	TrialDays    int
	Refundable   bool
	ReminderDays int
	CreateTime   time.Time
	UpdateTime   time.Time
}

// termEnd returns the end of one term of p starting at start.
func (p *Plan) termEnd(start time.Time) time.Time {
	return start.AddDate(0, p.TermMonths, p.TermDays)
}
