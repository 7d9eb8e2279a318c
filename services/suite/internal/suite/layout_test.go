package suite_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/huiyuan-dev/huiyuan/pkg/natsx"
)

// layout is the suite as separate processes: each service runs `huiyuan serve --service NAME`
// with its own data directory and gRPC port, finding the others at HUIYUAN_<NAME>_ADDR, all
// sharing one broker; the gateway serves the JSON edge.
type layout struct {
	t     testing.TB
	bin   string
	env   []string // shared by every process
	procs map[string]*svcProcess
	edge  *running
}

// svcProcess is one service's process.
type svcProcess struct {
	name, grpc, http string
	metrics          string // HUIYUAN_METRICS_ADDR, when the process has one
	env              []string
	cmd              *exec.Cmd
	output           *syncBuffer
	exited           chan struct{} // closed when cmd has exited
}

// layoutServices are started in this order (each after the ones it calls).
var layoutServices = []string{"iam", "member", "loyalty", "coupon", "gateway"}

// newLayout prepares the processes against the broker at natsURL, each with its credentials
// from setupDir (what `huiyuan nats-setup --out setupDir` wrote; "" for a broker without auth),
// and extra env for every process (TLS); start runs them.
func newLayout(t testing.TB, natsURL, setupDir string, extra ...string) *layout {
	t.Helper()
	secret := func() string {
		b := make([]byte, 32)
		_, _ = rand.Read(b)
		return base64.StdEncoding.EncodeToString(b)
	}
	l := &layout{t: t, bin: huiyuanBinary(t), procs: map[string]*svcProcess{}}
	l.env = append(os.Environ(),
		"HUIYUAN_NATS_URL="+natsURL,
		"HUIYUAN_JWT_SECRET="+secret(),
		"HUIYUAN_SERVICE_SECRET="+secret(),
		"HUIYUAN_ADMIN_KEY="+adminKey,
		"HUIYUAN_RATE_LIMIT=0",
		"HUIYUAN_LOG_LEVEL=warn",
		"HUIYUAN_SHUTDOWN_GRACE=5s",
	)
	l.env = append(l.env, extra...)
	for _, name := range layoutServices {
		p := &svcProcess{name: name, grpc: freeAddr(t)}
		switch name {
		case "gateway":
			p.http = freeAddr(t)
		case "loyalty":
			p.metrics = freeAddr(t) // a process without the edge serves its metrics on its own
		}
		l.procs[name] = p
		if name != "gateway" {
			l.env = append(l.env, "HUIYUAN_"+strings.ToUpper(name)+"_ADDR="+p.grpc)
		}
	}
	for _, name := range layoutServices {
		p := l.procs[name]
		p.env = append(append([]string(nil), l.env...),
			"HUIYUAN_SERVICE="+name,
			"HUIYUAN_DATA_DIR="+t.TempDir(),
			"HUIYUAN_GRPC_ADDR="+p.grpc,
		)
		if p.http != "" {
			p.env = append(p.env, "HUIYUAN_HTTP_ADDR="+p.http)
		}
		if p.metrics != "" {
			p.env = append(p.env, "HUIYUAN_METRICS_ADDR="+p.metrics)
		}
		if setupDir != "" {
			p.env = append(p.env, "HUIYUAN_NATS_CREDS="+filepath.Join(setupDir, "creds", name+".creds"))
			if name == "iam" {
				p.env = append(p.env, "HUIYUAN_NATS_TENANT_ISSUER="+filepath.Join(setupDir, "iam", "tenant-issuer.json"))
			}
		}
	}
	l.edge = &running{base: "http://" + l.procs["gateway"].http}
	t.Cleanup(func() {
		for _, p := range l.procs {
			if p.cmd != nil {
				_ = p.cmd.Process.Kill()
				<-p.exited
			}
			if t.Failed() && p.output != nil {
				t.Logf("%s output:\n%s", p.name, p.output)
			}
		}
	})
	return l
}

// start runs every process and waits until each is ready.
func (l *layout) start() {
	l.t.Helper()
	for _, name := range layoutServices {
		l.startOne(name)
	}
}

// startOne (re)starts one service's process and waits until it is ready: SERVING over gRPC,
// or /healthz for the gateway.
func (l *layout) startOne(name string) {
	l.t.Helper()
	p := l.procs[name]
	p.output = &syncBuffer{}
	p.cmd = exec.Command(l.bin, "serve")
	p.cmd.Env = p.env
	p.cmd.Stdout, p.cmd.Stderr = p.output, p.output
	if err := p.cmd.Start(); err != nil {
		l.t.Fatal(err)
	}
	p.exited = make(chan struct{})
	go func(cmd *exec.Cmd, exited chan struct{}) { _ = cmd.Wait(); close(exited) }(p.cmd, p.exited)
	deadline := time.Now().Add(30 * time.Second)
	for !l.ready(p) {
		select {
		case <-p.exited:
			l.t.Fatalf("%s exited at start:\n%s", name, p.output)
		default:
		}
		if time.Now().After(deadline) {
			l.t.Fatalf("%s not ready after 30s:\n%s", name, p.output)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (l *layout) ready(p *svcProcess) bool {
	if p.http != "" {
		resp, err := httpGet("http://" + p.http + "/healthz")
		return err == nil && resp == 200
	}
	conn := l.dial(p.name)
	defer conn.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	r, err := healthpb.NewHealthClient(conn).Check(ctx, &healthpb.HealthCheckRequest{Service: p.name})
	return err == nil && r.GetStatus() == healthpb.HealthCheckResponse_SERVING
}

// dial connects to a service's process over gRPC.
func (l *layout) dial(name string) *grpc.ClientConn {
	l.t.Helper()
	conn, err := grpc.NewClient(l.procs[name].grpc, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		l.t.Fatal(err)
	}
	return conn
}

// kill SIGKILLs a service's process.
func (l *layout) kill(name string) {
	l.t.Helper()
	p := l.procs[name]
	if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		l.t.Fatal(err)
	}
	<-p.exited
}

// syncBuffer is a bytes.Buffer a process writes while the test reads it.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// natsSetup runs `huiyuan nats-setup` into a new directory and returns it with the authority it
// made.
func natsSetup(t testing.TB, routes string) (string, *natsx.Authority) {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "nats-setup")
	out, err := exec.Command(huiyuanBinary(t), "nats-setup", "--out", dir, "--routes", routes).CombinedOutput()
	if err != nil {
		t.Fatalf("nats-setup: %v\n%s", err, out)
	}
	a, err := natsx.OpenAuthority(filepath.Join(dir, "authority"))
	if err != nil {
		t.Fatal(err)
	}
	return dir, a
}
