package grpcx_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strings"
	"sync"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	testpb "google.golang.org/grpc/interop/grpc_testing"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/grpc/test/bufconn"

	"github.com/huiyuan-dev/huiyuan/pkg/apperr"
	"github.com/huiyuan-dev/huiyuan/pkg/auth"
	"github.com/huiyuan-dev/huiyuan/pkg/grpcx"
	"github.com/huiyuan-dev/huiyuan/pkg/idempotency"

	iamv1 "github.com/huiyuan-dev/huiyuan/gen/huiyuan/iam/v1"
)

const (
	testDomain = "test.huiyuan.dev"
	secretText = "s3cr3t-db-password"
)

// keys is the fixture's Authenticator: bearer -> principal.
type keys map[string]auth.Principal

func (k keys) Authenticate(_ context.Context, bearer string) (auth.Principal, error) {
	if p, ok := k[bearer]; ok {
		return p, nil
	}
	return auth.Principal{}, apperr.E(apperr.Unauthenticated, auth.ReasonInvalidAPIKey, "invalid API key")
}

var fixtureKeys = keys{
	"admin": {Tenant: "acme", Role: iamv1.Role_ADMIN, KeyID: "k-admin"},
	"op":    {Tenant: "acme", Role: iamv1.Role_OPERATOR, KeyID: "k-op"},
	"ana":   {Tenant: "acme", Role: iamv1.Role_ANALYST, KeyID: "k-ana"},
}

func fixturePolicy() auth.Policy {
	ops := []iamv1.Role{iamv1.Role_ADMIN, iamv1.Role_OPERATOR}
	return auth.Policy{
		"/grpc.testing.TestService/EmptyCall":           ops,
		"/grpc.testing.TestService/UnaryCall":           ops,
		"/grpc.testing.TestService/StreamingOutputCall": ops,
		"/grpc.testing.TestService/FullDuplexCall":      ops,
		"/grpc.testing.TestService/CacheableUnaryCall":  {auth.Public},
		iamv1.ApiKeyService_CreateApiKey_FullMethodName: {iamv1.Role_ADMIN},
	}
}

// syncBuffer collects log output written from many goroutines.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// testService implements TestService; UnaryCall's payload body selects a behaviour.
type testService struct {
	testpb.UnimplementedTestServiceServer
	shared *testpb.SimpleResponse // returned by "shared", to check the reply is a copy
}

func (s *testService) EmptyCall(ctx context.Context, _ *testpb.Empty) (*testpb.Empty, error) {
	_ = grpc.SetHeader(ctx, metadata.Pairs("x-header", "h1"))
	_ = grpc.SetTrailer(ctx, metadata.Pairs("x-trailer", "t1"))
	return &testpb.Empty{}, nil
}

func (s *testService) CacheableUnaryCall(ctx context.Context, req *testpb.SimpleRequest) (*testpb.SimpleResponse, error) {
	_, hasPrincipal := auth.FromContext(ctx)
	return &testpb.SimpleResponse{Username: fmt.Sprintf("public principal=%v", hasPrincipal)}, nil
}

func (s *testService) UnaryCall(ctx context.Context, req *testpb.SimpleRequest) (*testpb.SimpleResponse, error) {
	body := string(req.GetPayload().GetBody())
	switch body {
	case "invalid":
		return nil, apperr.InvalidField("payload.body", "must not be %q", body)
	case "failed":
		return nil, apperr.E(apperr.FailedPrecondition, "INSUFFICIENT_POINTS", "not enough points").With("available", "3")
	case "internal":
		return nil, fmt.Errorf("open ledger: %w", errors.New(secretText))
	case "panic":
		panic(secretText)
	case "status":
		return nil, status.Error(codes.Aborted, "downstream aborted")
	case "whoami":
		md, _ := metadata.FromIncomingContext(ctx)
		dl, hasDeadline := ctx.Deadline()
		_ = dl
		return &testpb.SimpleResponse{
			Username:   auth.TenantOf(ctx) + "/" + strings.Join(md.Get("x-custom"), ","),
			OauthScope: fmt.Sprintf("deadline=%v", hasDeadline),
		}, nil
	case "mutate":
		req.Payload.Body = []byte("mutated by handler")
		return &testpb.SimpleResponse{Payload: req.Payload}, nil
	case "shared":
		return s.shared, nil
	case "block":
		<-ctx.Done()
		return nil, ctx.Err()
	}
	_ = grpc.SetHeader(ctx, metadata.Pairs("x-header", "unary"))
	return &testpb.SimpleResponse{Payload: &testpb.Payload{Body: req.GetPayload().GetBody()}}, nil
}

