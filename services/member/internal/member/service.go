package member

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/huiyuan-dev/huiyuan/pkg/apperr"
	"github.com/huiyuan-dev/huiyuan/pkg/clock"
	"github.com/huiyuan-dev/huiyuan/pkg/ids"
)

// Paging limits of List.
const (
	DefaultPageSize = 50
	MaxPageSize     = 1000
	MaxReason       = 500 // runes of a status-change reason
)

// ReasonIdentifierLimit is the FailedPrecondition reason for adding an identifier to a member
// that already has MaxIdentifiers.
const ReasonIdentifierLimit = "MEMBER_IDENTIFIER_LIMIT"

// Options configure a Service.
type Options struct {
	// DefaultRegion is the ISO 3166 region for phone numbers without a country code; "" means
	// DefaultRegion ("CN").
	DefaultRegion string
	// Tokens signs member tokens; without it IssueToken fails.
	Tokens TokenSigner
}

// Service implements the member use cases. It is safe for concurrent use.
type Service struct {
	store  Store
	clock  clock.Clock
	audit  Auditor
	norm   *Normalizer
	signer TokenSigner
}

// NewService returns a Service. It fails on a nil dependency or an unknown default region.
func NewService(store Store, clk clock.Clock, audit Auditor, opts Options) (*Service, error) {
	if store == nil || clk == nil || audit == nil {
		return nil, errors.New("member.NewService: nil dependency")
	}
	norm, err := NewNormalizer(opts.DefaultRegion)
	if err != nil {
		return nil, err
	}
	return &Service{store: store, clock: clk, audit: audit, norm: norm, signer: opts.Tokens}, nil
}

// Create registers m in tenant. Output-only fields (ID, Status, Tier, times) are ignored; the
// channel defaults to ONLINE; consents are stamped with now and the channel. A display name
// and a phone or an email are required.
// Errors: Invalid with violations on "member.<field>", "consents[i].purpose" and
// "referral_code" (the request's own fields); AlreadyExists (MEMBER_PHONE_EXISTS,
// MEMBER_EMAIL_EXISTS, MEMBER_IDENTIFIER_EXISTS).
func (s *Service) Create(ctx context.Context, tenant string, in *Member) (*Member, error) {
	now := s.clock.Now().UTC()
	m := in.Clone()
	var v apperr.Violations
	for _, f := range createFields {
		s.norm.normalizeField(m, f, createPrefix(f), now, &v)
	}
	requireContact(m, memberPrefix, &v)
	if err := v.Err(); err != nil {
		return nil, err
	}
	m.ID = ids.New()
	m.Status = StatusActive
	m.Tier = ""
	m.CreateTime, m.UpdateTime = now, now
	for i := range m.Consents {
		m.Consents[i].UpdateTime, m.Consents[i].Channel = now, m.Channel
	}
	slices.SortFunc(m.Consents, func(a, b Consent) int { return int(a.Purpose) - int(b.Purpose) })
	ev := Registered{MemberID: m.ID, Channel: m.Channel, StoreID: m.StoreID, Tags: slices.Clone(m.Tags),
		ReferralCode: m.ReferralCode, At: now}
	out, err := s.store.Create(ctx, tenant, m, ev)
	if err != nil {
		return nil, fmt.Errorf("create member: %w", blameRequestIdentifier(err, in.Identifiers, m.Identifiers))
	}
	s.audited(ctx, tenant, "create", ViewFull, out)
	return out, nil
}

// Get returns member id. Errors: NotFound (MEMBER_NOT_FOUND).
func (s *Service) Get(ctx context.Context, tenant, id string, view View) (*Member, error) {
	m, err := s.store.Get(ctx, tenant, id, view)
	if err != nil {
		return nil, fmt.Errorf("get member: %w", err)
	}
	s.audited(ctx, tenant, "get", view, m)
	return m, nil
}

