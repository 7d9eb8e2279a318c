package member

import (
	"context"
	"fmt"
	"slices"

	"github.com/huiyuan-dev/huiyuan/pkg/apperr"
)

// Reasons of a member's own update.
const (
	// ReasonStaffOnly (PermissionDenied) refuses a member's change of a field staff manage
	// (tags, store, special needs, address): the same request from staff succeeds, so it is
	// an authorisation failure, with a violation per field for the form.
	ReasonStaffOnly = "MEMBER_FIELD_STAFF_ONLY"
	// ReasonBirthdaySet (FailedPrecondition) refuses a member's change of a birthday it has set:
	// a member sets it once (birthday rewards would be claimable again and again otherwise).
	ReasonBirthdaySet = "MEMBER_BIRTHDAY_SET"
	// ReasonVerificationRequired (FailedPrecondition) refuses a member's direct change of its
	// phone or email: those go through RequestContactChange and ConfirmContactChange.
	ReasonVerificationRequired = "CONTACT_VERIFICATION_REQUIRED"
)

// SelfFields are the fields a member may change itself through UpdateMember: what it owns. Its
// phone and email it changes by verification; the rest is staff's.
var SelfFields = []string{FieldDisplayName, FieldBirthday, FieldGender, FieldPreferences, FieldConsents}

// UpdateSelf is Update as member id itself asks it: only SelfFields ("*" means all of them), a
// birthday only while none is set, phone and email only by verification.
// Errors: as Update; PermissionDenied MEMBER_FIELD_STAFF_ONLY and FailedPrecondition
// CONTACT_VERIFICATION_REQUIRED, with violations on "member.<field>"; FailedPrecondition
// MEMBER_BIRTHDAY_SET on "member.birthday".
func (s *Service) UpdateSelf(ctx context.Context, tenant, id string, patch *Member, mask []string) (*Member, error) {
	paths, err := selfPaths(patch, mask)
	if err != nil {
		return nil, err
	}
	m, err := s.store.Update(ctx, tenant, id, func(m *Member) (Event, error) {
		if err := checkMutable(m); err != nil {
			return nil, err
		}
		birthday := m.Birthday
		now := s.clock.Now().UTC()
		changed, err := s.norm.applyUpdate(m, patch.Clone(), paths, now)
		if err != nil || len(changed) == 0 {
			return nil, err
		}
		if birthday != "" && slices.Contains(changed, FieldBirthday) {
			e := apperr.E(apperr.FailedPrecondition, ReasonBirthdaySet, "the birthday is set; staff may correct it")
			e.Violations = []apperr.FieldViolation{{Field: memberPaths[FieldBirthday], Description: "is set once"}}
			return nil, e
		}
		m.UpdateTime = now
		return Updated{MemberID: m.ID, ChangedFields: changed, Tags: slices.Clone(m.Tags), StoreID: m.StoreID, At: now}, nil
	})
	if err != nil {
		return nil, fmt.Errorf("update member: %w", err)
	}
	s.audited(ctx, tenant, "update", ViewFull, m)
	return m, nil
}

// selfPaths resolves a member's own update mask and refuses what it may not change: staff
// fields first (the stronger refusal), then phone and email.
func selfPaths(patch *Member, mask []string) ([]string, error) {
	if len(mask) == 1 && mask[0] == "*" {
		return slices.Clone(SelfFields), nil
	}
	var v apperr.Violations
	paths := resolveMask(patch, mask, &v)
	if err := v.Err(); err != nil {
		return nil, err
	}
	var staff, contact []apperr.FieldViolation
	for _, p := range paths {
		f := memberPaths[p]
		switch {
		case p == FieldPhone || p == FieldEmail:
			contact = append(contact, apperr.FieldViolation{Field: f, Description: "changes by verification: RequestContactChange"})
		case !slices.Contains(SelfFields, p):
			staff = append(staff, apperr.FieldViolation{Field: f, Description: "is managed by staff"})
		}
	}
	switch {
	case len(staff) > 0:
		e := apperr.E(apperr.PermissionDenied, ReasonStaffOnly, "a member may change only its display name, birthday, gender, preferences and consents")
		e.Violations = staff
		return nil, e
	case len(contact) > 0:
		e := apperr.E(apperr.FailedPrecondition, ReasonVerificationRequired, "a member changes its phone or email by verification")
		e.Violations = contact
		return nil, e
	case len(paths) == 0:
		return nil, apperr.InvalidField("update_mask", "names no field to update")
	}
	return paths, nil
}
