package memberd

import (
	"context"
	"errors"
	"flag"
	"io/fs"
	"os"
	"path/filepath"
	"time"
	_ "time/tzdata" // tenants' time zones, on hosts without a zone database

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"github.com/huiyuan-dev/huiyuan/pkg/auditlog"
	"github.com/huiyuan-dev/huiyuan/pkg/config"
	"github.com/huiyuan-dev/huiyuan/pkg/kit"
	"github.com/huiyuan-dev/huiyuan/pkg/pii"
	"google.golang.org/grpc"

	memberv1 "github.com/huiyuan-dev/huiyuan/gen/huiyuan/member/v1"
)

// Module returns the member service for kit.Run. It alone holds the key-encryption key.
func Module() kit.Service { return &service{} }

type service struct {
	kek, region, auditPath string
	jobInterval            time.Duration
}

// Describe implements kit.Service.
func (s *service) Describe() kit.Description {
	return kit.Description{
		Name:     Name,
		Domain:   Domain,
		APIs:     APIs(),
		Buckets:  ownBuckets(),
		Policy:   Policy(),
		Events:   true,
		Consumes: []string{LoyaltyService},
		Gateway: []kit.GatewayRoutes{
			func(ctx context.Context, mux *runtime.ServeMux, cc grpc.ClientConnInterface) error {
				return memberv1.RegisterMemberServiceHandlerClient(ctx, mux, memberv1.NewMemberServiceClient(cc))
			},
			func(ctx context.Context, mux *runtime.ServeMux, cc grpc.ClientConnInterface) error {
				return memberv1.RegisterMemberTokenServiceHandlerClient(ctx, mux, memberv1.NewMemberTokenServiceClient(cc))
			},
			func(ctx context.Context, mux *runtime.ServeMux, cc grpc.ClientConnInterface) error {
				return memberv1.RegisterNotificationServiceHandlerClient(ctx, mux, memberv1.NewNotificationServiceClient(cc))
			},
			func(ctx context.Context, mux *runtime.ServeMux, cc grpc.ClientConnInterface) error {
				return memberv1.RegisterTierServiceHandlerClient(ctx, mux, memberv1.NewTierServiceClient(cc))
			},
			func(ctx context.Context, mux *runtime.ServeMux, cc grpc.ClientConnInterface) error {
				return memberv1.RegisterBenefitServiceHandlerClient(ctx, mux, memberv1.NewBenefitServiceClient(cc))
			},
			func(ctx context.Context, mux *runtime.ServeMux, cc grpc.ClientConnInterface) error {
				return memberv1.RegisterPlanServiceHandlerClient(ctx, mux, memberv1.NewPlanServiceClient(cc))
			},
		},
		MemberTokens: &kit.MemberTokenChecks{Remote: RemoteTokenStatus, Revocation: DecodeTokenRevocation},
	}
}

// Flags implements kit.Service.
func (s *service) Flags(fs *flag.FlagSet) {
	fs.StringVar(&s.kek, "kek", "", "key-encryption key for members' personal data: base64 of 32 bytes; empty uses (or creates) <data-dir>/member/secrets/kek")
	fs.StringVar(&s.region, "default-region", "CN", "region for phone numbers given without a country code (ISO 3166 alpha-2)")
	fs.StringVar(&s.auditPath, "audit-log", "", "file that receives the personal-data access audit log; empty: <data-dir>/member/audit.log")
	fs.DurationVar(&s.jobInterval, "member-job-interval", DefaultJobInterval, "how often the member service looks for due work (tier reviews and notices, override expiries, subscription reminders and lapses)")
}

var _ kit.FlagChecker = (*service)(nil)

// CheckFlags implements kit.FlagChecker.
func (s *service) CheckFlags(p *config.Problems) {
	if s.jobInterval < 10*time.Millisecond {
		p.Addf("HUIYUAN_MEMBER_JOB_INTERVAL=%s: want at least 10ms", s.jobInterval)
	}
	if s.kek != "" { // a KEK kept in the service's directory is checked when Start reads it
		if _, err := pii.ParseKEK(s.kek); err != nil {
			p.Addf("HUIYUAN_KEK: %v", err)
		}
	}
}

// Start implements kit.Service.
func (s *service) Start(_ context.Context, env kit.Env) (*kit.Running, error) {
	keyring, err := s.keyring(env)
	if err != nil {
		return nil, err
	}
	path := s.auditPath
	if path == "" {
		path = filepath.Join(env.DataDir, "audit.log")
	}
	f, err := auditlog.Open(path, auditlog.DefaultFlushInterval)
	if err != nil {
		return nil, err
	}
	svc, err := New(Deps{DB: env.DB, Writer: env.Writer, Keyring: keyring, Clock: env.Clock, Logger: env.Logger,
		Audit: auditlog.NewLogger(f), DefaultRegion: s.region, Log: env.Log, Tokens: env.Tokens})
	if err != nil {
		f.Close()
		return nil, err
	}
	return &kit.Running{
		Register: svc.Register,
		Jobs:     []kit.Job{{Name: "due work", Run: svc.Scheduler(s.jobInterval).Run}},
		Consumers: []kit.Consumer{{Name: LoyaltyConsumerName, Producer: LoyaltyService, Types: LoyaltyEventTypes(),
			Handler: svc.LoyaltyEvents()}},
		TokenStatus: svc.TokenStatus(),
		Close:       func(context.Context) error { return f.Close() },
	}, nil
}

// keyring loads the KEK: HUIYUAN_KEK, or the generated one in the service's directory (moved
// there from the data directory's old shared secrets directory on first start).
func (s *service) keyring(env kit.Env) (*pii.Keyring, error) {
	dir := filepath.Join(env.DataDir, "secrets")
	if s.kek == "" {
		if err := moveLegacyKEK(filepath.Join(filepath.Dir(env.DataDir), "secrets", "kek"), filepath.Join(dir, "kek")); err != nil {
			return nil, err
		}
	}
	v, created, err := kit.Secret(s.kek, dir, "kek", 32)
	if err != nil {
		return nil, err
	}
	if created {
		env.Logger.Warn("generated a key-encryption key in the member service's directory; set HUIYUAN_KEK in production and keep it apart from backups")
	}
	var p config.Problems
	kek, err := pii.ParseKEK(v)
	if err != nil {
		p.Addf("HUIYUAN_KEK: %v", err)
		return nil, p.Err()
	}
	return pii.NewKeyring(kek)
}

// moveLegacyKEK moves a KEK generated by an older version into the member service's directory.
func moveLegacyKEK(old, now string) error {
	if _, err := os.Stat(old); errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if _, err := os.Stat(now); err == nil {
		return nil
	}
	if err := os.MkdirAll(filepath.Dir(now), 0o700); err != nil {
		return err
	}
	return os.Rename(old, now)
}
