package suite

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strconv"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/huiyuan-dev/huiyuan/pkg/natsx"
	"github.com/huiyuan-dev/huiyuan/services/gateway/edge"
)

func natsConnect(url string, log *slog.Logger) (*nats.Conn, error) {
	nc, err := natsx.Connect(url, natsx.WithLogger(log))
	if err != nil {
		return nil, fmt.Errorf("connect to NATS at %s: %w", url, err)
	}
	return nc, nil
}

// embeddedNATS starts the in-process broker on addr (other systems subscribe there) and connects
// to it in process.
func embeddedNATS(addr, storeDir string, log *slog.Logger) (*server.Server, *nats.Conn, error) {
	host, portStr, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, nil, fmt.Errorf("HUIYUAN_NATS_ADDR: %w", err)
	}
	port, err := strconv.Atoi(portStr)
	if err != nil {
		return nil, nil, fmt.Errorf("HUIYUAN_NATS_ADDR: bad port %q", portStr)
	}
	if port == 0 {
		port = -1 // nats-server's "pick a free port"
	}
	ns, err := natsx.StartEmbedded(natsx.EmbeddedConfig{Host: host, Port: port, StoreDir: storeDir, ServerName: "huiyuan"})
	if err != nil {
		return nil, nil, fmt.Errorf("start embedded NATS on %s: %w", addr, err)
	}
	nc, err := natsx.ConnectInProcess(ns, natsx.WithLogger(log))
	if err != nil {
		ns.Shutdown()
		return nil, nil, err
	}
	return ns, nc, nil
}

func dial(addr string) (*grpc.ClientConn, error) {
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return nil, fmt.Errorf("dial %s: %w", addr, err)
	}
	return conn, nil
}

// newEdge builds the JSON edge over conn, which serves every service: the in-process channel in
// the suite, or one connection to the process that holds them.
func newEdge(ctx context.Context, cfg Config, log *slog.Logger, conn grpc.ClientConnInterface,
	metrics http.Handler, ready func(context.Context) error) (http.Handler, error) {
	return edge.New(ctx, edge.Config{
		CORSOrigins:  cfg.Origins(),
		RateLimit:    cfg.RateLimit,
		RateBurst:    cfg.RateBurst,
		MaxBodyBytes: cfg.MaxBodyBytes,
		Ready:        ready,
		Metrics:      metrics,
		Logger:       log,
	}, edge.Backends{Member: conn, Keys: conn, Ops: conn, Loyalty: conn})
}
