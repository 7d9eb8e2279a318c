package idempotency_test

import (
	"context"
	"strings"
	"testing"
	"unicode/utf8"

	"google.golang.org/grpc"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protodesc"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/descriptorpb"
	"google.golang.org/protobuf/types/dynamicpb"

	"github.com/huiyuan-dev/huiyuan/pkg/apperr"
	"github.com/huiyuan-dev/huiyuan/pkg/auth"
	"github.com/huiyuan-dev/huiyuan/pkg/idempotency"

	iamv1 "github.com/huiyuan-dev/huiyuan/gen/huiyuan/iam/v1"
)

const createMethod = "/huiyuan.iam.v1.ApiKeyService/CreateApiKey"

func createReq(requestID, name string) *iamv1.CreateApiKeyRequest {
	return &iamv1.CreateApiKeyRequest{RequestId: requestID, ApiKey: &iamv1.ApiKey{DisplayName: name, Role: iamv1.Role_SERVICE}}
}

func TestValidRequestID(t *testing.T) {
	tests := []struct {
		in   string
		want bool
	}{
		{"a", true},
		{"0190f7b4-7c1e-7f3a-8d2b-000000000000", true},
		{"order:42.retry_1", true},
		{strings.Repeat("x", 128), true},
		{strings.Repeat("x", 129), false},
		{"", false},
		{"has space", false},
		{"slash/no", false},
		{"ünïcode", false},
		{"new\nline", false},
	}
	for _, tt := range tests {
		if got := idempotency.ValidRequestID(tt.in); got != tt.want {
			t.Errorf("ValidRequestID(%q) = %v, want %v", tt.in, got, tt.want)
		}
	}
}

// intRequestIDMessage builds a message whose request_id is an int64, which the interceptor
// must ignore.
func intRequestIDMessage(t *testing.T) proto.Message {
	t.Helper()
	fdp := &descriptorpb.FileDescriptorProto{
		Name:    proto.String("test/int_request_id.proto"),
		Package: proto.String("test"),
		Syntax:  proto.String("proto3"),
		MessageType: []*descriptorpb.DescriptorProto{{
			Name: proto.String("IntRequest"),
			Field: []*descriptorpb.FieldDescriptorProto{{
				Name:     proto.String("request_id"),
				Number:   proto.Int32(1),
				Type:     descriptorpb.FieldDescriptorProto_TYPE_INT64.Enum(),
				Label:    descriptorpb.FieldDescriptorProto_LABEL_OPTIONAL.Enum(),
				JsonName: proto.String("requestId"),
			}},
		}},
	}
	fd, err := protodesc.NewFile(fdp, nil)
	if err != nil {
		t.Fatal(err)
	}
	m := dynamicpb.NewMessage(fd.Messages().Get(0))
	m.Set(fd.Messages().Get(0).Fields().ByName("request_id"), protoreflect.ValueOfInt64(7))
	return m
}

