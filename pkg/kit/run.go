package kit

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"google.golang.org/grpc"
	"google.golang.org/grpc/health"

	"github.com/huiyuan-dev/huiyuan/pkg/auth"
	"github.com/huiyuan-dev/huiyuan/pkg/boltx"
	"github.com/huiyuan-dev/huiyuan/pkg/clock"
	"github.com/huiyuan-dev/huiyuan/pkg/grpcx"
	"github.com/huiyuan-dev/huiyuan/pkg/natsx"
	"github.com/huiyuan-dev/huiyuan/pkg/opsapi"
)

// All is the target that runs every service of the list in one process.
const All = "all"

// DefaultDomain is the ErrorInfo domain of errors no service raised (authentication, routing).
const DefaultDomain = "huiyuan.dev"

// IAM is the name of the service that holds API keys; processes without it ask it over gRPC.
const IAM = "iam"

// Broker connects the services of a process to NATS, each with its own credentials.
type Broker interface {
	// Connect returns a connection for service; the runner closes it.
	Connect(ctx context.Context, service string) (*nats.Conn, error)
}

// DefaultCommitLinger is the suite's default Config.CommitLinger: long enough for the callers a
// little behind a commit to share the next one, short next to an order's few milliseconds
// under load (docs/benchmarks.md, "Commit linger").
const DefaultCommitLinger = 2 * time.Millisecond

// Config configures Run.
type Config struct {
	// Target is All or the name of one service of the list.
	Target string
	// DataDir holds each hosted service's directory.
	DataDir string
	// GRPCAddr is where the process serves gRPC ("127.0.0.1:0" picks a free port).
	GRPCAddr string
	// Addrs are the gRPC addresses of the services this process does not host, by name.
	Addrs map[string]string
	// Broker connects to NATS; nil runs without events (nothing is published or consumed,
	// event logs keep everything for later).
	Broker Broker
	// BrokerURL is where outside subscribers reach the broker (Env.BrokerURL).
	BrokerURL string
	// JWTSecret verifies member JWTs; ServiceSecret signs and verifies service tokens. Every
	// process of an installation shares both.
	JWTSecret, ServiceSecret []byte
	// TLS, when set, makes gRPC serve TLS (mutual when it has a CA) and connections to other
	// processes use it; the JSON edge serves HTTPS with it.
	TLS *TLS
	// EventRetention is how long event logs keep published events (0: the relay's default).
	EventRetention time.Duration
	// ShutdownGrace bounds draining on Close (15 s when 0).
	ShutdownGrace time.Duration
	// StreamOptions configure the streams relays declare (replicas in a cluster).
	StreamOptions []natsx.StreamOption
	// KeyTTL bounds how long another process's answer about an API key is trusted
	// (auth.DefaultRemoteKeyTTL when 0).
	KeyTTL time.Duration
	// StoreOptions open every store (tests turn off fsync).
	StoreOptions boltx.Options
	// CommitLinger is each store's group-commit linger (boltx.WriterOptions.Linger): how long
	// a commit smaller than the last may wait for more writes. 0 commits at once; the suite
	// runs with DefaultCommitLinger.
	CommitLinger time.Duration
	// Keys, when set, authenticates API keys instead of the iam service (tests).
	Keys auth.Authenticator
	// RateLimit is the default rate of an authenticated caller, in requests per second, and
	// RateBurst its burst (twice the rate when 0); API keys may have their own (iam's
	// ApiKey.rate_limit). 0 limits nothing.
	RateLimit float64
	RateBurst int
	// Policy adds roles to methods beyond the services' own (a benchmark's authenticated
	// no-op).
	Policy auth.Policy
	// Clock tells the time (the system clock when nil).
	Clock clock.Clock
	// Logger is the process's log (discarded when nil).
	Logger *slog.Logger
	// Stdout receives one-time notices for the operator (io.Discard when nil).
	Stdout io.Writer
	// Registry takes the process's metrics (a new registry with the Go and process
	// collectors when nil).
	Registry *prometheus.Registry
	// MetricsAddr, when set, serves the registry's /metrics on a listener of its own, without a
	// key: for a process without the JSON edge (whose /metrics has one), on a private network.
	// Process.Addr("metrics") is its actual address.
	MetricsAddr string
}

// Process is a running process of the suite.
type Process struct {
	cfg      Config
	log      *slog.Logger
	hosted   []Description
	channel  *grpcx.Channel
	health   *health.Server
	errc     chan error
	grpcAddr string
	addrs    map[string]string
	stores   *storeMetrics

	mu      sync.Mutex
	ready   bool
	closers []closer
}

type closer struct {
	name string
	fn   func(ctx context.Context) error
}

func (p *Process) onClose(name string, fn func(ctx context.Context) error) {
	p.mu.Lock()
	p.closers = append(p.closers, closer{name, fn})
	p.mu.Unlock()
}

// GRPCAddr is the address the process serves gRPC on ("" when it hosts no gRPC service).
func (p *Process) GRPCAddr() string { return p.grpcAddr }

// Addr is an address a hosted service listens on beyond gRPC, such as the gateway's "http".
func (p *Process) Addr(name string) string { return p.addrs[name] }

// Channel reaches the hosted services in process, through the same interceptors as gRPC.
func (p *Process) Channel() *grpcx.Channel { return p.channel }

