package natstest

import (
	"bytes"
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

	"github.com/huiyuan-dev/huiyuan/pkg/natsx"
)

// ServerBinary finds the pinned nats-server: $NATS_SERVER_BIN (`make test-cluster` sets it),
// else tools/bin/nats-server under root (the repository). It skips the test when there is none.
func ServerBinary(t testing.TB, root string) string {
	t.Helper()
	path := os.Getenv("NATS_SERVER_BIN")
	if path == "" {
		path = filepath.Join(root, "tools", "bin", "nats-server")
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

// FreePorts returns n distinct free loopback ports.
func FreePorts(t testing.TB, n int) []int {
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

// Cluster is deploy/nats's three nodes running as processes on loopback, each in its own
// directory with the shipped n<k>.conf and node.conf, the given auth.conf, and a cluster.conf of
// loopback routes; client and monitoring ports are given on the command line, since the nodes
// share one machine.
type Cluster struct {
	t     testing.TB
	bin   string
	nodes []*Node

	mu       sync.Mutex
	stopping bool
}

// Node is one nats-server process of a Cluster.
type Node struct {
	Name, URL, RouteAddr, Monitor string

	dir, clientPort, monitorPort string
	cmd                          *exec.Cmd     // guarded by Cluster.mu
	exited                       chan struct{} // closed when cmd has exited
	killed                       bool          // guarded by Cluster.mu: its exit is expected
}

// StartCluster starts the three nodes of deployDir (the repository's deploy/nats) with the
// server configuration sa and waits until each accepts connections. The processes are stopped
// when the test ends; a node that exits without Kill fails the test.
func StartCluster(t testing.TB, bin, deployDir string, sa *natsx.ServerAuth) *Cluster {
	t.Helper()
	ports := FreePorts(t, 9)
	routeAuth, err := natsx.NewClusterAuth()
	if err != nil {
		t.Fatal(err)
	}
	var routes []string
	for k := range 3 {
		routes = append(routes, fmt.Sprintf("127.0.0.1:%d", ports[3+k]))
	}
	c := &Cluster{t: t, bin: bin}
	root := t.TempDir()
	for k := range 3 {
		name := fmt.Sprintf("n%d", k+1)
		dir := filepath.Join(root, name)
		if err := os.MkdirAll(dir, 0o700); err != nil {
			t.Fatal(err)
		}
		for _, f := range []string{name + ".conf", "node.conf"} {
			raw, err := os.ReadFile(filepath.Join(deployDir, f))
			if err != nil {
				t.Fatal(err)
			}
			if f == "node.conf" {
				// nats-server refuses -sd beside a configured store_dir: move it by hand.
				const line = "store_dir: /data/jetstream\n"
				if !bytes.Contains(raw, []byte(line)) {
					t.Fatalf("%s has no %q line to move", filepath.Join(deployDir, f), line)
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
		c.nodes = append(c.nodes, &Node{Name: name, dir: dir, RouteAddr: routes[k],
			clientPort: strconv.Itoa(ports[k]), monitorPort: strconv.Itoa(ports[6+k]),
			URL: fmt.Sprintf("nats://127.0.0.1:%d", ports[k]), Monitor: fmt.Sprintf("http://127.0.0.1:%d", ports[6+k])})
	}
	t.Cleanup(c.stop)
	for k := range c.nodes {
		c.Start(k)
	}
	return c
}

// Nodes returns the nodes.
func (c *Cluster) Nodes() []*Node { return c.nodes }

// URLs is every node's client URL, comma-separated (HUIYUAN_NATS_URL).
func (c *Cluster) URLs() string {
	var urls []string
	for _, n := range c.nodes {
		urls = append(urls, n.URL)
	}
	return strings.Join(urls, ",")
}

// Start (re)starts node k and waits until it accepts connections.
func (c *Cluster) Start(k int) {
	c.t.Helper()
	n := c.nodes[k]
	logFile, err := os.OpenFile(filepath.Join(n.dir, "server.log"), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		c.t.Fatal(err)
	}
	cmd := exec.Command(c.bin, "-c", filepath.Join(n.dir, n.Name+".conf"), "-a", "127.0.0.1", "-p", n.clientPort, "-m", n.monitorPort)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	err = cmd.Start()
	logFile.Close() // the process holds its own copy
	if err != nil {
		c.t.Fatal(err)
	}
	exited := make(chan struct{})
	c.mu.Lock()
	n.cmd, n.exited, n.killed = cmd, exited, false
	c.mu.Unlock()
	go func() {
		err := cmd.Wait()
		c.mu.Lock()
		expected := c.stopping || n.killed
		c.mu.Unlock()
		if !expected {
			c.t.Errorf("%s exited: %v\n%s", n.Name, err, n.Output())
		}
		close(exited)
	}()
	deadline := time.Now().Add(20 * time.Second)
	for {
		conn, err := net.DialTimeout("tcp", "127.0.0.1:"+n.clientPort, 200*time.Millisecond)
		if err == nil {
			conn.Close()
			return
		}
		if time.Now().After(deadline) {
			c.t.Fatalf("%s does not accept connections: %v\n%s", n.Name, err, n.Output())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Kill SIGKILLs node k and waits until it is gone.
func (c *Cluster) Kill(k int) {
	c.t.Helper()
	n := c.nodes[k]
	c.mu.Lock()
	cmd, exited := n.cmd, n.exited
	n.killed = true
	c.mu.Unlock()
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		c.t.Fatal(err)
	}
	<-exited
}

// Output is a node's log so far.
func (n *Node) Output() string {
	raw, _ := os.ReadFile(filepath.Join(n.dir, "server.log"))
	return string(raw)
}

func (c *Cluster) stop() {
	c.mu.Lock()
	c.stopping = true
	c.mu.Unlock()
	for _, n := range c.nodes {
		c.mu.Lock()
		cmd, exited := n.cmd, n.exited
		c.mu.Unlock()
		if cmd == nil {
			continue
		}
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
		}
		if c.t.Failed() {
			c.t.Logf("%s output:\n%s", n.Name, n.Output())
		}
	}
}
