package coupon

import (
	"slices"
	"testing"
	"time"

	"github.com/huiyuan-dev/huiyuan/pkg/apperr"
)

func violations(err error) []string {
	var out []string
	if ae, ok := err.(*apperr.Error); ok {
		for _, v := range ae.Violations {
			out = append(out, v.Field)
		}
	}
	return out
}

func TestTemplateValidation(t *testing.T) {
	until := time.Date(2026, 4, 1, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		name   string
		fn     func(*Template)
		fields []string
	}{
		{name: "valid threshold", fn: func(*Template) {}},
		{name: "title required", fn: func(t *Template) { t.Title = "  " }, fields: []string{"template.title"}},
		{name: "unknown type", fn: func(t *Template) { t.Type = 9 }, fields: []string{"template.type"}},
		{name: "unspecified type", fn: func(t *Template) { t.Type = TypeUnspecified }, fields: []string{"template.type"}},
		{name: "bad currency", fn: func(t *Template) { t.Currency = "RMB1" }, fields: []string{"template.currency"}},
		{name: "lower-case currency fixed", fn: func(t *Template) { t.Currency = "cny" }},
		{name: "threshold without amount", fn: func(t *Template) { t.ThresholdMinor = 0 }, fields: []string{"template.threshold_minor"}},
		{name: "discount above threshold", fn: func(t *Template) { t.DiscountMinor = 20000 }, fields: []string{"template.discount_minor"}},
		{name: "negative amount", fn: func(t *Template) { t.MaxDiscountMinor = -1 }, fields: []string{"template.max_discount_minor"}},
		{name: "percent on threshold", fn: func(t *Template) { t.PercentOff = 10 }, fields: []string{"template.percent_off"}},
		{name: "percent out of range", fn: func(t *Template) { t.Type, t.ThresholdMinor, t.DiscountMinor, t.PercentOff = TypePercent, 0, 0, 101 },
			fields: []string{"template.percent_off"}},
		{name: "free item needs sku", fn: func(t *Template) { t.Type, t.ThresholdMinor, t.DiscountMinor = TypeFreeItem, 0, 0 },
			fields: []string{"template.free_item_sku"}},
		{name: "validity required", fn: func(t *Template) { t.ValidDays = 0 }, fields: []string{"template.valid_until"}},
		{name: "window backwards", fn: func(t *Template) { t.ValidFrom, t.ValidUntil = until, until.Add(-time.Hour) }, fields: []string{"template.valid_until"}},
		{name: "period without limit", fn: func(t *Template) { t.Period = PeriodDay }, fields: []string{"template.period_limit.limit"}},
		{name: "limit without period", fn: func(t *Template) { t.PeriodLimit = 1 }, fields: []string{"template.period_limit.period"}},
		{name: "claimable and exchangeable", fn: func(t *Template) { t.Claimable, t.PointsPrice = true, 100 }, fields: []string{"template.points_price"}},
		{name: "unknown refund policy", fn: func(t *Template) { t.RefundPolicy = 7 }, fields: []string{"template.refund_policy"}},
		{name: "unknown stacking mode", fn: func(t *Template) { t.Stacking.Mode = 5 }, fields: []string{"template.stacking.mode"}},
		{name: "stack list on exclusive", fn: func(t *Template) { t.Stacking.With = []Type{TypePercent} }, fields: []string{"template.stacking.stackable_with"}},
		{name: "bad stack type", fn: func(t *Template) { t.Stacking = Stacking{Mode: StackStackable, With: []Type{0}} }, fields: []string{"template.stacking.stackable_with[0]"}},
		{name: "empty scope entry", fn: func(t *Template) { t.Scope.IncludeSKUs = []string{"ok", ""} }, fields: []string{"template.scope.include_skus[1]"}},
		{name: "negative stock", fn: func(t *Template) { t.TotalStock = -1 }, fields: []string{"template.total_stock"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			x := tmpl(TypeThreshold, func(x *Template) { x.Stacking, x.RefundPolicy = Stacking{}, RefundUnspecified })
			tt.fn(x)
			var v apperr.Violations
			x.normalize("template.", &v)
			if got := violations(v.Err()); !slices.Equal(got, tt.fields) {
				t.Fatalf("violations = %v, want %v", got, tt.fields)
			}
			if len(tt.fields) == 0 && (x.Stacking.Mode != StackExclusive || x.RefundPolicy != RefundForfeit || x.Currency != "CNY") {
				t.Fatalf("defaults not applied: %+v", x)
			}
		})
	}
}

