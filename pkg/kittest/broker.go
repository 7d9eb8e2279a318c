package kittest

import (
	"context"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"

	"github.com/huiyuan-dev/huiyuan/pkg/natsx"
)

// inProcess connects every service to an embedded server without a network.
type inProcess struct{ ns *server.Server }

// Connect implements kit.Broker.
func (b inProcess) Connect(_ context.Context, service string) (*nats.Conn, error) {
	return natsx.ConnectInProcess(b.ns, nats.Name(service))
}
