package kit

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"slices"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/huiyuan-dev/huiyuan/pkg/auth"
	"github.com/huiyuan-dev/huiyuan/pkg/boltx"
	"github.com/huiyuan-dev/huiyuan/pkg/clock"
	"github.com/huiyuan-dev/huiyuan/pkg/eventlog"
	"github.com/huiyuan-dev/huiyuan/pkg/grpcx"
	"github.com/huiyuan-dev/huiyuan/pkg/natsx"
	"github.com/huiyuan-dev/huiyuan/pkg/opsapi"

	iamv1 "github.com/huiyuan-dev/huiyuan/gen/huiyuan/iam/v1"
	opsv1 "github.com/huiyuan-dev/huiyuan/gen/huiyuan/ops/v1"
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

// hostedService is one service of the process while it starts.
type hostedService struct {
	svc     Service
	d       Description
	db      *boltx.DB
	w       *boltx.Writer
	log     *eventlog.Log
	nc      *nats.Conn
	running *Running
	token   *tokenSource
}

func (p *Process) start(ctx context.Context, plan *plan) error {
	cfg := p.cfg
	tokens := auth.NewMemberTokens(cfg.JWTSecret, cfg.Clock)
	services := auth.NewServiceTokens(cfg.ServiceSecret, cfg.Clock)
	var tc *tlsConfigs
	if cfg.TLS != nil {
		var err error
		if tc, err = cfg.TLS.load(); err != nil {
			return err
		}
	}
	dial := newDialer(tc.client())
	p.onClose("connections", func(context.Context) error { return dial.close() })

	// The chain is built before the services start; the key authenticator is only known after
	// (the iam service provides it), so Bearer is filled in then.
	bearer := &auth.Bearer{Tokens: tokens, Services: services}
	p.health = health.NewServer()
	gcfg := grpcx.Config{
		Logger:   p.log,
		Domain:   DefaultDomain,
		Domains:  plan.domains(),
		Auth:     bearer,
		Policy:   auth.Merge(plan.policy(), cfg.Policy),
		Registry: cfg.Registry,
		Health:   p.health,
		Limiter:  auth.NewLimiter(cfg.RateLimit, cfg.RateBurst, cfg.Clock.Now),
	}
	p.channel = grpcx.NewChannel(grpcx.UnaryInterceptors(gcfg)...)
	hs := make([]*hostedService, 0, len(plan.hosted))
	conn := func(caller *hostedService, target string, forward bool) grpc.ClientConnInterface {
		var cc grpc.ClientConnInterface = p.channel
		if !plan.isHosted(target) {
			c, err := dial.conn(cfg.Addrs[target]) // the plan checked that the address is set
			if err != nil {
				return failingConn{err}
			}
			cc = c
		}
		if forward {
			return cc
		}
		return serviceConn{cc: cc, token: caller.token}
	}
	metrics := promhttp.HandlerFor(cfg.Registry, promhttp.HandlerOpts{})

	for _, s := range plan.hosted {
		h := &hostedService{svc: s.svc, d: s.d, token: &tokenSource{service: s.d.Name, tokens: services, now: cfg.Clock.Now}}
		hs = append(hs, h)
		if !s.d.Stateless {
			db, w, err := openStore(cfg.DataDir, s.d, cfg.StoreOptions)
			if err != nil {
				return err
			}
			p.onClose(s.d.Name+" store", func(context.Context) error { return db.Close() })
			p.onClose(s.d.Name+" writer", func(context.Context) error { return w.Close() })
			h.db, h.w = db, w
			if s.d.Events {
				h.log = eventlog.New(s.d.Name)
			}
		}
		if cfg.Broker != nil {
			nc, err := cfg.Broker.Connect(ctx, s.d.Name)
			if err != nil {
				return fmt.Errorf("%s: connect to NATS: %w", s.d.Name, err)
			}
			p.onClose(s.d.Name+" NATS connection", func(context.Context) error { nc.Close(); return nil })
			h.nc = nc
		}
		env := Env{
			DB: h.db, Writer: h.w, Log: h.log, DataDir: ServiceDir(cfg.DataDir, s.d.Name),
			Clock: cfg.Clock, Logger: p.log.With("service", s.d.Name), Registry: cfg.Registry,
			Dial:    func(target string) grpc.ClientConnInterface { return conn(h, target, false) },
			Forward: func(target string) grpc.ClientConnInterface { return conn(h, target, true) },
			APIs:    plan.apis(), Services: plan.everything(), Tokens: tokens, NATS: h.nc, BrokerURL: cfg.BrokerURL, TLS: tc.edge(),
			Ready: p.Ready, Metrics: metrics, Stdout: cfg.Stdout, Listening: p.setAddr,
			ShutdownGrace: cfg.ShutdownGrace,
		}
		r, err := s.svc.Start(ctx, env)
		if err != nil {
			return fmt.Errorf("start %s: %w", s.d.Name, err)
		}
		if r == nil {
			r = &Running{}
		}
		h.running = r
		if r.Close != nil {
			p.onClose(s.d.Name, r.Close)
		}
	}

	if err := p.authenticateKeys(ctx, bearer, hs, conn); err != nil {
		return err
	}
	if err := p.checkMemberTokens(bearer, tokens, plan, hs, conn); err != nil {
		return err
	}
	var srv *grpc.Server
	if plan.servesGRPC() {
		var opts []grpc.ServerOption
		if c := tc.server(); c != nil {
			opts = append(opts, grpc.Creds(credentials.NewTLS(c)))
		}
		srv = grpcx.NewServer(gcfg, opts...)
	}
	ops := p.opsServer(hs)
	registrars := []grpc.ServiceRegistrar{p.channel}
	if srv != nil {
		registrars = append(registrars, srv)
	}
	healthpb.RegisterHealthServer(p.channel, p.health) // the gateway checks in-process services too
	for _, r := range registrars {
		for _, h := range hs {
			if h.running.Register != nil {
				h.running.Register(r)
			}
		}
		if ops != nil {
			opsv1.RegisterOperationsServiceServer(r, ops)
		}
	}
	for _, h := range hs {
		if err := p.startEvents(ctx, h, conn); err != nil {
			return err
		}
	}
	if srv != nil {
		if err := p.serveGRPC(srv); err != nil {
			return err
		}
	}
	for _, h := range hs {
		for _, j := range h.running.Jobs {
			p.startJob(ctx, h.d.Name+" "+j.Name, j.Run)
		}
	}
	p.health.SetServingStatus("", healthpb.HealthCheckResponse_SERVING)
	for _, h := range hs {
		p.health.SetServingStatus(h.d.Name, healthpb.HealthCheckResponse_SERVING)
		for _, api := range h.d.APIs {
			p.health.SetServingStatus(api, healthpb.HealthCheckResponse_SERVING)
		}
	}
	p.mu.Lock()
	p.ready = true
	p.mu.Unlock()
	p.log.Info("huiyuan ready", "target", cfg.Target, "services", p.Hosted(), "grpc", p.grpcAddr)
	return nil
}

