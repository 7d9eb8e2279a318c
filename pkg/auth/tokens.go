package auth

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/huiyuan-dev/huiyuan/pkg/apperr"
	"github.com/huiyuan-dev/huiyuan/pkg/clock"
	"github.com/huiyuan-dev/huiyuan/pkg/ids"

	iamv1 "github.com/huiyuan-dev/huiyuan/gen/huiyuan/iam/v1"
)

// TokenIssuer is the "iss" claim of every member JWT.
const TokenIssuer = "huiyuan"

// MinTokenSecret is the shortest HMAC secret MemberTokens accepts: HS256 wants at least as many
// key bytes as hash bytes.
const MinTokenSecret = 32

// MaxTokenTTL is the longest a member token may live: Issue refuses a longer ttl, and Verify a
// token whose expiry is further than this from its issue time, whoever signed it.
const MaxTokenTTL = 30 * 24 * time.Hour

// TokenClockSkew is how far ahead of a verifier's clock a token's issue time may be: the
// processes of an installation run on machines whose clocks differ a little.
const TokenClockSkew = 5 * time.Second

// MemberTokens issues and verifies member JWTs (HS256, issuer "huiyuan"). The subject is the
// member id, "tnt" the tenant, "jti" the token's id and "gen" the member's token generation
// when it was issued (revoking all of a member's tokens raises it). Expiry and issue time are
// required, and the lifetime between them is at most MaxTokenTTL. It is safe for concurrent use.
type MemberTokens struct {
	secret []byte
	clk    clock.Clock
	parser *jwt.Parser
}

// memberClaims are the claims of a member JWT.
type memberClaims struct {
	Tenant     string `json:"tnt"`
	Generation uint64 `json:"gen,omitempty"`
	jwt.RegisteredClaims
}

// MemberToken is a member token's verified claims.
type MemberToken struct {
	Tenant, MemberID string
	// ID is the token's own id (its "jti"), by which it is revoked alone.
	ID string
	// Generation is the member's token generation at issue: a token below the member's current
	// one was revoked with all of the member's tokens.
	Generation            uint64
	IssueTime, ExpireTime time.Time
}

// Principal is the MEMBER principal the token authenticates.
func (t MemberToken) Principal() Principal {
	return Principal{Tenant: t.Tenant, Role: iamv1.Role_MEMBER, MemberID: t.MemberID, TokenID: t.ID}
}

// NewMemberTokens returns a MemberTokens signing with secret and telling time with clk. A secret
// shorter than MinTokenSecret bytes is refused at use: Issue and Verify then always fail, so a
// misconfiguration can never make tokens forgeable.
func NewMemberTokens(secret []byte, clk clock.Clock) *MemberTokens {
	return &MemberTokens{
		secret: append([]byte(nil), secret...),
		clk:    clk,
		// The time claims are checked by Parse itself, against the injected clock and with the
		// skew allowed for the issue time only (the parser's leeway would stretch the expiry too).
		parser: jwt.NewParser(jwt.WithValidMethods([]string{jwt.SigningMethodHS256.Alg()}), jwt.WithoutClaimsValidation()),
	}
}

// Issue returns a token for member memberID of tenant, valid for ttl (at most MaxTokenTTL), of
// token generation 0. The member service issues through IssueToken, with the member's current
// generation.
//
// Errors: as IssueToken.
func (t *MemberTokens) Issue(tenant, memberID string, ttl time.Duration) (string, error) {
	s, _, err := t.IssueToken(tenant, memberID, ttl, 0)
	return s, err
}

// IssueToken returns a new token for member memberID of tenant, valid for ttl, carrying a fresh
// id and generation, and the token's claims.
//
// Errors: Invalid for a bad tenant, an empty member id or a ttl out of range (0, MaxTokenTTL];
// a plain error when the secret is too short.
func (t *MemberTokens) IssueToken(tenant, memberID string, ttl time.Duration, generation uint64) (string, MemberToken, error) {
	if len(t.secret) < MinTokenSecret {
		return "", MemberToken{}, fmt.Errorf("auth: member token secret must be at least %d bytes", MinTokenSecret)
	}
	var v apperr.Violations
	if !ValidTenant(tenant) {
		v.Add("tenant", "must match ^[a-z0-9][a-z0-9-]{0,62}$")
	}
	if memberID == "" {
		v.Add("member_id", "required")
	}
	if ttl <= 0 || ttl > MaxTokenTTL {
		v.Add("ttl", "must be positive and at most %s", MaxTokenTTL)
	}
	if err := v.Err(); err != nil {
		return "", MemberToken{}, err
	}
	// Whole seconds, as the claims carry them, so the claims returned are the token's.
	now := t.clk.Now().UTC().Truncate(time.Second)
	mt := MemberToken{Tenant: tenant, MemberID: memberID, ID: ids.New(), Generation: generation,
		IssueTime: now, ExpireTime: now.Add(ttl).Truncate(time.Second)}
	claims := &memberClaims{
		Tenant:     tenant,
		Generation: generation,
		RegisteredClaims: jwt.RegisteredClaims{
			Issuer:    TokenIssuer,
			Subject:   memberID,
			ID:        mt.ID,
			IssuedAt:  jwt.NewNumericDate(mt.IssueTime),
			ExpiresAt: jwt.NewNumericDate(mt.ExpireTime),
		},
	}
	s, err := jwt.NewWithClaims(jwt.SigningMethodHS256, claims).SignedString(t.secret)
	if err != nil {
		return "", MemberToken{}, fmt.Errorf("auth: sign member token: %w", err)
	}
	return s, mt, nil
}