// StreamingOutputCall sends one message per response parameter (size = payload length); a
// negative size fails the stream at that point with an apperr.
func (s *testService) StreamingOutputCall(req *testpb.StreamingOutputCallRequest, stream grpc.ServerStreamingServer[testpb.StreamingOutputCallResponse]) error {
	if err := stream.SetHeader(metadata.Pairs("x-stream-header", auth.TenantOf(stream.Context()))); err != nil {
		return err
	}
	stream.SetTrailer(metadata.Pairs("x-stream-trailer", "done"))
	msg := &testpb.StreamingOutputCallResponse{Payload: &testpb.Payload{}}
	for i, p := range req.GetResponseParameters() {
		if p.GetSize() < 0 {
			return apperr.E(apperr.Aborted, "STREAM_BROKEN", "broken after %d", i)
		}
		if p.GetSize() == 0 {
			panic(secretText)
		}
		msg.Payload.Body = bytes.Repeat([]byte{byte('a' + i%26)}, int(p.GetSize())) // reused: SendMsg must copy
		if err := stream.Send(msg); err != nil {
			return err
		}
	}
	return nil
}

// keyService echoes the idempotency key and principal it sees, to test the chain's tail.
type keyService struct {
	iamv1.UnimplementedApiKeyServiceServer
}

func (keyService) CreateApiKey(ctx context.Context, req *iamv1.CreateApiKeyRequest) (*iamv1.CreateApiKeyResponse, error) {
	k, ok := idempotency.FromContext(ctx)
	return &iamv1.CreateApiKeyResponse{ApiKey: &iamv1.ApiKey{
		DisplayName: fmt.Sprintf("key=%v tenant=%s id=%s method=%s", ok, k.Tenant, k.RequestID, k.Method),
		Tenant:      auth.TenantOf(ctx),
	}}, nil
}

// fixture is one configured chain reachable both over bufconn and through a Channel.
type fixture struct {
	reg  *prometheus.Registry
	logs *syncBuffer
	conn *grpc.ClientConn
	ch   *grpcx.Channel
	svc  *testService
}

func newFixture(t testing.TB) *fixture {
	t.Helper()
	f := &fixture{reg: prometheus.NewRegistry(), logs: &syncBuffer{}, svc: &testService{}}
	cfg := grpcx.Config{
		Logger:   slog.New(slog.NewTextHandler(f.logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		Domain:   testDomain,
		Auth:     fixtureKeys,
		Policy:   fixturePolicy(),
		Registry: f.reg,
	}
	srv := grpcx.NewServer(cfg)
	testpb.RegisterTestServiceServer(srv, f.svc)
	iamv1.RegisterApiKeyServiceServer(srv, keyService{})
	lis := bufconn.Listen(1 << 20)
	go func() { _ = srv.Serve(lis) }()
	t.Cleanup(srv.Stop)
	conn, err := grpc.NewClient("passthrough:///bufnet",
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return lis.DialContext(ctx) }),
		grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	f.conn = conn

	// The Channel shares the registry: metrics are registered once and shared.
	f.ch = grpcx.NewChannel(grpcx.UnaryInterceptors(cfg)...)
	testpb.RegisterTestServiceServer(f.ch, f.svc)
	iamv1.RegisterApiKeyServiceServer(f.ch, keyService{})
	healthpb.RegisterHealthServer(f.ch, health.NewServer())
	return f
}

// transports returns both ways to reach the fixture, for tests that must behave the same.
func (f *fixture) transports() map[string]grpc.ClientConnInterface {
	return map[string]grpc.ClientConnInterface{"network": f.conn, "channel": f.ch}
}

func withKey(ctx context.Context, key string) context.Context {
	if key == "" {
		return ctx
	}
	return metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+key)
}

// drain reads a stream to its end and returns the bodies and the final error.
func drain(stream grpc.ServerStreamingClient[testpb.StreamingOutputCallResponse]) ([]string, error) {
	var got []string
	for {
		m, err := stream.Recv()
		if err == io.EOF {
			return got, nil
		}
		if err != nil {
			return got, err
		}
		got = append(got, string(m.GetPayload().GetBody()))
	}
}
