// Package kittest runs services of the kit for tests, the way production runs them (kit.Run:
// the same stores, writers, interceptor chain, event logs and relays), in process on a loopback
// gRPC port with a temporary data directory, and lets a test call them as any role of any tenant
// or as a member. It replaces each service's own copy of such a harness.
package kittest

import (
	"context"
	"crypto/rand"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"testing"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/huiyuan-dev/huiyuan/pkg/auth"
	"github.com/huiyuan-dev/huiyuan/pkg/boltx"
	"github.com/huiyuan-dev/huiyuan/pkg/clock"
	"github.com/huiyuan-dev/huiyuan/pkg/config"
	"github.com/huiyuan-dev/huiyuan/pkg/kit"
	"github.com/huiyuan-dev/huiyuan/pkg/natsx"

	iamv1 "github.com/huiyuan-dev/huiyuan/gen/huiyuan/iam/v1"
	opsv1 "github.com/huiyuan-dev/huiyuan/gen/huiyuan/ops/v1"
)

// Tenant is the tenant the role helpers act for; Other is a second tenant, to show isolation.
const (
	Tenant = "acme"
	Other  = "globex"
)

// T0 is the default start of the fake clock: 10:00 on 1 March 2026 in Shanghai.
var T0 = time.Date(2026, 3, 1, 2, 0, 0, 0, time.UTC)

// Options tune Start. The zero value runs the services without a broker, on a fake clock at T0.
type Options struct {
	// Clock tells the services the time; nil means a new clock.Fake at T0 (Harness.Clock).
	Clock clock.Clock
	// Events runs an embedded NATS server (no network listener): relays publish and
	// consumers consume, as in production.
	Events bool
	// DataDir keeps the stores; "" means a new temporary directory (Restart reuses it).
	DataDir string
	// Args are the services' settings as command-line flags ("--loyalty-job-interval=1h").
	Args []string
	// Sync makes stores fsync every commit; tests leave it off unless they measure or crash.
	Sync bool
	// CommitLinger is the stores' group-commit linger (kit.Config.CommitLinger); 0, the
	// default, commits at once.
	CommitLinger time.Duration
	// Policy adds roles to methods (a benchmark's authenticated no-op).
	Policy auth.Policy
}

// Harness is services started for a test.
type Harness struct {
	// Process is the running process; Conn calls it over gRPC.
	Process *kit.Process
	Conn    *grpc.ClientConn
	// Clock is the fake clock when Options.Clock was nil.
	Clock *clock.Fake

	tb       testing.TB
	services func() []kit.Service
	opts     Options
	keys     *Keys
	secret   []byte // of member JWTs
	tokens   *auth.MemberTokens
	phones   *phones // of the members NewMember registers
	closed   bool
}

// Start runs the services that newServices returns (called again by Restart, since a service
// value holds its parsed settings) and stops them when the test ends.
func Start(tb testing.TB, newServices func() []kit.Service, o Options) *Harness {
	tb.Helper()
	if o.DataDir == "" {
		o.DataDir = tb.TempDir()
	}
	h := &Harness{tb: tb, services: newServices, opts: o, keys: NewKeys(), phones: newPhones()}
	if o.Clock == nil {
		h.Clock = clock.NewFake(T0)
		h.opts.Clock = h.Clock
	}
	h.secret = make([]byte, 32)
	_, _ = rand.Read(h.secret)
	h.tokens = auth.NewMemberTokens(h.secret, h.opts.Clock)
	h.start()
	tb.Cleanup(h.Close)
	return h
}

