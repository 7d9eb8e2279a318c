// Package keyapi serves huiyuan.iam.v1.ApiKeyService on an auth.KeyStore (API.md "API keys").
//
// Keys are managed by ADMINs within their own tenant. Admins of the "default" tenant, the
// installation's operator, may also create keys for another tenant (which creates it) and revoke
// any tenant's key; everyone else sees other tenants' keys as nonexistent. Create and Revoke are
// idempotent by request_id, recorded in the key store's own transaction. A replayed Create
// answers the same key without its secret: the secret is shown once, and storing it for replays
// would undo hashing it.
package keyapi

import (
	"context"
	"fmt"

	"google.golang.org/protobuf/proto"

	"github.com/huiyuan-dev/huiyuan/pkg/apperr"
	"github.com/huiyuan-dev/huiyuan/pkg/auth"
	"github.com/huiyuan-dev/huiyuan/pkg/clock"
	"github.com/huiyuan-dev/huiyuan/pkg/eventlog"
	"github.com/huiyuan-dev/huiyuan/pkg/idempotency"

	iamv1 "github.com/huiyuan-dev/huiyuan/gen/huiyuan/iam/v1"
	platformv1 "github.com/huiyuan-dev/huiyuan/gen/huiyuan/platform/v1"
)

// Policy allows the service's methods to ADMINs only.
func Policy() auth.Policy {
	admin := []iamv1.Role{iamv1.Role_ADMIN}
	return auth.Policy{
		iamv1.ApiKeyService_CreateApiKey_FullMethodName: admin,
		iamv1.ApiKeyService_ListApiKeys_FullMethodName:  admin,
		iamv1.ApiKeyService_RevokeApiKey_FullMethodName: admin,
		iamv1.ApiKeyService_UpdateApiKey_FullMethodName: admin,
	}
}

// Server implements iamv1.ApiKeyServiceServer.
type Server struct {
	iamv1.UnimplementedApiKeyServiceServer
	keys   *auth.KeyStore
	clk    clock.Clock
	events *eventlog.Log
}

// New returns a Server on keys; clk stamps idempotency records. With events (the iam service's
// log, in the key store's database), every created and revoked key is also an event
// (api_key_created, api_key_revoked) in the same transaction: other processes evict revoked keys
// from their caches when they see it.
func New(keys *auth.KeyStore, clk clock.Clock, events *eventlog.Log) *Server {
	return &Server{keys: keys, clk: clk, events: events}
}

// Event types of the key service.
const (
	EventKeyCreated = "api_key_created"
	EventKeyRevoked = "api_key_revoked"
)

// emit appends an event of the key's tenant, when the server has a log.
func (s *Server) emit(tx *auth.KeyTx, tenant, eventType string, payload proto.Message) error {
	if s.events == nil {
		return nil
	}
	if _, err := s.events.Append(tx.Bolt(), tenant, eventType, payload, s.clk.Now()); err != nil {
		return fmt.Errorf("keyapi: %s event: %w", eventType, err)
	}
	return nil
}

// admin returns the calling ADMIN principal. The Policy already checks the role; checking again
// keeps a mis-wired policy from handing out keys.
func admin(ctx context.Context) (auth.Principal, error) {
	p, ok := auth.FromContext(ctx)
	if !ok {
		return p, apperr.E(apperr.Unauthenticated, auth.ReasonUnauthenticated, "credentials required")
	}
	if p.Role != iamv1.Role_ADMIN {
		return p, apperr.E(apperr.PermissionDenied, auth.ReasonPermissionDenied, "only admins manage API keys")
	}
	return p, nil
}

// CreateApiKey creates a key and returns its secret once.
//
// Errors: Invalid with violations on api_key, api_key.display_name, api_key.role (MEMBER is not
// a key role) and api_key.tenant, or REQUEST_ID_REUSED on request_id; PermissionDenied when a
// non-operator names another tenant.
func (s *Server) CreateApiKey(ctx context.Context, req *iamv1.CreateApiKeyRequest) (*iamv1.CreateApiKeyResponse, error) {
	p, err := admin(ctx)
	if err != nil {
		return nil, err
	}
	k := req.GetApiKey()
	if k == nil {
		return nil, apperr.InvalidField("api_key", "required")
	}
	tenant := k.GetTenant()
	if tenant == "" {
		tenant = p.Tenant
	}
	var v apperr.Violations
	auth.CheckKeyFields(&v, "api_key.", tenant, k.GetDisplayName(), k.GetRole())
	if err := v.Err(); err != nil {
		return nil, err
	}
	if tenant != p.Tenant && p.Tenant != auth.DefaultTenant {
		return nil, apperr.E(apperr.PermissionDenied, auth.ReasonPermissionDenied,
			"only admins of the %q tenant may create keys for another tenant", auth.DefaultTenant)
	}
	key, _ := idempotency.FromContext(ctx)
	var resp *iamv1.CreateApiKeyResponse
	var secret string
	err = s.keys.Update(ctx, func(tx *auth.KeyTx) error {
		resp, secret = &iamv1.CreateApiKeyResponse{}, ""
		done, err := idempotency.Replay(tx.Bolt(), key, resp)
		if err != nil || done {
			return err
		}
		rec, sec, err := tx.Create(tenant, k.GetDisplayName(), k.GetRole())
		if err != nil {
			return err
		}
		if limit := createLimit(k); limit != nil {
			if rec, err = tx.Update(tenant, rec.GetId(), func(r *platformv1.ApiKeyRecord) { r.RateLimit = limit }); err != nil {
				return prefixed(err, "api_key.")
			}
		}
		resp, secret = &iamv1.CreateApiKeyResponse{ApiKey: ToProto(rec)}, sec
		if err := s.emit(tx, tenant, EventKeyCreated, &iamv1.ApiKeyCreatedEvent{
			KeyId: rec.GetId(), Role: iamv1.Role(rec.GetRole()), DisplayName: rec.GetDisplayName(), CreateTime: rec.GetCreateTime(),
		}); err != nil {
			return err
		}
		return idempotency.SaveProto(tx.Bolt(), key, resp, s.clk.Now())
	})
	if err != nil {
		return nil, err
	}
	resp.Secret = secret
	return resp, nil
}