func TestInterceptor(t *testing.T) {
	tests := []struct {
		name     string
		req      any
		wantKey  bool
		wantCode apperr.Code
	}{
		{name: "with id", req: createReq("r-1", "till"), wantKey: true},
		{name: "empty id", req: createReq("", "till")},
		{name: "no field", req: &iamv1.ListApiKeysRequest{}},
		{name: "int field", req: intRequestIDMessage(t)},
		{name: "not proto", req: "plain"},
		{name: "bad id", req: createReq("no spaces", "till"), wantCode: apperr.Invalid},
		{name: "long id", req: createReq(strings.Repeat("a", 129), "till"), wantCode: apperr.Invalid},
	}
	ic := idempotency.UnaryServerInterceptor()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := auth.WithPrincipal(context.Background(), auth.Principal{Tenant: "acme", Role: iamv1.Role_ADMIN})
			// A key of an enclosing call must not leak into this one.
			ctx = idempotency.NewContext(ctx, idempotency.Key{Tenant: "acme", Method: "/outer", RequestID: "outer"})
			var got idempotency.Key
			var ok, called bool
			_, err := ic(ctx, tt.req, &grpc.UnaryServerInfo{FullMethod: createMethod}, func(ctx context.Context, req any) (any, error) {
				called = true
				got, ok = idempotency.FromContext(ctx)
				if r, isCreate := req.(*iamv1.CreateApiKeyRequest); isCreate && r.GetRequestId() == "" && tt.wantKey {
					t.Error("handler saw request_id cleared")
				}
				return nil, nil
			})
			if c := apperr.CodeOf(err); c != tt.wantCode {
				t.Fatalf("code = %q, want %q (err %v)", c, tt.wantCode, err)
			}
			if tt.wantCode == apperr.Invalid {
				var ae *apperr.Error
				if e, isApp := err.(*apperr.Error); isApp {
					ae = e
				}
				if ae == nil || len(ae.Violations) != 1 || ae.Violations[0].Field != "request_id" {
					t.Fatalf("err = %#v, want a violation on request_id", err)
				}
			}
			if called != (err == nil) {
				t.Fatalf("handler called = %v, err = %v", called, err)
			}
			if ok != tt.wantKey {
				t.Fatalf("key in context = %v, want %v", ok, tt.wantKey)
			}
			if ok && (got.Tenant != "acme" || got.Method != createMethod || got.RequestID != "r-1") {
				t.Fatalf("key = %+v", got)
			}
		})
	}
}

func TestFingerprint(t *testing.T) {
	base, _, err := idempotency.Fingerprint("acme", createMethod, createReq("r-1", "till"))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		tenant   string
		method   string
		req      proto.Message
		sameHash bool
	}{
		{"same request", "acme", createMethod, createReq("r-1", "till"), true},
		{"other request_id", "acme", createMethod, createReq("r-2", "till"), true},
		{"other tenant", "beta", createMethod, createReq("r-1", "till"), true}, // tenant is in the key, not the hash
		{"other body", "acme", createMethod, createReq("r-1", "till 2"), false},
		{"other method", "acme", "/huiyuan.iam.v1.ApiKeyService/Other", createReq("r-1", "till"), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			k, ok, err := idempotency.Fingerprint(tt.tenant, tt.method, tt.req)
			if err != nil || !ok {
				t.Fatalf("Fingerprint = %v, %v", ok, err)
			}
			if (k.Hash == base.Hash) != tt.sameHash {
				t.Fatalf("same hash = %v, want %v", k.Hash == base.Hash, tt.sameHash)
			}
			if k.Tenant != tt.tenant {
				t.Fatalf("tenant = %q", k.Tenant)
			}
		})
	}
}

func FuzzFingerprint(f *testing.F) {
	for _, s := range []string{"r-1", "", "a b", strings.Repeat("z", 129), "order:1.2_3"} {
		f.Add(s, "till")
	}
	f.Fuzz(func(t *testing.T, id, name string) {
		req := createReq(id, name)
		before := proto.Clone(req)
		k, ok, err := idempotency.Fingerprint("acme", createMethod, req)
		if !proto.Equal(req, before) {
			t.Fatalf("Fingerprint changed the request: %v -> %v", before, req)
		}
		switch {
		case id == "":
			if ok || err != nil {
				t.Fatalf("empty id: ok=%v err=%v", ok, err)
			}
		case !utf8.ValidString(name):
			if ok || apperr.CodeOf(err) != apperr.Invalid {
				t.Fatalf("invalid UTF-8 body: ok=%v err=%v", ok, err)
			}
		case idempotency.ValidRequestID(id):
			if !ok || err != nil || k.RequestID != id {
				t.Fatalf("valid id %q: key %+v ok=%v err=%v", id, k, ok, err)
			}
		default:
			if ok || apperr.CodeOf(err) != apperr.Invalid {
				t.Fatalf("invalid id %q: ok=%v err=%v", id, ok, err)
			}
		}
	})
}
