package member

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"fmt"
	"math/big"
	"slices"
	"time"

	"github.com/huiyuan-dev/huiyuan/pkg/apperr"
	"github.com/huiyuan-dev/huiyuan/pkg/ids"
)

// Contact verification: a member changes its phone or email by proving it receives messages
// there. A one-time code goes to the new address (through the business's notification sender,
// which hears of it by the event verification_code_requested and reads the code and destination
// from NotificationService, so neither travels on the broker); the change applies when the code
// comes back within VerificationTTL and VerificationAttempts tries.
const (
	VerificationTTL      = 10 * time.Minute
	VerificationAttempts = 5
	// VerificationCooldown spaces the codes of one channel (each costs the business a message,
	// and each new code gives a guesser VerificationAttempts more tries).
	VerificationCooldown = time.Minute
	codeDigits           = 6
)

// Reasons of contact verification.
const (
	ReasonVerificationNotFound = "VERIFICATION_NOT_FOUND"          // NotFound: unknown, confirmed, replaced or used up
	ReasonVerificationExpired  = "VERIFICATION_EXPIRED"            // FailedPrecondition: past its ten minutes
	ReasonCodeInvalid          = "VERIFICATION_CODE_INVALID"       // Invalid on "code": one attempt used
	ReasonAttemptsExhausted    = "VERIFICATION_ATTEMPTS_EXHAUSTED" // FailedPrecondition: the last attempt failed
	ReasonVerificationTooSoon  = "VERIFICATION_TOO_FREQUENT"       // ResourceExhausted: a code went out less than a minute ago
	ReasonContactUnchanged     = "CONTACT_UNCHANGED"               // Invalid: the address is the member's already
)

// Medium is how a verification code travels.
type Medium int32

// The media. The numbers match huiyuan.member.v1.ContactVerification.Medium.
const (
	MediumUnspecified Medium = iota
	MediumSMS
	MediumEmail
)

// Verification is a pending change of a member's phone (MediumSMS) or email (MediumEmail) to
// Destination. Destination and Code are personal and secret: stored sealed under the member's
// data key, shown only to the notification sender, never in events or answers.
type Verification struct {
	ID           string
	MemberID     string
	Medium       Medium
	Destination  string
	Code         string
	CreateTime   time.Time
	ExpireTime   time.Time
	AttemptsLeft int
}

// VerificationRequested says a code must be sent; it carries no destination and no code.
type VerificationRequested struct {
	MemberID, VerificationID string
	Medium                   Medium
	ExpireTime, At           time.Time
}

// Type implements Event.
func (VerificationRequested) event() {}

// Requested is the event of v's creation.
func (v *Verification) Requested() VerificationRequested {
	return VerificationRequested{MemberID: v.MemberID, VerificationID: v.ID, Medium: v.Medium, ExpireTime: v.ExpireTime, At: v.CreateTime}
}

// withoutSecrets is v as answers show it: no destination, no code.
func (v *Verification) withoutSecrets() *Verification {
	c := *v
	c.Destination, c.Code = "", ""
	return &c
}

// RequestFunc decides a verification request for member m, given its pending verifications.
type RequestFunc func(m *Member, pending []Verification) (*Verification, error)

// ConfirmFunc decides a confirmation of v for member m: it changes m and returns the event of
// the change, or changes v (an attempt used) and returns the refusal.
type ConfirmFunc func(m *Member, v *Verification) (Event, error)

