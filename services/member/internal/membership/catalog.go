// Package membership is the domain of what the member service sells beyond the profile: tiers
// members climb and keep (evaluated from loyalty's orders over a rolling window, with
// retention, review, drop notices, staff overrides and plan-held tiers), the benefits tiers and
// plans entitle them to with their usage limits, complaints that a benefit was not honoured,
// and paid membership plans with their subscriptions. It imports neither gRPC, bbolt nor
// generated code: the store loads an Account and the tenant's Catalog, the functions here
// decide, and the store saves the result with the returned events in one transaction.
package membership

import (
	"slices"
	"strings"
	"time"
)

// Limits of a tenant's catalogue.
const (
	MaxTiers    = 50
	MaxBenefits = 200
	MaxPlans    = 100
)

// Basis is what a tier's qualification counts. The numbers match huiyuan.member.v1.Tier.Basis.
type Basis int32

// The bases.
const (
	BasisUnspecified Basis = iota
	BasisSpend
	BasisOrders
	BasisSpendAndOrders
	BasisSpendOrOrders
	BasisTenure
)

// DropRule is how far a member drops at review. The numbers match
// huiyuan.member.v1.TierSettings.DropRule.
type DropRule int32

// The drop rules.
const (
	DropUnspecified DropRule = iota
	DropOneStep
	DropToQualified
)

// Tier is a tier definition.
type Tier struct {
	ID                string
	DisplayName       string
	Rank              int
	Basis             Basis
	MinSpend          int64 // minor units of Settings.Currency
	MinOrders         int
	MinTenureMonths   int
	MultiplierPercent int
	CreateTime        time.Time
	UpdateTime        time.Time
}

// Settings are a tenant's tier evaluation settings.
type Settings struct {
	WindowMonths int // the rolling window and the review period
	DropRule     DropRule
	NoticeDays   int // 0: no drop notices
	Currency     string
	TimeZone     string
	UpdateTime   time.Time

	loc *time.Location
}

// Defaults of Settings for a tenant that has set none.
const (
	DefaultWindowMonths = 12
	DefaultNoticeDays   = 30
	DefaultCurrency     = "CNY"
	DefaultTimeZone     = "Asia/Shanghai"
)

// DefaultSettings returns the settings of a tenant that has set none.
func DefaultSettings() Settings {
	s := Settings{WindowMonths: DefaultWindowMonths, DropRule: DropOneStep, NoticeDays: DefaultNoticeDays,
		Currency: DefaultCurrency, TimeZone: DefaultTimeZone}
	s.loc, _ = time.LoadLocation(DefaultTimeZone)
	return s
}

// Resolve loads the settings' time zone, once, so that evaluation never reads the zone database.
// A zone that does not load (validated settings always do) falls back to UTC.
func (s *Settings) Resolve() {
	loc, err := time.LoadLocation(s.TimeZone)
	if err != nil {
		loc = time.UTC
	}
	s.loc = loc
}

// Location is the tenant's time zone (UTC until Resolve).
func (s *Settings) Location() *time.Location {
	if s.loc == nil {
		return time.UTC
	}
	return s.loc
}

// Catalog is a tenant's programme: settings, tiers by rank, benefits and plans by id. Account
// functions only read it.
type Catalog struct {
	Settings Settings
	Tiers    []*Tier // ascending rank
	Benefits []*Benefit
	Plans    []*Plan
	// Holders counts the accounts holding or earning each tier; Live counts each plan's current
	// subscriptions. The store fills them (and Open) for catalogue reads and changes, not for
	// account changes.
	Holders map[string]int64
	Live    map[string]int64
	// Open counts each benefit's open complaints, filled with Holders.
	Open map[string]int64
}

// Tier returns tier id, or nil.
func (c *Catalog) Tier(id string) *Tier {
	for _, t := range c.Tiers {
		if t.ID == id {
			return t
		}
	}
	return nil
}

// Entry returns the entry tier (rank 0), or nil when none is defined.
func (c *Catalog) Entry() *Tier {
	if len(c.Tiers) > 0 && c.Tiers[0].Rank == 0 {
		return c.Tiers[0]
	}
	return nil
}

// rank returns tier id's rank, -1 for none or an unknown tier.
func (c *Catalog) rank(id string) int {
	if t := c.Tier(id); t != nil {
		return t.Rank
	}
	return -1
}

// below returns the highest tier ranked under tier id, or nil.
func (c *Catalog) below(id string) *Tier {
	r := c.rank(id)
	var out *Tier
	for _, t := range c.Tiers {
		if t.Rank < r {
			out = t
		}
	}
	return out
}

// higher returns the id of a and b with the higher rank ("" when neither is a tier).
func (c *Catalog) higher(a, b string) string {
	if c.rank(b) > c.rank(a) {
		return b
	}
	return a
}

// Benefit returns benefit id, or nil.
func (c *Catalog) Benefit(id string) *Benefit {
	i, ok := slices.BinarySearchFunc(c.Benefits, id, func(b *Benefit, id string) int { return strings.Compare(b.ID, id) })
	if !ok {
		return nil
	}
	return c.Benefits[i]
}

// Plan returns plan id, or nil.
func (c *Catalog) Plan(id string) *Plan {
	i, ok := slices.BinarySearchFunc(c.Plans, id, func(p *Plan, id string) int { return strings.Compare(p.ID, id) })
	if !ok {
		return nil
	}
	return c.Plans[i]
}

// TierBenefits returns the ids of the benefits tier id grants.
func (c *Catalog) TierBenefits(id string) []string {
	var out []string
	for _, b := range c.Benefits {
		if slices.Contains(b.Tiers, id) {
			out = append(out, b.ID)
		}
	}
	return out
}

// PlanBenefits returns the ids of the benefits plan id adds.
func (c *Catalog) PlanBenefits(id string) []string {
	var out []string
	for _, b := range c.Benefits {
		if slices.Contains(b.Plans, id) {
			out = append(out, b.ID)
		}
	}
	return out
}

// Sort puts tiers in rank order and benefits and plans in id order, as the lookups expect.
func (c *Catalog) Sort() {
	slices.SortFunc(c.Tiers, func(a, b *Tier) int { return a.Rank - b.Rank })
	slices.SortFunc(c.Benefits, func(a, b *Benefit) int { return strings.Compare(a.ID, b.ID) })
	slices.SortFunc(c.Plans, func(a, b *Plan) int { return strings.Compare(a.ID, b.ID) })
}

// Clone returns a deep copy, for a change that may be abandoned.
func (c *Catalog) Clone() *Catalog {
	out := &Catalog{Settings: c.Settings, Holders: c.Holders, Live: c.Live, Open: c.Open}
	for _, t := range c.Tiers {
		x := *t
		out.Tiers = append(out.Tiers, &x)
	}
	for _, b := range c.Benefits {
		x := *b
		x.Tiers, x.Plans = slices.Clone(b.Tiers), slices.Clone(b.Plans)
		out.Benefits = append(out.Benefits, &x)
	}
	for _, p := range c.Plans {
		x := *p
		out.Plans = append(out.Plans, &x)
	}
	return out
}
