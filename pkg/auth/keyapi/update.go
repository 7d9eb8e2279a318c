package keyapi

import (
	"context"
	"errors"
	"slices"

	"github.com/huiyuan-dev/huiyuan/pkg/apperr"
	"github.com/huiyuan-dev/huiyuan/pkg/auth"
	"github.com/huiyuan-dev/huiyuan/pkg/idempotency"

	iamv1 "github.com/huiyuan-dev/huiyuan/gen/huiyuan/iam/v1"
	platformv1 "github.com/huiyuan-dev/huiyuan/gen/huiyuan/platform/v1"
)

// createLimit is the rate limit a new key is stored with: the one asked for, or 0 (unlimited)
// for a SERVICE key, so that its record says what applies; nil leaves the role's default.
func createLimit(k *iamv1.ApiKey) *int32 {
	if k.RateLimit != nil {
		v := k.GetRateLimit()
		return &v
	}
	if k.GetRole() == iamv1.Role_SERVICE {
		v := int32(0)
		return &v
	}
	return nil
}

// updatable are the fields UpdateApiKey changes.
var updatable = []string{"display_name", "rate_limit"}

// UpdateApiKey changes a key's display name or rate limit; a new limit applies at once in this
// process and within the key cache's TTL (HUIYUAN_KEY_CACHE_TTL) elsewhere.
//
// Errors: Invalid with violations on api_key, api_key.id, api_key.display_name,
// api_key.rate_limit and update_mask; NotFound API_KEY_NOT_FOUND; FailedPrecondition
// API_KEY_REVOKED; Invalid REQUEST_ID_REUSED on request_id.
func (s *Server) UpdateApiKey(ctx context.Context, req *iamv1.UpdateApiKeyRequest) (*iamv1.UpdateApiKeyResponse, error) {
	p, err := admin(ctx)
	if err != nil {
		return nil, err
	}
	k := req.GetApiKey()
	if k.GetId() == "" {
		return nil, apperr.InvalidField("api_key.id", "required")
	}
	paths := req.GetUpdateMask().GetPaths()
	if len(paths) == 0 {
		if k.GetDisplayName() != "" {
			paths = append(paths, "display_name")
		}
		if k.RateLimit != nil {
			paths = append(paths, "rate_limit")
		}
	}
	var v apperr.Violations
	for _, path := range paths {
		if !slices.Contains(updatable, path) {
			v.Add("update_mask", "%q cannot be changed; want display_name or rate_limit", path)
		}
	}
	if len(paths) == 0 {
		v.Add("update_mask", "names no field to change")
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	key, _ := idempotency.FromContext(ctx)
	var resp *iamv1.UpdateApiKeyResponse
	err = s.keys.Update(ctx, func(tx *auth.KeyTx) error {
		resp = &iamv1.UpdateApiKeyResponse{}
		done, err := idempotency.Replay(tx.Bolt(), key, resp)
		if err != nil || done {
			return err
		}
		tenant := p.Tenant
		if t, ok := tx.TenantOfKey(k.GetId()); ok && p.Tenant == auth.DefaultTenant {
			tenant = t
		}
		rec, err := tx.Update(tenant, k.GetId(), func(r *platformv1.ApiKeyRecord) {
			for _, path := range paths {
				switch path {
				case "display_name":
					r.DisplayName = k.GetDisplayName()
				case "rate_limit":
					r.RateLimit = k.RateLimit
				}
			}
		})
		if err != nil {
			return prefixed(err, "api_key.")
		}
		resp = &iamv1.UpdateApiKeyResponse{ApiKey: ToProto(rec)}
		return idempotency.SaveProto(tx.Bolt(), key, resp, s.clk.Now())
	})
	if err != nil {
		return nil, err
	}
	return resp, nil
}

// prefixed names err's field violations from the request's root ("rate_limit" becomes
// "api_key.rate_limit").
func prefixed(err error, prefix string) error {
	var ae *apperr.Error
	if !errors.As(err, &ae) || len(ae.Violations) == 0 {
		return err
	}
	out := *ae
	out.Violations = make([]apperr.FieldViolation, len(ae.Violations))
	for i, v := range ae.Violations {
		v.Field = prefix + v.Field
		out.Violations[i] = v
	}
	return &out
}
