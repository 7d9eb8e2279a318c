package member

import (
	"errors"
	"fmt"

	"github.com/huiyuan-dev/huiyuan/pkg/apperr"
)

// Stable error reasons this domain returns; clients switch on them.
const (
	ReasonNotFound          = "MEMBER_NOT_FOUND"                 // NotFound
	ReasonPhoneExists       = "MEMBER_PHONE_EXISTS"              // AlreadyExists, violation on the phone field
	ReasonEmailExists       = "MEMBER_EMAIL_EXISTS"              // AlreadyExists, violation on the email field
	ReasonIdentifierExists  = "MEMBER_IDENTIFIER_EXISTS"         // AlreadyExists, metadata identifier_type
	ReasonIdentifierMissing = "MEMBER_IDENTIFIER_NOT_FOUND"      // NotFound: the member has no such identifier
	ReasonClosed            = "MEMBER_CLOSED"                    // FailedPrecondition: a closed member cannot change
	ReasonErased            = "MEMBER_ERASED"                    // FailedPrecondition: an erased member cannot change
	ReasonStatusTransition  = "MEMBER_STATUS_TRANSITION_INVALID" // FailedPrecondition
)

// NotFoundError is the error for a member id that does not exist in the tenant.
func NotFoundError(id string) error {
	return apperr.E(apperr.NotFound, ReasonNotFound, "member %q not found", id).With("member_id", id)
}

// notFoundBy is the error for a lookup key that matches no member. The key's value is
// personal data, so only its kind appears in the message.
func notFoundBy(kind string) error {
	return apperr.E(apperr.NotFound, ReasonNotFound, "no member with this %s", kind).With("key", kind)
}

// ExistsError is the AlreadyExists error for a phone, email or identifier that another member
// of the tenant holds. field is the request path to blame (such as "member.phone"); kind is
// "phone", "email" or "identifier"; idType names the identifier type for kind "identifier".
func ExistsError(kind, field, idType string) error {
	var e *apperr.Error
	switch kind {
	case "phone":
		e = apperr.E(apperr.AlreadyExists, ReasonPhoneExists, "a member with this phone already exists")
	case "email":
		e = apperr.E(apperr.AlreadyExists, ReasonEmailExists, "a member with this email already exists")
	default:
		e = apperr.E(apperr.AlreadyExists, ReasonIdentifierExists, "a member with this %s identifier already exists", idType).
			With("identifier_type", idType)
	}
	e.Violations = []apperr.FieldViolation{{Field: field, Description: "already used by another member"}}
	return e
}

// IdentifierField is the request path of a registration's identifier i: a Store's Create names
// a conflict with it by the index in the member's (normalised) list, which Create turns into
// the index in the request.
func IdentifierField(i int) string { return fmt.Sprintf("%s%s[%d]", memberPrefix, FieldIdentifiers, i) }

// blameRequestIdentifier renames err's conflicting identifier, named by its index in norm (the
// list as normalised, duplicates dropped), to the index of its first occurrence in raw, the
// list the request gave, so the caller is pointed at the entry they sent.
func blameRequestIdentifier(err error, raw, norm []Identifier) error {
	var e *apperr.Error
	if !errors.As(err, &e) || e.Reason != ReasonIdentifierExists || len(e.Violations) != 1 {
		return err
	}
	for i, id := range norm {
		if e.Violations[0].Field != IdentifierField(i) {
			continue
		}
		for j, r := range raw {
			if n, ok := NormalizeIdentifier(r, "", new(apperr.Violations)); ok && n == id {
				c := *e
				c.Violations = []apperr.FieldViolation{{Field: IdentifierField(j), Description: e.Violations[0].Description}}
				return &c
			}
		}
	}
	return err
}
