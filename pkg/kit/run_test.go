package kit_test

import (
	"context"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/huiyuan-dev/huiyuan/pkg/apperr"
	"github.com/huiyuan-dev/huiyuan/pkg/auth"
	"github.com/huiyuan-dev/huiyuan/pkg/config"
	"github.com/huiyuan-dev/huiyuan/pkg/kit"
	"github.com/huiyuan-dev/huiyuan/pkg/kittest"

	iamv1 "github.com/huiyuan-dev/huiyuan/gen/huiyuan/iam/v1"
)

// echo is a test service with one method, test.Echo/Say: it answers "<tenant> <role> <text>",
// and with Calls set, asks the service it calls and answers that.
type echo struct {
	name, calls string
	jobRuns     *atomic.Int32
}

func api(name string) string { return "test." + name + ".Echo" }

func (e echo) Describe() kit.Description {
	d := kit.Description{Name: e.name, Domain: e.name + ".test", APIs: []string{api(e.name)},
		Policy: auth.Policy{"/" + api(e.name) + "/Say": {iamv1.Role_OPERATOR}}}
	if e.calls != "" {
		d.Calls = []string{e.calls}
	}
	return d
}

func (e echo) Flags(*flag.FlagSet) {}

func (e echo) Start(_ context.Context, env kit.Env) (*kit.Running, error) {
	say := func(ctx context.Context, in *wrapperspb.StringValue) (*wrapperspb.StringValue, error) {
		if in.GetValue() == "fail" && e.calls == "" {
			return nil, apperr.E(apperr.FailedPrecondition, "ECHO_FAILED", "asked to fail")
		}
		if e.calls != "" {
			out := &wrapperspb.StringValue{}
			err := env.Dial(e.calls).Invoke(ctx, "/"+api(e.calls)+"/Say", in, out)
			return out, err
		}
		p, _ := auth.FromContext(ctx)
		return wrapperspb.String(p.Tenant + " " + auth.RoleName(p.Role) + " " + in.GetValue()), nil
	}
	desc := &grpc.ServiceDesc{
		ServiceName: api(e.name),
		HandlerType: (*any)(nil),
		Methods: []grpc.MethodDesc{{MethodName: "Say", Handler: func(srv any, ctx context.Context, dec func(any) error, ic grpc.UnaryServerInterceptor) (any, error) {
			in := &wrapperspb.StringValue{}
			if err := dec(in); err != nil {
				return nil, err
			}
			info := &grpc.UnaryServerInfo{Server: srv, FullMethod: "/" + api(e.name) + "/Say"}
			return ic(ctx, in, info, func(ctx context.Context, req any) (any, error) { return say(ctx, req.(*wrapperspb.StringValue)) })
		}}},
	}
	r := &kit.Running{Register: func(r grpc.ServiceRegistrar) { r.RegisterService(desc, struct{}{}) }}
	if e.jobRuns != nil {
		r.Jobs = []kit.Job{{Name: "tick", Run: func(ctx context.Context) error {
			e.jobRuns.Add(1)
			<-ctx.Done()
			return nil
		}}}
	}
	return r, nil
}

