package kit_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/huiyuan-dev/huiyuan/pkg/auth"
	"github.com/huiyuan-dev/huiyuan/pkg/clock"
	"github.com/huiyuan-dev/huiyuan/pkg/kit"
	"github.com/huiyuan-dev/huiyuan/pkg/kittest"

	iamv1 "github.com/huiyuan-dev/huiyuan/gen/huiyuan/iam/v1"
)

// revocations is the token owner's state: revoked token ids, and how often it was asked, from
// its own process or another's.
type revocations struct {
	mu            sync.Mutex
	revoked       map[string]bool
	local, remote int
}

func (r *revocations) check(t auth.MemberToken, remote bool) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if remote {
		r.remote++
	} else {
		r.local++
	}
	if r.revoked[t.ID] {
		return auth.ErrTokenRevoked()
	}
	return nil
}

func (r *revocations) asked() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.remote
}

type statusFunc func(ctx context.Context, t auth.MemberToken) error

func (f statusFunc) CheckToken(ctx context.Context, t auth.MemberToken) error { return f(ctx, t) }

// tokenOwner is a service that describes member token checks, like the member service; its
// Remote stands in for a gRPC client by reading the same state.
type tokenOwner struct {
	echo
	state *revocations
}

func (o tokenOwner) Describe() kit.Description {
	d := o.echo.Describe()
	d.Policy = auth.Policy{"/" + api(o.name) + "/Say": {iamv1.Role_MEMBER}}
	d.MemberTokens = &kit.MemberTokenChecks{
		Remote: func(grpc.ClientConnInterface) auth.TokenStatus {
			return statusFunc(func(_ context.Context, t auth.MemberToken) error { return o.state.check(t, true) })
		},
		Revocation: func(tenant string, _ []byte) (auth.TokenRevocation, error) {
			return auth.TokenRevocation{Tenant: tenant}, nil
		},
	}
	return d
}

func (o tokenOwner) Start(ctx context.Context, env kit.Env) (*kit.Running, error) {
	r, err := o.echo.Start(ctx, env)
	if err == nil {
		r.TokenStatus = statusFunc(func(_ context.Context, t auth.MemberToken) error { return o.state.check(t, false) })
	}
	return r, err
}

// memberApp is a service members call.
type memberApp struct{ echo }

func (a memberApp) Describe() kit.Description {
	d := a.echo.Describe()
	d.Policy = auth.Policy{"/" + api(a.name) + "/Say": {iamv1.Role_MEMBER}}
	return d
}

// TestMemberTokenChecks: where the token owner runs, its own status decides each call at once;
// in another process its answers are trusted for KeyTTL, so a revocation is refused within it
// even when no event arrives; a process needs the owner's address.
func TestMemberTokenChecks(t *testing.T) {
	clk := clock.NewFake(kittest.T0)
	state := &revocations{revoked: map[string]bool{}}
	secret := make([]byte, 32)
	tokens := auth.NewMemberTokens(secret, clk)
	list := []kit.Service{tokenOwner{echo: echo{name: "owner"}, state: state}, memberApp{echo{name: "app"}}}
	run := func(target string, addrs map[string]string) *kit.Process {
		t.Helper()
		p, err := kit.Run(context.Background(), kit.Config{Target: target, DataDir: t.TempDir(), GRPCAddr: "127.0.0.1:0",
			Addrs: addrs, Keys: kittest.NewKeys(), ServiceSecret: secret, JWTSecret: secret, Clock: clk, KeyTTL: time.Second}, list)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = p.Close(context.Background()) })
		return p
	}
	say := func(p *kit.Process, tok string) error {
		t.Helper()
		conn, err := grpc.NewClient(p.GRPCAddr(), grpc.WithTransportCredentials(insecure.NewCredentials()))
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		return conn.Invoke(kittest.Bearer(context.Background(), tok), "/"+api("app")+"/Say", wrapperspb.String("hi"), &wrapperspb.StringValue{})
	}
	issue := func() (string, string) {
		tok, claims, err := tokens.IssueToken(kittest.Tenant, "m1", time.Hour, 0)
		if err != nil {
			t.Fatal(err)
		}
		return tok, claims.ID
	}

	// One process: the owner's status, asked every time.
	all := run(kit.All, nil)
	tok, id := issue()
	if err := say(all, tok); err != nil {
		t.Fatal(err)
	}
	state.mu.Lock()
	state.revoked[id] = true
	state.mu.Unlock()
	if err := say(all, tok); status.Code(err) != codes.Unauthenticated {
		t.Fatalf("revoked token in the owner's process: %v", err)
	}

	// Another process asks the owner, and trusts a usable answer for KeyTTL.
	if _, err := kit.Run(context.Background(), kit.Config{Target: "app", DataDir: t.TempDir(), GRPCAddr: "127.0.0.1:0",
		Keys: kittest.NewKeys(), ServiceSecret: secret, JWTSecret: secret}, list); err == nil || !strings.Contains(err.Error(), "HUIYUAN_OWNER_ADDR") {
		t.Fatalf("without the owner's address: %v", err)
	}
	owner := run("owner", nil)
	app := run("app", map[string]string{"owner": owner.GRPCAddr()})
	tok, id = issue()
	if err := say(app, tok); err != nil {
		t.Fatal(err)
	}
	state.mu.Lock()
	state.revoked[id] = true
	remote := state.remote
	state.mu.Unlock()
	if err := say(app, tok); err != nil || state.asked() != remote {
		t.Fatalf("within the TTL: %v (asked %d more times)", err, state.asked()-remote)
	}
	clk.Advance(time.Second)
	if err := say(app, tok); status.Code(err) != codes.Unauthenticated {
		t.Fatalf("revoked token after the TTL: %v", err)
	}
}
