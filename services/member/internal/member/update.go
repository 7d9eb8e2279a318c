package member

import (
	"maps"
	"slices"
	"time"

	"github.com/huiyuan-dev/huiyuan/pkg/apperr"
)

// UpdatableFields are the field-mask paths UpdateMember accepts. "special_needs" may also be
// addressed by its parts ("special_needs.allergies", ...). "*" means all of them.
var UpdatableFields = []string{
	FieldDisplayName, FieldPhone, FieldEmail, FieldBirthday, FieldGender, FieldStoreID, FieldTags,
	FieldPreferences, FieldSpecialNeeds, FieldAddress, FieldConsents,
}

var updatableSubfields = []string{FieldAllergies, FieldAccessibility, FieldNote}

// resolveMask turns a request's field mask into the list of paths to apply. An empty mask means
// every updatable field that patch sets (AIP-134); "*" means every updatable field.
func resolveMask(patch *Member, paths []string, v *apperr.Violations) []string {
	if len(paths) == 0 {
		return populatedFields(patch)
	}
	out := make([]string, 0, len(paths))
	for _, p := range paths {
		switch {
		case p == "*":
			if len(paths) > 1 {
				v.Add("update_mask", "\"*\" must be the only path")
				return nil
			}
			return slices.Clone(UpdatableFields)
		case slices.Contains(UpdatableFields, p), slices.Contains(updatableSubfields, p):
			if !slices.Contains(out, p) {
				out = append(out, p)
			}
		default:
			v.Add("update_mask", "%q is not an updatable field", truncate(p, 64))
		}
	}
	return out
}

// populatedFields lists the updatable fields patch sets to a non-zero value.
func populatedFields(p *Member) []string {
	var out []string
	add := func(set bool, f string) {
		if set {
			out = append(out, f)
		}
	}
	add(p.DisplayName != "", FieldDisplayName)
	add(p.Phone != "", FieldPhone)
	add(p.Email != "", FieldEmail)
	add(p.Birthday != "", FieldBirthday)
	add(p.Gender != GenderUnspecified, FieldGender)
	add(p.StoreID != "", FieldStoreID)
	add(len(p.Tags) > 0, FieldTags)
	add(len(p.Preferences) > 0, FieldPreferences)
	add(!p.SpecialNeeds.IsZero(), FieldSpecialNeeds)
	add(p.Address != "", FieldAddress)
	add(len(p.Consents) > 0, FieldConsents)
	return out
}

