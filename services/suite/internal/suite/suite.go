// Package suite assembles the Huiyuan processes on the service kit: the whole suite in one
// process (embedded NATS, every service, the JSON edge calling them in process), or one service
// of it on its own against an external NATS, as DESIGN.md's separated layout has it.
package suite

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"path/filepath"
	"strconv"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"

	"github.com/huiyuan-dev/huiyuan/pkg/auth"
	"github.com/huiyuan-dev/huiyuan/pkg/kit"
	"github.com/huiyuan-dev/huiyuan/pkg/natsx"
	"github.com/huiyuan-dev/huiyuan/services/iam/iamd"
)

// Suite is a running process of the suite.
type Suite struct {
	*kit.Process
	natsURL   string
	authority *natsx.Authority              // the embedded broker's; nil with an external one
	extra     []func(context.Context) error // closed after the process, in reverse
}

// HTTPAddr is the JSON edge's actual listen address ("" when this process has no edge).
func (s *Suite) HTTPAddr() string { return s.Addr("http") }

// MetricsAddr is the actual address of the metrics listener ("" without --metrics-addr).
func (s *Suite) MetricsAddr() string { return s.Addr("metrics") }

// NATSURL is the URL other systems subscribe to events at.
func (s *Suite) NATSURL() string { return s.natsURL }

// Close stops the services, then the embedded broker and the profiler.
func (s *Suite) Close(ctx context.Context) error {
	var errs []error
	if s.Process != nil {
		errs = append(errs, s.Process.Close(ctx))
	}
	for i := len(s.extra) - 1; i >= 0; i-- {
		errs = append(errs, s.extra[i](ctx))
	}
	return errors.Join(errs...)
}

// Start runs what cfg asks for; out receives one-time notices (a generated admin key). On error,
// whatever was started is stopped again.
func Start(ctx context.Context, cfg *Config, log *slog.Logger, out io.Writer) (_ *Suite, err error) {
	s := &Suite{}
	defer func() {
		if err != nil {
			cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cfg.ShutdownGrace)
			defer cancel()
			_ = s.Close(cctx)
		}
	}()
	if cfg.PprofAddr != "" {
		if err := s.servePprof(cfg.PprofAddr); err != nil {
			return nil, err
		}
	}
	jwtSecret, err := sharedSecret(cfg, cfg.JWTSecret, "jwt", "HUIYUAN_JWT_SECRET")
	if err != nil {
		return nil, err
	}
	serviceSecret, err := sharedSecret(cfg, cfg.ServiceSecret, "service", "HUIYUAN_SERVICE_SECRET")
	if err != nil {
		return nil, err
	}
	broker, err := s.startBroker(cfg, log)
	if err != nil {
		return nil, err
	}
	kcfg := kit.Config{
		Target:         cfg.Service,
		DataDir:        cfg.DataDir,
		GRPCAddr:       cfg.GRPCAddr,
		Addrs:          cfg.addrs(),
		Broker:         broker,
		BrokerURL:      s.natsURL,
		JWTSecret:      jwtSecret,
		ServiceSecret:  serviceSecret,
		EventRetention: cfg.EventRetention,
		CommitLinger:   cfg.CommitLinger,
		ShutdownGrace:  cfg.ShutdownGrace,
		StreamOptions:  []natsx.StreamOption{natsx.WithReplicas(cfg.NATSReplicas)},
		KeyTTL:         cfg.KeyTTL,
		RateLimit:      cfg.RateLimit,
		RateBurst:      cfg.RateBurst,
		MetricsAddr:    cfg.MetricsAddr,
		Logger:         log,
		Stdout:         out,
	}
	if cfg.TLSCert != "" {
		kcfg.TLS = &kit.TLS{CertFile: cfg.TLSCert, KeyFile: cfg.TLSKey, CAFile: cfg.TLSCA}
	}
	p, err := kit.Run(ctx, kcfg, cfg.Modules)
	if err != nil {
		return nil, err
	}
	s.Process = p
	return s, nil
}

// sharedSecret is a secret every process of an installation shares: configured, or, when the
// whole suite runs in this one process, generated into <data-dir>/secrets.
func sharedSecret(cfg *Config, configured, name, env string) ([]byte, error) {
	if configured == "" && cfg.Service != kit.All {
		return nil, fmt.Errorf("%s: required when services run as separate processes (every process needs the same value)", env)
	}
	v, _, err := kit.Secret(configured, filepath.Join(cfg.DataDir, "secrets"), name, 32)
	if err != nil {
		return nil, err
	}
	b, err := base64.StdEncoding.DecodeString(v)
	if err != nil || len(b) < auth.MinTokenSecret {
		return nil, fmt.Errorf("%s: want base64 of at least %d bytes", env, auth.MinTokenSecret)
	}
	return b, nil
}

