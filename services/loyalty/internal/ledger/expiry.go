package ledger

import (
	"time"

	"github.com/huiyuan-dev/huiyuan/pkg/apperr"
)

// ExpiryKind is how a tenant's points expire.
type ExpiryKind string

// The expiry kinds.
const (
	ExpireNever      ExpiryKind = "NEVER"        // the zero policy: points never expire
	ExpireAfterDays  ExpiryKind = "AFTER_DAYS"   // at the end of the Nth day after the day earned
	ExpireEndOfMonth ExpiryKind = "END_OF_MONTH" // at the end of the Nth month after the month earned
)

// Limits of ExpiryPolicy.N.
const (
	MaxExpiryDays   = 36600
	MaxExpiryMonths = 1200
)

// ExpiryPolicy is a tenant's rule for when earned points expire. Both calendar kinds count in
// the tenant's time zone and expire at local midnight, so everything earned on one day (or in
// one month) expires together.
type ExpiryPolicy struct {
	Kind ExpiryKind // "" means ExpireNever
	N    int        // days (1..MaxExpiryDays) or months (0..MaxExpiryMonths; 0: end of the month earned)
}

// Validate checks the policy. Errors: Invalid on "kind" and "n".
func (p ExpiryPolicy) Validate() error {
	var v apperr.Violations
	p.validate("", &v)
	return v.Err()
}

func (p ExpiryPolicy) validate(prefix string, v *apperr.Violations) {
	if prefix != "" {
		prefix += "."
	}
	switch p.Kind {
	case "", ExpireNever:
	case ExpireAfterDays:
		if p.N < 1 || p.N > MaxExpiryDays {
			v.Add(prefix+"n", "must be between 1 and %d days", MaxExpiryDays)
		}
	case ExpireEndOfMonth:
		if p.N < 0 || p.N > MaxExpiryMonths {
			v.Add(prefix+"n", "must be between 0 and %d months", MaxExpiryMonths)
		}
	default:
		v.Add(prefix+"kind", "must be NEVER, AFTER_DAYS or END_OF_MONTH")
	}
}

// ExpiresAt returns when points earned at earned expire under p, in UTC; the zero time means
// never. AFTER_DAYS N: points earned on day D (local) last through day D+N, expiring at the
// local midnight that starts day D+N+1. END_OF_MONTH N: points earned in month M last through
// month M+N, expiring at the local midnight that starts month M+N+1. A nil loc means UTC.
// An invalid policy yields the zero time; New and Validate reject those.
func (p ExpiryPolicy) ExpiresAt(earned time.Time, loc *time.Location) time.Time {
	if loc == nil {
		loc = time.UTC
	}
	t := earned.In(loc)
	y, m, d := t.Date()
	switch p.Kind {
	case ExpireAfterDays:
		if p.N >= 1 && p.N <= MaxExpiryDays {
			// time.Date normalises the overflowing day and places midnight correctly across DST.
			return time.Date(y, m, d+p.N+1, 0, 0, 0, 0, loc).UTC()
		}
	case ExpireEndOfMonth:
		if p.N >= 0 && p.N <= MaxExpiryMonths {
			return time.Date(y, m+time.Month(p.N)+1, 1, 0, 0, 0, 0, loc).UTC()
		}
	}
	return time.Time{}
}
