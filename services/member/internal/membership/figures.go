package membership

import (
	"slices"
	"time"
)

// Figures are a member's orders by day over the window: only days with orders, oldest first.
type Figures struct {
	Days []Day
}

// Day is one day's counted spend and orders.
type Day struct {
	Day    int32 // DayOf
	Spend  int64
	Orders int32
}

// DayOf returns t's calendar day in loc as days since 1970-01-01.
func DayOf(t time.Time, loc *time.Location) int32 {
	y, m, d := t.In(loc).Date()
	return int32(time.Date(y, m, d, 0, 0, 0, 0, time.UTC).Unix() / 86400)
}

// windowStart returns the last day before the window that ends at t: the window is the days
// after it, up to t's.
func windowStart(t time.Time, s *Settings) int32 {
	return DayOf(t.In(s.Location()).AddDate(0, -s.WindowMonths, 0), s.Location())
}

// add records spend and orders (either may be negative, for refunds) on day.
func (f *Figures) add(day int32, spend int64, orders int32) {
	i, found := slices.BinarySearchFunc(f.Days, day, func(d Day, day int32) int { return int(d.Day - day) })
	if !found {
		f.Days = slices.Insert(f.Days, i, Day{Day: day})
	}
	f.Days[i].Spend += spend
	f.Days[i].Orders += orders
	if f.Days[i].Spend <= 0 && f.Days[i].Orders <= 0 {
		f.Days = slices.Delete(f.Days, i, i+1)
	}
}

// prune drops the days at or before start.
func (f *Figures) prune(start int32) {
	i := 0
	for i < len(f.Days) && f.Days[i].Day <= start {
		i++
	}
	if i > 0 {
		f.Days = slices.Delete(f.Days, 0, i)
	}
}

// after sums the days after start.
func (f *Figures) after(start int32) (spend, orders int64) {
	for _, d := range f.Days {
		if d.Day > start {
			spend += d.Spend
			orders += int64(d.Orders)
		}
	}
	return spend, orders
}

// on returns day's figure (zero when it has no orders).
func (f *Figures) on(day int32) Day {
	if i, found := slices.BinarySearchFunc(f.Days, day, func(d Day, day int32) int { return int(d.Day - day) }); found {
		return f.Days[i]
	}
	return Day{Day: day}
}
