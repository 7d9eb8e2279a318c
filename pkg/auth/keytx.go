package auth

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	bolt "go.etcd.io/bbolt"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/huiyuan-dev/huiyuan/pkg/apperr"
	"github.com/huiyuan-dev/huiyuan/pkg/boltx"
	"github.com/huiyuan-dev/huiyuan/pkg/ids"

	iamv1 "github.com/huiyuan-dev/huiyuan/gen/huiyuan/iam/v1"
	platformv1 "github.com/huiyuan-dev/huiyuan/gen/huiyuan/platform/v1"
)

// SecretPrefix starts every generated API key secret, so leaked keys are easy to grep for.
const SecretPrefix = "hy_"

// MaxDisplayName is the longest display name of a key, in characters.
const MaxDisplayName = 100

// ReasonAPIKeyNotFound is the reason of the NotFound error for an unknown key id.
const ReasonAPIKeyNotFound = "API_KEY_NOT_FOUND"

// KeyTx is the key store inside one read-write transaction (see KeyStore.Update). It is only
// valid during that call.
type KeyTx struct {
	store   *KeyStore
	tx      *bolt.Tx
	revoked [][sha256.Size]byte
}

// Bolt returns the underlying transaction, for writes that must commit with the key change.
func (t *KeyTx) Bolt() *bolt.Tx { return t.tx }

// Create makes a key of role (ADMIN, OPERATOR, SERVICE or ANALYST) for tenant and returns its
// record and its secret ("hy_" + 43 base64url characters of 32 random bytes).
//
// Errors: Invalid with field violations on "tenant", "display_name" and "role".
func (t *KeyTx) Create(tenant, displayName string, role iamv1.Role) (*platformv1.ApiKeyRecord, string, error) {
	var v apperr.Violations
	CheckKeyFields(&v, "", tenant, displayName, role)
	if err := v.Err(); err != nil {
		return nil, "", err
	}
	var raw [32]byte
	_, _ = rand.Read(raw[:]) // crypto/rand.Read never fails (it aborts the program instead)
	secret := SecretPrefix + base64.RawURLEncoding.EncodeToString(raw[:])
	rec, err := t.put(tenant, displayName, role, secret)
	if err != nil {
		return nil, "", err
	}
	return rec, secret, nil
}

// CheckKeyFields adds to v what is wrong with a key's tenant, display name and role; field names
// are prefixed with prefix ("api_key." gives "api_key.role"). Keys never get the MEMBER role.
func CheckKeyFields(v *apperr.Violations, prefix, tenant, displayName string, role iamv1.Role) {
	if !ValidTenant(tenant) {
		v.Add(prefix+"tenant", "must be 1-63 lowercase letters, digits or dashes, not starting with a dash")
	}
	switch n := utf8.RuneCountInString(displayName); {
	case strings.TrimSpace(displayName) == "":
		v.Add(prefix+"display_name", "required")
	case !utf8.ValidString(displayName) || n > MaxDisplayName:
		v.Add(prefix+"display_name", "must be valid UTF-8 of at most %d characters", MaxDisplayName)
	case strings.ContainsFunc(displayName, unicode.IsControl):
		v.Add(prefix+"display_name", "must not contain control characters")
	}
	switch role {
	case iamv1.Role_ADMIN, iamv1.Role_OPERATOR, iamv1.Role_SERVICE, iamv1.Role_ANALYST:
	default:
		v.Add(prefix+"role", "must be ADMIN, OPERATOR, SERVICE or ANALYST")
	}
}

// put stores a new active key with the given secret.
func (t *KeyTx) put(tenant, displayName string, role iamv1.Role, secret string) (*platformv1.ApiKeyRecord, error) {
	h := sha256.Sum256([]byte(secret))
	hashes := t.tx.Bucket([]byte(bucketHashes))
	if hashes.Get(h[:]) != nil {
		// Only possible for a chosen secret (Bootstrap): random ones do not collide.
		return nil, apperr.E(apperr.AlreadyExists, "API_KEY_EXISTS", "a key with this secret already exists")
	}
	rec := &platformv1.ApiKeyRecord{
		Id:          ids.New(),
		Tenant:      tenant,
		Role:        int32(role),
		DisplayName: displayName,
		SecretHash:  h[:],
		CreateTime:  timestamppb.New(t.store.clk.Now()),
	}
	key := boltx.Key(tenant, rec.Id)
	if err := boltx.PutProto(t.tx.Bucket([]byte(bucketKeys)), key, rec); err != nil {
		return nil, fmt.Errorf("auth: put key: %w", err)
	}
	if err := hashes.Put(h[:], key); err != nil {
		return nil, fmt.Errorf("auth: put key hash: %w", err)
	}
	if err := t.tx.Bucket([]byte(bucketIDs)).Put([]byte(rec.Id), []byte(tenant)); err != nil {
		return nil, fmt.Errorf("auth: put key id: %w", err)
	}
	return rec, nil
}

