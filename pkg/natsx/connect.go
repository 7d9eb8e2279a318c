package natsx

import (
	"fmt"
	"log/slog"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
)

// Connect dials the NATS servers in url (comma-separated) and keeps the connection alive: it
// reconnects forever with jittered waits, buffers publishes while disconnected, and also retries
// when no server is reachable at first, so a service may start before its broker. Connection
// events are logged to slog.Default() unless opts contains WithLogger; later opts override the
// defaults. It returns an error only for an invalid url or option.
func Connect(url string, opts ...nats.Option) (*nats.Conn, error) {
	all := append([]nats.Option{
		nats.MaxReconnects(-1),
		nats.ReconnectWait(500 * time.Millisecond),
		nats.ReconnectJitter(250*time.Millisecond, time.Second),
		nats.RetryOnFailedConnect(true),
		nats.PingInterval(20 * time.Second),
		WithLogger(slog.Default()),
	}, opts...)
	nc, err := nats.Connect(url, all...)
	if err != nil {
		return nil, fmt.Errorf("natsx: connect %s: %w", url, err)
	}
	return nc, nil
}

// ConnectInProcess connects to an embedded server without a network socket. Such a connection
// cannot outlive the server: when ns shuts down it closes. It returns an error when ns is not
// running.
func ConnectInProcess(ns *server.Server, opts ...nats.Option) (*nats.Conn, error) {
	if ns == nil {
		return nil, fmt.Errorf("natsx: connect in process: nil server")
	}
	all := append([]nats.Option{nats.InProcessServer(ns), WithLogger(slog.Default())}, opts...)
	nc, err := nats.Connect("", all...)
	if err != nil {
		return nil, fmt.Errorf("natsx: connect in process: %w", err)
	}
	return nc, nil
}

// WithLogger logs disconnects, reconnects, closes and asynchronous errors (such as a slow
// consumer) to log. A nil log silences them.
func WithLogger(log *slog.Logger) nats.Option {
	return func(o *nats.Options) error {
		if log == nil {
			o.DisconnectedErrCB, o.ReconnectedCB, o.ClosedCB = nil, nil, nil
			// Without a handler nats.go prints asynchronous errors to stderr.
			o.AsyncErrorCB = func(*nats.Conn, *nats.Subscription, error) {}
			return nil
		}
		o.DisconnectedErrCB = func(_ *nats.Conn, err error) {
			if err != nil {
				log.Warn("nats disconnected", "err", err)
				return
			}
			log.Info("nats disconnected")
		}
		o.ReconnectedCB = func(nc *nats.Conn) { log.Info("nats reconnected", "url", nc.ConnectedUrlRedacted()) }
		o.ClosedCB = func(*nats.Conn) { log.Info("nats connection closed") }
		o.AsyncErrorCB = func(_ *nats.Conn, sub *nats.Subscription, err error) {
			subject := ""
			if sub != nil {
				subject = sub.Subject
			}
			log.Error("nats async error", "subject", subject, "err", err)
		}
		return nil
	}
}