// broker connects each service to NATS with a credential of its own: issued by the embedded
// server's authority for its grant, or (external) the process's credentials file.
type broker struct {
	ns        *server.Server   // embedded, or nil
	authority *natsx.Authority // the embedded server's, or nil
	grants    map[string]natsx.ServiceGrant
	url       string
	creds     string
	log       *slog.Logger
}

// Connect implements kit.Broker.
func (b *broker) Connect(_ context.Context, service string) (*nats.Conn, error) {
	log := b.log.With("component", "nats", "service", service)
	opts := []nats.Option{natsx.WithLogger(log), nats.Name("huiyuan-" + service)}
	if b.ns != nil {
		c, err := b.authority.IssueService(service, b.grants[service])
		if err != nil {
			return nil, err
		}
		return natsx.ConnectInProcess(b.ns, append(opts, natsx.WithCredential(c))...)
	}
	if b.creds != "" {
		opts = append(opts, natsx.WithCredentialsFile(b.creds))
	}
	nc, err := natsx.Connect(b.url, opts...)
	if err != nil {
		return nil, fmt.Errorf("connect to NATS at %s: %w", b.url, err)
	}
	return nc, nil
}

// OperatorCredential issues a full-access broker credential of the embedded server, for tests
// and debugging that look at streams from outside; nil and an error with an external broker.
func (s *Suite) OperatorCredential(ttl time.Duration) (*natsx.Credential, error) {
	if s.authority == nil {
		return nil, errors.New("the broker is external: use its operator credentials")
	}
	return s.authority.IssueOperator("operator", ttl)
}

// AuthorityDir is where the embedded broker's authority (its keys) lives in a data directory.
func AuthorityDir(dataDir string) string { return filepath.Join(dataDir, "secrets", "nats") }

// startBroker embeds a NATS server in operator mode when no external one is configured: only
// credentials issued by its authority connect.
func (s *Suite) startBroker(cfg *Config, log *slog.Logger) (*broker, error) {
	grants := map[string]natsx.ServiceGrant{}
	for _, m := range cfg.Modules {
		d := m.Describe()
		grants[d.Name] = kit.Grant(d)
	}
	if cfg.NATSURL != "" {
		s.natsURL = cfg.NATSURL
		if cfg.NATSCreds == "" {
			log.Warn("connecting to NATS without credentials (HUIYUAN_NATS_CREDS): the broker must let no one in without them in production")
		}
		return &broker{url: cfg.NATSURL, creds: cfg.NATSCreds, grants: grants, log: log}, nil
	}
	host, portStr, err := net.SplitHostPort(cfg.NATSAddr)
	if err != nil {
		return nil, fmt.Errorf("HUIYUAN_NATS_ADDR: %w", err)
	}
	port, err := strconv.Atoi(portStr)
	if err != nil {
		return nil, fmt.Errorf("HUIYUAN_NATS_ADDR: bad port %q", portStr)
	}
	if port == 0 {
		port = -1 // nats-server's "pick a free port"
	} else {
		// nats-server retries a taken port for seconds before giving up: find out at once.
		probe, err := net.Listen("tcp", cfg.NATSAddr)
		if err != nil {
			return nil, fmt.Errorf("start the embedded NATS server on %s (HUIYUAN_NATS_ADDR): %w", cfg.NATSAddr, err)
		}
		_ = probe.Close()
	}
	a, err := natsx.OpenAuthority(AuthorityDir(cfg.DataDir))
	if err != nil {
		return nil, err
	}
	sa, err := a.ServerAuth()
	if err != nil {
		return nil, err
	}
	ns, err := natsx.StartEmbedded(natsx.EmbeddedConfig{Host: host, Port: port, StoreDir: filepath.Join(cfg.DataDir, "nats"),
		ServerName: "huiyuan", Logger: log.With("component", "nats"), Auth: sa})
	if err != nil {
		return nil, fmt.Errorf("start the embedded NATS server on %s (HUIYUAN_NATS_ADDR): %w", cfg.NATSAddr, err)
	}
	s.extra = append(s.extra, func(context.Context) error { ns.Shutdown(); ns.WaitForShutdown(); return nil })
	s.natsURL, s.authority = ns.ClientURL(), a
	// The iam service issues outside subscribers' credentials with the authority's tenant key.
	if err := a.TenantIssuer().WriteFile(iamd.TenantIssuerPath(kit.ServiceDir(cfg.DataDir, iamd.Name))); err != nil {
		return nil, err
	}
	return &broker{ns: ns, authority: a, grants: grants, log: log}, nil
}

// servePprof serves Go's profiles on their own listener, apart from the JSON edge and its auth.
func (s *Suite) servePprof(addr string) error {
	lis, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("listen pprof %s (HUIYUAN_PPROF_ADDR): %w", addr, err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(lis) }()
	s.extra = append(s.extra, srv.Shutdown)
	return nil
}
