package coupon

import (
	"context"
	"time"

	"github.com/huiyuan-dev/huiyuan/pkg/apperr"
)

// Exchange is a coupon bought with points (see Service.Exchange).
type Exchange struct {
	ID, TemplateID, MemberID string
	Points                   int64
	State                    ExchangeState
	CouponID, CouponCode     string
	HoldID                   string
	FailureReason            string
	FailureCode              apperr.Code // the refusal's code; "" in records from before it
	CreateTime, UpdateTime   time.Time
}

// Batch is an asynchronous generation of codes.
type Batch struct {
	ID, TemplateID       string
	Count, Generated     int64
	State                BatchState
	CreateTime, DoneTime time.Time
}

// SharedCode is one code many members claim with: each once, at most MaxUses in all.
type SharedCode struct {
	Code, TemplateID string
	MaxUses, Uses    int64
	CreateTime       time.Time
}

// TemplateView is a template with the coupons issued from it.
type TemplateView struct {
	Template *Template
	Issued   int64
}

// Page asks for one page of a list.
type Page struct {
	Size  int    // 1..MaxPageSize
	Token string // "" for the first page
}

// Paging limits.
const (
	DefaultPageSize = 50
	MaxPageSize     = 1000
)

// Ref names a record of some tenant, for work that spans tenants (the sweep, recovery, batches).
type Ref struct {
	Tenant, ID string
	At         time.Time // the due time of a due coupon
}

// CouponFunc changes coupon c of template t in place and returns the events to record; nil
// events change nothing. A store may call it more than once, on freshly loaded values.
type CouponFunc func(c *Coupon, t *Template) ([]Event, error)

// UseFunc is a CouponFunc that also judges the using member's standing.
type UseFunc func(c *Coupon, t *Template, standing MemberStatus) ([]Event, error)

// ExchangeFunc changes exchange x and its coupon c in place and returns the events; st holds
// the coupon's template counts and its member's usage, for giving them back when x fails.
type ExchangeFunc func(x *Exchange, c *Coupon, st *IssueState) ([]Event, error)

// CodeClaim is what claiming with a code finds: a shared code (with the coupon id the member
// already claimed with it, if any) or a batch coupon, and the issue state of its template.
type CodeClaim struct {
	Shared       *SharedCode
	SharedPrior  string // coupon id the member claimed with Shared before; "" if none
	BatchCoupon  *Coupon
	Issue        *IssueState
	MemberStatus MemberStatus // the claiming member's standing, for a batch code (a shared code's Issue has it)
}

// ClaimCodeFunc decides a claim with a code: it returns the coupon to store (new for a shared
// code, the bound batch coupon otherwise) and the events.
type ClaimCodeFunc func(cc *CodeClaim) (*Coupon, []Event, error)

// CouponQuery filters a list of coupons; Match sees each coupon as stored (the domain settles
// it to judge its state).
type CouponQuery struct {
	Page
	Match func(c *Coupon) bool
}

