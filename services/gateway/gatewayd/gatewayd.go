// Package gatewayd assembles the JSON edge as a service of the kit: grpc-gateway routes for every
// service of the list that has some, each over a connection to wherever that service runs (the
// in-process channel in the suite, its address otherwise), plus health, metrics and OpenAPI.
package gatewayd

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"google.golang.org/grpc"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/huiyuan-dev/huiyuan/pkg/config"
	"github.com/huiyuan-dev/huiyuan/pkg/kit"
	"github.com/huiyuan-dev/huiyuan/services/gateway/edge"

	opsv1 "github.com/huiyuan-dev/huiyuan/gen/huiyuan/ops/v1"
)

// Name is the service's name.
const Name = "gateway"

// Module returns the JSON edge for kit.Run.
func Module() kit.Service { return &service{} }

type service struct {
	httpAddr, origins, metricsKey string
	maxBody                       int64
}

// Describe implements kit.Service.
func (s *service) Describe() kit.Description {
	return kit.Description{Name: Name, Domain: "gateway.huiyuan.dev", Stateless: true, Edge: true}
}

// Flags implements kit.Service.
func (s *service) Flags(fs *flag.FlagSet) {
	fs.StringVar(&s.httpAddr, "http-addr", "127.0.0.1:8080", "JSON edge listen address")
	fs.StringVar(&s.origins, "cors-origins", "", "comma-separated origins allowed by CORS; \"*\" for any; empty disables CORS")
	fs.StringVar(&s.metricsKey, "metrics-key", "", "when set, /metrics wants Authorization: Bearer <this key> (at least 16 characters)")
	fs.Int64Var(&s.maxBody, "max-body-bytes", 1<<20, "largest request body the JSON edge accepts")
}

var _ kit.FlagChecker = (*service)(nil)

// CheckFlags implements kit.FlagChecker.
func (s *service) CheckFlags(p *config.Problems) {
	if _, _, err := net.SplitHostPort(s.httpAddr); err != nil {
		p.Addf("HUIYUAN_HTTP_ADDR=%q: want host:port", s.httpAddr)
	}
	if s.metricsKey != "" && len(s.metricsKey) < 16 {
		p.Addf("HUIYUAN_METRICS_KEY: want at least 16 characters")
	}
	if s.maxBody < 1024 {
		p.Addf("HUIYUAN_MAX_BODY_BYTES=%d: want at least 1024", s.maxBody)
	}
}

// Start implements kit.Service: it listens at once, so a taken port fails the start.
func (s *service) Start(ctx context.Context, env kit.Env) (*kit.Running, error) {
	backends, services := backendsOf(env)
	h, err := edge.New(ctx, edge.Config{
		CORSOrigins:  origins(s.origins),
		MaxBodyBytes: s.maxBody,
		MetricsKey:   s.metricsKey,
		Ready:        readiness(env, services),
		Metrics:      env.Metrics,
		Logger:       env.Logger,
	}, backends)
	if err != nil {
		return nil, err
	}
	lis, err := net.Listen("tcp", s.httpAddr)
	if err != nil {
		return nil, fmt.Errorf("listen for the JSON edge on %s (HUIYUAN_HTTP_ADDR): %w", s.httpAddr, err)
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second, ReadTimeout: 30 * time.Second,
		WriteTimeout: 60 * time.Second, IdleTimeout: 2 * time.Minute, MaxHeaderBytes: 64 << 10, TLSConfig: env.TLS}
	// Keep-alive HTTP/1.1 and HTTP/2, over TLS and in clear text (h2c) for clients behind a
	// terminating proxy: HTTP/2 multiplexes a console's requests over one connection.
	srv.Protocols = new(http.Protocols)
	srv.Protocols.SetHTTP1(true)
	srv.Protocols.SetHTTP2(true)
	srv.Protocols.SetUnencryptedHTTP2(env.TLS == nil)
	scheme := "http"
	if env.TLS != nil {
		scheme = "https"
	}
	env.Listening("http", lis.Addr().String())
	env.Logger.Info("JSON edge listening", "url", scheme+"://"+lis.Addr().String())
	serve := func(ctx context.Context) error {
		errc := make(chan error, 1)
		go func() {
			var err error
			if env.TLS != nil {
				err = srv.ServeTLS(lis, "", "")
			} else {
				err = srv.Serve(lis)
			}
			errc <- err
		}()
		select {
		case err := <-errc:
			return fmt.Errorf("JSON edge: %w", err)
		case <-ctx.Done():
		}
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), env.ShutdownGrace)
		defer cancel()
		if err := srv.Shutdown(sctx); err != nil {
			_ = srv.Close()
		}
		if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
			return err
		}
		return nil
	}
	return &kit.Running{Jobs: []kit.Job{{Name: "JSON edge", Run: serve}}}, nil
}

// backendsOf lists the routes of every service with some, and the operations API routed to the
// process that holds the service or database a request names; services are the services
// behind the edge.
func backendsOf(env kit.Env) ([]edge.Backend, []string) {
	var out []edge.Backend
	var services []string
	ops := opsRouter{conns: map[string]grpc.ClientConnInterface{}}
	for _, d := range env.Services {
		if d.Edge {
			continue
		}
		if len(d.Gateway) > 0 || !d.Stateless {
			services = append(services, d.Name)
		}
		for _, r := range d.Gateway {
			out = append(out, edge.Backend{Name: d.Name, Routes: r, Conn: env.Forward(d.Name)})
		}
		if !d.Stateless {
			ops.conns[d.Name] = env.Forward(d.Name)
		}
	}
	out = append(out, edge.Backend{Name: "operations", Conn: ops,
		Routes: func(ctx context.Context, mux *runtime.ServeMux, cc grpc.ClientConnInterface) error {
			return opsv1.RegisterOperationsServiceHandlerClient(ctx, mux, opsv1.NewOperationsServiceClient(cc))
		}})
	return out, services
}

// readiness is ready once this process is and every service behind the edge reports SERVING.
func readiness(env kit.Env, services []string) func(context.Context) error {
	return func(ctx context.Context) error {
		if err := env.Ready(ctx); err != nil {
			return err
		}
		ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		defer cancel()
		for _, name := range services {
			r, err := healthpb.NewHealthClient(env.Forward(name)).Check(ctx, &healthpb.HealthCheckRequest{Service: name})
			if err != nil {
				return fmt.Errorf("%s: %w", name, err)
			}
			if r.GetStatus() != healthpb.HealthCheckResponse_SERVING {
				return fmt.Errorf("%s is %s", name, r.GetStatus())
			}
		}
		return nil
	}
}

func origins(list string) []string {
	var out []string
	for _, o := range strings.Split(list, ",") {
		if o = strings.TrimSpace(o); o != "" {
			out = append(out, o)
		}
	}
	return out
}