// Errors delivers the fatal error of a background server or job.
func (p *Process) Errors() <-chan error { return p.errc }

// Ready reports nil once every hosted service is started.
func (p *Process) Ready(context.Context) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.ready {
		return errors.New("starting")
	}
	return nil
}

// Hosted names the services this process runs, in start order.
func (p *Process) Hosted() []string {
	out := make([]string, len(p.hosted))
	for i, d := range p.hosted {
		out[i] = d.Name
	}
	return out
}

// Run starts the services of list that cfg.Target selects and returns the running process; on
// error, whatever it started is stopped again.
func Run(ctx context.Context, cfg Config, list []Service) (_ *Process, err error) {
	if cfg.Clock == nil {
		cfg.Clock = clock.System{}
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Stdout == nil {
		cfg.Stdout = io.Discard
	}
	if cfg.ShutdownGrace <= 0 {
		cfg.ShutdownGrace = 15 * time.Second
	}
	if cfg.Registry == nil {
		cfg.Registry = prometheus.NewRegistry()
		cfg.Registry.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	}
	plan, err := newPlan(cfg, list)
	if err != nil {
		return nil, err
	}
	if err := plan.checkFlags(); err != nil {
		return nil, err
	}
	p := &Process{cfg: cfg, log: cfg.Logger, hosted: plan.descriptions(), errc: make(chan error, 8), addrs: map[string]string{}}
	defer func() {
		if err != nil {
			cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cfg.ShutdownGrace)
			defer cancel()
			_ = p.Close(cctx)
		}
	}()
	if err := p.start(ctx, plan); err != nil {
		return nil, err
	}
	return p, nil
}

// opsServer serves ListEvents and backups for the hosted stores; nil when there is none.
func (p *Process) opsServer(hs []*hostedService) *opsapi.Server {
	dbs := map[string]*boltx.DB{}
	logs := map[string]opsapi.EventSource{}
	for _, h := range hs {
		if h.db == nil {
			continue
		}
		dbs[h.d.Name] = h.db
		if h.log != nil {
			logs[h.d.Name] = opsapi.EventSource{Log: h.log, DB: h.db}
		}
	}
	if len(dbs) == 0 {
		return nil
	}
	return opsapi.New(dbs, logs)
}

func (p *Process) serveGRPC(srv *grpc.Server) error {
	lis, err := net.Listen("tcp", p.cfg.GRPCAddr)
	if err != nil {
		return fmt.Errorf("listen for gRPC on %s (HUIYUAN_GRPC_ADDR): %w", p.cfg.GRPCAddr, err)
	}
	p.grpcAddr = lis.Addr().String()
	go func() {
		if err := srv.Serve(lis); err != nil {
			p.fail(fmt.Errorf("gRPC server: %w", err))
		}
	}()
	p.onClose("gRPC server", func(ctx context.Context) error {
		done := make(chan struct{})
		go func() { srv.GracefulStop(); close(done) }()
		select {
		case <-done:
		case <-ctx.Done():
			srv.Stop()
		}
		return nil
	})
	return nil
}

// serveMetrics serves h as /metrics on cfg.MetricsAddr.
func (p *Process) serveMetrics(h http.Handler) error {
	lis, err := net.Listen("tcp", p.cfg.MetricsAddr)
	if err != nil {
		return fmt.Errorf("listen for metrics on %s (HUIYUAN_METRICS_ADDR): %w", p.cfg.MetricsAddr, err)
	}
	p.setAddr("metrics", lis.Addr().String())
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", h)
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() {
		if err := srv.Serve(lis); err != nil && !errors.Is(err, http.ErrServerClosed) {
			p.fail(fmt.Errorf("metrics server: %w", err))
		}
	}()
	p.onClose("metrics server", srv.Shutdown)
	return nil
}

// setAddr records an address a service listens on, for Process.Addr (Env.Listening).
func (p *Process) setAddr(name, addr string) {
	p.mu.Lock()
	p.addrs[name] = addr
	p.mu.Unlock()
}

// Close stops everything in reverse order of start: jobs (the JSON edge drains), the gRPC server
// (gracefully), consumers, relays (flushing the outbox), the services, writers and stores, and the
// broker connections last.
func (p *Process) Close(ctx context.Context) error {
	p.mu.Lock()
	p.ready = false
	closers := p.closers
	p.closers = nil
	p.mu.Unlock()
	if p.health != nil {
		p.health.Shutdown() // NOT_SERVING while draining
	}
	var errs []error
	for i := len(closers) - 1; i >= 0; i-- {
		c := closers[i]
		if err := c.fn(ctx); err != nil {
			p.log.Warn("shutdown step failed", "step", c.name, "err", err)
			errs = append(errs, fmt.Errorf("%s: %w", c.name, err))
		}
	}
	return errors.Join(errs...)
}

// failingConn answers every call with the error that kept it from being made.
type failingConn struct{ err error }

func (c failingConn) Invoke(context.Context, string, any, any, ...grpc.CallOption) error {
	return c.err
}
func (c failingConn) NewStream(context.Context, *grpc.StreamDesc, string, ...grpc.CallOption) (grpc.ClientStream, error) {
	return nil, c.err
}