// Store persists templates, coupons, exchanges, code batches and shared codes, per tenant. Every
// mutation is one transaction that also checks and records the request_id carried by ctx (a
// retry returns the first answer without acting again; the same request_id with another request
// is Invalid, REQUEST_ID_REUSED) and appends the returned events to the event log. A mutation
// function's error means nothing is written.
type Store interface {
	// CreateTemplate stores t (ID set, fields normalised) with issued count 0.
	CreateTemplate(ctx context.Context, tenant string, t *Template, evs []Event) (*Template, error)
	// UpdateTemplate loads template id and its issued count, applies fn and stores the result.
	// Errors: NotFound COUPON_TEMPLATE_NOT_FOUND; fn's.
	UpdateTemplate(ctx context.Context, tenant, id string, fn func(t *Template, issued int64) ([]Event, error)) (TemplateView, error)
	// GetTemplate returns template id. Errors: NotFound.
	GetTemplate(ctx context.Context, tenant, id string) (TemplateView, error)
	// ListTemplates returns a page of templates in creation order, those of status only unless
	// it is unspecified. Errors: Invalid on "page_token".
	ListTemplates(ctx context.Context, tenant string, status Status, p Page) ([]TemplateView, string, error)

	// Issue loads template templateID's issue state for member, lets fn decide and stores the
	// coupon it returns with the counts. Errors: NotFound; fn's.
	Issue(ctx context.Context, tenant, templateID, member string, fn IssueFunc) (*Coupon, error)
	// IssueEach runs Issue's decision for each member in one transaction; each member's outcome
	// stands alone (a refusal is that member's error). The request_id covers the whole call.
	// Errors: NotFound for the template; per member: fn's.
	IssueEach(ctx context.Context, tenant, templateID string, members []string, fn IssueFunc) ([]IssueOutcome, error)
	// ReplayIssue returns the coupon an earlier Issue of the request in ctx answered, without a
	// write transaction; ok is false when ctx has no request_id or it is new.
	ReplayIssue(ctx context.Context, tenant string) (c *Coupon, ok bool, err error)

	// UpdateCoupon loads the coupon with code and its template, applies fn and stores the result.
	// Errors: NotFound COUPON_NOT_FOUND; fn's.
	UpdateCoupon(ctx context.Context, tenant, code string, fn CouponFunc) (*Coupon, *Template, error)
	// UseCoupon is UpdateCoupon for a use of the coupon by member (a lock, a redemption): fn also
	// gets member's standing, read in the same transaction after a retry's replay.
	UseCoupon(ctx context.Context, tenant, code, member string, fn UseFunc) (*Coupon, *Template, error)
	// GetCoupon returns the coupon with code and its template. Errors: NotFound.
	GetCoupon(ctx context.Context, tenant, code string) (*Coupon, *Template, error)
	// ListMemberCoupons returns a page of member's coupons matching q, newest first.
	ListMemberCoupons(ctx context.Context, tenant, member string, q CouponQuery) ([]*Coupon, string, error)
	// ListTemplateCoupons returns a page of template's coupons matching q, in issue order.
	ListTemplateCoupons(ctx context.Context, tenant, templateID string, q CouponQuery) ([]*Coupon, string, error)
	// Wallet returns member's coupons that keep returns true for (at most limit), the coupons
	// and shared codes named by codes, and the templates of all of them.
	Wallet(ctx context.Context, tenant, member string, keep func(*Coupon) bool, limit int, codes []string) (Wallet, error)

	// DueCoupons returns up to limit coupons whose DueTime is at or before before, of any tenant.
	DueCoupons(ctx context.Context, before time.Time, limit int) ([]Ref, error)
	// SettleCoupons applies fn to each coupon named, in one transaction; missing ones are
	// skipped. It returns how many changed.
	SettleCoupons(ctx context.Context, refs []Ref, fn func(c *Coupon) []Event) (int, error)

	// CreateExchange stores x with the coupon fn issues (x.CouponID/CouponCode set from it) and
	// returns them; replayed reports an earlier answer of the same request_id, returned as x and
	// its coupon stand now. Errors: NotFound for the template; fn's.
	CreateExchange(ctx context.Context, tenant string, x *Exchange, fn IssueFunc) (out *Exchange, c *Coupon, replayed bool, err error)
	// UpdateExchange loads exchange id, its coupon and issue state, applies fn and stores them.
	// Errors: NotFound COUPON_EXCHANGE_NOT_FOUND; fn's.
	UpdateExchange(ctx context.Context, tenant, id string, fn ExchangeFunc) (*Exchange, *Coupon, error)
	// GetExchange returns exchange id and its coupon. Errors: NotFound.
	GetExchange(ctx context.Context, tenant, id string) (*Exchange, *Coupon, error)
	// OpenExchanges returns up to limit exchanges, of any tenant, not settled and last changed
	// before before.
	OpenExchanges(ctx context.Context, before time.Time, limit int) ([]Ref, error)

	// CreateBatch stores batch b after fn checked (and counted, in issued) the template's stock.
	// Errors: NotFound for the template; fn's.
	CreateBatch(ctx context.Context, tenant string, b *Batch, fn func(t *Template, issued *int64) error) (*Batch, error)
	// AddBatchCodes stores coupons as codes of batch id and lets fn update the batch (progress,
	// completion) and return events. A coupon whose code exists is not stored: its index in
	// coupons is returned in taken, and fn sees only the stored ones counted.
	AddBatchCodes(ctx context.Context, tenant, id string, coupons []*Coupon, fn func(b *Batch, stored int64) []Event) (taken []int, err error)
	// GetBatch returns batch id. Errors: NotFound CODE_BATCH_NOT_FOUND.
	GetBatch(ctx context.Context, tenant, id string) (*Batch, error)
	// ListBatches returns template's batches, oldest first, at most MaxPageSize.
	ListBatches(ctx context.Context, tenant, templateID string) ([]*Batch, error)
	// RunningBatches returns batches of any tenant still generating.
	RunningBatches(ctx context.Context) ([]Ref, error)
	// BatchCoupons returns up to limit coupons of batch id after the one with id after ("" from
	// the start), in generation order.
	BatchCoupons(ctx context.Context, tenant, id, after string, limit int) ([]*Coupon, error)

	// CreateSharedCode stores sc after fn checked its template. Errors: AlreadyExists
	// COUPON_CODE_EXISTS; NotFound for the template; fn's.
	CreateSharedCode(ctx context.Context, tenant string, sc *SharedCode, fn func(t *Template) error) (*SharedCode, error)
	// GetSharedCode returns the shared code. Errors: NotFound SHARED_CODE_NOT_FOUND.
	GetSharedCode(ctx context.Context, tenant, code string) (*SharedCode, error)
	// TenantZone returns the tenant's IANA time zone ("" when it never set one).
	TenantZone(ctx context.Context, tenant string) (string, error)

	// ClaimCode resolves code (a shared code or a batch coupon's) for member, lets fn decide and
	// stores the coupon it returns. Errors: NotFound COUPON_NOT_FOUND; fn's.
	ClaimCode(ctx context.Context, tenant, code, member string, fn ClaimCodeFunc) (*Coupon, error)
}

// IssueOutcome is one member's result in IssueEach.
type IssueOutcome struct {
	Member string
	Coupon *Coupon
	Err    error
}

// Wallet is a member's coupons, the codes asked about, and their templates.
type Wallet struct {
	Coupons   []*Coupon
	Shared    []*SharedCode
	Missing   []string // codes that name nothing
	Templates map[string]*Template
	Zone      string       // the tenant's time zone
	Standing  MemberStatus // the member's standing as the member service's events said it
}
