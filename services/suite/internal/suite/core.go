package suite

import (
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"path/filepath"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/grpc"
	"google.golang.org/grpc/health"

	iamv1 "github.com/huiyuan-dev/huiyuan/gen/huiyuan/iam/v1"
	opsv1 "github.com/huiyuan-dev/huiyuan/gen/huiyuan/ops/v1"
	"github.com/huiyuan-dev/huiyuan/pkg/auditlog"
	"github.com/huiyuan-dev/huiyuan/pkg/auth"
	"github.com/huiyuan-dev/huiyuan/pkg/auth/keyapi"
	"github.com/huiyuan-dev/huiyuan/pkg/boltx"
	"github.com/huiyuan-dev/huiyuan/pkg/clock"
	"github.com/huiyuan-dev/huiyuan/pkg/eventlog"
	"github.com/huiyuan-dev/huiyuan/pkg/grpcx"
	"github.com/huiyuan-dev/huiyuan/pkg/opsapi"
	"github.com/huiyuan-dev/huiyuan/pkg/pii"
	"github.com/huiyuan-dev/huiyuan/services/loyalty/loyaltyd"
	"github.com/huiyuan-dev/huiyuan/services/member/memberd"
)

// core is what the services of one process share: the gRPC server, the in-process channel the
// edge calls them through, and the health service.
type core struct {
	server  *grpc.Server
	channel *grpcx.Channel
	health  *health.Server
}

// startCore opens the stores, builds the services and registers them on the network server and
// on the in-process channel, with the same interceptors on both.
func (s *Suite) startCore(ctx context.Context, js jetstream.JetStream, reg *prometheus.Registry, out io.Writer) (*core, error) {
	clk := clock.System{}
	kek, err := s.kek()
	if err != nil {
		return nil, err
	}
	keyring, err := pii.NewKeyring(kek)
	if err != nil {
		return nil, fmt.Errorf("HUIYUAN_KEK: %w", err)
	}
	jwtSecret, err := s.jwtSecret()
	if err != nil {
		return nil, err
	}

	keysDB, err := s.open("keys", auth.Buckets()...)
	if err != nil {
		return nil, err
	}
	keys, err := auth.NewKeyStore(keysDB, clk)
	if err != nil {
		return nil, err
	}
	if err := s.bootstrapAdmin(ctx, keys, out); err != nil {
		return nil, err
	}

	memberDB, memberW, err := s.openWritable("member", memberd.Buckets()...)
	if err != nil {
		return nil, err
	}
	audit, err := s.auditLogger()
	if err != nil {
		return nil, err
	}
	member, err := memberd.New(memberd.Deps{
		DB: memberDB, Writer: memberW, Keyring: keyring, Clock: clk,
		Logger: s.log.With("service", "member"), Audit: audit, DefaultRegion: s.cfg.DefaultRegion,
	})
	if err != nil {
		return nil, err
	}
	if err := s.startRelay(ctx, js, member.EventLog(), memberDB); err != nil {
		return nil, err
	}

	loyaltyDB, loyaltyW, err := s.openWritable("loyalty", loyaltyd.Buckets()...)
	if err != nil {
		return nil, err
	}
	loyalty, err := loyaltyd.New(loyaltyd.Deps{
		DB: loyaltyDB, Writer: loyaltyW, Clock: clk, Logger: s.log.With("service", "loyalty"),
	})
	if err != nil {
		return nil, err
	}
	if err := s.startRelay(ctx, js, loyalty.EventLog(), loyaltyDB); err != nil {
		return nil, err
	}
	s.startJobs("loyalty jobs", ctx, loyalty.Scheduler().Run)
	// Loyalty learns members' tiers from the MEMBER stream; gaps fill from the member log here.
	memberEvents := loyalty.MemberConsumer(js, eventlog.LogFetcher{Log: member.EventLog(), DB: memberDB})
	s.startJobs("loyalty member consumer", ctx, memberEvents.Run)

	hs := health.NewServer()
	hs.Shutdown() // NOT_SERVING until Start has everything up; Resume then
	gcfg := grpcx.Config{
		Logger:   s.log,
		Domain:   "huiyuan",
		Auth:     auth.Bearer{Keys: keys, Tokens: auth.NewMemberTokens(jwtSecret, clk)},
		Policy:   auth.Merge(memberd.Policy(), loyaltyd.Policy(), keyapi.Policy(), opsapi.Policy()),
		Registry: reg,
		Health:   hs,
	}
	srv := grpcx.NewServer(gcfg)
	ch := grpcx.NewChannel(grpcx.UnaryInterceptors(gcfg)...)
	ops := opsapi.New(
		map[string]*boltx.DB{"keys": keysDB, "member": memberDB, "loyalty": loyaltyDB},
		map[string]opsapi.EventSource{
			"member":  {Log: member.EventLog(), DB: memberDB},
			"loyalty": {Log: loyalty.EventLog(), DB: loyaltyDB},
		},
	)
	for _, r := range []grpc.ServiceRegistrar{srv, ch} {
		member.Register(r)
		loyalty.Register(r)
		iamv1.RegisterApiKeyServiceServer(r, keyapi.New(keys, clk))
		opsv1.RegisterOperationsServiceServer(r, ops)
	}
	return &core{server: srv, channel: ch, health: hs}, nil
}

