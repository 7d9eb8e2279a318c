// Package natstest runs NATS servers with JetStream inside tests: in-process for speed, or on a
// loopback port with Restart, to test what happens when the broker goes away or loses its data.
package natstest

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"

	"github.com/huiyuan-dev/huiyuan/pkg/natsx"
)

// Run starts an embedded JetStream server without a listener, storing in t.TempDir(), and
// returns it with an in-process connection. Both are closed when the test ends. It fails the
// test if the server cannot start.
func Run(t testing.TB) (*server.Server, *nats.Conn) {
	t.Helper()
	ns, err := natsx.StartEmbedded(natsx.EmbeddedConfig{DontListen: true, StoreDir: t.TempDir()})
	if err != nil {
		t.Fatalf("natstest: %v", err)
	}
	t.Cleanup(func() { shutdown(ns) })
	nc, err := natsx.ConnectInProcess(ns, natsx.WithLogger(nil))
	if err != nil {
		t.Fatalf("natstest: %v", err)
	}
	t.Cleanup(nc.Close)
	return ns, nc
}

// RunWithAuth starts an embedded JetStream server in operator mode under a new Authority (kept
// in t.TempDir()): only the Authority's credentials connect. It listens on a random loopback
// port, since outside subscribers connect over the network, and is shut down when the test
// ends. It fails the test if the server cannot start.
func RunWithAuth(t testing.TB) (*server.Server, *natsx.Authority) {
	t.Helper()
	a, err := natsx.OpenAuthority(filepath.Join(t.TempDir(), "authority"))
	if err != nil {
		t.Fatalf("natstest: %v", err)
	}
	sa, err := a.ServerAuth()
	if err != nil {
		t.Fatalf("natstest: %v", err)
	}
	ns, err := natsx.StartEmbedded(natsx.EmbeddedConfig{Host: "127.0.0.1", Port: -1, StoreDir: t.TempDir(), Auth: sa})
	if err != nil {
		t.Fatalf("natstest: %v", err)
	}
	t.Cleanup(func() { shutdown(ns) })
	return ns, a
}

// Server is an embedded JetStream server on a random loopback port that a test can restart,
// keeping or wiping its store, while its clients reconnect.
type Server struct {
	t    testing.TB
	dir  string
	port int

	mu sync.Mutex
	ns *server.Server
}

// Start starts a Server storing in t.TempDir(). It is shut down when the test ends; it fails
// the test if it cannot start.
func Start(t testing.TB) *Server {
	t.Helper()
	s := &Server{t: t, dir: t.TempDir(), port: -1}
	s.start()
	t.Cleanup(func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		shutdown(s.ns)
	})
	return s
}

func (s *Server) start() {
	s.t.Helper()
	ns, err := natsx.StartEmbedded(natsx.EmbeddedConfig{Host: "127.0.0.1", Port: s.port, StoreDir: s.dir})
	if err != nil {
		s.t.Fatalf("natstest: %v", err)
	}
	addr, ok := ns.Addr().(*net.TCPAddr)
	if !ok {
		shutdown(ns)
		s.t.Fatalf("natstest: unexpected listener address %v", ns.Addr())
	}
	s.port = addr.Port
	s.ns = ns
}

// NATS returns the running server.
func (s *Server) NATS() *server.Server {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.ns
}

// URL is the client URL, stable across restarts.
func (s *Server) URL() string { return fmt.Sprintf("nats://127.0.0.1:%d", s.port) }

// Connect returns a client that reconnects forever with short waits, closed when the test ends.
// It fails the test if it cannot connect.
func (s *Server) Connect() *nats.Conn {
	s.t.Helper()
	nc, err := natsx.Connect(s.URL(), natsx.WithLogger(nil),
		nats.ReconnectWait(20*time.Millisecond), nats.ReconnectJitter(10*time.Millisecond, 10*time.Millisecond))
	if err != nil {
		s.t.Fatalf("natstest: %v", err)
	}
	s.t.Cleanup(nc.Close)
	return nc
}

// Restart shuts the server down and starts it again on the same port. With empty, the store
// directory is wiped first, as if the broker lost everything it had acknowledged.
func (s *Server) Restart(empty bool) {
	s.t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	shutdown(s.ns)
	if empty {
		if err := os.RemoveAll(s.dir); err != nil {
			s.t.Fatalf("natstest: wipe store: %v", err)
		}
	}
	s.start()
}

func shutdown(ns *server.Server) {
	ns.Shutdown()
	ns.WaitForShutdown()
}