// Get returns key id of tenant.
//
// Errors: NotFound with reason API_KEY_NOT_FOUND, also for another tenant's key.
func (t *KeyTx) Get(tenant, id string) (*platformv1.ApiKeyRecord, error) {
	rec := &platformv1.ApiKeyRecord{}
	ok, err := boltx.GetProto(t.tx.Bucket([]byte(bucketKeys)), boltx.Key(tenant, id), rec)
	if err != nil {
		return nil, fmt.Errorf("auth: get key: %w", err)
	}
	if !ok {
		return nil, apperr.E(apperr.NotFound, ReasonAPIKeyNotFound, "API key %q not found", id).With("id", id)
	}
	return rec, nil
}

// TenantOfKey returns the tenant that key id belongs to, for the installation operator, who may
// manage every tenant's keys.
func (t *KeyTx) TenantOfKey(id string) (string, bool) {
	v := t.tx.Bucket([]byte(bucketIDs)).Get([]byte(id))
	if v == nil {
		return "", false
	}
	return string(v), true
}

// Revoke revokes key id of tenant, effective when the transaction commits; revoking a revoked
// key returns it unchanged.
//
// Errors: NotFound with reason API_KEY_NOT_FOUND, also for another tenant's key.
func (t *KeyTx) Revoke(tenant, id string) (*platformv1.ApiKeyRecord, error) {
	rec, err := t.Get(tenant, id)
	if err != nil {
		return nil, err
	}
	if rec.RevokeTime != nil {
		return rec, nil
	}
	rec.RevokeTime = timestamppb.New(t.store.clk.Now())
	if err := boltx.PutProto(t.tx.Bucket([]byte(bucketKeys)), boltx.Key(tenant, id), rec); err != nil {
		return nil, fmt.Errorf("auth: revoke key: %w", err)
	}
	var h [sha256.Size]byte
	copy(h[:], rec.SecretHash)
	t.revoked = append(t.revoked, h)
	return rec, nil
}

// MaxRateLimit is the highest per-key rate limit, in requests per second.
const MaxRateLimit = 1_000_000

// Update changes key id of tenant with fn, which may set its display name and rate limit;
// the change is checked, saved, and effective for authentication when the transaction commits.
//
// Errors: NotFound with reason API_KEY_NOT_FOUND; Invalid with violations on "display_name" and
// "rate_limit"; FailedPrecondition API_KEY_REVOKED for a revoked key.
func (t *KeyTx) Update(tenant, id string, fn func(*platformv1.ApiKeyRecord)) (*platformv1.ApiKeyRecord, error) {
	rec, err := t.Get(tenant, id)
	if err != nil {
		return nil, err
	}
	if rec.RevokeTime != nil {
		return nil, apperr.E(apperr.FailedPrecondition, ReasonAPIKeyRevoked, "API key %q is revoked", id).With("id", id)
	}
	fn(rec)
	var v apperr.Violations
	CheckKeyFields(&v, "", rec.GetTenant(), rec.GetDisplayName(), iamv1.Role(rec.GetRole()))
	if rec.RateLimit != nil && (rec.GetRateLimit() < 0 || rec.GetRateLimit() > MaxRateLimit) {
		v.Add("rate_limit", "must be 0 (unlimited) to %d requests per second", MaxRateLimit)
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	if err := boltx.PutProto(t.tx.Bucket([]byte(bucketKeys)), boltx.Key(tenant, id), rec); err != nil {
		return nil, fmt.Errorf("auth: update key: %w", err)
	}
	var h [sha256.Size]byte
	copy(h[:], rec.SecretHash)
	t.revoked = append(t.revoked, h) // evicted from the cache: the next call reads the new limit
	return rec, nil
}

// ReasonAPIKeyRevoked is the reason of the FailedPrecondition error for changing a revoked key.
const ReasonAPIKeyRevoked = "API_KEY_REVOKED"

// List returns tenant's keys, oldest first (ids are time-ordered).
func (t *KeyTx) List(tenant string) ([]*platformv1.ApiKeyRecord, error) {
	var out []*platformv1.ApiKeyRecord
	prefix := boltx.TenantPrefix(tenant)
	c := t.tx.Bucket([]byte(bucketKeys)).Cursor()
	for k, v := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
		rec := &platformv1.ApiKeyRecord{}
		if err := proto.Unmarshal(v, rec); err != nil {
			return nil, fmt.Errorf("auth: list keys: decode %q: %w", k, err)
		}
		out = append(out, rec)
	}
	return out, nil
}

// byHash returns the record whose secret hashes to h, or nil.
func (t *KeyTx) byHash(h []byte) (*platformv1.ApiKeyRecord, error) {
	key := t.tx.Bucket([]byte(bucketHashes)).Get(h)
	if key == nil {
		return nil, nil
	}
	rec := &platformv1.ApiKeyRecord{}
	ok, err := boltx.GetProto(t.tx.Bucket([]byte(bucketKeys)), key, rec)
	if err != nil {
		return nil, fmt.Errorf("auth: get key by hash: %w", err)
	}
	if !ok {
		return nil, nil
	}
	return rec, nil
}
