package memberd_test

import (
	"context"
	"crypto/rand"
	"net"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/test/bufconn"

	"github.com/huiyuan-dev/huiyuan/pkg/auditlog"
	"github.com/huiyuan-dev/huiyuan/pkg/auth"
	"github.com/huiyuan-dev/huiyuan/pkg/boltx"
	"github.com/huiyuan-dev/huiyuan/pkg/clock"
	"github.com/huiyuan-dev/huiyuan/pkg/grpcx"
	"github.com/huiyuan-dev/huiyuan/pkg/pii"
	"github.com/huiyuan-dev/huiyuan/services/member/memberd"

	iamv1 "github.com/huiyuan-dev/huiyuan/gen/huiyuan/iam/v1"
	memberv1 "github.com/huiyuan-dev/huiyuan/gen/huiyuan/member/v1"
)

const tenant = "acme"

// harness is the member service behind a real gRPC server with the grpcx interceptor chain,
// API keys in a KeyStore and member JWTs.
type harness struct {
	db            *boltx.DB
	w             *boltx.Writer
	svc           *memberd.Service
	client        memberv1.MemberServiceClient
	memberTokens  memberv1.MemberTokenServiceClient
	notifications memberv1.NotificationServiceClient
	tiers         memberv1.TierServiceClient
	benefits      memberv1.BenefitServiceClient
	plans         memberv1.PlanServiceClient
	health        healthpb.HealthClient
	keys          map[iamv1.Role]string // bearer secret per role, tenant acme
	other         string                // an ADMIN key of tenant globex
	tokens        *auth.MemberTokens
}

type harnessOpts struct {
	path     string // "" means a temp file
	noSync   bool
	listener net.Listener
	audit    *auditlog.Logger
}

func newHarness(tb testing.TB, o harnessOpts) *harness {
	tb.Helper()
	if o.path == "" {
		o.path = tb.TempDir() + "/member.db"
	}
	db, err := boltx.Open(o.path, boltx.Options{NoSync: o.noSync}, append(memberd.Buckets(), auth.Buckets()...)...)
	if err != nil {
		tb.Fatal(err)
	}
	w := boltx.NewWriter(db, boltx.WriterOptions{})
	clk := clock.System{}
	ks, err := auth.NewKeyStore(db, clk)
	if err != nil {
		tb.Fatal(err)
	}
	kek := make([]byte, 32)
	_, _ = rand.Read(kek)
	kr, err := pii.NewKeyring(kek)
	if err != nil {
		tb.Fatal(err)
	}
	secret := make([]byte, 32)
	_, _ = rand.Read(secret)
	h := &harness{db: db, w: w, keys: map[iamv1.Role]string{}, tokens: auth.NewMemberTokens(secret, clk)}
	ctx := context.Background()
	for _, r := range []iamv1.Role{iamv1.Role_ADMIN, iamv1.Role_OPERATOR, iamv1.Role_SERVICE, iamv1.Role_ANALYST} {
		if _, h.keys[r], err = ks.Create(ctx, tenant, "test "+r.String(), r); err != nil {
			tb.Fatal(err)
		}
	}
	if _, h.other, err = ks.Create(ctx, "globex", "other tenant", iamv1.Role_ADMIN); err != nil {
		tb.Fatal(err)
	}
	if h.svc, err = memberd.New(memberd.Deps{DB: db, Writer: w, Keyring: kr, Clock: clk, Audit: o.audit, Tokens: h.tokens}); err != nil {
		tb.Fatal(err)
	}
	policy := auth.Merge(memberd.Policy(), auth.Policy{
		// The benchmarks' no-op goes through authentication like every other call.
		healthpb.Health_Check_FullMethodName: {iamv1.Role_ADMIN, iamv1.Role_OPERATOR, iamv1.Role_SERVICE, iamv1.Role_ANALYST},
	})
	srv := grpcx.NewServer(grpcx.Config{Domain: memberd.Domain, Auth: auth.Bearer{Keys: ks, Tokens: h.tokens}, Policy: policy})
	h.svc.Register(srv)
	var dial grpc.DialOption
	target := "passthrough:///bufconn"
	if o.listener != nil {
		target = o.listener.Addr().String()
		go func() { _ = srv.Serve(o.listener) }()
	} else {
		lis := bufconn.Listen(1 << 20)
		go func() { _ = srv.Serve(lis) }()
		dial = grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return lis.DialContext(ctx) })
	}
	opts := []grpc.DialOption{grpc.WithTransportCredentials(insecure.NewCredentials())}
	if dial != nil {
		opts = append(opts, dial)
	}
	conn, err := grpc.NewClient(target, opts...)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		_ = conn.Close()
		srv.Stop()
		_ = w.Close()
		_ = db.Close()
	})
	h.client = memberv1.NewMemberServiceClient(conn)
	h.memberTokens = memberv1.NewMemberTokenServiceClient(conn)
	h.notifications = memberv1.NewNotificationServiceClient(conn)
	h.tiers = memberv1.NewTierServiceClient(conn)
	h.benefits = memberv1.NewBenefitServiceClient(conn)
	h.plans = memberv1.NewPlanServiceClient(conn)
	h.health = healthpb.NewHealthClient(conn)
	return h
}

// as returns a context that authenticates with bearer.
func as(bearer string) context.Context {
	return metadata.AppendToOutgoingContext(context.Background(), auth.MetadataKey, "Bearer "+bearer)
}

func (h *harness) as(r iamv1.Role) context.Context { return as(h.keys[r]) }

// asMember returns a context carrying a member JWT for member id.
func (h *harness) asMember(tb testing.TB, id string) context.Context {
	tb.Helper()
	tok, err := h.tokens.Issue(tenant, id, time.Hour)
	if err != nil {
		tb.Fatal(err)
	}
	return as(tok)
}