// VerificationStore keeps pending verifications, sealed under the member's data key.
type VerificationStore interface {
	// RequestVerification loads member id with its personal data and pending verifications,
	// and stores the verification fn returns (replacing the pending one of its medium) with its
	// event and the request's answer, in one transaction; a retry returns the first answer.
	// Errors: NotFound; fn's error.
	RequestVerification(ctx context.Context, tenant, id string, fn RequestFunc) (*Verification, error)
	// ConfirmVerification loads member id with its personal data and its verification vid and
	// applies fn in one transaction. When fn returns an event, m is stored as Update stores it
	// and v is deleted; when fn fails, v's new state is committed (v deleted when fn left it no
	// attempt) and fn's error returned. Errors: NotFound (MEMBER_NOT_FOUND,
	// VERIFICATION_NOT_FOUND); AlreadyExists for an address another member holds; fn's error.
	ConfirmVerification(ctx context.Context, tenant, id, vid string, fn ConfirmFunc) (*Member, error)
	// Verification returns member id's pending verification vid with its destination and code.
	// Errors: NotFound (VERIFICATION_NOT_FOUND).
	Verification(ctx context.Context, tenant, id, vid string) (*Verification, error)
}

// ContactChange is a requested new phone or email; exactly one is set.
type ContactChange struct {
	Phone, Email string
}

// RequestContactChange starts a change of member id's phone or email to the one asked: it
// records a pending verification with a new code and announces it to the notification sender.
// The answer carries neither the code nor the destination.
// Errors: Invalid on "phone" or "email" (none or both, malformed, CONTACT_UNCHANGED); NotFound;
// FailedPrecondition (MEMBER_CLOSED, MEMBER_ERASED); ResourceExhausted VERIFICATION_TOO_FREQUENT.
func (s *Service) RequestContactChange(ctx context.Context, tenant, id string, c ContactChange) (*Verification, error) {
	medium, field, dest, err := s.contactTarget(c)
	if err != nil {
		return nil, err
	}
	v, err := s.store.RequestVerification(ctx, tenant, id, func(m *Member, pending []Verification) (*Verification, error) {
		if err := checkMutable(m); err != nil {
			return nil, err
		}
		if cur := map[Medium]string{MediumSMS: m.Phone, MediumEmail: m.Email}[medium]; cur == dest {
			return nil, &apperr.Error{Code: apperr.Invalid, Reason: ReasonContactUnchanged, Message: "this is the member's " + field + " already",
				Violations: []apperr.FieldViolation{{Field: field, Description: "is the member's already"}}}
		}
		now := s.clock.Now().UTC()
		for _, p := range pending {
			if p.Medium == medium && now.Sub(p.CreateTime) < VerificationCooldown {
				return nil, apperr.E(apperr.ResourceExhausted, ReasonVerificationTooSoon,
					"a code went out less than %s ago; wait before asking again", VerificationCooldown)
			}
		}
		code, err := newCode()
		if err != nil {
			return nil, err
		}
		return &Verification{ID: ids.New(), MemberID: m.ID, Medium: medium, Destination: dest, Code: code,
			CreateTime: now, ExpireTime: now.Add(VerificationTTL), AttemptsLeft: VerificationAttempts}, nil
	})
	if err != nil {
		return nil, fmt.Errorf("request contact change: %w", err)
	}
	return v.withoutSecrets(), nil
}

// contactTarget validates a contact change: its medium, the request field and the normalised
// address.
func (s *Service) contactTarget(c ContactChange) (Medium, string, string, error) {
	switch {
	case (c.Phone == "") == (c.Email == ""):
		return 0, "", "", apperr.InvalidField(FieldPhone, "give exactly one of phone or email")
	case c.Phone != "":
		p, err := s.norm.Phone(c.Phone)
		if err != nil {
			return 0, "", "", apperr.InvalidField(FieldPhone, "%s", err.Error())
		}
		return MediumSMS, FieldPhone, p, nil
	}
	e, err := s.norm.Email(c.Email)
	if err != nil {
		return 0, "", "", apperr.InvalidField(FieldEmail, "%s", err.Error())
	}
	return MediumEmail, FieldEmail, e, nil
}

