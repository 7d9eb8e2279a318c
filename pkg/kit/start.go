package kit

import (
	"context"
	"fmt"

	"github.com/nats-io/nats.go"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/huiyuan-dev/huiyuan/pkg/auth"
	"github.com/huiyuan-dev/huiyuan/pkg/boltx"
	"github.com/huiyuan-dev/huiyuan/pkg/eventlog"
	"github.com/huiyuan-dev/huiyuan/pkg/grpcx"

	opsv1 "github.com/huiyuan-dev/huiyuan/gen/huiyuan/ops/v1"
)

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
	p.stores = newStoreMetrics(cfg.Registry, p.log)
	if cfg.MetricsAddr != "" {
		if err := p.serveMetrics(metrics); err != nil {
			return err
		}
	}

	for _, s := range plan.hosted {
		h := &hostedService{svc: s.svc, d: s.d, token: &tokenSource{service: s.d.Name, tokens: services, now: cfg.Clock.Now}}
		hs = append(hs, h)
		if !s.d.Stateless {
			db, w, err := openStore(cfg.DataDir, s.d, cfg.StoreOptions,
				boltx.WriterOptions{Linger: cfg.CommitLinger, Observe: p.stores.observer(s.d.Name)})
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