// Parse verifies token's signature and claims (issuer, subject, tenant, id, issue time no later
// than TokenClockSkew ahead, not yet expired, lifetime at most MaxTokenTTL, not used before its
// "nbf") and returns them. It does not know about revocation: see RevocableTokens.
//
// Errors: Unauthenticated with reason TOKEN_EXPIRED for an expired token and INVALID_TOKEN for
// anything else that does not verify.
func (t *MemberTokens) Parse(token string) (MemberToken, error) {
	if len(t.secret) < MinTokenSecret {
		return MemberToken{}, apperr.E(apperr.Unauthenticated, ReasonInvalidToken, "member tokens are not enabled")
	}
	var c memberClaims
	if _, err := t.parser.ParseWithClaims(token, &c, func(*jwt.Token) (any, error) { return t.secret, nil }); err != nil {
		return MemberToken{}, invalidToken("invalid member token")
	}
	if c.Issuer != TokenIssuer || c.Subject == "" || c.ID == "" || !ValidTenant(c.Tenant) {
		return MemberToken{}, invalidToken("invalid member token")
	}
	if c.ExpiresAt == nil || c.IssuedAt == nil {
		return MemberToken{}, invalidToken("a member token needs an issue time and an expiry")
	}
	now := t.clk.Now()
	iat, exp := c.IssuedAt.UTC(), c.ExpiresAt.UTC()
	switch {
	case !now.Before(exp):
		return MemberToken{}, apperr.E(apperr.Unauthenticated, ReasonTokenExpired, "member token expired")
	case !exp.After(iat) || exp.Sub(iat) > MaxTokenTTL:
		return MemberToken{}, invalidToken("a member token may live at most %s", MaxTokenTTL)
	case iat.After(now.Add(TokenClockSkew)):
		return MemberToken{}, invalidToken("member token issued in the future")
	case c.NotBefore != nil && c.NotBefore.After(now.Add(TokenClockSkew)):
		return MemberToken{}, invalidToken("member token not valid yet")
	}
	return MemberToken{Tenant: c.Tenant, MemberID: c.Subject, ID: c.ID, Generation: c.Generation, IssueTime: iat, ExpireTime: exp}, nil
}

func invalidToken(format string, args ...any) error {
	return apperr.E(apperr.Unauthenticated, ReasonInvalidToken, format, args...)
}

// Verify checks token as Parse does and returns its MEMBER principal. Errors: as Parse.
func (t *MemberTokens) Verify(token string) (Principal, error) {
	mt, err := t.Parse(token)
	if err != nil {
		return Principal{}, err
	}
	return mt.Principal(), nil
}

// Authenticate implements Authenticator with Verify: signature and claims only, for processes
// where no service revokes tokens.
func (t *MemberTokens) Authenticate(_ context.Context, bearer string) (Principal, error) {
	return t.Verify(bearer)
}

// TokenStatus says whether a member token that verified may still be used. The service that
// issues member tokens knows (the member service); other processes ask it (RemoteTokens).
type TokenStatus interface {
	// CheckToken returns nil when t may be used; an Unauthenticated *apperr.Error with reason
	// TOKEN_REVOKED when it was revoked (alone, with all of its member's tokens, or because its
	// member was closed, erased or never existed); another error when it cannot tell.
	CheckToken(ctx context.Context, t MemberToken) error
}

// ErrTokenRevoked is the error of a revoked member token.
func ErrTokenRevoked() error {
	return apperr.E(apperr.Unauthenticated, ReasonTokenRevoked, "member token revoked")
}

// RevocableTokens authenticates member tokens: Tokens verifies them, Status says whether they
// were revoked. Without a Status it is Tokens alone.
type RevocableTokens struct {
	Tokens *MemberTokens
	Status TokenStatus
}

// Authenticate implements Authenticator.
func (r RevocableTokens) Authenticate(ctx context.Context, bearer string) (Principal, error) {
	mt, err := r.Tokens.Parse(bearer)
	if err != nil {
		return Principal{}, err
	}
	if r.Status != nil {
		if err := r.Status.CheckToken(ctx, mt); err != nil {
			return Principal{}, err
		}
	}
	return mt.Principal(), nil
}

// IsRevoked reports whether err is CheckToken's TOKEN_REVOKED.
func IsRevoked(err error) bool {
	var ae *apperr.Error
	return errors.As(err, &ae) && ae.Reason == ReasonTokenRevoked
}
