package auth

import (
	"context"
	"strings"

	"github.com/huiyuan-dev/huiyuan/pkg/apperr"
)

// Bearer is the Authenticator of the suite: a service token goes to Services, another credential
// that looks like a JWT (three dot-separated parts) to Tokens, anything else to Keys. A nil field
// refuses its kind.
type Bearer struct {
	Keys     Authenticator  // API keys: a *KeyStore in the iam process, a *RemoteKeys elsewhere
	Tokens   Authenticator  // member JWTs, usually a *MemberTokens
	Services *ServiceTokens // other Huiyuan services
}

// Authenticate implements Authenticator.
func (b Bearer) Authenticate(ctx context.Context, bearer string) (Principal, error) {
	if LooksLikeJWT(bearer) {
		if b.Services != nil && b.Services.Claims(bearer) {
			return b.Services.Authenticate(ctx, bearer)
		}
		if b.Tokens == nil {
			return Principal{}, apperr.E(apperr.Unauthenticated, ReasonInvalidToken, "member tokens are not accepted here")
		}
		return b.Tokens.Authenticate(ctx, bearer)
	}
	if b.Keys == nil {
		return Principal{}, apperr.E(apperr.Unauthenticated, ReasonInvalidAPIKey, "API keys are not accepted here")
	}
	return b.Keys.Authenticate(ctx, bearer)
}

// LooksLikeJWT reports whether s has the compact JWS shape: three non-empty parts joined by dots.
// API key secrets never contain a dot.
func LooksLikeJWT(s string) bool {
	i := strings.IndexByte(s, '.')
	if i <= 0 {
		return false
	}
	rest := s[i+1:]
	j := strings.IndexByte(rest, '.')
	return j > 0 && j < len(rest)-1 && strings.IndexByte(rest[j+1:], '.') < 0
}

// ParseAuthorization extracts the credential from an "Authorization: Bearer <x>" value. The scheme
// is case-insensitive (RFC 9110). It reports false for any other shape, including a credential
// with spaces or control characters.
func ParseAuthorization(value string) (string, bool) {
	const scheme = "bearer "
	if len(value) <= len(scheme) || !strings.EqualFold(value[:len(scheme)], scheme) {
		return "", false
	}
	token := strings.TrimSpace(value[len(scheme):])
	if token == "" || strings.ContainsFunc(token, func(r rune) bool { return r <= ' ' || r == 0x7f }) {
		return "", false
	}
	return token, true
}
