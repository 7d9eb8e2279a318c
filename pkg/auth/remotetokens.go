package auth

import (
	"context"
	"sync"
	"time"

	"github.com/huiyuan-dev/huiyuan/pkg/clock"
)

// RemoteTokens checks member tokens through the service that revokes them, for the processes
// that do not host it, the way RemoteKeys checks API keys: a token found usable is trusted for a
// TTL, and revocation events (Evict) drop that trust at once, so a revoked token is refused
// immediately when the event arrives and within the TTL when it is lost. A revoked token stays
// refused without asking again until it expires (revocation is final). It is safe for
// concurrent use.
type RemoteTokens struct {
	remote TokenStatus
	ttl    time.Duration
	clk    clock.Clock

	mu      sync.Mutex
	usable  map[tokenKey]time.Time // trusted until
	revoked map[tokenKey]time.Time // refused until the token's expiry
	gen     uint64                 // counts evictions, so an answer older than one is not cached
}

type tokenKey struct{ tenant, member, id string }

// maxRemoteTokens is the size of either map at which expired entries are swept out.
const maxRemoteTokens = 10000

// NewRemoteTokens returns RemoteTokens asking remote, trusting an answer that a token is usable
// for ttl (DefaultRemoteKeyTTL when <= 0).
func NewRemoteTokens(remote TokenStatus, ttl time.Duration, clk clock.Clock) *RemoteTokens {
	if ttl <= 0 {
		ttl = DefaultRemoteKeyTTL
	}
	return &RemoteTokens{remote: remote, ttl: ttl, clk: clk, usable: map[tokenKey]time.Time{}, revoked: map[tokenKey]time.Time{}}
}

// CheckToken implements TokenStatus. Errors: TOKEN_REVOKED; the remote service's error when it
// cannot be asked (the token is then refused: revocation fails closed).
func (r *RemoteTokens) CheckToken(ctx context.Context, t MemberToken) error {
	k := tokenKey{t.Tenant, t.MemberID, t.ID}
	now := r.clk.Now()
	r.mu.Lock()
	until, ok := r.usable[k]
	_, refused := r.revoked[k]
	gen := r.gen
	r.mu.Unlock()
	switch {
	case refused:
		return ErrTokenRevoked()
	case ok && now.Before(until):
		return nil
	}
	err := r.remote.CheckToken(ctx, t)
	if err != nil && !IsRevoked(err) {
		return err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	switch {
	case err != nil:
		if len(r.revoked) >= maxRemoteTokens {
			sweepTokens(r.revoked, now)
		}
		r.revoked[k] = t.ExpireTime
	case r.gen == gen:
		if len(r.usable) >= maxRemoteTokens {
			sweepTokens(r.usable, now)
		}
		r.usable[k] = now.Add(r.ttl)
	}
	return err
}

// sweepTokens drops the entries of m that ended at or before now; when none did (a flood of distinct
// tokens), it drops them all: forgetting only costs a question to the remote service.
func sweepTokens(m map[tokenKey]time.Time, now time.Time) {
	n := len(m)
	for k, until := range m {
		if !now.Before(until) {
			delete(m, k)
		}
	}
	if len(m) == n {
		clear(m)
	}
}

// TokenRevocation is a revocation event: token TokenID of a member, or all of the member's tokens
// when TokenID is empty.
type TokenRevocation struct {
	Tenant, MemberID, TokenID string
}

// Evict forgets that the tokens rev names were usable, so the next use asks again: called for
// every revocation event.
func (r *RemoteTokens) Evict(rev TokenRevocation) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.gen++
	if rev.TokenID != "" {
		delete(r.usable, tokenKey{rev.Tenant, rev.MemberID, rev.TokenID})
		return
	}
	for k := range r.usable {
		if k.tenant == rev.Tenant && k.member == rev.MemberID {
			delete(r.usable, k)
		}
	}
}
