package auth

import (
	"context"
	"crypto/sha256"
	"sync"
	"time"

	"github.com/huiyuan-dev/huiyuan/pkg/clock"

	iamv1 "github.com/huiyuan-dev/huiyuan/gen/huiyuan/iam/v1"
)

// DefaultRemoteKeyTTL is how long RemoteKeys trusts an answer of the iam service. Revocation
// events evict at once; the TTL bounds how long a revocation whose event was lost (a broker
// outage) can go unnoticed.
const DefaultRemoteKeyTTL = time.Second

// RemoteKeys authenticates API keys through the iam service (KeyAuthService), for the processes
// that do not hold the key store, and caches each answer for a TTL. Only the secret's SHA-256
// crosses the network. Failed authentications are not cached, so a key works as soon as it is
// created. It is safe for concurrent use.
type RemoteKeys struct {
	client iamv1.KeyAuthServiceClient
	ttl    time.Duration
	clk    clock.Clock

	mu    sync.Mutex
	cache map[[sha256.Size]byte]remoteEntry
	byKey map[string][sha256.Size]byte // key id -> hash, for eviction by a revocation event
	gen   uint64                       // counts evictions, as in KeyStore
}

type remoteEntry struct {
	p       Principal
	expires time.Time
}

// NewRemoteKeys returns RemoteKeys asking client (a connection to iam carrying a service token),
// trusting answers for ttl (DefaultRemoteKeyTTL when <= 0).
func NewRemoteKeys(client iamv1.KeyAuthServiceClient, ttl time.Duration, clk clock.Clock) *RemoteKeys {
	if ttl <= 0 {
		ttl = DefaultRemoteKeyTTL
	}
	return &RemoteKeys{client: client, ttl: ttl, clk: clk,
		cache: make(map[[sha256.Size]byte]remoteEntry), byKey: make(map[string][sha256.Size]byte)}
}

// Authenticate implements Authenticator. Errors: Unauthenticated with reason INVALID_API_KEY for
// an unknown or revoked key; the iam service's status when it cannot be reached.
func (r *RemoteKeys) Authenticate(ctx context.Context, bearer string) (Principal, error) {
	h, ok := HashSecret(bearer)
	if !ok {
		return Principal{}, errInvalidKey()
	}
	now := r.clk.Now()
	r.mu.Lock()
	e, hit := r.cache[h]
	gen := r.gen
	r.mu.Unlock()
	if hit && now.Before(e.expires) {
		return e.p, nil
	}
	resp, err := r.client.AuthenticateKey(ctx, &iamv1.AuthenticateKeyRequest{SecretHash: h[:]})
	if err != nil {
		return Principal{}, err
	}
	p := Principal{Tenant: resp.GetTenant(), Role: resp.GetRole(), KeyID: resp.GetKeyId(), RateLimit: RateLimit(resp.GetRateLimit())}
	r.mu.Lock()
	if len(r.cache) >= maxRemoteEntries {
		r.sweep(now)
	}
	if r.gen == gen {
		r.cache[h] = remoteEntry{p: p, expires: now.Add(r.ttl)}
		r.byKey[p.KeyID] = h
	}
	r.mu.Unlock()
	return p, nil
}

// maxRemoteEntries is the cache size at which expired entries are swept out.
const maxRemoteEntries = 10000

// sweep drops expired entries; r.mu is held.
func (r *RemoteKeys) sweep(now time.Time) {
	for h, e := range r.cache {
		if !now.Before(e.expires) {
			delete(r.cache, h)
			delete(r.byKey, e.p.KeyID)
		}
	}
}

// Evict forgets key id at once: called for every api_key_revoked event.
func (r *RemoteKeys) Evict(keyID string) {
	r.mu.Lock()
	if h, ok := r.byKey[keyID]; ok {
		delete(r.cache, h)
		delete(r.byKey, keyID)
	}
	r.gen++
	r.mu.Unlock()
}
