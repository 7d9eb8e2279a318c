package grpcx_test

import (
	"context"
	"strings"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	testpb "google.golang.org/grpc/interop/grpc_testing"
	"google.golang.org/grpc/metadata"
	reflectionpb "google.golang.org/grpc/reflection/grpc_reflection_v1"
	"google.golang.org/grpc/status"

	iamv1 "github.com/huiyuan-dev/huiyuan/gen/huiyuan/iam/v1"
)

// TestChain runs the same calls over the network and through the Channel: both must answer
// alike, since the JSON edge uses the Channel.
func TestChain(t *testing.T) {
	tests := []struct {
		name       string
		key        string
		body       string
		code       codes.Code
		msg        string // exact, when set
		reason     string
		violation  string
		notContain string
	}{
		{name: "ok", key: "op", body: "hello", code: codes.OK},
		{name: "no key", body: "hello", code: codes.Unauthenticated, reason: "UNAUTHENTICATED"},
		{name: "unknown key", key: "nope", body: "hello", code: codes.Unauthenticated, reason: "INVALID_API_KEY"},
		{name: "wrong role", key: "ana", body: "hello", code: codes.PermissionDenied, reason: "PERMISSION_DENIED"},
		{name: "invalid", key: "op", body: "invalid", code: codes.InvalidArgument, reason: "INVALID_ARGUMENT", violation: "payload.body"},
		{name: "failed precondition", key: "op", body: "failed", code: codes.FailedPrecondition, msg: "not enough points", reason: "INSUFFICIENT_POINTS"},
		{name: "internal hidden", key: "admin", body: "internal", code: codes.Internal, msg: "internal error", notContain: secretText},
		{name: "panic hidden", key: "admin", body: "panic", code: codes.Internal, msg: "internal error", notContain: secretText},
		{name: "status passes", key: "op", body: "status", code: codes.Aborted, msg: "downstream aborted"},
	}
	f := newFixture(t)
	for tname, cc := range f.transports() {
		client := testpb.NewTestServiceClient(cc)
		for _, tt := range tests {
			t.Run(tname+"/"+tt.name, func(t *testing.T) {
				ctx := withKey(context.Background(), tt.key)
				resp, err := client.UnaryCall(ctx, &testpb.SimpleRequest{Payload: &testpb.Payload{Body: []byte(tt.body)}})
				if tt.code == codes.OK {
					if err != nil || string(resp.GetPayload().GetBody()) != tt.body {
						t.Fatalf("got %v, %v", resp, err)
					}
					return
				}
				st, info, br := details(t, err)
				if st.Code() != tt.code {
					t.Fatalf("code = %s, want %s (%v)", st.Code(), tt.code, err)
				}
				if tt.msg != "" && st.Message() != tt.msg {
					t.Fatalf("message = %q, want %q", st.Message(), tt.msg)
				}
				if tt.reason != "" && (info.GetReason() != tt.reason || info.GetDomain() != testDomain) {
					t.Fatalf("ErrorInfo = %v, want reason %s domain %s", info, tt.reason, testDomain)
				}
				if tt.violation != "" && (len(br.GetFieldViolations()) != 1 || br.GetFieldViolations()[0].GetField() != tt.violation) {
					t.Fatalf("BadRequest = %v, want a violation on %s", br, tt.violation)
				}
				if tt.notContain != "" && strings.Contains(err.Error(), tt.notContain) {
					t.Fatalf("error leaks %q: %v", tt.notContain, err)
				}
			})
		}
	}
	logs := f.logs.String()
	if !strings.Contains(logs, secretText) || !strings.Contains(logs, "panic in gRPC handler") || !strings.Contains(logs, "goroutine") {
		t.Errorf("internal error and panic (with stack) must be logged for operators; logs:\n%s", logs)
	}
	if !strings.Contains(logs, "finished call") || !strings.Contains(logs, "grpc.code=PermissionDenied") {
		t.Errorf("access log lines missing; logs:\n%s", logs)
	}
}

