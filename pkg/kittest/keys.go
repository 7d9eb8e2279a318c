package kittest

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"sync"

	"github.com/huiyuan-dev/huiyuan/pkg/apperr"
	"github.com/huiyuan-dev/huiyuan/pkg/auth"

	iamv1 "github.com/huiyuan-dev/huiyuan/gen/huiyuan/iam/v1"
)

// Keys is an API key authenticator for tests: a key for each (tenant, role) is made on first
// use, and Revoke turns one off. It stands in for the iam service.
type Keys struct {
	mu      sync.Mutex
	byPair  map[[2]string]string      // (tenant, role) -> secret
	secrets map[string]auth.Principal // secret -> principal
}

// NewKeys returns an empty Keys.
func NewKeys() *Keys {
	return &Keys{byPair: map[[2]string]string{}, secrets: map[string]auth.Principal{}}
}

// Key returns the secret of tenant's key with role, making it on first use.
func (k *Keys) Key(tenant string, role iamv1.Role) string {
	k.mu.Lock()
	defer k.mu.Unlock()
	pair := [2]string{tenant, role.String()}
	if s, ok := k.byPair[pair]; ok {
		return s
	}
	raw := make([]byte, 32)
	_, _ = rand.Read(raw)
	s := auth.SecretPrefix + base64.RawURLEncoding.EncodeToString(raw)
	k.byPair[pair] = s
	k.secrets[s] = auth.Principal{Tenant: tenant, Role: role, KeyID: "key-" + tenant + "-" + role.String()}
	return s
}

// Revoke makes secret fail to authenticate from now on.
func (k *Keys) Revoke(secret string) {
	k.mu.Lock()
	delete(k.secrets, secret)
	k.mu.Unlock()
}

// Authenticate implements auth.Authenticator.
func (k *Keys) Authenticate(_ context.Context, bearer string) (auth.Principal, error) {
	k.mu.Lock()
	p, ok := k.secrets[bearer]
	k.mu.Unlock()
	if !ok {
		return auth.Principal{}, apperr.E(apperr.Unauthenticated, auth.ReasonInvalidAPIKey, "invalid API key")
	}
	return p, nil
}
