package auth

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/huiyuan-dev/huiyuan/pkg/apperr"
	"github.com/huiyuan-dev/huiyuan/pkg/clock"

	iamv1 "github.com/huiyuan-dev/huiyuan/gen/huiyuan/iam/v1"
)

// TokenIssuer is the "iss" claim of every member JWT.
const TokenIssuer = "huiyuan"

// MinTokenSecret is the shortest HMAC secret MemberTokens accepts: HS256 wants at least as many
// key bytes as hash bytes.
const MinTokenSecret = 32

// maxTokenTTL bounds Issue, so a mistake cannot mint a token that is valid for years.
const maxTokenTTL = 30 * 24 * time.Hour

// MemberTokens issues and verifies member JWTs (HS256, issuer "huiyuan", expiry required). The
// subject is the member id and the "tnt" claim the tenant. It is safe for concurrent use.
type MemberTokens struct {
	secret []byte
	clk    clock.Clock
	parser *jwt.Parser
}

// memberClaims are the claims of a member JWT.
type memberClaims struct {
	Tenant string `json:"tnt"`
	jwt.RegisteredClaims
}

// Validate is called by the jwt parser after the standard claims checks.
func (c *memberClaims) Validate() error {
	if !ValidTenant(c.Tenant) {
		return errors.New("invalid tenant claim")
	}
	if c.Subject == "" {
		return errors.New("missing subject")
	}
	return nil
}

// NewMemberTokens returns a MemberTokens signing with secret and telling time with clk. A secret
// shorter than MinTokenSecret bytes is refused at use: Issue and Verify then always fail, so a
// misconfiguration can never make tokens forgeable.
func NewMemberTokens(secret []byte, clk clock.Clock) *MemberTokens {
	return &MemberTokens{
		secret: append([]byte(nil), secret...),
		clk:    clk,
		parser: jwt.NewParser(
			jwt.WithValidMethods([]string{jwt.SigningMethodHS256.Alg()}),
			jwt.WithIssuer(TokenIssuer),
			jwt.WithExpirationRequired(),
			jwt.WithIssuedAt(),
			jwt.WithTimeFunc(clk.Now),
		),
	}
}

// Issue returns a token for member memberID of tenant, valid for ttl (at most 30 days).
//
// Errors: Invalid for a bad tenant, an empty member id or a ttl out of range; a plain error when
// the secret is too short.
func (t *MemberTokens) Issue(tenant, memberID string, ttl time.Duration) (string, error) {
	if len(t.secret) < MinTokenSecret {
		return "", fmt.Errorf("auth: member token secret must be at least %d bytes", MinTokenSecret)
	}
	var v apperr.Violations
	if !ValidTenant(tenant) {
		v.Add("tenant", "must match ^[a-z0-9][a-z0-9-]{0,62}$")
	}
	if memberID == "" {
		v.Add("member_id", "required")
	}
	if ttl <= 0 || ttl > maxTokenTTL {
		v.Add("ttl", "must be positive and at most %s", maxTokenTTL)
	}
	if err := v.Err(); err != nil {
		return "", err
	}
	now := t.clk.Now()
	claims := &memberClaims{
		Tenant: tenant,
		RegisteredClaims: jwt.RegisteredClaims{
			Issuer:    TokenIssuer,
			Subject:   memberID,
			IssuedAt:  jwt.NewNumericDate(now),
			ExpiresAt: jwt.NewNumericDate(now.Add(ttl)),
		},
	}
	s, err := jwt.NewWithClaims(jwt.SigningMethodHS256, claims).SignedString(t.secret)
	if err != nil {
		return "", fmt.Errorf("auth: sign member token: %w", err)
	}
	return s, nil
}

// Verify checks token and returns its MEMBER principal.
//
// Errors: Unauthenticated with reason TOKEN_EXPIRED for an expired token and INVALID_TOKEN for
// anything else that does not verify (bad signature, other algorithm, missing claims).
func (t *MemberTokens) Verify(token string) (Principal, error) {
	if len(t.secret) < MinTokenSecret {
		return Principal{}, apperr.E(apperr.Unauthenticated, ReasonInvalidToken, "member tokens are not enabled")
	}
	var claims memberClaims
	_, err := t.parser.ParseWithClaims(token, &claims, func(*jwt.Token) (any, error) { return t.secret, nil })
	switch {
	case errors.Is(err, jwt.ErrTokenExpired):
		return Principal{}, apperr.E(apperr.Unauthenticated, ReasonTokenExpired, "member token expired")
	case err != nil:
		return Principal{}, apperr.E(apperr.Unauthenticated, ReasonInvalidToken, "invalid member token")
	}
	return Principal{Tenant: claims.Tenant, Role: iamv1.Role_MEMBER, MemberID: claims.Subject}, nil
}

// Authenticate implements Authenticator with Verify.
func (t *MemberTokens) Authenticate(_ context.Context, bearer string) (Principal, error) {
	return t.Verify(bearer)
}