// authenticateKeys sets how the process authenticates API keys: the configured override, the
// hosted iam service's key store, or the iam service over gRPC with a cache whose entries
// revocation events evict.
func (p *Process) authenticateKeys(ctx context.Context, b *auth.Bearer, hs []*hostedService,
	conn func(*hostedService, string, bool) grpc.ClientConnInterface) error {
	if p.cfg.Keys != nil {
		b.Keys = p.cfg.Keys
		return nil
	}
	for _, h := range hs {
		if h.running.Keys != nil {
			b.Keys = h.running.Keys
			return nil
		}
	}
	if len(hs) == 0 {
		return nil
	}
	remote := auth.NewRemoteKeys(iamv1.NewKeyAuthServiceClient(conn(hs[0], IAM, false)), p.cfg.KeyTTL, p.cfg.Clock)
	b.Keys = remote
	if nc := hs[0].nc; nc != nil {
		sub, err := subscribeRevocations(nc, remote, p.log)
		if err != nil {
			return err
		}
		p.onClose("key revocations", func(context.Context) error { return sub.Unsubscribe() })
	}
	return nil
}

// checkMemberTokens makes the process check member tokens, beyond their signature, with the
// service that revokes them: its own store when it runs here, otherwise over gRPC with a cache
// whose entries revocation events evict. Without such a service in the list, the signature and
// lifetime decide alone.
func (p *Process) checkMemberTokens(b *auth.Bearer, tokens *auth.MemberTokens, plan *plan, hs []*hostedService,
	conn func(*hostedService, string, bool) grpc.ClientConnInterface) error {
	owner, err := plan.tokenOwner()
	if err != nil || owner == nil || len(hs) == 0 {
		return err
	}
	for _, h := range hs {
		if h.d.Name == owner.d.Name {
			if h.running.TokenStatus == nil {
				return fmt.Errorf("%s: describes member token checks but started no TokenStatus", h.d.Name)
			}
			b.Tokens = auth.RevocableTokens{Tokens: tokens, Status: h.running.TokenStatus}
			return nil
		}
	}
	checks := owner.d.MemberTokens
	remote := auth.NewRemoteTokens(checks.Remote(conn(hs[0], owner.d.Name, false)), p.cfg.KeyTTL, p.cfg.Clock)
	b.Tokens = auth.RevocableTokens{Tokens: tokens, Status: remote}
	if nc := hs[0].nc; nc != nil {
		sub, err := subscribeTokenRevocations(nc, remote, checks.Revocation, p.log)
		if err != nil {
			return err
		}
		p.onClose("member token revocations", func(context.Context) error { return sub.Unsubscribe() })
	}
	return nil
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

// startEvents starts a hosted service's relay and consumers.
func (p *Process) startEvents(ctx context.Context, h *hostedService, conn func(*hostedService, string, bool) grpc.ClientConnInterface) error {
	if h.nc == nil {
		return nil
	}
	js, err := jetstream.New(h.nc)
	if err != nil {
		return fmt.Errorf("%s: JetStream: %w", h.d.Name, err)
	}
	if h.log != nil {
		relay := eventlog.NewRelay(h.log, h.db, js, p.log.With("service", h.d.Name, "component", "relay"),
			eventlog.RelayOptions{Retention: p.cfg.EventRetention, Clock: p.cfg.Clock,
				StreamOptions: append([]natsx.StreamOption{natsx.WithMaxAge(p.cfg.EventRetention)}, p.cfg.StreamOptions...)})
		rctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
		done := make(chan struct{})
		go func() {
			defer close(done)
			if err := relay.Run(rctx); err != nil && rctx.Err() == nil {
				p.fail(fmt.Errorf("%s relay: %w", h.d.Name, err))
			}
		}()
		p.onClose(h.d.Name+" relay", func(ctx context.Context) error {
			err := relay.Flush(ctx) // acknowledged writes reach the broker before we stop
			cancel()
			<-done
			return err
		})
	}
	for _, c := range h.running.Consumers {
		switch c.Name {
		case "":
			c.Name = h.d.Name
		case h.d.Name:
		default:
			return fmt.Errorf("%s: consumer %q: a service's durable consumers are named after it", h.d.Name, c.Name)
		}
		if !slices.Contains(h.d.Consumes, c.Producer) {
			return fmt.Errorf("%s: consumes %s, which its description does not list", h.d.Name, c.Producer)
		}
		fetcher := opsFetcher{client: opsv1.NewOperationsServiceClient(conn(h, c.Producer, false))}
		cons := eventlog.NewConsumer(js, h.db, h.w, eventlog.ConsumerConfig{
			Name: c.Name, Service: c.Producer, Types: c.Types, Fetcher: fetcher,
		}, c.Handler, p.log.With("service", h.d.Name, "consumer", c.Name))
		p.startJob(ctx, h.d.Name+" consumer of "+c.Producer, cons.Run)
	}
	return nil
}

// startJob runs fn until Close; an error before that stops the process.
func (p *Process) startJob(ctx context.Context, name string, fn func(context.Context) error) {
	jctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := fn(jctx); err != nil && jctx.Err() == nil {
			p.fail(fmt.Errorf("%s: %w", name, err))
		}
	}()
	p.onClose(name, func(context.Context) error {
		cancel()
		<-done
		return nil
	})
}

func (p *Process) fail(err error) {
	p.log.Error("background work stopped", "err", err)
	select {
	case p.errc <- err:
	default:
	}
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
