package loyaltyd_test

import (
	"context"
	"crypto/rand"
	"net"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/grpc/test/bufconn"

	"github.com/huiyuan-dev/huiyuan/pkg/auth"
	"github.com/huiyuan-dev/huiyuan/pkg/boltx"
	"github.com/huiyuan-dev/huiyuan/pkg/clock"
	"github.com/huiyuan-dev/huiyuan/pkg/grpcx"
	"github.com/huiyuan-dev/huiyuan/services/loyalty/loyaltyd"

	iamv1 "github.com/huiyuan-dev/huiyuan/gen/huiyuan/iam/v1"
	loyaltyv1 "github.com/huiyuan-dev/huiyuan/gen/huiyuan/loyalty/v1"
)

const tenant = "acme"

// t0 is the tests' epoch: 10:00 on 1 March 2026 in Shanghai.
var t0 = time.Date(2026, 3, 1, 2, 0, 0, 0, time.UTC)

// harness is the loyalty service behind a real gRPC server with the grpcx interceptor chain,
// API keys in a KeyStore and member JWTs, over a bbolt file written through the group-commit
// writer, on a fake clock.
type harness struct {
	db     *boltx.DB
	svc    *loyaltyd.Service
	clk    *clock.Fake
	client loyaltyv1.LoyaltyServiceClient
	progs  loyaltyv1.LoyaltyProgramServiceClient
	health healthpb.HealthClient
	keys   map[iamv1.Role]string // bearer secret per role, tenant acme
	other  string                // an ADMIN key of tenant globex
	tokens *auth.MemberTokens
	close  func()
}

type harnessOpts struct {
	path     string // "" means a temp file
	noSync   bool
	listener net.Listener
	policy   loyaltyd.TenantPolicy
	clk      *clock.Fake // nil: a new fake clock at t0
	metrics  bool
}

func newHarness(tb testing.TB, o harnessOpts) *harness {
	tb.Helper()
	if o.path == "" {
		o.path = tb.TempDir() + "/loyalty.db"
	}
	if o.clk == nil {
		o.clk = clock.NewFake(t0)
	}
	db, err := boltx.Open(o.path, boltx.Options{NoSync: o.noSync}, append(loyaltyd.Buckets(), auth.Buckets()...)...)
	if err != nil {
		tb.Fatal(err)
	}
	w := boltx.NewWriter(db, boltx.WriterOptions{})
	ks, err := auth.NewKeyStore(db, o.clk)
	if err != nil {
		tb.Fatal(err)
	}
	secret := make([]byte, 32)
	_, _ = rand.Read(secret)
	h := &harness{db: db, clk: o.clk, keys: map[iamv1.Role]string{}, tokens: auth.NewMemberTokens(secret, o.clk)}
	ctx := context.Background()
	for _, r := range []iamv1.Role{iamv1.Role_ADMIN, iamv1.Role_OPERATOR, iamv1.Role_SERVICE, iamv1.Role_ANALYST} {
		if _, h.keys[r], err = ks.Create(ctx, tenant, "test "+r.String(), r); err != nil {
			tb.Fatal(err)
		}
	}
	if _, h.other, err = ks.Create(ctx, "globex", "other tenant", iamv1.Role_ADMIN); err != nil {
		tb.Fatal(err)
	}
	if h.svc, err = loyaltyd.New(loyaltyd.Deps{DB: db, Writer: w, Clock: o.clk, Policy: o.policy}); err != nil {
		tb.Fatal(err)
	}
	policy := auth.Merge(loyaltyd.Policy(), auth.Policy{
		// The benchmarks' no-op goes through authentication like every other call.
		healthpb.Health_Check_FullMethodName: {iamv1.Role_ADMIN, iamv1.Role_OPERATOR, iamv1.Role_SERVICE, iamv1.Role_ANALYST},
	})
	cfg := grpcx.Config{Domain: loyaltyd.Domain, Auth: auth.Bearer{Keys: ks, Tokens: h.tokens}, Policy: policy}
	if o.metrics {
		cfg.Registry = prometheus.NewRegistry()
	}
	srv := grpcx.NewServer(cfg)
	h.svc.Register(srv)
	target := "passthrough:///bufconn"
	opts := []grpc.DialOption{grpc.WithTransportCredentials(insecure.NewCredentials())}
	if o.listener != nil {
		target = o.listener.Addr().String()
		go func() { _ = srv.Serve(o.listener) }()
	} else {
		lis := bufconn.Listen(1 << 20)
		go func() { _ = srv.Serve(lis) }()
		opts = append(opts, grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return lis.DialContext(ctx) }))
	}
	conn, err := grpc.NewClient(target, opts...)
	if err != nil {
		tb.Fatal(err)
	}
	var once sync.Once
	h.close = func() {
		once.Do(func() {
			_ = conn.Close()
			srv.Stop()
			_ = w.Close()
			_ = db.Close()
		})
	}
	tb.Cleanup(h.close)
	h.client = loyaltyv1.NewLoyaltyServiceClient(conn)
	h.progs = loyaltyv1.NewLoyaltyProgramServiceClient(conn)
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