// startJobs runs a service's background jobs until shutdown.
func (s *Suite) startJobs(name string, ctx context.Context, run func(context.Context) error) {
	jctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := run(jctx); err != nil && jctx.Err() == nil {
			s.log.Error("background jobs stopped", "jobs", name, "err", err)
		}
	}()
	s.onClose(name, func(context.Context) error {
		cancel()
		<-done
		return nil
	})
}

// open opens <data-dir>/<name>.db, refusing a corrupt file, and closes it last on shutdown.
func (s *Suite) open(name string, buckets ...[]byte) (*boltx.DB, error) {
	db, err := boltx.Open(filepath.Join(s.cfg.DataDir, name+".db"), boltx.Options{}, buckets...)
	if err != nil {
		return nil, err
	}
	s.onClose(name+" store", func(context.Context) error { return db.Close() })
	return db, nil
}

// openWritable opens a service's store with its group-commit writer; on shutdown the writer
// drains before the store closes.
func (s *Suite) openWritable(name string, buckets ...[]byte) (*boltx.DB, *boltx.Writer, error) {
	db, err := s.open(name, buckets...)
	if err != nil {
		return nil, nil, err
	}
	w := boltx.NewWriter(db, boltx.WriterOptions{})
	s.onClose(name+" writer", func(context.Context) error { return w.Close() })
	return db, w, nil
}

// startRelay publishes one service's outbox to JetStream until shutdown, when it flushes first.
func (s *Suite) startRelay(ctx context.Context, js jetstream.JetStream, log *eventlog.Log, db *boltx.DB) error {
	relay := eventlog.NewRelay(log, db, js, s.log.With("component", "relay"), eventlog.RelayOptions{Retention: s.cfg.EventRetention})
	rctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := relay.Run(rctx); err != nil && rctx.Err() == nil {
			s.log.Error("relay stopped", "err", err)
		}
	}()
	s.onClose("relay", func(ctx context.Context) error {
		err := relay.Flush(ctx) // acknowledged writes reach the broker before we stop
		cancel()
		<-done
		return err
	})
	return nil
}

func (s *Suite) kek() ([]byte, error) {
	v, created, err := secret(s.cfg.KEK, filepath.Join(s.cfg.DataDir, "secrets"), "kek", 32)
	if err != nil {
		return nil, err
	}
	if created {
		s.log.Warn("generated a key-encryption key in the data directory; set HUIYUAN_KEK in production and keep it apart from backups")
	}
	kek, err := pii.ParseKEK(v)
	if err != nil {
		return nil, fmt.Errorf("HUIYUAN_KEK: %w", err)
	}
	return kek, nil
}

func (s *Suite) jwtSecret() ([]byte, error) {
	v, _, err := secret(s.cfg.JWTSecret, filepath.Join(s.cfg.DataDir, "secrets"), "jwt", 32)
	if err != nil {
		return nil, err
	}
	b, err := base64.StdEncoding.DecodeString(v)
	if err != nil || len(b) < 32 {
		return nil, fmt.Errorf("HUIYUAN_JWT_SECRET: want base64 of at least 32 bytes")
	}
	return b, nil
}

// bootstrapAdmin ensures HUIYUAN_ADMIN_KEY, or on a first start without it creates an admin key
// for the tenant "default" and prints its secret once.
func (s *Suite) bootstrapAdmin(ctx context.Context, keys *auth.KeyStore, out io.Writer) error {
	if s.cfg.AdminKey != "" {
		_, err := keys.Bootstrap(ctx, auth.DefaultTenant, s.cfg.AdminKey)
		return err
	}
	existing, err := keys.List(ctx, auth.DefaultTenant)
	if err != nil {
		return err
	}
	if len(existing) > 0 {
		return nil
	}
	rec, secret, err := keys.Create(ctx, auth.DefaultTenant, "bootstrap admin", iamv1.Role_ADMIN)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "Created admin API key %s for tenant %q. Its secret is shown only now:\n\n    %s\n\n",
		rec.GetId(), auth.DefaultTenant, secret)
	return nil
}

func (s *Suite) auditLogger() (*auditlog.Logger, error) {
	path := s.cfg.AuditLog
	if path == "" {
		path = filepath.Join(s.cfg.DataDir, "audit.log")
	}
	f, err := auditlog.Open(path, auditlog.DefaultFlushInterval)
	if err != nil {
		return nil, err
	}
	s.onClose("audit log", func(context.Context) error { return f.Close() })
	return auditlog.NewLogger(f), nil
}
