package grpcx_test

import (
	"context"
	"log/slog"
	"net"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	testpb "google.golang.org/grpc/interop/grpc_testing"

	"github.com/huiyuan-dev/huiyuan/pkg/grpcx"
)

// noopService answers EmptyCall and nothing else.
type noopService struct {
	testpb.UnimplementedTestServiceServer
}

func (noopService) EmptyCall(context.Context, *testpb.Empty) (*testpb.Empty, error) {
	return &testpb.Empty{}, nil
}

func benchConfig() grpcx.Config {
	return grpcx.Config{
		Logger:   slog.New(slog.DiscardHandler),
		Domain:   testDomain,
		Auth:     fixtureKeys,
		Policy:   fixturePolicy(),
		Registry: prometheus.NewRegistry(),
	}
}

func tcpConn(b *testing.B, srv *grpc.Server) *grpc.ClientConn {
	b.Helper()
	testpb.RegisterTestServiceServer(srv, noopService{})
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	go func() { _ = srv.Serve(lis) }()
	b.Cleanup(srv.Stop)
	conn, err := grpc.NewClient(lis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = conn.Close() })
	return conn
}

func channel(interceptors ...grpc.UnaryServerInterceptor) *grpcx.Channel {
	ch := grpcx.NewChannel(interceptors...)
	testpb.RegisterTestServiceServer(ch, noopService{})
	return ch
}

// BenchmarkEmptyCall compares the in-process Channel with a loopback TCP gRPC call of the same
// no-op method, bare and with the full interceptor chain (auth included).
func BenchmarkEmptyCall(b *testing.B) {
	cases := []struct {
		name string
		cc   func(b *testing.B) grpc.ClientConnInterface
	}{
		{"channel/bare", func(*testing.B) grpc.ClientConnInterface { return channel() }},
		{"channel/chain", func(*testing.B) grpc.ClientConnInterface { return channel(grpcx.UnaryInterceptors(benchConfig())...) }},
		{"tcp/bare", func(b *testing.B) grpc.ClientConnInterface { return tcpConn(b, grpc.NewServer()) }},
		{"tcp/chain", func(b *testing.B) grpc.ClientConnInterface { return tcpConn(b, grpcx.NewServer(benchConfig())) }},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			client := testpb.NewTestServiceClient(c.cc(b))
			ctx := withKey(context.Background(), "op")
			req := &testpb.Empty{}
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if _, err := client.EmptyCall(ctx, req); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
