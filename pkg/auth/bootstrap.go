package auth

import (
	"context"
	"crypto/sha256"
	"strings"

	"github.com/huiyuan-dev/huiyuan/pkg/apperr"

	iamv1 "github.com/huiyuan-dev/huiyuan/gen/huiyuan/iam/v1"
	platformv1 "github.com/huiyuan-dev/huiyuan/gen/huiyuan/platform/v1"
)

// Bootstrap secret limits: long enough to resist guessing, never JWT-shaped.
const (
	MinBootstrapSecret = 16
	maxBootstrapSecret = 256
)

// BootstrapName is the display name of the key Bootstrap creates.
const BootstrapName = "bootstrap admin (HUIYUAN_ADMIN_KEY)"

// Bootstrap ensures an active ADMIN key of tenant whose secret is secret exists (for
// HUIYUAN_ADMIN_KEY). It is idempotent across restarts: the first call creates the key, later
// calls find it and change nothing.
//
// Errors: Invalid for a bad tenant or a secret that is shorter than MinBootstrapSecret, longer
// than 256 bytes, or contains whitespace, control characters or dots; FailedPrecondition with
// reason BOOTSTRAP_KEY_CONFLICT when the secret belongs to a key of another tenant or role, and
// BOOTSTRAP_KEY_REVOKED when that key was revoked (a revocation is never undone by a restart:
// choose a new secret).
func (s *KeyStore) Bootstrap(ctx context.Context, tenant, secret string) (*platformv1.ApiKeyRecord, error) {
	var v apperr.Violations
	if !ValidTenant(tenant) {
		v.Add("tenant", "must be 1-63 lowercase letters, digits or dashes")
	}
	if len(secret) < MinBootstrapSecret || len(secret) > maxBootstrapSecret ||
		strings.ContainsFunc(secret, func(r rune) bool { return r <= ' ' || r == '.' || r == 0x7f || r > 0x7e }) {
		v.Add("secret", "must be %d to %d printable ASCII characters without spaces or dots", MinBootstrapSecret, maxBootstrapSecret)
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	var rec *platformv1.ApiKeyRecord
	err := s.Update(ctx, func(tx *KeyTx) error {
		h := sha256.Sum256([]byte(secret))
		existing, err := tx.byHash(h[:])
		if err != nil {
			return err
		}
		switch {
		case existing == nil:
			rec, err = tx.put(tenant, BootstrapName, iamv1.Role_ADMIN, secret)
			return err
		case existing.GetTenant() != tenant || iamv1.Role(existing.GetRole()) != iamv1.Role_ADMIN:
			return apperr.E(apperr.FailedPrecondition, "BOOTSTRAP_KEY_CONFLICT",
				"the bootstrap secret belongs to another key (tenant %q, role %s)", existing.GetTenant(), iamv1.Role(existing.GetRole()))
		case existing.GetRevokeTime() != nil:
			return apperr.E(apperr.FailedPrecondition, "BOOTSTRAP_KEY_REVOKED",
				"the bootstrap admin key %s was revoked; set a new secret", existing.GetId())
		}
		rec = existing
		return nil
	})
	if err != nil {
		return nil, err
	}
	return rec, nil
}

// EnsureAdmin creates an ADMIN key for tenant unless the tenant already has an active one, for a
// first start without HUIYUAN_ADMIN_KEY. It returns the new secret, or "" when a key existed.
// Errors as for KeyTx.Create.
func (s *KeyStore) EnsureAdmin(ctx context.Context, tenant, displayName string) (string, error) {
	var secret string
	err := s.Update(ctx, func(tx *KeyTx) error {
		keys, err := tx.List(tenant)
		if err != nil {
			return err
		}
		for _, k := range keys {
			if iamv1.Role(k.GetRole()) == iamv1.Role_ADMIN && k.GetRevokeTime() == nil {
				return nil
			}
		}
		_, secret, err = tx.Create(tenant, displayName, iamv1.Role_ADMIN)
		return err
	})
	if err != nil {
		return "", err
	}
	return secret, nil
}