func TestApplyUpdate(t *testing.T) {
	tests := []struct {
		name    string
		issued  int64
		patch   func(*Template)
		mask    []string
		reason  string
		fields  []string
		changed []string
	}{
		{name: "anything before issue", patch: func(t *Template) { t.DiscountMinor = 3000 }, mask: []string{"discount_minor"}, changed: []string{"discount_minor"}},
		{name: "discount frozen after issue", issued: 1, patch: func(t *Template) { t.DiscountMinor = 3000 }, mask: []string{"discount_minor"}, reason: ReasonTemplateInUse},
		{name: "scope frozen after issue", issued: 1, patch: func(t *Template) { t.Scope.ExcludeSKUs = []string{"x"} }, mask: []string{"scope"}, reason: ReasonTemplateInUse},
		{name: "unchanged frozen field is fine", issued: 1, patch: func(t *Template) { t.Title = "renamed" }, mask: []string{"discount_minor", "title"}, changed: []string{"title"}},
		{name: "stock raised after issue", issued: 5, patch: func(t *Template) { t.TotalStock = 200 }, mask: []string{"total_stock"}, changed: []string{"total_stock"}},
		{name: "stock below issued", issued: 5, patch: func(t *Template) { t.TotalStock = 4 }, mask: []string{"total_stock"}, fields: []string{"template.total_stock"}},
		{name: "stock unlimited", issued: 5, patch: func(t *Template) { t.TotalStock = 0 }, mask: []string{"total_stock"}, changed: []string{"total_stock"}},
		{name: "validity editable after issue", issued: 5, patch: func(t *Template) { t.ValidDays = 30 }, mask: []string{"valid_days"}, changed: []string{"valid_days"}},
		{name: "empty mask: fields set", patch: func(t *Template) { *t = Template{Description: "new"} }, changed: []string{"description"}},
		{name: "star", patch: func(t *Template) { t.Title = "renamed" }, mask: []string{"*"}, changed: []string{"title"}},
		{name: "star with others", patch: func(t *Template) {}, mask: []string{"*", "title"}, fields: []string{"update_mask"}},
		{name: "unknown path", patch: func(t *Template) {}, mask: []string{"status"}, fields: []string{"update_mask"}},
		{name: "result validated", patch: func(t *Template) { t.ThresholdMinor = 100 }, mask: []string{"threshold_minor"}, fields: []string{"template.discount_minor"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cur := tmpl(TypeThreshold, func(t *Template) { t.TotalStock = 100 })
			patch := cur.Clone()
			if tt.name == "star" {
				patch = cur.Clone()
			}
			tt.patch(patch)
			before := cur.Clone()
			changed, err := applyUpdate(cur, patch, tt.mask, tt.issued)
			switch {
			case tt.reason != "":
				if apperr.ReasonOf(err) != tt.reason {
					t.Fatalf("err = %v, want %s", err, tt.reason)
				}
			case tt.fields != nil:
				if got := violations(err); !slices.Equal(got, tt.fields) {
					t.Fatalf("violations = %v (%v), want %v", got, err, tt.fields)
				}
			default:
				if err != nil || !slices.Equal(changed, tt.changed) {
					t.Fatalf("changed = %v, %v; want %v", changed, err, tt.changed)
				}
				return
			}
			if !fieldEqual(cur, before, FieldDiscountMinor) || cur.TotalStock != before.TotalStock {
				t.Fatal("a refused update changed the template")
			}
		})
	}
}

func TestCanTransition(t *testing.T) {
	all := []Status{StatusDraft, StatusActive, StatusPaused, StatusEnded}
	allowed := map[[2]Status]bool{
		{StatusDraft, StatusActive}: true, {StatusPaused, StatusActive}: true, {StatusActive, StatusPaused}: true,
		{StatusDraft, StatusEnded}: true, {StatusActive, StatusEnded}: true, {StatusPaused, StatusEnded}: true,
	}
	for _, from := range all {
		for _, to := range all {
			if got := CanTransition(from, to); got != allowed[[2]Status{from, to}] {
				t.Errorf("%s -> %s = %v", from, to, got)
			}
		}
	}
}

func TestValidity(t *testing.T) {
	shanghai, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		t.Fatal(err)
	}
	// 23:30 on 1 March in Shanghai is still 1 March there (15:30 UTC).
	late := time.Date(2026, 3, 1, 15, 30, 0, 0, time.UTC)
	tests := []struct {
		name       string
		fn         func(*Template)
		issued     time.Time
		start, end time.Time
	}{
		{name: "days end at local midnight", fn: func(t *Template) { t.ValidDays = 1 }, issued: late,
			start: late, end: time.Date(2026, 3, 3, 0, 0, 0, 0, shanghai)},
		{name: "just after local midnight is the next day", fn: func(t *Template) { t.ValidDays = 1 }, issued: late.Add(time.Hour),
			start: late.Add(time.Hour), end: time.Date(2026, 3, 4, 0, 0, 0, 0, shanghai)},
		{name: "until caps days", fn: func(t *Template) { t.ValidDays, t.ValidUntil = 30, late.Add(48*time.Hour) }, issued: late,
			start: late, end: late.Add(48 * time.Hour)},
		{name: "absolute window starts later", fn: func(t *Template) {
			t.ValidDays, t.ValidFrom, t.ValidUntil = 0, late.Add(24*time.Hour), late.Add(72*time.Hour)
		}, issued: late, start: late.Add(24 * time.Hour), end: late.Add(72 * time.Hour)},
		// Counted from the issue, 30 days ahead of valid_from the window would end 22 days
		// before it began.
		{name: "days count from a later valid_from", fn: func(t *Template) {
			t.ValidDays, t.ValidFrom = 7, late.Add(30*24*time.Hour)
		}, issued: late, start: late.Add(30 * 24 * time.Hour), end: time.Date(2026, 4, 8, 0, 0, 0, 0, shanghai)},
		{name: "until caps days from valid_from", fn: func(t *Template) {
			t.ValidDays, t.ValidFrom, t.ValidUntil = 7, late.Add(24*time.Hour), late.Add(72*time.Hour)
		}, issued: late, start: late.Add(24 * time.Hour), end: late.Add(72 * time.Hour)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			x := tmpl(TypeFixed, tt.fn)
			start, end := x.Validity(tt.issued, shanghai)
			if !start.Equal(tt.start) || !end.Equal(tt.end) {
				t.Fatalf("validity = %s..%s, want %s..%s", start, end, tt.start, tt.end)
			}
		})
	}
}