func TestChainMetrics(t *testing.T) {
	f := newFixture(t)
	for _, cc := range f.transports() {
		client := testpb.NewTestServiceClient(cc)
		_, _ = client.UnaryCall(context.Background(), &testpb.SimpleRequest{})
		_, _ = client.UnaryCall(withKey(context.Background(), "op"), &testpb.SimpleRequest{Payload: &testpb.Payload{Body: []byte("panic")}})
		_, _ = client.UnaryCall(withKey(context.Background(), "op"), &testpb.SimpleRequest{Payload: &testpb.Payload{Body: []byte("ok")}})
	}
	mfs, err := f.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]float64{"Unauthenticated": 2, "Internal": 2, "OK": 2} // one per transport each
	for code, n := range want {
		var got float64
		for _, mf := range mfs {
			if mf.GetName() != "grpc_server_handled_total" {
				continue
			}
			for _, m := range mf.GetMetric() {
				labels := map[string]string{}
				for _, l := range m.GetLabel() {
					labels[l.GetName()] = l.GetValue()
				}
				if labels["grpc_method"] == "UnaryCall" && labels["grpc_code"] == code {
					got += m.GetCounter().GetValue()
				}
			}
		}
		if got != n {
			t.Errorf("handled_total{UnaryCall,%s} = %v, want %v", code, got, n)
		}
	}
	var observed uint64
	for _, mf := range mfs {
		if mf.GetName() == "grpc_server_handling_seconds" {
			for _, m := range mf.GetMetric() {
				observed += m.GetHistogram().GetSampleCount()
			}
		}
	}
	if observed != 6 {
		t.Errorf("handling-time histogram counted %d calls, want 6", observed)
	}
}

func TestChainPublicAndHealth(t *testing.T) {
	f := newFixture(t)
	for tname, cc := range f.transports() {
		t.Run(tname, func(t *testing.T) {
			// A public method needs no key, and sees no principal even when the caller had one.
			resp, err := testpb.NewTestServiceClient(cc).CacheableUnaryCall(withKey(context.Background(), "admin"), &testpb.SimpleRequest{})
			if err != nil || resp.GetUsername() != "public principal=false" {
				t.Fatalf("public call = %v, %v", resp, err)
			}
			hc, err := healthpb.NewHealthClient(cc).Check(context.Background(), &healthpb.HealthCheckRequest{})
			if err != nil || hc.GetStatus() != healthpb.HealthCheckResponse_SERVING {
				t.Fatalf("health = %v, %v", hc, err)
			}
		})
	}
}