func (h *Harness) start() {
	tb := h.tb
	tb.Helper()
	list := h.services()
	fs := flag.NewFlagSet("kittest", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	for _, s := range list {
		s.Flags(fs)
	}
	if err := config.Parse(fs, h.opts.Args, "HUIYUAN_", func(string) string { return "" }); err != nil {
		tb.Fatalf("kittest: settings: %v", err)
	}
	serviceSecret := make([]byte, 32)
	_, _ = rand.Read(serviceSecret)
	cfg := kit.Config{
		Target: kit.All, DataDir: h.opts.DataDir, GRPCAddr: "127.0.0.1:0",
		JWTSecret: h.secret, ServiceSecret: serviceSecret,
		StoreOptions: boltx.Options{NoSync: !h.opts.Sync},
		CommitLinger: h.opts.CommitLinger,
		Keys:         h.keys, Clock: h.opts.Clock, Policy: h.opts.Policy,
		Logger:        slog.New(slog.DiscardHandler),
		ShutdownGrace: 5 * time.Second,
	}
	if h.opts.Events {
		ns, err := natsx.StartEmbedded(natsx.EmbeddedConfig{DontListen: true, StoreDir: h.opts.DataDir + "/nats"})
		if err != nil {
			tb.Fatalf("kittest: NATS: %v", err)
		}
		tb.Cleanup(func() { ns.Shutdown(); ns.WaitForShutdown() })
		cfg.Broker = inProcess{ns}
	}
	p, err := kit.Run(context.Background(), cfg, list)
	if err != nil {
		tb.Fatalf("kittest: start: %v", err)
	}
	conn, err := grpc.NewClient(p.GRPCAddr(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		tb.Fatal(err)
	}
	h.Process, h.Conn, h.closed = p, conn, false
}

// Close stops the services (Start does it at the end of the test; calling it twice is fine).
func (h *Harness) Close() {
	if h.closed {
		return
	}
	h.closed = true
	_ = h.Conn.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := h.Process.Close(ctx); err != nil {
		h.tb.Errorf("kittest: stop: %v", err)
	}
}

// Restart stops the services and starts them again on the same data directory, clock and keys,
// as a process restart does.
func (h *Harness) Restart() {
	h.tb.Helper()
	h.Close()
	h.start()
}

// DataDir is where the services keep their stores: after Close a benchmark may open a store
// itself (kit.StorePath) to drive one piece of a service alone.
func (h *Harness) DataDir() string { return h.opts.DataDir }

// As returns a context that calls as role of Tenant.
func (h *Harness) As(role iamv1.Role) context.Context { return h.AsTenant(Tenant, role) }

// AsTenant returns a context that calls as role of tenant (an API key made on first use).
func (h *Harness) AsTenant(tenant string, role iamv1.Role) context.Context {
	return Bearer(context.Background(), h.keys.Key(tenant, role))
}

// AsMember returns a context that calls as member id of Tenant, with a member JWT.
func (h *Harness) AsMember(id string) context.Context {
	h.tb.Helper()
	tok, err := h.tokens.Issue(Tenant, id, time.Hour)
	if err != nil {
		h.tb.Fatal(err)
	}
	return Bearer(context.Background(), tok)
}

// MemberTokenSecret returns the secret member JWTs are signed with, for tests that sign tokens
// Issue never would (a ten-year lifetime, missing claims).
func (h *Harness) MemberTokenSecret() []byte { return append([]byte(nil), h.secret...) }

// Key returns the secret of tenant's key for role, for callers outside gRPC (the JSON edge).
func (h *Harness) Key(tenant string, role iamv1.Role) string { return h.keys.Key(tenant, role) }

// Events returns the types of tenant's events in service's log, read through ListEvents.
func (h *Harness) Events(service, tenant string) []string {
	h.tb.Helper()
	var out []string
	var after uint64
	for {
		resp, err := opsv1.NewOperationsServiceClient(h.Conn).ListEvents(h.AsTenant(tenant, iamv1.Role_ADMIN),
			&opsv1.ListEventsRequest{Service: service, AfterSequence: after, PageSize: 1000})
		if err != nil {
			h.tb.Fatalf("kittest: ListEvents: %v", err)
		}
		for _, e := range resp.GetEvents() {
			out = append(out, e.GetType())
			after = e.GetSequence()
		}
		if len(resp.GetEvents()) == 0 || after >= resp.GetLastSequence() {
			return out
		}
	}
}

// Bearer returns ctx sending the credential.
func Bearer(ctx context.Context, credential string) context.Context {
	return metadata.AppendToOutgoingContext(ctx, auth.MetadataKey, "Bearer "+credential)
}

// WantErr fails the test unless err has code, the ErrorInfo reason ("" skips the check) and
// exactly the BadRequest field violations given (none given skips the check).
func WantErr(tb testing.TB, err error, code codes.Code, reason string, fields ...string) {
	tb.Helper()
	st, _ := status.FromError(err)
	if st.Code() != code {
		tb.Fatalf("code = %s (%v), want %s", st.Code(), err, code)
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
		tb.Fatalf("reason = %q, want %q (%v)", gotReason, reason, err)
	}
	if len(fields) > 0 && !slices.Equal(gotFields, fields) {
		tb.Fatalf("violations = %v, want %v", gotFields, fields)
	}
}

// Eventually polls cond every 5 ms until it holds, and fails the test after timeout.
func Eventually(tb testing.TB, timeout time.Duration, cond func() bool, format string, args ...any) {
	tb.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			tb.Fatalf("after %s: %s", timeout, fmt.Sprintf(format, args...))
		}
		time.Sleep(5 * time.Millisecond)
	}
}
