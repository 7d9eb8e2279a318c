package membership

import "time"

// Kind is what a benefit gives. The numbers match huiyuan.member.v1.Benefit.Kind.
type Kind int32

// The kinds.
const (
	KindUnspecified Kind = iota
	KindDiscountPercent
	KindFreeService
	KindFacilityAccess
	KindPriorityBooking
	KindBirthdayGift
	KindDedicatedLine
	KindFreeShipping
	KindCustom
)

// Period is what a benefit's usage limit counts over. The numbers match
// huiyuan.member.v1.Benefit.Period.
type Period int32

// The periods.
const (
	PeriodUnspecified Period = iota
	PeriodDay
	PeriodMonth
	PeriodYear
	PeriodTerm
)

// Benefit is an entitlement of the catalogue. Tiers and Plans are the one record of which tiers
// and plans grant it (Tier.benefits and Plan.benefits in the API are views of it).
type Benefit struct {
	ID              string
	DisplayName     string
	Kind            Kind
	DiscountPercent int
	Limit           int // uses per period; 0: no limit
	Period          Period
	Description     string
	Tiers           []string
	Plans           []string
	CreateTime      time.Time
	UpdateTime      time.Time
}

// Unlimited reports whether the benefit has no usage limit.
func (b *Benefit) Unlimited() bool { return b.Limit == 0 }