// TestServerReflection lists the services through server reflection, without a key.
func TestServerReflection(t *testing.T) {
	f := newFixture(t)
	stream, err := reflectionpb.NewServerReflectionClient(f.conn).ServerReflectionInfo(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if err := stream.Send(&reflectionpb.ServerReflectionRequest{MessageRequest: &reflectionpb.ServerReflectionRequest_ListServices{}}); err != nil {
		t.Fatal(err)
	}
	resp, err := stream.Recv()
	if err != nil {
		t.Fatalf("reflection: %v", err)
	}
	var names []string
	for _, s := range resp.GetListServicesResponse().GetService() {
		names = append(names, s.GetName())
	}
	got := strings.Join(names, ",")
	for _, want := range []string{"grpc.testing.TestService", "grpc.health.v1.Health", "huiyuan.iam.v1.ApiKeyService"} {
		if !strings.Contains(got, want) {
			t.Fatalf("reflection lists %s, missing %s", got, want)
		}
	}
	_ = stream.CloseSend()
}

func TestChainIdempotencyKey(t *testing.T) {
	f := newFixture(t)
	for tname, cc := range f.transports() {
		t.Run(tname, func(t *testing.T) {
			client := iamv1.NewApiKeyServiceClient(cc)
			resp, err := client.CreateApiKey(withKey(context.Background(), "admin"), &iamv1.CreateApiKeyRequest{RequestId: "r-1"})
			want := "key=true tenant=acme id=r-1 method=" + iamv1.ApiKeyService_CreateApiKey_FullMethodName
			if err != nil || resp.GetApiKey().GetDisplayName() != want {
				t.Fatalf("got %v, %v; want %q", resp, err, want)
			}
			_, err = client.CreateApiKey(withKey(context.Background(), "admin"), &iamv1.CreateApiKeyRequest{RequestId: "bad id"})
			st, info, br := details(t, err)
			if st.Code() != codes.InvalidArgument || info.GetReason() != "INVALID_ARGUMENT" || br.GetFieldViolations()[0].GetField() != "request_id" {
				t.Fatalf("bad request_id: %v", err)
			}
			// Auth runs before idempotency: no key, no fingerprint.
			_, err = client.CreateApiKey(context.Background(), &iamv1.CreateApiKeyRequest{RequestId: "bad id"})
			if status.Code(err) != codes.Unauthenticated {
				t.Fatalf("without key: %v, want Unauthenticated", err)
			}
		})
	}
}

func TestChainStreams(t *testing.T) {
	f := newFixture(t)
	params := func(sizes ...int32) *testpb.StreamingOutputCallRequest {
		req := &testpb.StreamingOutputCallRequest{}
		for _, s := range sizes {
			req.ResponseParameters = append(req.ResponseParameters, &testpb.ResponseParameters{Size: s})
		}
		return req
	}
	tests := []struct {
		name   string
		key    string
		req    *testpb.StreamingOutputCallRequest
		want   []string
		code   codes.Code
		reason string
	}{
		{name: "ok", key: "op", req: params(1, 2, 3), want: []string{"a", "bb", "ccc"}},
		{name: "empty", key: "op", req: params()},
		{name: "no key", req: params(1), code: codes.Unauthenticated, reason: "UNAUTHENTICATED"},
		{name: "wrong role", key: "ana", req: params(1), code: codes.PermissionDenied, reason: "PERMISSION_DENIED"},
		{name: "error midway", key: "op", req: params(1, 2, -1), want: []string{"a", "bb"}, code: codes.Aborted, reason: "STREAM_BROKEN"},
		{name: "panic midway", key: "op", req: params(1, 0), want: []string{"a"}, code: codes.Internal},
	}
	for tname, cc := range f.transports() {
		client := testpb.NewTestServiceClient(cc)
		for _, tt := range tests {
			t.Run(tname+"/"+tt.name, func(t *testing.T) {
				var header, trailer metadata.MD
				stream, err := client.StreamingOutputCall(withKey(context.Background(), tt.key), tt.req, grpc.Header(&header), grpc.Trailer(&trailer))
				if err != nil {
					t.Fatal(err)
				}
				got, err := drain(stream)
				if strings.Join(got, ",") != strings.Join(tt.want, ",") {
					t.Fatalf("received %q, want %q", got, tt.want)
				}
				if status.Code(err) != tt.code {
					t.Fatalf("final error %v, want %s", err, tt.code)
				}
				if err != nil {
					_, info, _ := details(t, err)
					if tt.reason != "" && info.GetReason() != tt.reason {
						t.Fatalf("reason = %q, want %q", info.GetReason(), tt.reason)
					}
					if strings.Contains(err.Error(), secretText) {
						t.Fatalf("stream error leaks: %v", err)
					}
				}
				if tt.code == codes.OK || len(tt.want) > 0 {
					if h := header.Get("x-stream-header"); len(h) != 1 || h[0] != "acme" {
						t.Fatalf("header = %v, want x-stream-header: acme (the principal's tenant)", header)
					}
					if tr := trailer.Get("x-stream-trailer"); len(tr) != 1 || tr[0] != "done" {
						t.Fatalf("trailer = %v", trailer)
					}
					if tr := stream.Trailer().Get("x-stream-trailer"); len(tr) != 1 {
						t.Fatalf("stream.Trailer() = %v", stream.Trailer())
					}
				}
			})
		}
	}
}
