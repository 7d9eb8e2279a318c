package auth

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"google.golang.org/grpc/metadata"

	"github.com/huiyuan-dev/huiyuan/pkg/apperr"
	"github.com/huiyuan-dev/huiyuan/pkg/clock"

	iamv1 "github.com/huiyuan-dev/huiyuan/gen/huiyuan/iam/v1"
)

// Internal is the role of another Huiyuan service calling on behalf of a tenant (loyalty reading
// the member service's event log, the gateway's ops routing, ...). Like Public it is no API key's
// role: only a service token carries it. A Policy need not list it: an Internal principal may call
// every method the Policy lists.
const Internal iamv1.Role = -2

// ServiceTokenIssuer is the "iss" claim of service tokens; member JWTs use TokenIssuer.
const ServiceTokenIssuer = "huiyuan-service"

// TenantMetadataKey is the gRPC metadata key that names the tenant a service token acts for.
// It is ignored for every other credential: their tenant comes from the credential itself.
const TenantMetadataKey = "huiyuan-tenant"

// serviceTokenTTL is how long an issued service token lives; ServiceTokens re-issues well before.
const serviceTokenTTL = time.Hour

// ServiceTokens issues and verifies the credentials services present to each other: HS256 JWTs
// with issuer ServiceTokenIssuer and the calling service's name as subject, under a secret every
// process of an installation shares (HUIYUAN_SERVICE_SECRET). The tenant of such a call is named
// per call in TenantMetadataKey, because one service acts for every tenant. It is safe for
// concurrent use.
type ServiceTokens struct {
	secret []byte
	clk    clock.Clock
	parser *jwt.Parser
	header string // the encoded JOSE header every service token starts with
}

// NewServiceTokens returns ServiceTokens signing with secret (at least MinTokenSecret bytes, or
// every Issue and Verify fails) and telling time with clk.
func NewServiceTokens(secret []byte, clk clock.Clock) *ServiceTokens {
	hdr, _ := json.Marshal(map[string]string{"alg": jwt.SigningMethodHS256.Alg(), "kid": ServiceTokenIssuer, "typ": "JWT"})
	return &ServiceTokens{
		header: base64.RawURLEncoding.EncodeToString(hdr) + ".",
		secret: append([]byte(nil), secret...),
		clk:    clk,
		parser: jwt.NewParser(
			jwt.WithValidMethods([]string{jwt.SigningMethodHS256.Alg()}),
			jwt.WithIssuer(ServiceTokenIssuer),
			jwt.WithExpirationRequired(),
			jwt.WithTimeFunc(clk.Now),
		),
	}
}

// Issue returns a token for service, valid for an hour, and its expiry.
func (s *ServiceTokens) Issue(service string) (string, time.Time, error) {
	if len(s.secret) < MinTokenSecret {
		return "", time.Time{}, fmt.Errorf("auth: service token secret must be at least %d bytes", MinTokenSecret)
	}
	if service == "" {
		return "", time.Time{}, errors.New("auth: service token needs a service name")
	}
	now := s.clk.Now()
	exp := now.Add(serviceTokenTTL)
	t := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.RegisteredClaims{
		Issuer: ServiceTokenIssuer, Subject: service,
		IssuedAt: jwt.NewNumericDate(now), ExpiresAt: jwt.NewNumericDate(exp),
	})
	t.Header["kid"] = ServiceTokenIssuer
	tok, err := t.SignedString(s.secret)
	if err != nil {
		return "", time.Time{}, fmt.Errorf("auth: sign service token: %w", err)
	}
	return tok, exp, nil
}

// Authenticate implements Authenticator for service tokens: the principal has role Internal, the
// tenant named in ctx's incoming TenantMetadataKey and KeyID "service:<name>".
//
// Errors: Unauthenticated with reason INVALID_TOKEN for a token that does not verify, and
// UNAUTHENTICATED when the call names no valid tenant.
func (s *ServiceTokens) Authenticate(ctx context.Context, bearer string) (Principal, error) {
	if len(s.secret) < MinTokenSecret {
		return Principal{}, apperr.E(apperr.Unauthenticated, ReasonInvalidToken, "service tokens are not enabled")
	}
	var claims jwt.RegisteredClaims
	if _, err := s.parser.ParseWithClaims(bearer, &claims, func(*jwt.Token) (any, error) { return s.secret, nil }); err != nil || claims.Subject == "" {
		return Principal{}, apperr.E(apperr.Unauthenticated, ReasonInvalidToken, "invalid service token")
	}
	vals := metadata.ValueFromIncomingContext(ctx, TenantMetadataKey)
	if len(vals) != 1 || !ValidTenant(vals[0]) {
		return Principal{}, apperr.E(apperr.Unauthenticated, ReasonUnauthenticated, "a service call must name one valid tenant in %s", TenantMetadataKey)
	}
	return Principal{Tenant: vals[0], Role: Internal, KeyID: "service:" + claims.Subject}, nil
}

// Claims reports whether bearer has the header of a service token. It verifies nothing: it
// routes the credential to the verifier that can, without decoding member JWTs twice.
func (s *ServiceTokens) Claims(bearer string) bool {
	return strings.HasPrefix(bearer, s.header)
}

// ServiceContext returns ctx acting for tenant as a service, for work outside a caller's request
// (event consumers, jobs) that calls another service: the connection from kit's Env.Dial sends
// the tenant of the context's principal.
func ServiceContext(ctx context.Context, tenant string) context.Context {
	return WithPrincipal(ctx, Principal{Tenant: tenant, Role: Internal})
}
