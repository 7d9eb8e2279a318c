// Package natsx starts the embedded NATS server with JetStream, connects clients to it or to an
// external cluster, and declares the per-service event streams.
package natsx

import (
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/nats-io/nats-server/v2/server"
)

// MaxControlLine is the longest protocol line the servers accept (deploy/nats/node.conf says
// the same). A client's CONNECT carries its JWT, and a credential for a process hosting several
// services, each consuming several streams, outgrows the server's default of 4 KB.
const MaxControlLine = 16 << 10

// EmbeddedConfig configures StartEmbedded.
type EmbeddedConfig struct {
	// Host to listen on; "" means all interfaces (the server's default).
	Host string
	// Port to listen on: 0 means the NATS default (4222), -1 a random free port.
	Port int
	// DontListen runs the server without any network listener: only in-process clients
	// (ConnectInProcess) can reach it.
	DontListen bool
	// StoreDir is where JetStream keeps its files. Required: the broker's data must not land
	// in a temporary directory by accident.
	StoreDir string
	// ServerName names the server in logs and cluster views; "" lets NATS pick one.
	ServerName string
	// MaxStore and MaxMemory cap JetStream's file and memory storage; 0 lets NATS decide.
	MaxStore, MaxMemory int64
	// SyncAlways makes JetStream fsync every write instead of every two minutes. Slower; the
	// services' own event logs are the source of truth either way.
	SyncAlways bool
	// Logger receives the server's log lines. nil silences the server.
	Logger *slog.Logger
	// Debug adds the server's debug lines to Logger.
	Debug bool
	// ReadyTimeout bounds how long StartEmbedded waits for the server; 0 means 10 s.
	ReadyTimeout time.Duration
	// Auth runs the server in operator mode under an Authority (Authority.ServerAuth): only
	// its credentials connect, in process or over the network. nil leaves the server open to
	// anyone who reaches it, for tests.
	Auth *ServerAuth
}

// StartEmbedded starts a NATS server with JetStream enabled in this process and returns it
// once it accepts connections. The caller owns it and stops it with Shutdown (then
// WaitForShutdown). It returns an error, never a half-started server, when the configuration
// is invalid, the port is taken or the server is not ready within ReadyTimeout.
func StartEmbedded(cfg EmbeddedConfig) (*server.Server, error) {
	if cfg.StoreDir == "" {
		return nil, errors.New("natsx: embedded server needs a StoreDir")
	}
	opts := &server.Options{
		ServerName:         cfg.ServerName,
		Host:               cfg.Host,
		Port:               cfg.Port,
		DontListen:         cfg.DontListen,
		JetStream:          true,
		StoreDir:           cfg.StoreDir,
		JetStreamMaxStore:  cfg.MaxStore,
		JetStreamMaxMemory: cfg.MaxMemory,
		SyncAlways:         cfg.SyncAlways,
		NoSigs:             true, // the host process owns signal handling
		NoLog:              cfg.Logger == nil,
	}
	if cfg.Auth != nil {
		opts.MaxControlLine = MaxControlLine
		if err := cfg.Auth.apply(opts); err != nil {
			return nil, fmt.Errorf("natsx: embedded server auth: %w", err)
		}
	}
	ns, err := server.NewServer(opts)
	if err != nil {
		return nil, fmt.Errorf("natsx: configure embedded server: %w", err)
	}
	if cfg.Logger != nil {
		ns.SetLoggerV2(slogAdapter{log: cfg.Logger}, cfg.Debug, false, false)
	}
	ns.Start()
	wait := cfg.ReadyTimeout
	if wait <= 0 {
		wait = 10 * time.Second
	}
	if !ns.ReadyForConnections(wait) {
		ns.Shutdown()
		ns.WaitForShutdown()
		return nil, fmt.Errorf("natsx: embedded server not ready within %s (port %d taken?)", wait, cfg.Port)
	}
	if !ns.JetStreamEnabled() {
		ns.Shutdown()
		ns.WaitForShutdown()
		return nil, fmt.Errorf("natsx: embedded server started without JetStream (store %s)", cfg.StoreDir)
	}
	return ns, nil
}
