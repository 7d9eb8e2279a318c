package member

import (
	"fmt"
	"slices"
	"time"

	"github.com/huiyuan-dev/huiyuan/pkg/apperr"
)

// Field paths: the snake_case names of the member fields, as field masks and filters use them.
const (
	FieldDisplayName   = "display_name"
	FieldPhone         = "phone"
	FieldEmail         = "email"
	FieldBirthday      = "birthday"
	FieldGender        = "gender"
	FieldChannel       = "channel"
	FieldStoreID       = "store_id"
	FieldTags          = "tags"
	FieldIdentifiers   = "identifiers"
	FieldPreferences   = "preferences"
	FieldSpecialNeeds  = "special_needs"
	FieldAllergies     = "special_needs.allergies"
	FieldAccessibility = "special_needs.accessibility"
	FieldNote          = "special_needs.note"
	FieldAddress       = "address"
	FieldConsents      = "consents"
	FieldReferralCode  = "referral_code"
)

// createFields are the fields a registration may set, in the order they are checked.
var createFields = []string{
	FieldDisplayName, FieldPhone, FieldEmail, FieldBirthday, FieldGender, FieldChannel, FieldStoreID,
	FieldTags, FieldIdentifiers, FieldPreferences, FieldSpecialNeeds, FieldAddress, FieldConsents,
	FieldReferralCode,
}

// memberPrefix is the request path of the member in Create and Update requests.
const memberPrefix = "member."

// createPrefix is the request path under which a registration's field f lies: the consents
// and the referral code are CreateMemberRequest's own fields, beside its member.
func createPrefix(f string) string {
	if f == FieldConsents || f == FieldReferralCode {
		return ""
	}
	return memberPrefix
}

// memberPaths holds memberPrefix+field for every field, so validating a valid request builds no
// strings. It is never modified.
var memberPaths = func() map[string]string {
	m := make(map[string]string)
	for _, f := range slices.Concat(createFields, UpdatableFields, updatableSubfields) {
		m[f] = memberPrefix + f
	}
	return m
}()

// normalizeField validates and normalises the field at path of m in place, recording problems
// in v under prefix+path. now bounds birthdays.
func (n *Normalizer) normalizeField(m *Member, path, prefix string, now time.Time, v *apperr.Violations) {
	f, ok := memberPaths[path]
	if !ok || prefix != memberPrefix {
		f = prefix + path
	}
	var (
		val string
		err error
	)
	switch path {
	case FieldDisplayName:
		val, err = Text(m.DisplayName, MaxDisplayName, true, false)
		set(&m.DisplayName, val, err, f, v)
	case FieldPhone:
		if m.Phone != "" {
			val, err = n.Phone(m.Phone)
			set(&m.Phone, val, err, f, v)
		}
	case FieldEmail:
		if m.Email != "" {
			val, err = n.Email(m.Email)
			set(&m.Email, val, err, f, v)
		}
	case FieldBirthday:
		if m.Birthday != "" {
			val, err = n.Birthday(m.Birthday, now)
			set(&m.Birthday, val, err, f, v)
		}
	case FieldGender:
		if m.Gender < GenderUnspecified || m.Gender > GenderOther {
			v.Add(f, "is not a known gender")
		}
	case FieldChannel:
		switch {
		case m.Channel == ChannelUnspecified:
			m.Channel = ChannelOnline
		case m.Channel < ChannelUnspecified || m.Channel > ChannelThirdParty:
			v.Add(f, "is not a known channel")
		}
	case FieldStoreID:
		if m.StoreID != "" {
			if _, err = ExternalID(m.StoreID, MaxStoreID); err != nil {
				v.Add(f, "%s", err.Error())
			}
		}
	case FieldReferralCode:
		if m.ReferralCode != "" {
			if _, err = ExternalID(m.ReferralCode, MaxReferralCode); err != nil {
				v.Add(f, "%s", err.Error())
			}
		}
	case FieldTags:
		m.Tags = normalizeTokens(m.Tags, MaxTags, f, v)
	case FieldIdentifiers:
		m.Identifiers = normalizeIdentifiers(m.Identifiers, f, v)
	case FieldPreferences:
		normalizePreferences(m, f, v)
	case FieldSpecialNeeds:
		m.SpecialNeeds.Allergies = normalizeTexts(m.SpecialNeeds.Allergies, f+".allergies", v)
		m.SpecialNeeds.Accessibility = normalizeTexts(m.SpecialNeeds.Accessibility, f+".accessibility", v)
		if m.SpecialNeeds.Note, err = Text(m.SpecialNeeds.Note, MaxNote, false, true); err != nil {
			v.Add(f+".note", "%s", err.Error())
		}
	case FieldAllergies:
		m.SpecialNeeds.Allergies = normalizeTexts(m.SpecialNeeds.Allergies, f, v)
	case FieldAccessibility:
		m.SpecialNeeds.Accessibility = normalizeTexts(m.SpecialNeeds.Accessibility, f, v)
	case FieldNote:
		val, err = Text(m.SpecialNeeds.Note, MaxNote, false, true)
		set(&m.SpecialNeeds.Note, val, err, f, v)
	case FieldAddress:
		val, err = Text(m.Address, MaxAddress, false, true)
		set(&m.Address, val, err, f, v)
	case FieldConsents:
		seen := make(map[ConsentPurpose]bool, len(m.Consents))
		for i, c := range m.Consents {
			switch {
			case c.Purpose <= PurposeUnspecified || c.Purpose > PurposeProfiling:
				v.Add(fmt.Sprintf("%s[%d].purpose", f, i), "is not a known purpose")
			case seen[c.Purpose]:
				v.Add(fmt.Sprintf("%s[%d].purpose", f, i), "is given twice")
			}
			seen[c.Purpose] = true
		}
	}
}