func TestRun(t *testing.T) {
	dir := t.TempDir()
	// A store in the old flat layout moves into the service's own directory.
	if err := os.WriteFile(filepath.Join(dir, "member.db"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	var runs atomic.Int32
	keys := kittest.NewKeys()
	p, err := kit.Run(context.Background(), kit.Config{
		Target: kit.All, DataDir: dir, GRPCAddr: "127.0.0.1:0", Keys: keys,
		ServiceSecret: make([]byte, 32), JWTSecret: make([]byte, 32),
	}, []kit.Service{echo{name: "front", calls: "back", jobRuns: &runs}, echo{name: "back"}})
	if err != nil {
		t.Fatal(err)
	}
	closed := false
	t.Cleanup(func() {
		if !closed {
			_ = p.Close(context.Background())
		}
	})
	if got := p.Hosted(); len(got) != 2 || got[0] != "back" || got[1] != "front" {
		t.Fatalf("start order %v: a service starts after the ones it calls", got)
	}
	conn, err := grpc.NewClient(p.GRPCAddr(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	ctx := kittest.Bearer(context.Background(), keys.Key("acme", iamv1.Role_OPERATOR))

	// front calls back as a service acting for the caller's tenant.
	out := &wrapperspb.StringValue{}
	if err := conn.Invoke(ctx, "/"+api("front")+"/Say", wrapperspb.String("hi"), out); err != nil {
		t.Fatal(err)
	}
	if out.GetValue() != "acme INTERNAL hi" {
		t.Fatalf("answer %q", out.GetValue())
	}
	// back's error reaches the caller through front with back's domain; front's own with front's.
	err = conn.Invoke(ctx, "/"+api("front")+"/Say", wrapperspb.String("fail"), out)
	if d := domainOf(err); d != "back.test" {
		t.Fatalf("domain %q (%v)", d, err)
	}
	// A service token is refused from outside without a tenant, and an unlisted role is denied.
	err = conn.Invoke(kittest.Bearer(context.Background(), keys.Key("acme", iamv1.Role_ANALYST)), "/"+api("back")+"/Say", wrapperspb.String("x"), out)
	if status.Code(err) != codes.PermissionDenied {
		t.Fatalf("analyst: %v", err)
	}
	// Health per service and per API.
	hc := healthpb.NewHealthClient(conn)
	for _, name := range []string{"", "front", "back", api("front")} {
		r, err := hc.Check(context.Background(), &healthpb.HealthCheckRequest{Service: name})
		if err != nil || r.GetStatus() != healthpb.HealthCheckResponse_SERVING {
			t.Fatalf("health %q: %v %v", name, r, err)
		}
	}
	for _, name := range []string{"front", "back"} {
		if _, err := os.Stat(kit.StorePath(dir, name)); err != nil {
			t.Fatalf("store of %s: %v", name, err)
		}
	}
	if runs.Load() != 1 {
		t.Fatalf("job ran %d times", runs.Load())
	}
	if err := p.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	closed = true
	if err := p.Ready(context.Background()); err == nil {
		t.Fatal("ready after Close")
	}
}

// TestRunRefusesATakenPort names the setting whose address is taken, within a second.
func TestRunRefusesATakenPort(t *testing.T) {
	first, err := kit.Run(context.Background(), kit.Config{Target: kit.All, DataDir: t.TempDir(), GRPCAddr: "127.0.0.1:0",
		Keys: kittest.NewKeys(), ServiceSecret: make([]byte, 32)}, []kit.Service{echo{name: "back"}})
	if err != nil {
		t.Fatal(err)
	}
	defer first.Close(context.Background())
	start := time.Now()
	_, err = kit.Run(context.Background(), kit.Config{Target: kit.All, DataDir: t.TempDir(), GRPCAddr: first.GRPCAddr(),
		Keys: kittest.NewKeys(), ServiceSecret: make([]byte, 32)}, []kit.Service{echo{name: "back"}})
	if err == nil || !strings.Contains(err.Error(), "HUIYUAN_GRPC_ADDR") || time.Since(start) > time.Second {
		t.Fatalf("err %v after %s", err, time.Since(start))
	}
}

// picky is an echo service whose settings are bad.
type picky struct{ echo }

func (picky) CheckFlags(p *config.Problems) { p.Addf("HUIYUAN_PICKY=1: want 2") }

func (picky) Start(context.Context, kit.Env) (*kit.Running, error) {
	panic("Start ran with bad settings")
}

// TestRunChecksFlagsFirst: a hosted service's bad setting fails Run before any store, port or
// service is opened.
func TestRunChecksFlagsFirst(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	_, err := kit.Run(context.Background(), kit.Config{Target: kit.All, DataDir: dir, GRPCAddr: "127.0.0.1:0",
		Keys: kittest.NewKeys(), ServiceSecret: make([]byte, 32)}, []kit.Service{echo{name: "back"}, picky{echo{name: "picky"}}})
	if err == nil || !strings.Contains(err.Error(), "HUIYUAN_PICKY=1: want 2") {
		t.Fatalf("Run: %v", err)
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Fatalf("the data directory exists after the refusal: %v", err)
	}
}

func domainOf(err error) string {
	st, _ := status.FromError(err)
	for _, d := range st.Details() {
		if ei, ok := d.(*errdetails.ErrorInfo); ok {
			return ei.GetDomain()
		}
	}
	return ""
}