// wantErr checks err's code, ErrorInfo reason ("" skips) and BadRequest fields (nil skips).
func wantErr(t testing.TB, err error, code codes.Code, reason string, fields ...string) {
	t.Helper()
	st, _ := status.FromError(err)
	if st.Code() != code {
		t.Fatalf("code = %s (%v), want %s", st.Code(), err, code)
	}
	var gotReason string
	var gotFields []string
	for _, d := range st.Details() {
		switch d := d.(type) {
		case *errdetails.ErrorInfo:
			gotReason = d.GetReason()
		case *errdetails.BadRequest:
			for _, v := range d.GetFieldViolations() {
				gotFields = append(gotFields, v.GetField())
			}
		}
	}
	if reason != "" && gotReason != reason {
		t.Fatalf("reason = %q, want %q (%v)", gotReason, reason, err)
	}
	if fields != nil && !slices.Equal(gotFields, fields) {
		t.Fatalf("violations = %v, want %v", gotFields, fields)
	}
}

// order records an order of amount CNY minor units for member and returns the response.
func (h *harness) order(t testing.TB, id, member string, amount int64) *loyaltyv1.RecordOrderResponse {
	t.Helper()
	resp, err := h.client.RecordOrder(h.as(iamv1.Role_SERVICE), &loyaltyv1.RecordOrderRequest{
		Order: &loyaltyv1.Order{Id: id, MemberId: member, AmountMinor: amount, Currency: "CNY", StoreId: "sh-001"}})
	if err != nil {
		t.Fatalf("RecordOrder %s: %v", id, err)
	}
	return resp
}

func (h *harness) balance(t testing.TB, member string) *loyaltyv1.PointsBalance {
	t.Helper()
	resp, err := h.client.GetPointsBalance(h.as(iamv1.Role_OPERATOR), &loyaltyv1.GetPointsBalanceRequest{MemberId: member})
	if err != nil {
		t.Fatalf("GetPointsBalance: %v", err)
	}
	return resp.GetBalance()
}

func (h *harness) adjust(t testing.TB, member string, points int64) *loyaltyv1.PointsTransaction {
	t.Helper()
	resp, err := h.client.AdjustPoints(h.as(iamv1.Role_ADMIN), &loyaltyv1.AdjustPointsRequest{MemberId: member, Points: points, Reason: "test"})
	if err != nil {
		t.Fatalf("AdjustPoints: %v", err)
	}
	return resp.GetTransaction()
}

// verify runs VerifyLedger and fails unless the books are consistent.
func (h *harness) verify(t testing.TB) *loyaltyv1.VerifyLedgerResponse {
	t.Helper()
	resp, err := h.client.VerifyLedger(h.as(iamv1.Role_ADMIN), &loyaltyv1.VerifyLedgerRequest{})
	if err != nil {
		t.Fatalf("VerifyLedger: %v", err)
	}
	if !resp.GetOk() || len(resp.GetProblems()) != 0 {
		t.Fatalf("ledger not ok: %v", resp.GetProblems())
	}
	return resp
}

// events returns the types of the tenant's events in order.
func (h *harness) events(t testing.TB) []string {
	t.Helper()
	evs, _, err := h.svc.EventLog().List(context.Background(), h.db, tenant, 0, 1000)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range evs {
		out = append(out, e.GetType())
	}
	return out
}
