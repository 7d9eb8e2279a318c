// Package brokerapi serves huiyuan.iam.v1.BrokerCredentialService: NATS credentials for outside
// subscribers of a tenant's events, issued by a natsx.TenantIssuer.
//
// A credential reads huiyuan.<tenant>.> and publishes nothing; the broker checks it against the
// account JWT alone, so issuing needs no broker round trip and no reload. Admins issue them for
// their own tenant; admins of the "default" tenant, the installation's operator, for any tenant
// (as for API keys). Nothing is stored: a credential is a secret shown once, and keeping it to
// answer a retried request_id would keep that secret at rest. A retry therefore issues another
// credential, as valid as the first and ending as soon; each issue is logged (tenant, user,
// expiry, issuing key).
package brokerapi

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/huiyuan-dev/huiyuan/pkg/apperr"
	"github.com/huiyuan-dev/huiyuan/pkg/auth"
	"github.com/huiyuan-dev/huiyuan/pkg/clock"
	"github.com/huiyuan-dev/huiyuan/pkg/natsx"

	iamv1 "github.com/huiyuan-dev/huiyuan/gen/huiyuan/iam/v1"
)

// ReasonDisabled is the ErrorInfo reason of a server without an issuer: the process was not
// given the tenant issuer file.
const ReasonDisabled = "BROKER_CREDENTIALS_DISABLED"

// MinTTL is the shortest lifetime a credential may be asked for: the broker counts expiry in
// whole seconds, and a shorter one would be dead on arrival.
const MinTTL = time.Minute

// DefaultMaxTTL is the longest lifetime a credential may be asked for unless Options say.
const DefaultMaxTTL = 366 * 24 * time.Hour

// Policy allows the service's method to ADMINs only.
func Policy() auth.Policy {
	return auth.Policy{
		iamv1.BrokerCredentialService_IssueBrokerCredential_FullMethodName: {iamv1.Role_ADMIN},
	}
}

// Options configure a Server. Zero values take the defaults.
type Options struct {
	// URL is the NATS URL answered as a hint, such as "nats://nats.example.com:4222"; "" answers
	// none.
	URL string
	// DefaultTTL is a credential's lifetime when the request names none (default
	// natsx.DefaultTenantTTL, 90 days).
	DefaultTTL time.Duration
	// MaxTTL bounds the lifetime a request may ask for (default DefaultMaxTTL).
	MaxTTL time.Duration
	// Clock tells the time credentials expire from (default the system clock).
	Clock clock.Clock
	// Logger receives one line per issued credential; nil discards them.
	Logger *slog.Logger
}

// Server implements iamv1.BrokerCredentialServiceServer.
type Server struct {
	iamv1.UnimplementedBrokerCredentialServiceServer
	issuer *natsx.TenantIssuer
	opts   Options
}

// New returns a Server issuing with issuer. A nil issuer makes every call fail with
// FailedPrecondition (reason BROKER_CREDENTIALS_DISABLED), so a process without the issuer
// file still answers clearly.
func New(issuer *natsx.TenantIssuer, opts Options) *Server {
	if opts.DefaultTTL <= 0 {
		opts.DefaultTTL = natsx.DefaultTenantTTL
	}
	if opts.MaxTTL <= 0 {
		opts.MaxTTL = DefaultMaxTTL
	}
	opts.DefaultTTL = min(opts.DefaultTTL, opts.MaxTTL)
	if opts.Clock == nil {
		opts.Clock = clock.System{}
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	return &Server{issuer: issuer, opts: opts}
}

// IssueBrokerCredential issues a read-only credential for the tenant's subjects.
//
// Errors: Unauthenticated without credentials; PermissionDenied for a caller that is not an
// ADMIN, or not of the "default" tenant when naming another; Invalid with violations on tenant
// and ttl (at least MinTTL, at most MaxTTL); FailedPrecondition BROKER_CREDENTIALS_DISABLED
// when the server has no issuer.
func (s *Server) IssueBrokerCredential(ctx context.Context, req *iamv1.IssueBrokerCredentialRequest) (*iamv1.IssueBrokerCredentialResponse, error) {
	p, ok := auth.FromContext(ctx)
	if !ok {
		return nil, apperr.E(apperr.Unauthenticated, auth.ReasonUnauthenticated, "credentials required")
	}
	// The Policy already checks the role; checking again keeps a mis-wired policy from handing
	// out credentials.
	if p.Role != iamv1.Role_ADMIN {
		return nil, apperr.E(apperr.PermissionDenied, auth.ReasonPermissionDenied, "only admins issue broker credentials")
	}
	tenant := req.GetTenant()
	if tenant == "" {
		tenant = p.Tenant
	}
	ttl := s.opts.DefaultTTL
	var v apperr.Violations
	if !auth.ValidTenant(tenant) {
		v.Add("tenant", "must be 1-63 lowercase letters, digits or dashes, not starting with a dash")
	}
	if req.GetTtl() != nil {
		ttl = req.GetTtl().AsDuration()
		if err := req.GetTtl().CheckValid(); err != nil || ttl < MinTTL || ttl > s.opts.MaxTTL {
			v.Add("ttl", "must be between %s and %s", MinTTL, s.opts.MaxTTL)
		}
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	if tenant != p.Tenant && p.Tenant != auth.DefaultTenant {
		return nil, apperr.E(apperr.PermissionDenied, auth.ReasonPermissionDenied,
			"only admins of the %q tenant may issue broker credentials for another tenant", auth.DefaultTenant)
	}
	if s.issuer == nil {
		return nil, apperr.E(apperr.FailedPrecondition, ReasonDisabled,
			"this process cannot issue broker credentials: it was started without the tenant issuer")
	}
	c, err := s.issuer.IssueTenant(tenant, s.opts.Clock.Now().Add(ttl))
	if err != nil {
		return nil, fmt.Errorf("brokerapi: %w", err)
	}
	s.opts.Logger.InfoContext(ctx, "broker credential issued",
		"tenant", tenant, "user", c.User(), "expires", c.Expires(), "by_key", p.KeyID, "by_tenant", p.Tenant)
	return &iamv1.IssueBrokerCredentialResponse{
		Creds:         string(c.Creds()),
		ExpireTime:    timestamppb.New(c.Expires()),
		SubjectFilter: natsx.TenantSubjects(tenant),
		NatsUrl:       s.opts.URL,
		Tenant:        tenant,
		User:          c.User(),
	}, nil
}
