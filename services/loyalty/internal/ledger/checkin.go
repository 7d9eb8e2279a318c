package ledger

import (
	"fmt"
	"math"
	"time"

	"github.com/huiyuan-dev/huiyuan/pkg/apperr"
)

// dateLayout is how check-in dates are kept: the tenant's local calendar date.
const dateLayout = "2006-01-02"

// MaxStreakDay bounds the streak day a bonus may name.
const MaxStreakDay = 3660

// StreakBonus gives Points extra on day Day (1-based) of a check-in streak.
type StreakBonus struct {
	Day    int
	Points int64
}

// CheckInRules are a tenant's daily check-in (签到) rules, such as 5 points a day and 50 more
// on the 7th day in a row.
type CheckInRules struct {
	BasePoints int64         // every check-in
	Bonuses    []StreakBonus // extra on a given day of a streak; several for one day add up
	// CycleDays, when positive, restarts the streak day at 1 after day CycleDays (a weekly
	// cycle repeats its bonuses every 7 days in a row); 0 lets the streak day count up, so each
	// bonus comes once per streak.
	CycleDays int
}

// Validate checks r. Errors: Invalid on "base_points", "cycle_days", "bonuses[i].day",
// "bonuses[i].points".
func (r CheckInRules) Validate() error {
	var v apperr.Violations
	if r.BasePoints < 0 || r.BasePoints > MaxPoints {
		v.Add("base_points", "must be between 0 and %d", MaxPoints)
	}
	if r.CycleDays < 0 || r.CycleDays > MaxStreakDay {
		v.Add("cycle_days", "must be between 0 and %d", MaxStreakDay)
	}
	maxDay := MaxStreakDay
	if r.CycleDays > 0 {
		maxDay = r.CycleDays
	}
	for i, b := range r.Bonuses {
		if b.Day < 1 || b.Day > maxDay {
			v.Add(fmt.Sprintf("bonuses[%d].day", i), "must be between 1 and %d", maxDay)
		}
		if b.Points < 0 || b.Points > MaxPoints {
			v.Add(fmt.Sprintf("bonuses[%d].points", i), "must be between 0 and %d", MaxPoints)
		}
	}
	return v.Err()
}

// CheckInState is a member's check-in record.
type CheckInState struct {
	LastDate string // local date of the last check-in, "2006-01-02"; "" before the first
	Streak   int    // consecutive days ending at LastDate
	Days     int64  // check-ins in total
}

// CheckInResult is what one check-in earned.
type CheckInResult struct {
	Date      string // the local date checked in
	Streak    int    // consecutive days including this one
	StreakDay int    // the day within the cycle (Streak when there is no cycle)
	Base      int64
	Bonus     int64
	Points    int64 // Base + Bonus, at most MaxPoints; credit them with Earn (cause checkin)
}

// CheckIn checks a member in at now: once per calendar day in loc (nil: UTC). The streak
// grows when the previous check-in was the day before and restarts at 1 after a missed day.
// It returns the points earned and the new state; state is not changed.
// Errors: FailedPrecondition ALREADY_CHECKED_IN (also for a now before the last check-in's
// day); Invalid on the rules' fields (see Validate) or on "state.last_date".
func CheckIn(state CheckInState, now time.Time, loc *time.Location, rules CheckInRules) (CheckInResult, CheckInState, error) {
	if err := rules.Validate(); err != nil {
		return CheckInResult{}, state, err
	}
	if loc == nil {
		loc = time.UTC
	}
	y, m, d := now.In(loc).Date()
	today := time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
	streak := 1
	if state.LastDate != "" {
		last, err := time.Parse(dateLayout, state.LastDate)
		if err != nil {
			return CheckInResult{}, state, apperr.InvalidField("state.last_date", "must be a date like 2006-01-02")
		}
		switch days := today.Sub(last) / (24 * time.Hour); {
		case days <= 0:
			date := today.Format(dateLayout)
			return CheckInResult{}, state, apperr.E(apperr.FailedPrecondition, ReasonAlreadyCheckedIn,
				"already checked in on %s", state.LastDate).With("date", date)
		case days == 1:
			streak = min(max(state.Streak, 0), math.MaxInt32) + 1 // bounded: state comes from storage
		}
	}
	day := streak
	if rules.CycleDays > 0 {
		day = (streak-1)%rules.CycleDays + 1
	}
	res := CheckInResult{Date: today.Format(dateLayout), Streak: streak, StreakDay: day, Base: rules.BasePoints}
	for _, b := range rules.Bonuses {
		if b.Day == day {
			res.Bonus = min(res.Bonus+b.Points, MaxPoints)
		}
	}
	res.Points = min(res.Base+res.Bonus, MaxPoints)
	return res, CheckInState{LastDate: res.Date, Streak: streak, Days: clampAdd(state.Days, 1)}, nil
}
