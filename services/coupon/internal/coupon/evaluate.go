package coupon

import (
	"cmp"
	"slices"
	"time"
)

// MaxCombined is how many templates the best-combination search considers (those with the
// largest discounts alone): 2^12 subsets at most, a few milliseconds on a 500-line cart.
const MaxCombined = 12

// Candidate is a coupon to evaluate on a cart, with its template.
type Candidate struct {
	Coupon   *Coupon
	Template *Template
}

// Applicable is a coupon that applies, with its discount (alone, or its part in a combination).
type Applicable struct {
	Code, TemplateID, Title string
	Type                    Type
	DiscountMinor           int64
	ExpireTime              time.Time
}

// NotApplicable is a coupon that does not apply, and why.
type NotApplicable struct {
	Code, TemplateID string
	Why              Why
	Detail           string
}

// Combination is coupons used together, in order of application.
type Combination struct {
	DiscountMinor int64
	Parts         []Applicable
}

// Evaluation is what a cart validation answers.
type Evaluation struct {
	Applicable    []Applicable // best first
	NotApplicable []NotApplicable
	Best          Combination
}

// typeOrder breaks priority ties in a combination: the item and amount coupons before the
// percentage (so a percentage applies to what is left), delivery last.
func typeOrder(t Type) int {
	switch t {
	case TypeFreeItem:
		return 0
	case TypeThreshold:
		return 1
	case TypeFixed:
		return 2
	case TypePercent:
		return 3
	}
	return 4
}

// Evaluate says which candidates apply to cart c (normalised) for member and order at now, with
// their discounts alone, why the others do not, and the combination giving the most discount
// under the stacking rules: at most one coupon per template, exclusive coupons alone, stackable
// ones only with coupons whose types both allow, applied by priority (higher first) each on what
// the earlier ones left. No combination gives more than the cart's amount plus its delivery.
func Evaluate(c *Cart, cands []Candidate, member, order string, now time.Time) Evaluation {
	lines := c.lines()
	full := make([]int64, len(lines))
	for i, l := range lines {
		full[i] = l.amount
	}
	var ev Evaluation
	var fits []fit
	for _, cd := range cands {
		cp := cd.Coupon.Effective(now)
		if why, detail := unusable(cp, member, order, now); why != WhyUnspecified {
			ev.NotApplicable = append(ev.NotApplicable, NotApplicable{Code: cp.Code, TemplateID: cp.TemplateID, Why: why, Detail: detail})
			continue
		}
		tk := cd.Template.apply(c, lines, full)
		if tk.why != WhyUnspecified {
			ev.NotApplicable = append(ev.NotApplicable, NotApplicable{Code: cp.Code, TemplateID: cp.TemplateID, Why: tk.why, Detail: tk.detail})
			continue
		}
		a := Applicable{Code: cp.Code, TemplateID: cp.TemplateID, Title: cd.Template.Title, Type: cd.Template.Type,
			DiscountMinor: tk.discount, ExpireTime: cp.ExpireTime}
		ev.Applicable = append(ev.Applicable, a)
		fits = append(fits, fit{a: a, t: cd.Template})
	}
	slices.SortStableFunc(ev.Applicable, func(x, y Applicable) int {
		return cmp.Or(cmp.Compare(y.DiscountMinor, x.DiscountMinor), x.ExpireTime.Compare(y.ExpireTime), cmp.Compare(x.Code, y.Code))
	})
	ev.Best = best(c, lines, full, fits)
	return ev
}

// unusable says why coupon cp (effective at now) cannot be used by member on order.
func unusable(cp *Coupon, member, order string, now time.Time) (Why, string) {
	switch {
	case cp.MemberID != "" && cp.MemberID != member:
		return WhyNotAvailable, "the coupon belongs to another member"
	case cp.State == StateExpired:
		return WhyExpired, "expired at " + cp.ExpireTime.Format(time.RFC3339)
	case cp.State == StateLocked && (order == "" || cp.Lock.OrderID != order):
		return WhyLocked, "locked for another order until " + cp.Lock.ExpireTime.Format(time.RFC3339)
	case cp.State != StateAvailable && cp.State != StateLocked:
		return WhyNotAvailable, "the coupon is " + cp.State.String()
	case now.Before(cp.StartTime):
		return WhyNotYetValid, "valid from " + cp.StartTime.Format(time.RFC3339)
	}
	return WhyUnspecified, ""
}

