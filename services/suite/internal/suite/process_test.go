package suite_test

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"

	"github.com/huiyuan-dev/huiyuan/pkg/natsx"
	"github.com/huiyuan-dev/huiyuan/services/suite/internal/suite"
)

// process is the huiyuan binary running as a child process, so a test can SIGKILL it.
type process struct {
	t       testing.TB
	bin     string
	dataDir string
	env     []string
	cmd     *exec.Cmd
	output  *syncBuffer
	grpc    string
	http    string
	nats    string
}

var buildOnce struct {
	sync.Once
	bin string
	err error
}

// huiyuanBinary builds the command once per test binary.
func huiyuanBinary(t testing.TB) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "huiyuan-bin-")
		if err != nil {
			buildOnce.err = err
			return
		}
		buildOnce.bin = filepath.Join(dir, "huiyuan")
		out, err := exec.Command("go", "build", "-o", buildOnce.bin, "github.com/huiyuan-dev/huiyuan/services/suite/cmd/huiyuan").CombinedOutput()
		if err != nil {
			buildOnce.err = err
			buildOnce.bin = string(out)
		}
	})
	if buildOnce.err != nil {
		t.Fatalf("build huiyuan: %v\n%s", buildOnce.err, buildOnce.bin)
	}
	return buildOnce.bin
}

func freeAddr(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// newProcess prepares a suite process with its own data directory and ports; start runs it.
func newProcess(t testing.TB) *process {
	p := &process{t: t, bin: huiyuanBinary(t), grpc: freeAddr(t), http: freeAddr(t), nats: freeAddr(t), dataDir: t.TempDir()}
	p.env = append(os.Environ(),
		"HUIYUAN_DATA_DIR="+p.dataDir,
		"HUIYUAN_HTTP_ADDR="+p.http,
		"HUIYUAN_GRPC_ADDR="+p.grpc,
		"HUIYUAN_NATS_ADDR="+p.nats,
		"HUIYUAN_ADMIN_KEY="+adminKey,
		"HUIYUAN_RATE_LIMIT=0",
		"HUIYUAN_LOG_LEVEL=warn",
	)
	t.Cleanup(func() {
		if p.cmd != nil && p.cmd.ProcessState == nil {
			_ = p.cmd.Process.Kill()
			_ = p.cmd.Wait()
		}
		if t.Failed() {
			t.Logf("process output:\n%s", p.output)
		}
	})
	return p
}

// start runs the process and waits until its gRPC health check answers SERVING.
func (p *process) start() {
	p.t.Helper()
	p.output = &syncBuffer{}
	p.cmd = exec.Command(p.bin, "serve")
	p.cmd.Env = p.env
	p.cmd.Stdout, p.cmd.Stderr = p.output, p.output
	if err := p.cmd.Start(); err != nil {
		p.t.Fatal(err)
	}
	conn := p.dial()
	defer conn.Close()
	hc := healthpb.NewHealthClient(conn)
	deadline := time.Now().Add(30 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		r, err := hc.Check(ctx, &healthpb.HealthCheckRequest{})
		cancel()
		if err == nil && r.GetStatus() == healthpb.HealthCheckResponse_SERVING {
			return
		}
		if time.Now().After(deadline) {
			p.t.Fatalf("process not ready after 30s (last: %v)\n%s", err, p.output)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (p *process) dial() *grpc.ClientConn {
	p.t.Helper()
	conn, err := grpc.NewClient(p.grpc, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		p.t.Fatal(err)
	}
	return conn
}

func (p *process) kill() {
	p.t.Helper()
	if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		p.t.Fatal(err)
	}
	_ = p.cmd.Wait()
}

// stop sends SIGTERM and expects a clean exit.
func (p *process) stop() {
	p.t.Helper()
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		p.t.Fatal(err)
	}
	if err := p.cmd.Wait(); err != nil {
		p.t.Fatalf("exit after SIGTERM: %v\n%s", err, p.output)
	}
}

func authed(ctx context.Context) context.Context {
	return metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+adminKey)
}

// cpu returns the CPU time (user + system) the process has used, from /proc/<pid>/stat.
func (p *process) cpu() time.Duration {
	p.t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", p.cmd.Process.Pid))
	if err != nil {
		p.t.Fatal(err)
	}
	// Fields after the command name, which is in parentheses and may hold spaces: utime and
	// stime are the 12th and 13th, in clock ticks (USER_HZ, 100 on Linux).
	rest := b[bytes.LastIndexByte(b, ')')+2:]
	f := strings.Fields(string(rest))
	utime, err1 := strconv.ParseInt(f[11], 10, 64)
	stime, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		p.t.Fatalf("parse %s: %v %v", b, err1, err2)
	}
	return time.Duration(utime+stime) * 10 * time.Millisecond
}

// brokerCredential is a full-access connection option to the process's embedded broker, issued
// by the authority in its data directory (the broker refuses connections without credentials).
func (p *process) brokerCredential() nats.Option {
	p.t.Helper()
	a, err := natsx.OpenAuthority(suite.AuthorityDir(p.dataDir))
	if err != nil {
		p.t.Fatal(err)
	}
	c, err := a.IssueOperator("test", time.Hour)
	if err != nil {
		p.t.Fatal(err)
	}
	return natsx.WithCredential(c)
}