// LookupQuery names one way to find a member: a phone, an email, or an identifier type and
// value. Exactly one must be given.
type LookupQuery struct {
	Phone, Email                    string
	IdentifierType, IdentifierValue string
}

// Lookup finds the member with q's phone (in any common format), email or identifier.
// Erased members are never found. Errors: Invalid on "phone", "email", "identifier_type",
// "identifier_value" or (no key or several) on "phone"; NotFound (MEMBER_NOT_FOUND).
func (s *Service) Lookup(ctx context.Context, tenant string, q LookupQuery, view View) (*Member, error) {
	key, err := s.lookupKey(q)
	if err != nil {
		return nil, err
	}
	m, err := s.store.Lookup(ctx, tenant, key, view)
	if err != nil {
		return nil, fmt.Errorf("lookup member: %w", err)
	}
	if m == nil {
		return nil, notFoundBy([...]string{"", "phone", "email", "identifier"}[key.Kind])
	}
	s.audited(ctx, tenant, "lookup", view, m)
	return m, nil
}

func (s *Service) lookupKey(q LookupQuery) (LookupKey, error) {
	n := 0
	for _, set := range []bool{q.Phone != "", q.Email != "", q.IdentifierType != "" || q.IdentifierValue != ""} {
		if set {
			n++
		}
	}
	if n != 1 {
		return LookupKey{}, apperr.InvalidField("phone", "give exactly one of phone, email, or identifier_type with identifier_value")
	}
	switch {
	case q.Phone != "":
		p, err := s.norm.Phone(q.Phone)
		if err != nil {
			return LookupKey{}, apperr.InvalidField("phone", "%s", err.Error())
		}
		return LookupKey{Kind: ByPhone, Value: p}, nil
	case q.Email != "":
		e, err := s.norm.Email(q.Email)
		if err != nil {
			return LookupKey{}, apperr.InvalidField("email", "%s", err.Error())
		}
		return LookupKey{Kind: ByEmail, Value: e}, nil
	}
	var v apperr.Violations
	id, ok := NormalizeIdentifier(Identifier{Type: q.IdentifierType, Value: q.IdentifierValue}, "identifier", &v)
	if !ok {
		// The request names these fields flat: identifier_type, identifier_value.
		for i := range v {
			v[i].Field = map[string]string{"identifier.type": "identifier_type", "identifier.value": "identifier_value"}[v[i].Field]
		}
		return LookupKey{}, v.Err()
	}
	return LookupKey{Kind: ByIdentifier, Identifier: id}, nil
}

// ListRequest is a ListMembers request as the caller gave it.
type ListRequest struct {
	PageSize  int // 0 means DefaultPageSize; more than MaxPageSize means MaxPageSize
	PageToken string
	Filter    string // see ParseFilter
	View      View
}

// List returns a page of members matching the filter, in registration order, and the next
// page token ("" on the last page). Errors: Invalid on "page_size", "page_token" or "filter".
func (s *Service) List(ctx context.Context, tenant string, req ListRequest) ([]*Member, string, error) {
	switch {
	case req.PageSize < 0:
		return nil, "", apperr.InvalidField("page_size", "must not be negative")
	case req.PageSize == 0:
		req.PageSize = DefaultPageSize
	case req.PageSize > MaxPageSize:
		req.PageSize = MaxPageSize
	}
	f, err := ParseFilter(req.Filter)
	if err != nil {
		return nil, "", err
	}
	ms, next, err := s.store.List(ctx, tenant, ListQuery{PageSize: req.PageSize, PageToken: req.PageToken, Filter: f, View: req.View})
	if err != nil {
		return nil, "", fmt.Errorf("list members: %w", err)
	}
	s.audited(ctx, tenant, "list", req.View, ms...)
	return ms, next, nil
}