type fit struct {
	a Applicable
	t *Template
}

// best searches the subsets of the applicable templates for the largest total discount; ties go
// to fewer coupons, then to the earlier codes.
func best(c *Cart, lines []line, full []int64, fits []fit) Combination {
	// One coupon per template: the one expiring first among those giving the most.
	slices.SortStableFunc(fits, func(x, y fit) int {
		return cmp.Or(cmp.Compare(y.a.DiscountMinor, x.a.DiscountMinor), x.a.ExpireTime.Compare(y.a.ExpireTime), cmp.Compare(x.a.Code, y.a.Code))
	})
	seen := map[string]bool{}
	cands := fits[:0:0]
	for _, f := range fits {
		if !seen[f.a.TemplateID] && len(cands) < MaxCombined {
			seen[f.a.TemplateID] = true
			cands = append(cands, f)
		}
	}
	slices.SortStableFunc(cands, func(x, y fit) int {
		return cmp.Or(cmp.Compare(y.t.Stacking.Priority, x.t.Stacking.Priority), cmp.Compare(typeOrder(x.t.Type), typeOrder(y.t.Type)),
			cmp.Compare(x.a.TemplateID, y.a.TemplateID))
	})
	s := search{c: c, lines: lines, cands: cands}
	s.walk(0, full, nil, 0)
	return s.best
}

type search struct {
	c     *Cart
	lines []line
	cands []fit
	best  Combination
	found bool
}

func (s *search) walk(i int, rem []int64, chosen []Applicable, total int64) {
	if i == len(s.cands) {
		s.offer(chosen, total)
		return
	}
	f := s.cands[i]
	if s.compatible(i, chosen) {
		tk := f.t.apply(s.c, s.lines, rem)
		if tk.why == WhyUnspecified && tk.discount > 0 {
			next := slices.Clone(rem)
			for k, d := range tk.alloc {
				next[k] -= d
			}
			part := f.a
			part.DiscountMinor = tk.discount
			s.walk(i+1, next, append(slices.Clip(chosen), part), total+tk.discount)
		}
	}
	s.walk(i+1, rem, chosen, total)
}

// compatible reports whether candidate i may join the chosen ones.
func (s *search) compatible(i int, chosen []Applicable) bool {
	t := s.cands[i].t
	for _, p := range chosen {
		o := s.template(p.TemplateID)
		if !t.Stacking.stacksWith(t.Type, o.Stacking, o.Type) {
			return false
		}
	}
	return true
}

func (s *search) template(id string) *Template {
	for _, f := range s.cands {
		if f.a.TemplateID == id {
			return f.t
		}
	}
	return nil
}

func (s *search) offer(chosen []Applicable, total int64) {
	if len(chosen) == 0 {
		return
	}
	better := !s.found || total > s.best.DiscountMinor ||
		(total == s.best.DiscountMinor && len(chosen) < len(s.best.Parts)) ||
		(total == s.best.DiscountMinor && len(chosen) == len(s.best.Parts) && codesBefore(chosen, s.best.Parts))
	if better {
		s.best, s.found = Combination{DiscountMinor: total, Parts: slices.Clone(chosen)}, true
	}
}

func codesBefore(a, b []Applicable) bool {
	for i := range a {
		if a[i].Code != b[i].Code {
			return a[i].Code < b[i].Code
		}
	}
	return false
}

// Discount is the discount coupon cp of template t gives alone on cart c, or why it does not
// apply (a zero Why means it applies).
func Discount(c *Cart, t *Template) (int64, Why, string) {
	lines := c.lines()
	full := make([]int64, len(lines))
	for i, l := range lines {
		full[i] = l.amount
	}
	tk := t.apply(c, lines, full)
	return tk.discount, tk.why, tk.detail
}
