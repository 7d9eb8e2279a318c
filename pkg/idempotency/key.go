// Package idempotency implements the request_id contract (DESIGN.md, docs/platform.md): the
// interceptor fingerprints each request that carries a request_id and puts its Key in the
// context; a store takes the Key (FromContext) and, inside the transaction of the mutation
// itself, calls Replay (or Find) first and SaveProto (or Put) after, so a retry never acts twice,
// even across a crash between commit and answer. The zero Key means "no request_id": the helpers
// then do nothing.
//
// Retention: records are kept at least Retention (24 h); Prune deletes older ones. A retry after
// that acts again, so clients must not reuse a request_id for a different purpose within a day.
package idempotency

import (
	"context"
	"crypto/sha256"
	"time"
)

// Retention is how long a request_id is remembered at least; Prune callers pass
// now.Add(-Retention) (or earlier).
const Retention = 24 * time.Hour

// MaxRequestID is the longest accepted request_id, in bytes (= characters, ASCII only).
const MaxRequestID = 128

// ReasonRequestIDReused is the reason of the Invalid error for a request_id seen before with a
// different request.
const ReasonRequestIDReused = "REQUEST_ID_REUSED"

// FieldName is the request field the interceptor looks for.
const FieldName = "request_id"

// Key identifies one request: the caller's tenant, the full gRPC method, the client's
// request_id, and Hash, the SHA-256 fingerprint of the method and the request without its
// request_id.
type Key struct {
	Tenant    string
	Method    string
	RequestID string
	Hash      [sha256.Size]byte
}

type ctxKey struct{}

// NewContext returns ctx carrying k, for code that handles requests outside gRPC (tests,
// consumers). The interceptor does this for gRPC calls.
func NewContext(ctx context.Context, k Key) context.Context {
	return context.WithValue(ctx, ctxKey{}, &k)
}

// FromContext returns the key of the current request, and false when it carries no request_id.
func FromContext(ctx context.Context) (Key, bool) {
	k, _ := ctx.Value(ctxKey{}).(*Key)
	if k == nil {
		return Key{}, false
	}
	return *k, true
}

// withoutKey hides a key an enclosing call put in ctx, so that a nested call without request_id
// is not mistaken for a retry of the outer one.
func withoutKey(ctx context.Context) context.Context {
	if k, _ := ctx.Value(ctxKey{}).(*Key); k == nil {
		return ctx
	}
	return context.WithValue(ctx, ctxKey{}, (*Key)(nil))
}

// ValidRequestID reports whether id is a usable request_id: 1 to 128 characters of
// [A-Za-z0-9._:-].
func ValidRequestID(id string) bool {
	if len(id) == 0 || len(id) > MaxRequestID {
		return false
	}
	for i := 0; i < len(id); i++ {
		switch c := id[i]; {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '.', c == '_', c == ':', c == '-':
		default:
			return false
		}
	}
	return true
}