// ConfirmContactChange applies member id's pending change vid when code is the code sent: the
// phone or email becomes the verified one. A wrong code uses an attempt; the last one ends the
// verification.
// Errors: Invalid on "verification_id"; Invalid VERIFICATION_CODE_INVALID on "code";
// FailedPrecondition VERIFICATION_EXPIRED, VERIFICATION_ATTEMPTS_EXHAUSTED, MEMBER_CLOSED,
// MEMBER_ERASED; NotFound (MEMBER_NOT_FOUND, VERIFICATION_NOT_FOUND); AlreadyExists
// (MEMBER_PHONE_EXISTS, MEMBER_EMAIL_EXISTS) when another member took the address meanwhile.
func (s *Service) ConfirmContactChange(ctx context.Context, tenant, id, vid, code string) (*Member, error) {
	if !ids.Valid(vid) {
		return nil, apperr.InvalidField("verification_id", "must be a verification id, as RequestContactChange answered it")
	}
	m, err := s.store.ConfirmVerification(ctx, tenant, id, vid, func(m *Member, v *Verification) (Event, error) {
		if err := checkMutable(m); err != nil {
			return nil, err
		}
		now := s.clock.Now().UTC()
		if !now.Before(v.ExpireTime) {
			v.AttemptsLeft = 0 // done with: the store drops it
			return nil, apperr.E(apperr.FailedPrecondition, ReasonVerificationExpired, "the code expired; request a new one")
		}
		if subtle.ConstantTimeCompare([]byte(code), []byte(v.Code)) != 1 {
			v.AttemptsLeft--
			if v.AttemptsLeft <= 0 {
				return nil, apperr.E(apperr.FailedPrecondition, ReasonAttemptsExhausted, "too many wrong codes; request a new one")
			}
			e := apperr.E(apperr.Invalid, ReasonCodeInvalid, "wrong code; %d attempts left", v.AttemptsLeft).
				With("attempts_left", fmt.Sprint(v.AttemptsLeft))
			e.Violations = []apperr.FieldViolation{{Field: "code", Description: "is not the code sent"}}
			return nil, e
		}
		field := FieldPhone
		if v.Medium == MediumEmail {
			field = FieldEmail
		}
		old := m.Clone()
		copyField(m, &Member{Phone: v.Destination, Email: v.Destination}, field, now)
		m.UpdateTime = now
		return Updated{MemberID: m.ID, ChangedFields: changedFields(old, m), Tags: slices.Clone(m.Tags), StoreID: m.StoreID, At: now}, nil
	})
	if err != nil {
		return nil, fmt.Errorf("confirm contact change: %w", err)
	}
	s.audited(ctx, tenant, "confirm_contact_change", ViewFull, m)
	return m, nil
}

// VerificationMessage returns what the notification sender delivers for member id's pending
// verification vid: its medium, destination and code. Reading it is audited.
// Errors: Invalid on "verification_id"; NotFound (VERIFICATION_NOT_FOUND); FailedPrecondition
// VERIFICATION_EXPIRED.
func (s *Service) VerificationMessage(ctx context.Context, tenant, id, vid string) (*Verification, error) {
	if !ids.Valid(vid) {
		return nil, apperr.InvalidField("verification_id", "must be a verification id")
	}
	v, err := s.store.Verification(ctx, tenant, id, vid)
	if err != nil {
		return nil, fmt.Errorf("verification message: %w", err)
	}
	if !s.clock.Now().Before(v.ExpireTime) {
		return nil, apperr.E(apperr.FailedPrecondition, ReasonVerificationExpired, "the verification expired")
	}
	s.audit.PersonalDataRead(ctx, tenant, "verification_message", []string{id})
	return v, nil
}

// VerificationNotFound is the error for a verification that does not exist (any more).
func VerificationNotFound(vid string) error {
	return apperr.E(apperr.NotFound, ReasonVerificationNotFound, "no pending verification %q", vid).With("verification_id", vid)
}

// newCode returns a uniformly random code of codeDigits digits.
func newCode() (string, error) {
	n, err := rand.Int(rand.Reader, new(big.Int).Exp(big.NewInt(10), big.NewInt(codeDigits), nil))
	if err != nil {
		return "", fmt.Errorf("verification code: %w", err)
	}
	return fmt.Sprintf("%0*d", codeDigits, n.Int64()), nil
}
