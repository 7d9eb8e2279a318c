package eventlog_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/huiyuan-dev/huiyuan/pkg/eventlog"
)

func TestValidateTenant(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in string
		ok bool
	}{
		{"acme", true}, {"acme-2", true}, {"0", true}, {strings.Repeat("a", 64), true},
		{"", false}, {"Acme", false}, {"ac.me", false}, {"ac*", false}, {"a>", false}, {"a b", false},
		{"a_b", false}, {"a\x00b", false}, {"é", false}, {strings.Repeat("a", 65), false},
	}
	for _, tt := range tests {
		err := eventlog.ValidateTenant(tt.in)
		if (err == nil) != tt.ok {
			t.Errorf("ValidateTenant(%q) = %v, want ok=%v", tt.in, err, tt.ok)
		}
		if err != nil && !errors.Is(err, eventlog.ErrInvalidTenant) {
			t.Errorf("ValidateTenant(%q) error %v does not wrap ErrInvalidTenant", tt.in, err)
		}
	}
}

func TestValidateEventType(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in string
		ok bool
	}{
		{"points_earned", true}, {"registered", true}, {"tier2_changed", true}, {"a", true},
		{"", false}, {"PointsEarned", false}, {"points-earned", false}, {"points.earned", false},
		{"_points", false}, {"points_", false}, {"points__earned", false}, {"2points", false},
		{"points>", false}, {strings.Repeat("a", 65), false},
	}
	for _, tt := range tests {
		err := eventlog.ValidateEventType(tt.in)
		if (err == nil) != tt.ok {
			t.Errorf("ValidateEventType(%q) = %v, want ok=%v", tt.in, err, tt.ok)
		}
		if err != nil && !errors.Is(err, eventlog.ErrInvalidEventType) {
			t.Errorf("ValidateEventType(%q) error %v does not wrap ErrInvalidEventType", tt.in, err)
		}
	}
}

func TestParseSubject(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in                         string
		tenant, service, eventType string
		ok                         bool
	}{
		{in: "huiyuan.acme.loyalty.v1.points_earned", tenant: "acme", service: "loyalty", eventType: "points_earned", ok: true},
		{in: "huiyuan.a-1.member.v1.registered", tenant: "a-1", service: "member", eventType: "registered", ok: true},
		{in: "huiyuan.acme.loyalty.v2.points_earned"},
		{in: "huiyuan.acme.loyalty.v1"},
		{in: "huiyuan.acme.loyalty.v1."},
		{in: "huiyuan.acme.loyalty.v1.points.earned"},
		{in: "huiyuan..loyalty.v1.x"},
		{in: "other.acme.loyalty.v1.x"},
		{in: "huiyuan.ACME.loyalty.v1.x"},
		{in: "huiyuan.acme.Loyalty.v1.x"},
		{in: ""},
	}
	for _, tt := range tests {
		tenant, service, eventType, err := eventlog.ParseSubject(tt.in)
		if (err == nil) != tt.ok {
			t.Errorf("ParseSubject(%q) error = %v, want ok=%v", tt.in, err, tt.ok)
			continue
		}
		if err != nil {
			if !errors.Is(err, eventlog.ErrInvalidSubject) {
				t.Errorf("ParseSubject(%q) error %v does not wrap ErrInvalidSubject", tt.in, err)
			}
			continue
		}
		if tenant != tt.tenant || service != tt.service || eventType != tt.eventType {
			t.Errorf("ParseSubject(%q) = %q, %q, %q", tt.in, tenant, service, eventType)
		}
	}
}

// FuzzParseSubject checks that ParseSubject never panics, accepts exactly what Subject builds
// from valid names, and that the parts it returns are valid.
func FuzzParseSubject(f *testing.F) {
	f.Add("huiyuan.acme.loyalty.v1.points_earned")
	f.Add("huiyuan.a.b.v1.c")
	f.Add("huiyuan.acme.loyalty.v1.")
	f.Fuzz(func(t *testing.T, subject string) {
		tenant, service, eventType, err := eventlog.ParseSubject(subject)
		if err != nil {
			return
		}
		if eventlog.ValidateTenant(tenant) != nil || eventlog.ValidateEventType(eventType) != nil {
			t.Fatalf("ParseSubject(%q) returned invalid parts %q %q", subject, tenant, eventType)
		}
		if got := eventlog.Subject(tenant, service, eventType); got != subject {
			t.Fatalf("Subject(ParseSubject(%q)) = %q", subject, got)
		}
	})
}

// FuzzNames checks that names accepted by the validators always make a parseable subject, so a
// tenant or event type can never inject NATS tokens or wildcards.
func FuzzNames(f *testing.F) {
	f.Add("acme", "points_earned")
	f.Add("a.b", "x>")
	f.Add("-", "a_1")
	f.Fuzz(func(t *testing.T, tenant, eventType string) {
		if eventlog.ValidateTenant(tenant) != nil || eventlog.ValidateEventType(eventType) != nil {
			return
		}
		subject := eventlog.Subject(tenant, "loyalty", eventType)
		gt, gs, ge, err := eventlog.ParseSubject(subject)
		if err != nil || gt != tenant || gs != "loyalty" || ge != eventType {
			t.Fatalf("valid names %q %q made subject %q that parses to %q %q %q, %v", tenant, eventType, subject, gt, gs, ge, err)
		}
		if strings.ContainsAny(tenant+eventType, ".*> \t\r\n") {
			t.Fatalf("valid names %q %q hold NATS special characters", tenant, eventType)
		}
	})
}