// applyUpdate validates the fields of patch named by paths and copies them onto cur, stamping
// changed consents with now. It returns the top-level names of the fields whose value changed.
// Errors: Invalid with field violations ("update_mask", "member.<field>").
func (n *Normalizer) applyUpdate(cur, patch *Member, paths []string, now time.Time) ([]string, error) {
	var v apperr.Violations
	paths = resolveMask(patch, paths, &v)
	if err := v.Err(); err != nil {
		return nil, err
	}
	if len(paths) == 0 {
		return nil, apperr.InvalidField("update_mask", "names no field to update")
	}
	for _, p := range paths {
		n.normalizeField(patch, p, memberPrefix, now, &v)
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	old := cur.Clone()
	for _, p := range paths {
		copyField(cur, patch, p, now)
	}
	if cur.Phone == "" && cur.Email == "" {
		f := memberPrefix + FieldPhone
		if slices.Contains(paths, FieldEmail) {
			f = memberPrefix + FieldEmail
		}
		v.Add(f, "a member must keep a phone or an email")
		return nil, v.Err()
	}
	return changedFields(old, cur), nil
}

// copyField sets field p of dst from src. Consents merge by purpose: the purposes given are set
// (and stamped when their choice changed), the others are kept, because a consent is withdrawn
// by granting false, never by forgetting it.
func copyField(dst, src *Member, p string, now time.Time) {
	switch p {
	case FieldDisplayName:
		dst.DisplayName = src.DisplayName
	case FieldPhone:
		dst.Phone = src.Phone
	case FieldEmail:
		dst.Email = src.Email
	case FieldBirthday:
		dst.Birthday = src.Birthday
	case FieldGender:
		dst.Gender = src.Gender
	case FieldStoreID:
		dst.StoreID = src.StoreID
	case FieldTags:
		dst.Tags = slices.Clone(src.Tags)
	case FieldPreferences:
		dst.Preferences = maps.Clone(src.Preferences)
	case FieldSpecialNeeds:
		dst.SpecialNeeds = SpecialNeeds{
			Allergies:     slices.Clone(src.SpecialNeeds.Allergies),
			Accessibility: slices.Clone(src.SpecialNeeds.Accessibility),
			Note:          src.SpecialNeeds.Note,
		}
	case FieldAllergies:
		dst.SpecialNeeds.Allergies = slices.Clone(src.SpecialNeeds.Allergies)
	case FieldAccessibility:
		dst.SpecialNeeds.Accessibility = slices.Clone(src.SpecialNeeds.Accessibility)
	case FieldNote:
		dst.SpecialNeeds.Note = src.SpecialNeeds.Note
	case FieldAddress:
		dst.Address = src.Address
	case FieldConsents:
		dst.Consents = mergeConsents(dst.Consents, src.Consents, dst.Channel, now)
	}
}

// mergeConsents sets each given purpose's choice, recording time and channel only when the
// choice is new or changed, and keeps the result ordered by purpose.
func mergeConsents(cur, given []Consent, ch Channel, now time.Time) []Consent {
	out := slices.Clone(cur)
	for _, g := range given {
		i := slices.IndexFunc(out, func(c Consent) bool { return c.Purpose == g.Purpose })
		switch {
		case i < 0:
			out = append(out, Consent{Purpose: g.Purpose, Granted: g.Granted, UpdateTime: now, Channel: ch})
		case out[i].Granted != g.Granted:
			out[i] = Consent{Purpose: g.Purpose, Granted: g.Granted, UpdateTime: now, Channel: ch}
		}
	}
	slices.SortFunc(out, func(a, b Consent) int { return int(a.Purpose) - int(b.Purpose) })
	return out
}

// changedFields lists the top-level fields whose value differs between a and b.
func changedFields(a, b *Member) []string {
	var out []string
	add := func(changed bool, f string) {
		if changed {
			out = append(out, f)
		}
	}
	add(a.DisplayName != b.DisplayName, FieldDisplayName)
	add(a.Phone != b.Phone, FieldPhone)
	add(a.Email != b.Email, FieldEmail)
	add(a.Birthday != b.Birthday, FieldBirthday)
	add(a.Gender != b.Gender, FieldGender)
	add(a.StoreID != b.StoreID, FieldStoreID)
	add(!slices.Equal(a.Tags, b.Tags), FieldTags)
	add(!slices.Equal(a.Identifiers, b.Identifiers), FieldIdentifiers)
	add(!maps.Equal(a.Preferences, b.Preferences), FieldPreferences)
	add(!slices.Equal(a.SpecialNeeds.Allergies, b.SpecialNeeds.Allergies) ||
		!slices.Equal(a.SpecialNeeds.Accessibility, b.SpecialNeeds.Accessibility) ||
		a.SpecialNeeds.Note != b.SpecialNeeds.Note, FieldSpecialNeeds)
	add(a.Address != b.Address, FieldAddress)
	add(!slices.EqualFunc(a.Consents, b.Consents, func(x, y Consent) bool {
		return x.Purpose == y.Purpose && x.Granted == y.Granted
	}), FieldConsents)
	return out
}

// checkMutable refuses changes to a member that is closed or erased.
func checkMutable(m *Member) error {
	switch m.Status {
	case StatusClosed:
		return apperr.E(apperr.FailedPrecondition, ReasonClosed, "member %q is closed", m.ID).With("member_id", m.ID)
	case StatusErased:
		return apperr.E(apperr.FailedPrecondition, ReasonErased, "member %q is erased", m.ID).With("member_id", m.ID)
	}
	return nil
}

// CanTransition reports whether a member may move from status from to status to through
// ChangeMemberStatus: ACTIVE and FROZEN move between each other and to CLOSED; CLOSED and
// ERASED are final there (erasure has its own operation).
func CanTransition(from, to Status) bool {
	switch to {
	case StatusActive:
		return from == StatusFrozen
	case StatusFrozen:
		return from == StatusActive
	case StatusClosed:
		return from == StatusActive || from == StatusFrozen
	}
	return false
}

// parseStatusName reads a status written as the API spells it: "ACTIVE", "FROZEN", "CLOSED" or
// "ERASED", exactly (AIP-126: no prefix, no other case; the zero value is not a status).
func parseStatusName(s string) (Status, bool) {
	for i, name := range statusNames {
		if i > 0 && s == name {
			return Status(i), true
		}
	}
	return 0, false
}

// parseChannelName reads a channel written as the API spells it: "ONLINE", "STORE", "IMPORT" or
// "THIRD_PARTY", exactly.
func parseChannelName(s string) (Channel, bool) {
	for i, name := range channelNames {
		if i > 0 && s == name {
			return Channel(i), true
		}
	}
	return 0, false
}