// Update changes the fields of member id named by mask (see UpdatableFields; empty means the
// fields patch sets) to patch's values. Errors: Invalid on "update_mask" or "member.<field>";
// NotFound; FailedPrecondition (MEMBER_CLOSED, MEMBER_ERASED); AlreadyExists for a phone or
// email another member holds.
func (s *Service) Update(ctx context.Context, tenant, id string, patch *Member, mask []string) (*Member, error) {
	m, err := s.store.Update(ctx, tenant, id, func(m *Member) (Event, error) {
		if err := checkMutable(m); err != nil {
			return nil, err
		}
		now := s.clock.Now().UTC()
		changed, err := s.norm.applyUpdate(m, patch.Clone(), mask, now)
		if err != nil || len(changed) == 0 {
			return nil, err
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

// ChangeStatus moves member id to status to (ACTIVE, FROZEN or CLOSED; see CanTransition).
// Closing revokes all of the member's tokens. Asking for the status the member already has
// changes nothing.
// Errors: Invalid on "status" or "reason"; NotFound; FailedPrecondition
// (MEMBER_STATUS_TRANSITION_INVALID, MEMBER_ERASED).
func (s *Service) ChangeStatus(ctx context.Context, tenant, id string, to Status, reason string) (*Member, error) {
	var v apperr.Violations
	if to != StatusActive && to != StatusFrozen && to != StatusClosed {
		v.Add("status", "must be ACTIVE, FROZEN or CLOSED (erase a member with EraseMember)")
	}
	reason, err := Text(reason, MaxReason, false, false)
	if err != nil {
		v.Add("reason", "%s", err.Error())
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	m, err := s.store.Update(ctx, tenant, id, func(m *Member) (Event, error) {
		if m.Status == to {
			return nil, nil
		}
		if m.Status == StatusErased {
			return nil, checkMutable(m)
		}
		if !CanTransition(m.Status, to) {
			return nil, apperr.E(apperr.FailedPrecondition, ReasonStatusTransition,
				"member %q cannot go from %s to %s", m.ID, m.Status, to).
				With("from", m.Status.String()).With("to", to.String())
		}
		now := s.clock.Now().UTC()
		old := m.Status
		m.Status, m.UpdateTime = to, now
		ev := StatusChanged{MemberID: m.ID, Old: old, New: to, Reason: reason, At: now}
		if to == StatusClosed { // a closed member's app sessions end with it
			ev.Revoked = &TokensRevoked{MemberID: m.ID, Cause: RevokeClosed, At: now}
		}
		return ev, nil
	})
	if err != nil {
		return nil, fmt.Errorf("change member status: %w", err)
	}
	s.audited(ctx, tenant, "change_status", ViewFull, m)
	return m, nil
}

// AddIdentifier attaches ident to member id; attaching one it already has changes nothing.
// Errors: Invalid on "identifier.type" or "identifier.value"; NotFound; FailedPrecondition
// (MEMBER_CLOSED, MEMBER_ERASED, MEMBER_IDENTIFIER_LIMIT); AlreadyExists
// (MEMBER_IDENTIFIER_EXISTS) when another member holds it.
func (s *Service) AddIdentifier(ctx context.Context, tenant, id string, ident Identifier) (*Member, error) {
	var v apperr.Violations
	ident, ok := NormalizeIdentifier(ident, "identifier", &v)
	if !ok {
		return nil, v.Err()
	}
	m, err := s.store.Update(ctx, tenant, id, func(m *Member) (Event, error) {
		if err := checkMutable(m); err != nil {
			return nil, err
		}
		if slices.Contains(m.Identifiers, ident) {
			return nil, nil
		}
		if len(m.Identifiers) >= MaxIdentifiers {
			return nil, apperr.E(apperr.FailedPrecondition, ReasonIdentifierLimit,
				"member %q already has %d identifiers", m.ID, MaxIdentifiers)
		}
		now := s.clock.Now().UTC()
		m.Identifiers = append(m.Identifiers, ident)
		m.UpdateTime = now
		return Updated{MemberID: m.ID, ChangedFields: []string{FieldIdentifiers}, Tags: slices.Clone(m.Tags), StoreID: m.StoreID, At: now}, nil
	})
	if err != nil {
		return nil, fmt.Errorf("add member identifier: %w", err)
	}
	s.audited(ctx, tenant, "add_identifier", ViewFull, m)
	return m, nil
}

// RemoveIdentifier detaches ident from member id, which frees it for another member.
// Errors: Invalid on "identifier.type" or "identifier.value"; NotFound (MEMBER_NOT_FOUND, or
// MEMBER_IDENTIFIER_NOT_FOUND when the member lacks it); FailedPrecondition (MEMBER_CLOSED,
// MEMBER_ERASED).
func (s *Service) RemoveIdentifier(ctx context.Context, tenant, id string, ident Identifier) (*Member, error) {
	var v apperr.Violations
	ident, ok := NormalizeIdentifier(ident, "identifier", &v)
	if !ok {
		return nil, v.Err()
	}
	m, err := s.store.Update(ctx, tenant, id, func(m *Member) (Event, error) {
		if err := checkMutable(m); err != nil {
			return nil, err
		}
		i := slices.Index(m.Identifiers, ident)
		if i < 0 {
			return nil, apperr.E(apperr.NotFound, ReasonIdentifierMissing,
				"member %q has no such %s identifier", m.ID, ident.Type).With("identifier_type", ident.Type)
		}
		now := s.clock.Now().UTC()
		m.Identifiers = slices.Delete(m.Identifiers, i, i+1)
		m.UpdateTime = now
		return Updated{MemberID: m.ID, ChangedFields: []string{FieldIdentifiers}, Tags: slices.Clone(m.Tags), StoreID: m.StoreID, At: now}, nil
	})
	if err != nil {
		return nil, fmt.Errorf("remove member identifier: %w", err)
	}
	s.audited(ctx, tenant, "remove_identifier", ViewFull, m)
	return m, nil
}

// Erase destroys member id's personal data (the store shreds its data key), anonymises what
// remains (see Anonymise), sets it ERASED, freeing its phone, email and identifiers, and revokes
// all of its tokens.
// Erasing an erased member returns it unchanged. Errors: NotFound.
func (s *Service) Erase(ctx context.Context, tenant, id string) (*Member, error) {
	m, err := s.store.Erase(ctx, tenant, id, func(m *Member) (Event, error) {
		if m.Status == StatusErased {
			return nil, nil
		}
		now := s.clock.Now().UTC()
		old := m.Status
		Anonymise(m, now)
		return StatusChanged{MemberID: m.ID, Old: old, New: StatusErased, Reason: "erased", At: now,
			Revoked: &TokensRevoked{MemberID: m.ID, Cause: RevokeErased, At: now}}, nil
	})
	if err != nil {
		return nil, fmt.Errorf("erase member: %w", err)
	}
	return m, nil
}

// Anonymise strips m of everything that could identify the person: personal fields, gender,
// tags, identifiers, preferences, consents and referral code. It keeps the id (the pseudonym
// other services' facts refer to), channel, store, tier and registration time, and sets the
// status ERASED.
func Anonymise(m *Member, now time.Time) {
	m.ClearPersonal()
	m.Gender = GenderUnspecified
	m.Tags, m.Identifiers, m.Preferences, m.Consents = nil, nil, nil, nil
	m.ReferralCode = ""
	m.Status = StatusErased
	m.UpdateTime = now
}

// audited reports a read of personal data to the Auditor when view includes it.
func (s *Service) audited(ctx context.Context, tenant, action string, view View, ms ...*Member) {
	if view != ViewFull || len(ms) == 0 {
		return
	}
	idList := make([]string, 0, len(ms))
	for _, m := range ms {
		if m.Status != StatusErased {
			idList = append(idList, m.ID)
		}
	}
	if len(idList) > 0 {
		s.audit.PersonalDataRead(ctx, tenant, action, idList)
	}
}
