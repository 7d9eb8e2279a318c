// Package suite assembles the Huiyuan processes: the whole suite in one process (embedded NATS,
// every service, the JSON edge calling them in process), or one service on its own.
package suite

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"google.golang.org/grpc"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
)

// Suite is a running process of the suite.
type Suite struct {
	cfg Config
	log *slog.Logger

	httpAddr, grpcAddr, natsURL string

	mu      sync.Mutex
	closers []closer // run in reverse order by Close
	errc    chan error
	ready   bool
}

type closer struct {
	name string
	fn   func(ctx context.Context) error
}

// HTTPAddr is the JSON edge's actual listen address ("" when this process has no edge).
func (s *Suite) HTTPAddr() string { return s.httpAddr }

// GRPCAddr is the gRPC server's actual listen address ("" when this process serves no gRPC).
func (s *Suite) GRPCAddr() string { return s.grpcAddr }

// NATSURL is the URL other systems subscribe to events at.
func (s *Suite) NATSURL() string { return s.natsURL }

// Errors delivers a fatal error of a background server.
func (s *Suite) Errors() <-chan error { return s.errc }

func (s *Suite) onClose(name string, fn func(ctx context.Context) error) {
	s.closers = append(s.closers, closer{name, fn})
}

// Start builds and starts everything cfg asks for; out receives the one-time bootstrap secret.
// On error, whatever was started is closed again.
func Start(ctx context.Context, cfg Config, log *slog.Logger, out io.Writer) (_ *Suite, err error) {
	s := &Suite{cfg: cfg, log: log, errc: make(chan error, 4)}
	defer func() {
		if err != nil {
			cctx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownGrace)
			defer cancel()
			_ = s.Close(cctx)
		}
	}()
	if cfg.PprofAddr != "" {
		if err := s.servePprof(); err != nil {
			return nil, err
		}
	}
	if cfg.Service == "gateway" {
		return s, s.startGateway(ctx)
	}
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return nil, fmt.Errorf("create data dir: %w", err)
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))

	js, err := s.startNATS(ctx)
	if err != nil {
		return nil, err
	}
	core, err := s.startCore(ctx, js, reg, out)
	if err != nil {
		return nil, err
	}
	if err := s.serveGRPC(core.server); err != nil {
		return nil, err
	}
	if cfg.Service == "all" {
		if err := s.serveHTTP(ctx, core.channel, promhttp.HandlerFor(reg, promhttp.HandlerOpts{}), s.Ready); err != nil {
			return nil, err
		}
	}
	s.mu.Lock()
	s.ready = true
	s.mu.Unlock()
	core.health.Resume()
	log.Info("huiyuan ready", "service", cfg.Service, "http", s.httpAddr, "grpc", s.grpcAddr, "nats", s.natsURL)
	return s, nil
}

// Ready reports nil once every service is started and the broker is reachable.
func (s *Suite) Ready(context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.ready {
		return errors.New("starting")
	}
	return nil
}

// Close stops everything in reverse order of start: the edge drains its requests, gRPC stops
// gracefully, relays flush the outbox to the broker, writers and stores close, NATS last.
func (s *Suite) Close(ctx context.Context) error {
	s.mu.Lock()
	s.ready = false
	closers := s.closers
	s.closers = nil
	s.mu.Unlock()
	var errs []error
	for i := len(closers) - 1; i >= 0; i-- {
		c := closers[i]
		if err := c.fn(ctx); err != nil {
			s.log.Warn("shutdown step failed", "step", c.name, "err", err)
			errs = append(errs, fmt.Errorf("%s: %w", c.name, err))
		}
	}
	return errors.Join(errs...)
}

func (s *Suite) startNATS(ctx context.Context) (jetstream.JetStream, error) {
	var nc *nats.Conn
	if s.cfg.NATSURL != "" {
		c, err := natsConnect(s.cfg.NATSURL, s.log.With("component", "nats"))
		if err != nil {
			return nil, err
		}
		nc, s.natsURL = c, s.cfg.NATSURL
	} else {
		ns, c, err := embeddedNATS(s.cfg.NATSAddr, filepath.Join(s.cfg.DataDir, "nats"), s.log.With("component", "nats"))
		if err != nil {
			return nil, err
		}
		s.onClose("nats server", func(context.Context) error { ns.Shutdown(); ns.WaitForShutdown(); return nil })
		nc, s.natsURL = c, ns.ClientURL()
	}
	s.onClose("nats connection", func(context.Context) error { nc.Close(); return nil })
	return jetstream.New(nc)
}

func (s *Suite) serveGRPC(srv *grpc.Server) error {
	lis, err := net.Listen("tcp", s.cfg.GRPCAddr)
	if err != nil {
		return fmt.Errorf("listen gRPC %s: %w", s.cfg.GRPCAddr, err)
	}
	s.grpcAddr = lis.Addr().String()
	go func() {
		if err := srv.Serve(lis); err != nil {
			s.errc <- fmt.Errorf("gRPC server: %w", err)
		}
	}()
	s.onClose("gRPC server", func(ctx context.Context) error {
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

func (s *Suite) serveHTTP(ctx context.Context, conn grpc.ClientConnInterface, metrics http.Handler, ready func(context.Context) error) error {
	h, err := newEdge(ctx, s.cfg, s.log, conn, metrics, ready)
	if err != nil {
		return err
	}
	lis, err := net.Listen("tcp", s.cfg.HTTPAddr)
	if err != nil {
		return fmt.Errorf("listen HTTP %s: %w", s.cfg.HTTPAddr, err)
	}
	s.httpAddr = lis.Addr().String()
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second, ReadTimeout: 30 * time.Second,
		WriteTimeout: 60 * time.Second, IdleTimeout: 2 * time.Minute, MaxHeaderBytes: 64 << 10}
	go func() {
		if err := srv.Serve(lis); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.errc <- fmt.Errorf("HTTP server: %w", err)
		}
	}()
	s.onClose("HTTP server", srv.Shutdown)
	return nil
}

// startGateway runs the JSON edge alone, dialing the member service over gRPC.
func (s *Suite) startGateway(ctx context.Context) error {
	conn, err := dial(s.cfg.MemberAddr)
	if err != nil {
		return err
	}
	s.onClose("member connection", func(context.Context) error { return conn.Close() })
	hc := healthpb.NewHealthClient(conn)
	ready := func(ctx context.Context) error {
		r, err := hc.Check(ctx, &healthpb.HealthCheckRequest{})
		if err != nil {
			return err
		}
		if r.GetStatus() != healthpb.HealthCheckResponse_SERVING {
			return errors.New("member service not serving")
		}
		return nil
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	if err := s.serveHTTP(ctx, conn, promhttp.HandlerFor(reg, promhttp.HandlerOpts{}), ready); err != nil {
		return err
	}
	s.log.Info("gateway ready", "http", s.httpAddr, "core", s.cfg.MemberAddr)
	return nil
}

// servePprof serves Go's profiles on their own listener, apart from the JSON edge and its auth.
func (s *Suite) servePprof() error {
	lis, err := net.Listen("tcp", s.cfg.PprofAddr)
	if err != nil {
		return fmt.Errorf("listen pprof %s: %w", s.cfg.PprofAddr, err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(lis) }()
	s.onClose("pprof server", srv.Shutdown)
	return nil
}
