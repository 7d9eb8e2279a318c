package cli_test

import (
	"context"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	iamv1 "github.com/huiyuan-dev/huiyuan/gen/huiyuan/iam/v1"
	"github.com/huiyuan-dev/huiyuan/pkg/auth"
	"github.com/huiyuan-dev/huiyuan/pkg/auth/brokerapi"
	"github.com/huiyuan-dev/huiyuan/pkg/boltx/bolttest"
	"github.com/huiyuan-dev/huiyuan/pkg/clock"
	"github.com/huiyuan-dev/huiyuan/pkg/grpcx"
	"github.com/huiyuan-dev/huiyuan/pkg/natsx"
	"github.com/huiyuan-dev/huiyuan/pkg/natsx/natstest"
)

// TestNATSSetup generates the separated layout's files, checks what each holds and allows, and
// that running it again keeps the authority and the route password.
func TestNATSSetup(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "nats")
	code, out := run("nats-setup", "--out", dir, "--routes", "10.0.0.1:6222, 10.0.0.2:6222,10.0.0.3:6222")
	if code != 0 {
		t.Fatalf("nats-setup: %d %s", code, out)
	}
	modes := map[string]os.FileMode{
		"authority/" + natsx.AuthorityFile: 0o600, "auth.conf": 0o644, "cluster.conf": 0o600,
		"creds/member.creds": 0o600, "creds/loyalty.creds": 0o600, "creds/iam.creds": 0o600,
		"creds/gateway.creds": 0o600, "iam/tenant-issuer.json": 0o600,
	}
	for f, want := range modes {
		fi, err := os.Stat(filepath.Join(dir, f))
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != want {
			t.Errorf("%s has mode %o, want %o", f, fi.Mode().Perm(), want)
		}
	}
	cluster, err := os.ReadFile(filepath.Join(dir, "cluster.conf"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(cluster), "@10.0.0.2:6222") || !strings.Contains(string(cluster), `listen: "0.0.0.0:6222"`) {
		t.Fatalf("cluster.conf:\n%s", cluster)
	}

	// The generated files work together: a server trusting the authority admits the service
	// credentials with their grants, and the issuer file issues tenant credentials it admits.
	a, err := natsx.OpenAuthority(filepath.Join(dir, "authority"))
	if err != nil {
		t.Fatal(err)
	}
	sa, err := a.ServerAuth()
	if err != nil {
		t.Fatal(err)
	}
	ns, err := natsx.StartEmbedded(natsx.EmbeddedConfig{Host: "127.0.0.1", Port: -1, StoreDir: t.TempDir(), Auth: sa})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ns.Shutdown(); ns.WaitForShutdown() })
	checkPublish(t, ns, filepath.Join(dir, "creds", "loyalty.creds"), "huiyuan.acme.loyalty.v1.points_earned", true)
	checkPublish(t, ns, filepath.Join(dir, "creds", "loyalty.creds"), "huiyuan.acme.member.v1.member_updated", false)
	checkPublish(t, ns, filepath.Join(dir, "creds", "gateway.creds"), "huiyuan.acme.gateway.v1.x", false)
	checkPublish(t, ns, filepath.Join(dir, "creds", "member.creds"), "huiyuan.acme.member.v1.member_updated", true)
	issuer, err := natsx.LoadTenantIssuer(filepath.Join(dir, "iam", "tenant-issuer.json"))
	if err != nil {
		t.Fatal(err)
	}
	tc, err := issuer.IssueTenant("acme", time.Now().Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	nc, err := nats.Connect(ns.ClientURL(), natsx.WithCredential(tc), natsx.WithLogger(nil), nats.NoReconnect())
	if err != nil {
		t.Fatalf("a tenant credential from the issuer file: %v", err)
	}
	nc.Close()

	// Again: same authority, same route password, fresh credentials.
	before, err := os.ReadFile(filepath.Join(dir, "creds", "member.creds"))
	if err != nil {
		t.Fatal(err)
	}
	if code, out := run("nats-setup", "--out", dir); code != 0 || !strings.Contains(out, "kept") {
		t.Fatalf("nats-setup again: %d %s", code, out)
	}
	again, err := natsx.OpenAuthority(filepath.Join(dir, "authority"))
	if err != nil || again.Account() != a.Account() {
		t.Fatalf("the authority changed: %v", err)
	}
	if after, err := os.ReadFile(filepath.Join(dir, "cluster.conf")); err != nil || string(after) != string(cluster) {
		t.Fatalf("cluster.conf changed (%v)", err)
	}
	if after, err := os.ReadFile(filepath.Join(dir, "creds", "member.creds")); err != nil || string(after) == string(before) {
		t.Fatalf("member.creds was not reissued (%v)", err)
	}
	checkPublish(t, ns, filepath.Join(dir, "creds", "member.creds"), "huiyuan.acme.member.v1.member_updated", true)

	if code, out := run("nats-setup"); code != 1 || !strings.Contains(out, "--out is required") {
		t.Fatalf("nats-setup without --out: %d %s", code, out)
	}
	if code, out := run("nats-setup", "--out", t.TempDir(), "--routes", "n1"); code != 1 || !strings.Contains(out, "host:port") {
		t.Fatalf("nats-setup with a bad route: %d %s", code, out)
	}
}