// set stores a normalised value, or records the problem and leaves the input as it was.
func set(dst *string, val string, err error, f string, v *apperr.Violations) {
	if err != nil {
		v.Add(f, "%s", err.Error())
		return
	}
	*dst = val
}

// requireContact records a violation when m has neither phone nor email: a member must be
// reachable and recognisable.
func requireContact(m *Member, prefix string, v *apperr.Violations) {
	if m.Phone == "" && m.Email == "" {
		v.Add(prefix+FieldPhone, "a phone or an email is required")
	}
}

// normalizeTokens lower-cases and checks each token, drops duplicates and enforces max.
func normalizeTokens(in []string, max int, f string, v *apperr.Violations) []string {
	if len(in) > max {
		v.Add(f, "has more than %d entries", max)
		return in
	}
	out := in[:0:0]
	for i, raw := range in {
		t, err := Token(raw)
		if err != nil {
			v.Add(fmt.Sprintf("%s[%d]", f, i), "%s", err.Error())
			continue
		}
		if !slices.Contains(out, t) {
			out = append(out, t)
		}
	}
	return out
}

// normalizeTexts trims and checks each short text, drops duplicates and enforces MaxNeeds.
func normalizeTexts(in []string, f string, v *apperr.Violations) []string {
	if len(in) > MaxNeeds {
		v.Add(f, "has more than %d entries", MaxNeeds)
		return in
	}
	out := in[:0:0]
	for i, raw := range in {
		s, err := Text(raw, MaxNeed, true, false)
		if err != nil {
			v.Add(fmt.Sprintf("%s[%d]", f, i), "%s", err.Error())
			continue
		}
		if !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	return out
}

// normalizeIdentifiers checks each identifier (type a token, value 1..MaxIdentifierValue runes)
// and drops exact duplicates.
func normalizeIdentifiers(in []Identifier, f string, v *apperr.Violations) []Identifier {
	if len(in) > MaxIdentifiers {
		v.Add(f, "has more than %d entries", MaxIdentifiers)
		return in
	}
	out := in[:0:0]
	for i, id := range in {
		nid, ok := NormalizeIdentifier(id, fmt.Sprintf("%s[%d]", f, i), v)
		if ok && !slices.Contains(out, nid) {
			out = append(out, nid)
		}
	}
	return out
}

// NormalizeIdentifier checks one identifier, recording problems under f+".type" and
// f+".value", and returns it normalised (type lower-cased, value trimmed) with true when valid.
func NormalizeIdentifier(id Identifier, f string, v *apperr.Violations) (Identifier, bool) {
	ok := true
	t, err := Token(id.Type)
	if err != nil {
		v.Add(f+".type", "%s", err.Error())
		ok = false
	}
	val, err := Text(id.Value, MaxIdentifierValue, true, false)
	if err != nil {
		v.Add(f+".value", "%s", err.Error())
		ok = false
	}
	return Identifier{Type: t, Value: val}, ok
}

func normalizePreferences(m *Member, f string, v *apperr.Violations) {
	if len(m.Preferences) > MaxPreferences {
		v.Add(f, "has more than %d entries", MaxPreferences)
		return
	}
	if len(m.Preferences) == 0 {
		m.Preferences = nil
		return
	}
	out := make(map[string]string, len(m.Preferences))
	for k, val := range m.Preferences {
		nk, err := Token(k)
		if err != nil {
			v.Add(f, "key %q %s", truncate(k, MaxToken), err.Error())
			continue
		}
		nv, err := Text(val, MaxPreferenceValue, false, false)
		if err != nil {
			v.Add(f+"."+nk, "%s", err.Error())
			continue
		}
		out[nk] = nv
	}
	m.Preferences = out
}

// truncate cuts s to at most n bytes on a rune boundary, for quoting bad input in messages.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

func utf8RuneStart(b byte) bool { return b&0xC0 != 0x80 }
