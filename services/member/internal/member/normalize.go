package member

import (
	"fmt"
	"net/mail"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/nyaruka/phonenumbers"
)

// Limits on member fields.
const (
	MaxDisplayName     = 100  // runes
	MaxAddress         = 500  // runes
	MaxEmail           = 254  // bytes (RFC 5321 path limit)
	MaxTags            = 50   // tags per member
	MaxToken           = 64   // bytes of a tag, identifier type or preference key
	MaxIdentifiers     = 20   // identifiers per member
	MaxIdentifierValue = 128  // runes
	MaxPreferences     = 50   // entries
	MaxPreferenceValue = 256  // runes
	MaxNeeds           = 20   // allergies or accessibility entries
	MaxNeed            = 100  // runes per allergy or accessibility entry
	MaxNote            = 1000 // runes
	MaxStoreID         = 64   // bytes
	MaxReferralCode    = 64   // bytes
)

// DefaultRegion is the region assumed for phone numbers written without a country code.
const DefaultRegion = "CN"

// Normalizer validates and normalises member fields. The zero value is not usable: use
// NewNormalizer.
type Normalizer struct {
	region string
}

// NewNormalizer returns a Normalizer whose phone numbers without a country code are read in
// region (an ISO 3166 code such as "CN"; "" means DefaultRegion). It fails on a region the
// phone-number metadata does not know.
func NewNormalizer(region string) (*Normalizer, error) {
	if region == "" {
		region = DefaultRegion
	}
	region = strings.ToUpper(region)
	if !phonenumbers.GetSupportedRegions()[region] {
		return nil, fmt.Errorf("member: unknown phone region %q", region)
	}
	return &Normalizer{region: region}, nil
}

// Phone returns raw as an E.164 number ("+8613812345678"), or an error describing why it is
// not a valid phone number. Numbers without a country code are read in the default region.
func (n *Normalizer) Phone(raw string) (string, error) {
	raw = strings.TrimSpace(raw)
	if raw == "" {
		return "", fmt.Errorf("is empty")
	}
	if len(raw) > 64 {
		return "", fmt.Errorf("is too long")
	}
	num, err := phonenumbers.Parse(raw, n.region)
	if err != nil || !phonenumbers.IsValidNumber(num) {
		return "", fmt.Errorf("is not a valid phone number")
	}
	return phonenumbers.Format(num, phonenumbers.E164), nil
}

// Email returns raw as a lower-case bare address, or an error saying why it is not one.
// A display-name form such as "Ann <ann@example.com>" is refused: the field holds an address.
func (n *Normalizer) Email(raw string) (string, error) {
	raw = strings.TrimSpace(raw)
	if raw == "" {
		return "", fmt.Errorf("is empty")
	}
	if len(raw) > MaxEmail {
		return "", fmt.Errorf("is longer than %d characters", MaxEmail)
	}
	addr, err := mail.ParseAddress(raw)
	if err != nil || addr.Name != "" || addr.Address != raw {
		return "", fmt.Errorf("is not a valid email address")
	}
	at := strings.LastIndexByte(raw, '@')
	if at <= 0 || !strings.Contains(raw[at+1:], ".") {
		return "", fmt.Errorf("is not a valid email address")
	}
	return strings.ToLower(raw), nil
}

// Birthday checks that raw is a real date written YYYY-MM-DD, in or after 1900 and not in the
// future relative to now, and returns it.
func (n *Normalizer) Birthday(raw string, now time.Time) (string, error) {
	d, err := time.Parse(time.DateOnly, raw)
	if err != nil || len(raw) != len(time.DateOnly) {
		return "", fmt.Errorf("must be a real date written YYYY-MM-DD")
	}
	if d.Year() < 1900 {
		return "", fmt.Errorf("must be in 1900 or later")
	}
	// The latest time zone is UTC+14: a birthday that is today anywhere on Earth is accepted.
	today := now.UTC().Add(14 * time.Hour).Truncate(24 * time.Hour)
	if d.After(today) {
		return "", fmt.Errorf("must not be in the future")
	}
	return raw, nil
}

// Token lower-cases raw and checks it is a token: 1..MaxToken of a-z, 0-9, '_', '-', ':'.
// Tags, identifier types and preference keys are tokens.
func Token(raw string) (string, error) {
	s := strings.ToLower(strings.TrimSpace(raw))
	if s == "" {
		return "", fmt.Errorf("is empty")
	}
	if len(s) > MaxToken {
		return "", fmt.Errorf("is longer than %d characters", MaxToken)
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_' || c == '-' || c == ':') {
			return "", fmt.Errorf("may hold only letters, digits, '_', '-' and ':'")
		}
	}
	return s, nil
}

// ExternalID checks that raw is an id from another system (a store id, a referral code):
// 1..max of A-Z, a-z, 0-9, '.', '_', '-', ':'.
func ExternalID(raw string, max int) (string, error) {
	if raw == "" {
		return "", fmt.Errorf("is empty")
	}
	if len(raw) > max {
		return "", fmt.Errorf("is longer than %d characters", max)
	}
	for i := 0; i < len(raw); i++ {
		c := raw[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-' || c == ':') {
			return "", fmt.Errorf("may hold only letters, digits, '.', '_', '-' and ':'")
		}
	}
	return raw, nil
}

// Text trims raw and checks it is valid UTF-8 of at most max runes without control characters
// (a newline is allowed only when multiline). required refuses the empty string.
func Text(raw string, max int, required, multiline bool) (string, error) {
	s := strings.TrimSpace(raw)
	if !utf8.ValidString(s) {
		return "", fmt.Errorf("is not valid UTF-8")
	}
	if s == "" {
		if required {
			return "", fmt.Errorf("is required")
		}
		return "", nil
	}
	if utf8.RuneCountInString(s) > max {
		return "", fmt.Errorf("is longer than %d characters", max)
	}
	for _, r := range s {
		if unicode.IsControl(r) && !(multiline && (r == '\n' || r == '\t')) {
			return "", fmt.Errorf("must not contain control characters")
		}
	}
	return s, nil
}
