package eventlog

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/huiyuan-dev/huiyuan/pkg/natsx"
)

// The validation errors; errors.Is matches the errors returned for bad names.
var (
	ErrInvalidTenant    = errors.New("eventlog: invalid tenant")
	ErrInvalidEventType = errors.New("eventlog: invalid event type")
	ErrInvalidSubject   = errors.New("eventlog: invalid subject")
)

// maxName bounds tenants and event types so subjects and keys stay small.
const maxName = 64

// ValidateTenant reports whether tenant is a subject-safe tenant id: 1 to 64 lowercase letters,
// digits and dashes. The error wraps ErrInvalidTenant.
func ValidateTenant(tenant string) error {
	if len(tenant) == 0 || len(tenant) > maxName {
		return fmt.Errorf("%w: %q must have 1 to %d characters", ErrInvalidTenant, tenant, maxName)
	}
	for i := 0; i < len(tenant); i++ {
		c := tenant[i]
		if (c < 'a' || c > 'z') && (c < '0' || c > '9') && c != '-' {
			return fmt.Errorf("%w: %q may hold only lowercase letters, digits and dashes", ErrInvalidTenant, tenant)
		}
	}
	return nil
}

// ValidateEventType reports whether eventType is lower_snake: lowercase letters and digits in
// words joined by single underscores, starting with a letter, at most 64 characters. The error
// wraps ErrInvalidEventType.
func ValidateEventType(eventType string) error {
	if !lowerSnake(eventType, maxName) {
		return fmt.Errorf("%w: %q must be lower_snake, at most %d characters", ErrInvalidEventType, eventType, maxName)
	}
	return nil
}

// TypeName is the event type of a generated event-type enum value: its name in lower case
// (EventType_MEMBER_REGISTERED is "member_registered").
func TypeName(value fmt.Stringer) string { return strings.ToLower(value.String()) }

func lowerSnake(s string, max int) bool {
	if len(s) == 0 || len(s) > max || s[0] < 'a' || s[0] > 'z' || s[len(s)-1] == '_' {
		return false
	}
	for i := 1; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9':
		case c == '_' && s[i-1] != '_':
		default:
			return false
		}
	}
	return true
}

// Subject is the NATS subject of an event: "huiyuan.<tenant>.<service>.v1.<event_type>". The
// parts are not validated here.
func Subject(tenant, service, eventType string) string {
	return "huiyuan." + tenant + "." + service + ".v1." + eventType
}

// TenantFilter is the subject filter matching all of one tenant's events of service.
func TenantFilter(tenant, service string) string {
	return "huiyuan." + tenant + "." + service + ".v1.>"
}

// EventID is the id of an event, also its Nats-Msg-Id: "<service>:<tenant>:<epoch>:<sequence>".
// The epoch makes the ids of a restored store's new events differ from those of the events it
// lost, which the broker may still hold.
func EventID(service, tenant string, epoch, seq uint64) string {
	return service + ":" + tenant + ":" + strconv.FormatUint(epoch, 10) + ":" + strconv.FormatUint(seq, 10)
}

// legacyEventID is the id events had before epochs, "<service>:<tenant>:<sequence>": what the
// broker's messages from that time carry.
func legacyEventID(service, tenant string, seq uint64) string {
	return service + ":" + tenant + ":" + strconv.FormatUint(seq, 10)
}

// ParseSubject splits an event subject into its tenant, service and event type, validating
// each. The error wraps ErrInvalidSubject.
func ParseSubject(subject string) (tenant, service, eventType string, err error) {
	rest, ok := strings.CutPrefix(subject, "huiyuan.")
	if !ok {
		return "", "", "", fmt.Errorf("%w: %q does not start with \"huiyuan.\"", ErrInvalidSubject, subject)
	}
	tenant, rest, _ = strings.Cut(rest, ".")
	service, rest, _ = strings.Cut(rest, ".")
	version, eventType, _ := strings.Cut(rest, ".")
	if version != "v1" {
		return "", "", "", fmt.Errorf("%w: %q is not huiyuan.<tenant>.<service>.v1.<event_type>", ErrInvalidSubject, subject)
	}
	if ValidateTenant(tenant) != nil || natsx.ValidateService(service) != nil || ValidateEventType(eventType) != nil {
		return "", "", "", fmt.Errorf("%w: %q has an invalid tenant, service or event type", ErrInvalidSubject, subject)
	}
	return tenant, service, eventType, nil
}
