package auth

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"fmt"
	"sync"

	bolt "go.etcd.io/bbolt"

	"github.com/huiyuan-dev/huiyuan/pkg/apperr"
	"github.com/huiyuan-dev/huiyuan/pkg/boltx"
	"github.com/huiyuan-dev/huiyuan/pkg/clock"

	iamv1 "github.com/huiyuan-dev/huiyuan/gen/huiyuan/iam/v1"
	platformv1 "github.com/huiyuan-dev/huiyuan/gen/huiyuan/platform/v1"
)

// Bucket names of the key store.
const (
	bucketKeys   = "auth_keys"       // boltx.Key(tenant, id) -> ApiKeyRecord
	bucketHashes = "auth_key_hashes" // SHA-256(secret) -> boltx.Key(tenant, id)
	bucketIDs    = "auth_key_ids"    // id -> tenant, for the operator's cross-tenant revoke
)

// maxBearer bounds what Authenticate hashes; real secrets are 46 characters.
const maxBearer = 512

// Buckets returns the buckets a KeyStore uses, for boltx.Open. NewKeyStore also creates them.
func Buckets() [][]byte {
	return [][]byte{[]byte(bucketKeys), []byte(bucketHashes), []byte(bucketIDs)}
}

// KeyStore keeps API keys in a bbolt file: only the SHA-256 of each secret is stored, indexed so
// that Authenticate is one lookup. Secrets are 32 random bytes, so a fast unsalted hash is the
// right tool (there is nothing to brute-force). Valid keys are cached in memory because
// authentication runs on every request; Revoke evicts at once. It is safe for concurrent use.
type KeyStore struct {
	db  *boltx.DB
	clk clock.Clock

	mu    sync.RWMutex
	cache map[[sha256.Size]byte]Principal
	// gen counts evictions, so a lookup that raced with a Revoke does not re-insert the key
	// it read before the revocation committed.
	gen uint64
}

// NewKeyStore returns a KeyStore on db, creating its buckets if needed.
func NewKeyStore(db *boltx.DB, clk clock.Clock) (*KeyStore, error) {
	err := db.Update(context.Background(), func(tx *bolt.Tx) error {
		for _, b := range Buckets() {
			if _, err := tx.CreateBucketIfNotExists(b); err != nil {
				return fmt.Errorf("create bucket %s: %w", b, err)
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("auth: key store: %w", err)
	}
	return &KeyStore{db: db, clk: clk, cache: make(map[[sha256.Size]byte]Principal)}, nil
}

// Update runs fn in one read-write transaction of the store's database. Use it to combine key
// changes with other writes of the same transaction, such as idempotency records. Revoked keys
// stop authenticating before Update returns.
func (s *KeyStore) Update(ctx context.Context, fn func(tx *KeyTx) error) error {
	kt := &KeyTx{store: s}
	err := s.db.Update(ctx, func(tx *bolt.Tx) error {
		kt.tx = tx
		kt.revoked = kt.revoked[:0] // a retried fn starts over
		return fn(kt)
	})
	// Evict even on error: an extra miss is harmless, a stale hit is not.
	if len(kt.revoked) > 0 {
		s.evict(kt.revoked)
	}
	return err
}

// Create makes a key of role for tenant and returns its record and its secret, which is not
// stored and cannot be shown again. Errors as for KeyTx.Create.
func (s *KeyStore) Create(ctx context.Context, tenant, displayName string, role iamv1.Role) (*platformv1.ApiKeyRecord, string, error) {
	var rec *platformv1.ApiKeyRecord
	var secret string
	err := s.Update(ctx, func(tx *KeyTx) error {
		var err error
		rec, secret, err = tx.Create(tenant, displayName, role)
		return err
	})
	if err != nil {
		return nil, "", err
	}
	return rec, secret, nil
}

// Revoke revokes key id of tenant; it stops authenticating before Revoke returns. Revoking a
// revoked key returns it unchanged. Errors as for KeyTx.Revoke.
func (s *KeyStore) Revoke(ctx context.Context, tenant, id string) (*platformv1.ApiKeyRecord, error) {
	var rec *platformv1.ApiKeyRecord
	err := s.Update(ctx, func(tx *KeyTx) error {
		var err error
		rec, err = tx.Revoke(tenant, id)
		return err
	})
	if err != nil {
		return nil, err
	}
	return rec, nil
}

// List returns tenant's keys, revoked ones included, oldest first. Records never hold secrets.
func (s *KeyStore) List(ctx context.Context, tenant string) ([]*platformv1.ApiKeyRecord, error) {
	var out []*platformv1.ApiKeyRecord
	err := s.db.View(ctx, func(tx *bolt.Tx) error {
		var err error
		out, err = (&KeyTx{store: s, tx: tx}).List(tenant)
		return err
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// Authenticate implements Authenticator for API key secrets.
//
// Errors: Unauthenticated with reason INVALID_API_KEY for an unknown or revoked key (the same
// answer for both, so a caller learns nothing); other errors are storage failures.
func (s *KeyStore) Authenticate(ctx context.Context, bearer string) (Principal, error) {
	h, ok := HashSecret(bearer)
	if !ok {
		return Principal{}, errInvalidKey()
	}
	return s.AuthenticateHash(ctx, h)
}

// HashSecret returns the SHA-256 of an API key secret, the form in which keys are stored and
// looked up; false for a bearer too short or too long to be a key.
func HashSecret(bearer string) ([sha256.Size]byte, bool) {
	if len(bearer) == 0 || len(bearer) > maxBearer {
		return [sha256.Size]byte{}, false
	}
	var buf [maxBearer]byte // hashing a stack copy avoids a heap allocation per request
	return sha256.Sum256(buf[:copy(buf[:], bearer)]), true
}

// AuthenticateHash is Authenticate for a secret already hashed with HashSecret: what the iam
// service answers for the other processes, which never send it the secret itself.
func (s *KeyStore) AuthenticateHash(ctx context.Context, h [sha256.Size]byte) (Principal, error) {
	s.mu.RLock()
	p, ok := s.cache[h]
	gen := s.gen
	s.mu.RUnlock()
	if ok {
		return p, nil
	}
	var rec *platformv1.ApiKeyRecord
	err := s.db.View(ctx, func(tx *bolt.Tx) error {
		var err error
		rec, err = (&KeyTx{store: s, tx: tx}).byHash(h[:])
		return err
	})
	if err != nil {
		return Principal{}, err
	}
	// The hash index already matched; the constant-time compare guards the record it led to.
	if rec == nil || rec.GetRevokeTime() != nil || subtle.ConstantTimeCompare(rec.GetSecretHash(), h[:]) != 1 {
		return Principal{}, errInvalidKey()
	}
	role := iamv1.Role(rec.GetRole())
	p = Principal{Tenant: rec.GetTenant(), Role: role, KeyID: rec.GetId(), RateLimit: KeyRateLimit(role, rec.RateLimit)}
	s.mu.Lock()
	if s.gen == gen {
		s.cache[h] = p
	}
	s.mu.Unlock()
	return p, nil
}

// evict drops revoked hashes from the cache.
func (s *KeyStore) evict(hashes [][sha256.Size]byte) {
	s.mu.Lock()
	for _, h := range hashes {
		delete(s.cache, h)
	}
	s.gen++
	s.mu.Unlock()
}

func errInvalidKey() error {
	return apperr.E(apperr.Unauthenticated, ReasonInvalidAPIKey, "invalid API key")
}
