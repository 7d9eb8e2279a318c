package idempotency

import (
	"context"
	"crypto/sha256"

	"google.golang.org/grpc"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/huiyuan-dev/huiyuan/pkg/apperr"
	"github.com/huiyuan-dev/huiyuan/pkg/auth"
)

// UnaryServerInterceptor fingerprints requests that carry a request_id and puts their Key in the
// context. It runs after auth: the tenant comes from the auth.Principal. Requests without a
// top-level string field named request_id, or with it empty, pass through without a Key.
//
// The request is briefly modified (request_id cleared while hashing, then restored) before the
// handler sees it; gRPC hands each call its own request message, so nobody else can observe it.
//
// Errors: Invalid on field "request_id" (reason INVALID_ARGUMENT) for a malformed id.
func UnaryServerInterceptor() grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		m, ok := req.(proto.Message)
		if !ok {
			return handler(withoutKey(ctx), req)
		}
		k, ok, err := Fingerprint(auth.TenantOf(ctx), info.FullMethod, m)
		if err != nil {
			return nil, err
		}
		if !ok {
			return handler(withoutKey(ctx), req)
		}
		return handler(NewContext(ctx, k), req)
	}
}

// Fingerprint computes the Key of request m of method for tenant. It reports false when m has no
// request_id or an empty one. m is modified during the call and restored before it returns, so
// it must not be shared with other goroutines meanwhile.
//
// Errors: Invalid on "request_id" for a malformed id; Invalid for a message that cannot be
// encoded (invalid UTF-8 in a string field).
func Fingerprint(tenant, method string, m proto.Message) (Key, bool, error) {
	r := m.ProtoReflect()
	fd := r.Descriptor().Fields().ByName(FieldName)
	if fd == nil || fd.Kind() != protoreflect.StringKind || fd.Cardinality() == protoreflect.Repeated {
		return Key{}, false, nil
	}
	id := r.Get(fd).String()
	if id == "" {
		return Key{}, false, nil
	}
	if !ValidRequestID(id) {
		return Key{}, false, apperr.InvalidField(FieldName, "must be 1-%d characters of A-Z a-z 0-9 . _ : -", MaxRequestID)
	}
	r.Clear(fd)
	b, err := proto.MarshalOptions{Deterministic: true}.Marshal(m)
	r.Set(fd, protoreflect.ValueOfString(id))
	if err != nil {
		// Only a malformed message fails to encode (invalid UTF-8 in a string): the caller's fault.
		// Over the network it would not have decoded; in process it can get this far.
		return Key{}, false, apperr.E(apperr.Invalid, "INVALID_ARGUMENT", "the request cannot be encoded: %v", err)
	}
	h := sha256.New()
	h.Write([]byte(method))
	h.Write([]byte{0})
	h.Write(b)
	k := Key{Tenant: tenant, Method: method, RequestID: id}
	h.Sum(k.Hash[:0])
	return k, true, nil
}
