package member

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/huiyuan-dev/huiyuan/pkg/apperr"
	"github.com/huiyuan-dev/huiyuan/pkg/ids"
)

// Member token rules. Tokens are verified in every process from their signature and claims; this
// service decides whether a verified token is still good: its member exists and is neither closed
// nor erased, it was not revoked alone, and it is not older than its member's last revocation of
// all tokens (the token generation it carries is the member's current one).
const (
	// MaxTokenTTL is the longest a token may live (the verifiers refuse longer lifetimes).
	MaxTokenTTL = 30 * 24 * time.Hour
	// DefaultTokenTTL is a token's life when the request does not say.
	DefaultTokenTTL = 24 * time.Hour
	// revocationKeep is how long a token's own revocation matters: the token was issued before
	// it and expires at most MaxTokenTTL after its issue (a minute spares the clocks' skew).
	revocationKeep = MaxTokenTTL + time.Minute
)

// ReasonNotActive is the FailedPrecondition reason for issuing a token to a member that is not
// ACTIVE.
const ReasonNotActive = "MEMBER_NOT_ACTIVE"

// RevokeCause says why tokens were revoked.
type RevokeCause int32

// The causes. The numbers match huiyuan.member.v1.MemberTokensRevokedEvent.Cause.
const (
	RevokeUnspecified RevokeCause = iota
	RevokeRequested
	RevokeClosed
	RevokeErased
)

// TokensRevoked says that tokens of a member were revoked: token TokenID alone, or (TokenID
// empty) every token issued before At, whose member's token generation the store then raises. It
// is both the answer of a revocation and its event.
type TokensRevoked struct {
	MemberID  string
	TokenID   string
	Cause     RevokeCause
	At        time.Time
	KeepUntil time.Time // for one token: when its revocation can be forgotten
}

// Type implements Event.
func (TokensRevoked) event() {}

// TokenState is what a member's tokens depend on.
type TokenState struct {
	Status Status
	// Generation is the member's token generation: tokens issued with a lower one were revoked
	// with all of the member's tokens.
	Generation uint64
	// Revoked reports that the token asked about was revoked on its own.
	Revoked bool
}

// IssuedToken is a token IssueToken made.
type IssuedToken struct {
	Token      string
	ID         string
	ExpireTime time.Time
}

// TokenSigner signs member tokens (auth.MemberTokens in production).
type TokenSigner interface {
	// SignToken returns a token for member memberID of tenant, living ttl, carrying generation.
	SignToken(tenant, memberID string, ttl time.Duration, generation uint64) (IssuedToken, error)
}

// IssueToken issues a token for member id, living ttl (DefaultTokenTTL when 0).
// Errors: Invalid on "ttl"; NotFound; FailedPrecondition MEMBER_NOT_ACTIVE for a member that is
// frozen, closed or erased.
func (s *Service) IssueToken(ctx context.Context, tenant, id string, ttl time.Duration) (IssuedToken, error) {
	switch {
	case ttl == 0:
		ttl = DefaultTokenTTL
	case ttl < 0 || ttl > MaxTokenTTL:
		return IssuedToken{}, apperr.InvalidField("ttl", "must be positive and at most %s", MaxTokenTTL)
	}
	if s.signer == nil {
		return IssuedToken{}, errors.New("member: no token signer configured")
	}
	st, err := s.store.TokenState(ctx, tenant, id, "")
	if err != nil {
		return IssuedToken{}, fmt.Errorf("issue member token: %w", err)
	}
	if st.Status != StatusActive {
		return IssuedToken{}, apperr.E(apperr.FailedPrecondition, ReasonNotActive, "member %q is %s", id, st.Status).
			With("member_id", id).With("status", st.Status.String())
	}
	tok, err := s.signer.SignToken(tenant, id, ttl, st.Generation)
	if err != nil {
		return IssuedToken{}, fmt.Errorf("issue member token: %w", err)
	}
	return tok, nil
}

// RevokeToken revokes token tokenID of member id. Revoking it again, or a token of an erased
// member, records the revocation again; nothing breaks.
// Errors: Invalid on "token_id"; NotFound.
func (s *Service) RevokeToken(ctx context.Context, tenant, id, tokenID string) (TokensRevoked, error) {
	if !ids.Valid(tokenID) {
		return TokensRevoked{}, apperr.InvalidField("token_id", "must be a token id, as IssueMemberToken answered it")
	}
	rev, err := s.store.RevokeTokens(ctx, tenant, id, func(TokenState) (TokensRevoked, error) {
		now := s.clock.Now().UTC()
		return TokensRevoked{MemberID: id, TokenID: tokenID, Cause: RevokeRequested, At: now, KeepUntil: now.Add(revocationKeep)}, nil
	})
	if err != nil {
		return TokensRevoked{}, fmt.Errorf("revoke member token: %w", err)
	}
	return rev, nil
}

// RevokeTokens revokes every token of member id issued so far. Errors: NotFound.
func (s *Service) RevokeTokens(ctx context.Context, tenant, id string) (TokensRevoked, error) {
	rev, err := s.store.RevokeTokens(ctx, tenant, id, func(TokenState) (TokensRevoked, error) {
		return TokensRevoked{MemberID: id, Cause: RevokeRequested, At: s.clock.Now().UTC()}, nil
	})
	if err != nil {
		return TokensRevoked{}, fmt.Errorf("revoke member tokens: %w", err)
	}
	return rev, nil
}

// TokenRevoked reports whether token tokenID of member id, issued at generation, may no longer
// be used: its member is unknown, closed or erased, it was revoked alone, or all of the member's
// tokens were revoked after it was issued. Errors: storage errors only.
func (s *Service) TokenRevoked(ctx context.Context, tenant, id, tokenID string, generation uint64) (bool, error) {
	st, err := s.store.TokenState(ctx, tenant, id, tokenID)
	if apperr.CodeOf(err) == apperr.NotFound {
		return true, nil
	}
	if err != nil {
		return false, fmt.Errorf("check member token: %w", err)
	}
	return st.Revoked || generation < st.Generation || st.Status == StatusClosed || st.Status == StatusErased ||
		st.Status == StatusUnspecified, nil
}
