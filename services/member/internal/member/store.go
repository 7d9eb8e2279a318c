package member

import "context"

// View says whether a read includes personal data.
type View int

// The views.
const (
	// ViewFull includes the personal fields; reading them is audited.
	ViewFull View = iota
	// ViewRedacted leaves the personal fields empty and is not audited: the store need not
	// even decrypt them.
	ViewRedacted
)

// LookupKind names what a LookupKey matches.
type LookupKind int

// The lookup kinds.
const (
	ByPhone LookupKind = iota + 1
	ByEmail
	ByIdentifier
)

// LookupKey is a normalised lookup: a phone (E.164), an email (lower-case) or an identifier.
type LookupKey struct {
	Kind       LookupKind
	Value      string
	Identifier Identifier // for ByIdentifier
}

// ListQuery is a validated ListMembers request.
type ListQuery struct {
	PageSize  int    // 1..MaxPageSize
	PageToken string // opaque, from a previous page; "" for the first
	Filter    Filter
	View      View
}

// ChangeFunc changes m in place and returns the event to record, or nil when nothing changed
// (then the store writes nothing but the idempotency record). A store may call it more than
// once, each time on a freshly loaded member.
type ChangeFunc func(m *Member) (Event, error)

// Store persists members, per tenant. Every mutation is one transaction that also records the
// request_id carried by ctx (a retry with the same request returns the first answer without
// acting again; the same request_id with a different request is Invalid, REQUEST_ID_REUSED) and
// appends the returned event to the event log.
type Store interface {
	VerificationStore
	// Create stores m (ID set, fields normalised), reserving its phone, email and identifiers.
	// Errors: AlreadyExists (see ExistsError) when another member holds one of them, naming
	// identifier i of m.Identifiers IdentifierField(i).
	Create(ctx context.Context, tenant string, m *Member, ev Event) (*Member, error)
	// Update loads member id with its personal data, applies fn and stores the result,
	// re-reserving a changed phone, email or identifiers.
	// Errors: NotFound (NotFoundError); AlreadyExists (ExistsError); fn's error.
	Update(ctx context.Context, tenant, id string, fn ChangeFunc) (*Member, error)
	// Erase loads member id without personal data, applies fn, destroys the member's data key
	// (crypto-shredding) and releases its phone, email and identifiers. When fn returns a nil
	// event (already erased) it changes nothing. Errors: NotFound; fn's error.
	Erase(ctx context.Context, tenant, id string, fn ChangeFunc) (*Member, error)
	// Get returns member id. Errors: NotFound.
	Get(ctx context.Context, tenant, id string, view View) (*Member, error)
	// Lookup returns the member holding key, or nil and no error when none does.
	Lookup(ctx context.Context, tenant string, key LookupKey, view View) (*Member, error)
	// TokenState returns what member id's tokens depend on, Revoked telling whether token
	// tokenID ("" for none) was revoked on its own. Errors: NotFound.
	TokenState(ctx context.Context, tenant, id, tokenID string) (TokenState, error)
	// RevokeTokens records the revocation fn returns for member id (given its token state), its
	// event and the request's answer, in one transaction; a retried request returns the first
	// answer. Errors: NotFound; fn's error.
	RevokeTokens(ctx context.Context, tenant, id string, fn func(TokenState) (TokensRevoked, error)) (TokensRevoked, error)
	// List returns a page of the tenant's members matching q.Filter in creation order and the
	// token of the next page ("" at the end). A page may hold fewer than q.PageSize members
	// even when more follow, so that one call scans a bounded number of records.
	// Errors: Invalid on "page_token" for a token that is not one of this tenant's.
	List(ctx context.Context, tenant string, q ListQuery) ([]*Member, string, error)
}

// Auditor records reads of personal data (DESIGN.md "Reading personal data is ... written to
// an audit log"). It must not fail the read: it logs.
type Auditor interface {
	// PersonalDataRead records that the caller in ctx received the personal data of memberIDs
	// through action (such as "get" or "list").
	PersonalDataRead(ctx context.Context, tenant, action string, memberIDs []string)
}