// checkPublish connects with the creds file at path, publishes on subject and checks the broker
// allows it or not; where allowed, it also declares the subject's stream, as the relay does.
func checkPublish(t *testing.T, ns *server.Server, path, subject string, allow bool) {
	t.Helper()
	nc, err := natsx.Connect(ns.ClientURL(), natsx.WithCredentialsFile(path), natsx.WithLogger(nil))
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	if err := nc.Publish(subject, nil); err != nil {
		t.Fatal(err)
	}
	if err := nc.Flush(); err != nil {
		t.Fatalf("%s: %v (%v)", filepath.Base(path), err, nc.LastError())
	}
	err = nc.LastError()
	if allow && err != nil {
		t.Fatalf("%s publishing %s: %v", filepath.Base(path), subject, err)
	}
	if !allow && !errors.Is(err, nats.ErrPermissionViolation) {
		t.Fatalf("%s publishing %s: err = %v, want a permission violation", filepath.Base(path), subject, err)
	}
	if allow {
		// A producer also declares its stream: JetStream answers over its own inbox.
		js, err := jetstream.New(nc)
		if err != nil {
			t.Fatal(err)
		}
		service := strings.Split(subject, ".")[2] // huiyuan.<tenant>.<service>.v1.<type>
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if _, err := natsx.EnsureStream(ctx, js, service); err != nil {
			t.Fatalf("%s declaring %s's stream: %v", filepath.Base(path), service, err)
		}
	}
}

// TestNATSCredentials issues a tenant credential through the command and the iam API, and uses
// it against the broker.
func TestNATSCredentials(t *testing.T) {
	ns, a := natstest.RunWithAuth(t)
	keys, err := auth.NewKeyStore(bolttest.Open(t, auth.Buckets()...), clock.System{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := keys.Bootstrap(context.Background(), auth.DefaultTenant, adminKey); err != nil {
		t.Fatal(err)
	}
	srv := grpcx.NewServer(grpcx.Config{Domain: "huiyuan", Auth: keys, Policy: brokerapi.Policy()})
	iamv1.RegisterBrokerCredentialServiceServer(srv, brokerapi.New(a.TenantIssuer(), brokerapi.Options{URL: ns.ClientURL()}))
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = srv.Serve(lis) }()
	t.Cleanup(srv.Stop)
	addr := lis.Addr().String()

	path := filepath.Join(t.TempDir(), "acme.creds")
	code, out := run("nats-credentials", "--addr", addr, "--key", adminKey, "--tenant", "acme", "--ttl", "24h", "--out", path)
	if code != 0 || !strings.Contains(out, "subscribes to huiyuan.acme.>") || !strings.Contains(out, ns.ClientURL()) {
		t.Fatalf("nats-credentials: %d %s", code, out)
	}
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("creds file: %v %v", err, fi)
	}
	c, err := natsx.LoadCredential(path)
	if err != nil {
		t.Fatal(err)
	}
	if d := time.Until(c.Expires()); d < 23*time.Hour || d > 24*time.Hour {
		t.Fatalf("expires in %s, want 24h", d)
	}
	nc, err := nats.Connect(ns.ClientURL(), natsx.WithCredentialsFile(path), natsx.WithLogger(nil), nats.NoReconnect())
	if err != nil {
		t.Fatalf("connect with the issued file: %v", err)
	}
	nc.Close()

	if code, out := run("nats-credentials", "--addr", addr, "--key", adminKey, "--tenant", "Not A Tenant"); code != 1 || !strings.Contains(out, "InvalidArgument") {
		t.Fatalf("bad tenant: %d %s", code, out)
	}
	if code, out := run("nats-credentials", "--addr", addr); code != 1 || !strings.Contains(out, "no API key") {
		t.Fatalf("no key: %d %s", code, out)
	}
	code, out = run("nats-credentials", "--addr", addr, "--key", adminKey)
	if code != 0 || !strings.Contains(out, "BEGIN NATS USER JWT") {
		t.Fatalf("creds to stdout: %d %s", code, out)
	}
}
