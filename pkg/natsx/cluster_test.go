package natsx_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/huiyuan-dev/huiyuan/pkg/natsx"
)

// natsServerBinary finds the pinned nats-server: $NATS_SERVER_BIN (the Makefile sets it), else
// tools/bin/nats-server of this repository.
func natsServerBinary(t *testing.T) string {
	t.Helper()
	path := os.Getenv("NATS_SERVER_BIN")
	if path == "" {
		path = filepath.Join("..", "..", "tools", "bin", "nats-server")
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(abs); err != nil {
		t.Skipf("no nats-server at %s (run `make tools`, or set NATS_SERVER_BIN): skipping the cluster test", abs)
	}
	return abs
}

// freePorts returns n distinct free loopback ports.
func freePorts(t *testing.T, n int) []int {
	t.Helper()
	var ports []int
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer l.Close() // held until all are picked, so none repeats
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports
}

// node is one nats-server process of the test cluster.
type node struct {
	url, routeAddr, monitor string
}

// startCluster runs deploy/nats's three nodes on loopback: each in its own directory with the
// shipped n<k>.conf and node.conf, a generated auth.conf and cluster.conf (routes on loopback
// ports), and the client, monitoring and store settings of node.conf replaced by flags, since
// the three share one machine. The processes are stopped when the test ends; one that exits
// before fails the test and calls cancel.
func startCluster(t *testing.T, bin string, sa *natsx.ServerAuth, cancel context.CancelFunc) []node {
	t.Helper()
	stopping := make(chan struct{}) // closed when the test stops the nodes
	var stopOnce sync.Once
	ports := freePorts(t, 9)
	routeAuth, err := natsx.NewClusterAuth()
	if err != nil {
		t.Fatal(err)
	}
	var routes []string
	for k := range 3 {
		routes = append(routes, fmt.Sprintf("127.0.0.1:%d", ports[3+k]))
	}
	root := t.TempDir()
	var nodes []node
	for k := range 3 {
		name := fmt.Sprintf("n%d", k+1)
		dir := filepath.Join(root, name)
		if err := os.MkdirAll(dir, 0o700); err != nil {
			t.Fatal(err)
		}
		for _, f := range []string{name + ".conf", "node.conf"} {
			raw, err := os.ReadFile(filepath.Join("..", "..", "deploy", "nats", f))
			if err != nil {
				t.Fatal(err)
			}
			if f == "node.conf" {
				// nats-server refuses -sd beside a configured store_dir: move it by hand.
				const line = "store_dir: /data/jetstream\n"
				if !bytes.Contains(raw, []byte(line)) {
					t.Fatalf("deploy/nats/node.conf has no %q line to move", line)
				}
				raw = bytes.Replace(raw, []byte(line), []byte("store_dir: "+strconv.Quote(filepath.Join(dir, "store"))+"\n"), 1)
			}
			if err := os.WriteFile(filepath.Join(dir, f), raw, 0o600); err != nil {
				t.Fatal(err)
			}
		}
		clusterConf, err := natsx.ClusterConfig(routes[k], routes, routeAuth)
		if err != nil {
			t.Fatal(err)
		}
		for f, raw := range map[string][]byte{"auth.conf": sa.Config(), "cluster.conf": clusterConf} {
			if err := os.WriteFile(filepath.Join(dir, f), raw, 0o600); err != nil {
				t.Fatal(err)
			}
		}
		logPath := filepath.Join(dir, "server.log")
		logFile, err := os.Create(logPath)
		if err != nil {
			t.Fatal(err)
		}
		output := func() string { raw, _ := os.ReadFile(logPath); return string(raw) }
		cmd := exec.Command(bin, "-c", filepath.Join(dir, name+".conf"),
			"-a", "127.0.0.1", "-p", fmt.Sprint(ports[k]), "-m", fmt.Sprint(ports[6+k]))
		cmd.Stdout, cmd.Stderr = logFile, logFile
		err = cmd.Start()
		logFile.Close() // the process holds its own copy
		if err != nil {
			t.Fatal(err)
		}
		exited := make(chan struct{})
		go func() {
			err := cmd.Wait()
			select {
			case <-stopping:
			default: // a node that dies early fails the test now, not at its deadline
				t.Errorf("%s exited: %v\n%s", name, err, output())
				cancel()
			}
			close(exited)
		}()
		t.Cleanup(func() {
			stopOnce.Do(func() { close(stopping) })
			_ = cmd.Process.Signal(syscall.SIGTERM)
			select {
			case <-exited:
			case <-time.After(10 * time.Second):
				_ = cmd.Process.Kill()
				<-exited
			}
			if t.Failed() {
				t.Logf("%s output:\n%s", name, output())
			}
		})
		nodes = append(nodes, node{url: fmt.Sprintf("nats://127.0.0.1:%d", ports[k]), routeAddr: routes[k],
			monitor: fmt.Sprintf("http://127.0.0.1:%d", ports[6+k])})
	}
	return nodes
}

// TestCluster starts the shipped three-node configuration with the pinned nats-server and checks
// the permission matrix across nodes: an R3 stream declared with a service credential, strangers
// refused (clients and routes), a service confined to its subjects, a consumer reading its
// producer through its durable, a tenant confined to its own events.
func TestCluster(t *testing.T) {
	t.Parallel()
	bin := natsServerBinary(t)
	a, sa := newAuthority(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	nodes := startCluster(t, bin, sa, cancel)
	member, err := a.IssueService("member", natsx.ServiceGrant{Service: "member", Produces: true})
	if err != nil {
		t.Fatal(err)
	}
	loyalty, err := a.IssueService("loyalty", natsx.ServiceGrant{Service: "loyalty", Produces: true, Consumes: []string{"member"}})
	if err != nil {
		t.Fatal(err)
	}
	connect := func(n node, c *natsx.Credential) *nats.Conn {
		t.Helper()
		nc, err := natsx.Connect(n.url, natsx.WithCredential(c), natsx.WithLogger(nil))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(nc.Close)
		return nc
	}

	// The cluster is ready when it elects a leader for an R3 stream, declared as the relay does.
	memberNC := connect(nodes[0], member)
	memberJS := jetStream(t, memberNC)
	var stream jetstream.Stream
	for stream == nil {
		actx, acancel := context.WithTimeout(ctx, 2*time.Second)
		stream, err = natsx.EnsureStream(actx, memberJS, "member", natsx.WithReplicas(3))
		acancel()
		if ctx.Err() != nil {
			t.Fatalf("no R3 stream before the deadline: %v", err)
		}
		if err != nil {
			time.Sleep(100 * time.Millisecond) // the meta group is still electing: ask again
		}
	}
	if cfg := stream.CachedInfo().Config; cfg.Replicas != 3 {
		t.Fatalf("MEMBER has %d replicas, want 3", cfg.Replicas)
	}

	t.Run("strangers refused", func(t *testing.T) {
		for _, n := range nodes {
			if nc, err := nats.Connect(n.url, nats.NoReconnect()); err == nil {
				nc.Close()
				t.Fatalf("%s accepted an anonymous client", n.url)
			} else if !errors.Is(err, nats.ErrAuthorization) {
				t.Fatalf("%s: anonymous client: %v, want an authorization error", n.url, err)
			}
			if info := routeInfo(t, n.routeAddr); !strings.Contains(info, `"auth_required":true`) {
				t.Fatalf("route port %s does not require auth: %s", n.routeAddr, info)
			}
		}
	})

	tenantSub := func(tenant, other string, n node) *nats.Subscription {
		t.Helper()
		c, err := a.TenantIssuer().IssueTenant(tenant, time.Now().Add(time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		nc := connect(n, c)
		sub, err := nc.SubscribeSync(natsx.TenantSubjects(tenant))
		if err != nil {
			t.Fatal(err)
		}
		if err := lastError(t, nc); err != nil {
			t.Fatal(err)
		}
		for _, denied := range []func() error{
			func() error { _, err := nc.SubscribeSync(natsx.TenantSubjects(other)); return err },
			func() error { return nc.Publish("huiyuan."+tenant+".member.v1.member_updated", nil) },
		} {
			if err := denied(); err != nil {
				t.Fatal(err)
			}
			if err := lastError(t, nc); !errors.Is(err, nats.ErrPermissionViolation) {
				t.Fatalf("tenant %s: err = %v, want a permission violation", tenant, err)
			}
		}
		return sub
	}
	acmeSub, otherSub := tenantSub("acme", "other", nodes[1]), tenantSub("other", "acme", nodes[2])
	waitInterest(t, nodes[0].monitor, natsx.TenantSubjects("acme"), natsx.TenantSubjects("other"))

	published := []string{"huiyuan.acme.member.v1.member_registered", "huiyuan.other.member.v1.member_registered",
		"huiyuan.acme.member.v1.member_updated"}
	for _, s := range published {
		if _, err := memberJS.Publish(ctx, s, []byte(s)); err != nil {
			t.Fatalf("member publishes %s: %v", s, err)
		}
	}
	if err := memberNC.Publish("huiyuan.acme.loyalty.v1.points_earned", nil); err != nil {
		t.Fatal(err)
	}
	if err := lastError(t, memberNC); !errors.Is(err, nats.ErrPermissionViolation) {
		t.Fatalf("member publishing loyalty's subject: err = %v, want a permission violation", err)
	}

	t.Run("tenants read their own events", func(t *testing.T) {
		for sub, want := range map[*nats.Subscription][]string{
			acmeSub:  {published[0], published[2]},
			otherSub: {published[1]},
		} {
			for _, w := range want {
				m, err := sub.NextMsg(10 * time.Second)
				if err != nil || m.Subject != w {
					t.Fatalf("received %v, %v; want %s", m, err, w)
				}
			}
			if n, _, _ := sub.Pending(); n != 0 {
				t.Fatalf("%d more messages, want none", n)
			}
		}
	})

	t.Run("consumer reads through its durable", func(t *testing.T) {
		nc := connect(nodes[2], loyalty)
		js := jetStream(t, nc)
		cons, err := js.CreateOrUpdateConsumer(ctx, natsx.StreamName("member"), jetstream.ConsumerConfig{
			Durable: "loyalty", AckPolicy: jetstream.AckExplicitPolicy, FilterSubject: natsx.StreamSubjects("member"),
		})
		if err != nil {
			t.Fatal(err)
		}
		batch, err := cons.Fetch(len(published), jetstream.FetchMaxWait(10*time.Second))
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for m := range batch.Messages() {
			got = append(got, m.Subject())
			if err := m.DoubleAck(ctx); err != nil {
				t.Fatalf("ack %s: %v", m.Subject(), err)
			}
		}
		if strings.Join(got, ",") != strings.Join(published, ",") {
			t.Fatalf("fetched %v, want %v", got, published)
		}
		if err := nc.Publish("$JS.API.CONSUMER.CREATE.MEMBER.analytics", []byte("{}")); err != nil {
			t.Fatal(err)
		}
		if err := lastError(t, nc); !errors.Is(err, nats.ErrPermissionViolation) {
			t.Fatalf("loyalty creating another service's durable: err = %v, want a permission violation", err)
		}
	})
}

// routeInfo reads the INFO line a route port sends to whoever connects.
func routeInfo(t *testing.T, addr string) string {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		t.Fatalf("read INFO from %s: %v", addr, err)
	}
	return line
}

// waitInterest waits until the node monitored at monitor has learned, from its routes, of
// subscriptions to every one of subjects, so what is published there reaches them.
func waitInterest(t *testing.T, monitor string, subjects ...string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		resp, err := http.Get(monitor + "/routez?subs=1")
		if err != nil {
			t.Fatal(err)
		}
		var routez struct {
			Routes []struct {
				Subs []string `json:"subscriptions_list"`
			} `json:"routes"`
		}
		err = json.NewDecoder(resp.Body).Decode(&routez)
		resp.Body.Close()
		if err != nil {
			t.Fatal(err)
		}
		missing := slices.DeleteFunc(slices.Clone(subjects), func(s string) bool {
			return slices.ContainsFunc(routez.Routes, func(r struct {
				Subs []string `json:"subscriptions_list"`
			}) bool {
				return slices.Contains(r.Subs, s)
			})
		})
		if len(missing) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s does not know of subscriptions to %v", monitor, missing)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
