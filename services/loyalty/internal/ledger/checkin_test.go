package ledger_test

import (
	"testing"
	"time"

	"github.com/huiyuan-dev/huiyuan/pkg/apperr"
	"github.com/huiyuan-dev/huiyuan/services/loyalty/internal/ledger"
)

func TestCheckInStreaks(t *testing.T) {
	weekly := ledger.CheckInRules{BasePoints: 5, Bonuses: []ledger.StreakBonus{{Day: 7, Points: 50}, {Day: 3, Points: 10}}, CycleDays: 7}
	once := ledger.CheckInRules{BasePoints: 5, Bonuses: []ledger.StreakBonus{{Day: 3, Points: 10}}}
	// Local 09:00 in Shanghai on day n (day 0 = 1 March 2026).
	on := func(n int) time.Time { return time.Date(2026, 3, 1+n, 9, 0, 0, 0, shanghai) }
	tests := []struct {
		name    string
		rules   ledger.CheckInRules
		days    []int   // check-in days, in order
		streaks []int   // expected streak after each
		points  []int64 // expected points of each
	}{
		{"weekly cycle repeats its bonuses", weekly,
			[]int{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 13},
			[]int{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 1},
			[]int64{5, 5, 15, 5, 5, 5, 55, 5, 5, 15, 5}},
		{"a missed day restarts the streak", weekly,
			[]int{0, 1, 3, 4, 5},
			[]int{1, 2, 1, 2, 3},
			[]int64{5, 5, 5, 5, 15}},
		{"without a cycle a bonus comes once per streak", once,
			[]int{0, 1, 2, 3, 4, 5},
			[]int{1, 2, 3, 4, 5, 6},
			[]int64{5, 5, 15, 5, 5, 5}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var st ledger.CheckInState
			for i, d := range tc.days {
				res, next, err := ledger.CheckIn(st, on(d), shanghai, tc.rules)
				if err != nil {
					t.Fatalf("day %d: %v", d, err)
				}
				if res.Streak != tc.streaks[i] || res.Points != tc.points[i] || res.Points != res.Base+res.Bonus ||
					next.Streak != res.Streak || next.LastDate != res.Date || next.Days != int64(i+1) {
					t.Fatalf("day %d: %+v %+v, want streak %d points %d", d, res, next, tc.streaks[i], tc.points[i])
				}
				st = next
			}
		})
	}
}

func TestCheckInOncePerLocalDay(t *testing.T) {
	rules := ledger.CheckInRules{BasePoints: 5}
	late := time.Date(2026, 3, 1, 15, 59, 0, 0, time.UTC) // 23:59 in Shanghai
	res, st, err := ledger.CheckIn(ledger.CheckInState{}, late, shanghai, rules)
	if err != nil || res.Date != "2026-03-01" {
		t.Fatalf("%+v %v", res, err)
	}
	for _, at := range []time.Time{late.Add(time.Minute - time.Nanosecond), late.Add(-day(2))} {
		_, same, err := ledger.CheckIn(st, at, shanghai, rules)
		if apperr.ReasonOf(err) != ledger.ReasonAlreadyCheckedIn || apperr.CodeOf(err) != apperr.FailedPrecondition || same != st {
			t.Fatalf("at %v: %v, state %+v", at, err, same)
		}
	}
	// Two minutes later it is 2 March in Shanghai, still 1 March in UTC.
	res, st, err = ledger.CheckIn(st, late.Add(2*time.Minute), shanghai, rules)
	if err != nil || res.Date != "2026-03-02" || st.Streak != 2 {
		t.Fatalf("%+v %+v %v", res, st, err)
	}
	if _, _, err := ledger.CheckIn(st, late.Add(2*time.Minute), time.UTC, rules); apperr.ReasonOf(err) != ledger.ReasonAlreadyCheckedIn {
		t.Fatalf("in UTC it is still 1 March, which is before the last check-in: %v", err)
	}
}

func TestCheckInRejects(t *testing.T) {
	for name, tc := range map[string]struct {
		st    ledger.CheckInState
		rules ledger.CheckInRules
		field string
	}{
		"bad state":          {ledger.CheckInState{LastDate: "yesterday"}, ledger.CheckInRules{BasePoints: 1}, "state.last_date"},
		"negative base":      {ledger.CheckInState{}, ledger.CheckInRules{BasePoints: -1}, "base_points"},
		"bonus day 0":        {ledger.CheckInState{}, ledger.CheckInRules{Bonuses: []ledger.StreakBonus{{Day: 0, Points: 1}}}, "bonuses[0].day"},
		"bonus beyond cycle": {ledger.CheckInState{}, ledger.CheckInRules{CycleDays: 7, Bonuses: []ledger.StreakBonus{{Day: 8, Points: 1}}}, "bonuses[0].day"},
		"negative bonus":     {ledger.CheckInState{}, ledger.CheckInRules{Bonuses: []ledger.StreakBonus{{Day: 1, Points: -1}}}, "bonuses[0].points"},
		"negative cycle":     {ledger.CheckInState{}, ledger.CheckInRules{CycleDays: -1}, "cycle_days"},
	} {
		_, st, err := ledger.CheckIn(tc.st, t0, nil, tc.rules)
		if got := violations(err); len(got) != 1 || got[0] != tc.field || st != tc.st {
			t.Errorf("%s: %v (%v)", name, got, err)
		}
	}
	// A huge stored streak does not overflow.
	res, _, err := ledger.CheckIn(ledger.CheckInState{LastDate: "2026-02-28", Streak: int(^uint(0) >> 1)}, t0, shanghai,
		ledger.CheckInRules{BasePoints: 1, CycleDays: 7})
	if err != nil || res.StreakDay < 1 || res.StreakDay > 7 {
		t.Fatalf("%+v %v", res, err)
	}
}