// ListApiKeys lists the caller's tenant's keys, revoked ones included, never with secrets.
func (s *Server) ListApiKeys(ctx context.Context, _ *iamv1.ListApiKeysRequest) (*iamv1.ListApiKeysResponse, error) {
	p, err := admin(ctx)
	if err != nil {
		return nil, err
	}
	recs, err := s.keys.List(ctx, p.Tenant)
	if err != nil {
		return nil, err
	}
	out := &iamv1.ListApiKeysResponse{ApiKeys: make([]*iamv1.ApiKey, len(recs))}
	for i, r := range recs {
		out.ApiKeys[i] = ToProto(r)
	}
	return out, nil
}

// RevokeApiKey revokes a key of the caller's tenant (any tenant for the operator); it stops
// working at once. Revoking a revoked key answers it unchanged.
//
// Errors: Invalid on id; NotFound (reason API_KEY_NOT_FOUND) for an unknown id or another
// tenant's key; Invalid REQUEST_ID_REUSED on request_id.
func (s *Server) RevokeApiKey(ctx context.Context, req *iamv1.RevokeApiKeyRequest) (*iamv1.RevokeApiKeyResponse, error) {
	p, err := admin(ctx)
	if err != nil {
		return nil, err
	}
	id := req.GetId()
	if id == "" {
		return nil, apperr.InvalidField("id", "required")
	}
	key, _ := idempotency.FromContext(ctx)
	var resp *iamv1.RevokeApiKeyResponse
	err = s.keys.Update(ctx, func(tx *auth.KeyTx) error {
		resp = &iamv1.RevokeApiKeyResponse{}
		done, err := idempotency.Replay(tx.Bolt(), key, resp)
		if err != nil || done {
			return err
		}
		tenant := p.Tenant
		if t, ok := tx.TenantOfKey(id); ok && p.Tenant == auth.DefaultTenant {
			tenant = t
		}
		already := false
		if prev, err := tx.Get(tenant, id); err == nil && prev.GetRevokeTime() != nil {
			already = true
		}
		rec, err := tx.Revoke(tenant, id)
		if err != nil {
			return err
		}
		resp = &iamv1.RevokeApiKeyResponse{ApiKey: ToProto(rec)}
		if !already {
			if err := s.emit(tx, tenant, EventKeyRevoked, &iamv1.ApiKeyRevokedEvent{KeyId: id, RevokeTime: rec.GetRevokeTime()}); err != nil {
				return err
			}
		}
		return idempotency.SaveProto(tx.Bolt(), key, resp, s.clk.Now())
	})
	if err != nil {
		return nil, err
	}
	return resp, nil
}

// Prune deletes idempotency records older than idempotency.Retention from the key store's
// database, in bounded transactions, and returns how many it deleted. Run it periodically.
func (s *Server) Prune(ctx context.Context) (int, error) {
	const batch = 1000
	total := 0
	before := s.clk.Now().Add(-idempotency.Retention)
	for {
		var n int
		err := s.keys.Update(ctx, func(tx *auth.KeyTx) error {
			var err error
			n, err = idempotency.Prune(tx.Bolt(), before, batch)
			return err
		})
		total += n
		if err != nil || n < batch {
			return total, err
		}
	}
}

// ToProto converts a stored key to its API form (never with a secret or its hash).
func ToProto(r *platformv1.ApiKeyRecord) *iamv1.ApiKey {
	return &iamv1.ApiKey{
		Id:          r.GetId(),
		DisplayName: r.GetDisplayName(),
		Role:        iamv1.Role(r.GetRole()),
		Tenant:      r.GetTenant(),
		CreateTime:  r.GetCreateTime(),
		RevokeTime:  r.GetRevokeTime(),
		RateLimit:   r.RateLimit,
	}
}
