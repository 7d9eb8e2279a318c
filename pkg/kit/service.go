// Package kit is the service kit: the one contract every Huiyuan service's assembly implements
// (Service), and the runner (Run) that hosts any set of them in one process. Adding a service is
// a module with its assembly, and one line in the list the huiyuan command passes to Run
// (docs/adding-a-service.md).
//
// For each hosted service the runner opens its bbolt file in its own data directory
// (<data>/<name>/<name>.db) with the buckets of its event log, idempotency and consumers, gives
// it a group-commit writer, starts it, registers its gRPC services on the process's server and
// in-process channel with the platform's interceptor chain, publishes its event log through a
// relay, runs its jobs and event consumers, and reports its health under its own name. On Close
// it stops everything in reverse: the edge and gRPC drain, consumers and jobs stop, relays flush,
// writers and stores close, the broker last.
//
// Services reach each other only through Env.Dial (gRPC: the in-process channel when the other
// service runs in the same process, a network connection otherwise) and through events: no
// service opens another's files.
package kit

import (
	"context"
	"crypto/tls"
	"flag"
	"io"
	"log/slog"
	"net/http"
	"time"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"

	"github.com/huiyuan-dev/huiyuan/pkg/config"
	"github.com/nats-io/nats.go"
	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/grpc"

	"github.com/huiyuan-dev/huiyuan/pkg/auth"
	"github.com/huiyuan-dev/huiyuan/pkg/boltx"
	"github.com/huiyuan-dev/huiyuan/pkg/clock"
	"github.com/huiyuan-dev/huiyuan/pkg/eventlog"
)

// Service is what a service's assembly implements.
type Service interface {
	// Describe says what the service is and needs. It is called first and must not depend on
	// configuration.
	Describe() Description
	// Flags declares the service's own settings on fs. Name them after the service
	// ("--loyalty-job-interval", environment HUIYUAN_LOYALTY_JOB_INTERVAL) unless the name is
	// fixed elsewhere (API.md's HUIYUAN_ADMIN_KEY). Called once, for every service of the list,
	// so `huiyuan serve --help` shows them all; only hosted services are started.
	Flags(fs *flag.FlagSet)
	// Start validates the settings and assembles the service over what the runner opened for
	// it. Errors name the bad setting by its environment variable.
	Start(ctx context.Context, env Env) (*Running, error)
}

// FlagChecker is implemented by a Service whose own settings can be checked as soon as they
// are parsed: Run checks its hosted services' before it opens any file or port (so Start need
// not), and the suite reports every service's problems with the process's own.
type FlagChecker interface {
	// CheckFlags adds each bad setting to p, named by its environment variable.
	CheckFlags(p *config.Problems)
}

// Description is a service's fixed facts.
type Description struct {
	// Name is lower-case letters: the data directory and bbolt file, the event stream
	// (upper(Name)) and subjects (huiyuan.<tenant>.<Name>.v1.<event>), the health name, and the
	// address setting HUIYUAN_<NAME>_ADDR of the process that runs it.
	Name string
	// Domain is the google.rpc.ErrorInfo domain of its errors ("member.huiyuan.dev").
	Domain string
	// APIs are the full names of the gRPC services it serves
	// (memberv1.MemberService_ServiceDesc.ServiceName): they route the JSON edge and the
	// connections of other services to it, and get its health status and error domain.
	APIs []string
	// Buckets are its store's own buckets; the runner adds those of its event log,
	// idempotency and consumers.
	Buckets [][]byte
	// Policy says which roles may call each of its methods.
	Policy auth.Policy
	// Events says it publishes events: it gets an event log (Env.Log) and a relay.
	Events bool
	// Consumes names the services whose events it consumes (Running.Consumers), for the
	// broker's permissions.
	Consumes []string
	// Calls names the services it calls over gRPC: they start first in one process and are
	// dialled at their address otherwise.
	Calls []string
	// Stateless services (the gateway) get no store, writer or event log.
	Stateless bool
	// Edge marks the JSON edge, which calls every service that has Gateway routes (so each
	// needs an address when it runs elsewhere).
	Edge bool
	// Gateway registers the JSON edge's routes of its APIs (the generated
	// Register...HandlerClient functions) over a connection to the service.
	Gateway []GatewayRoutes
	// MemberTokens is set by the service that issues and revokes member tokens (the member
	// service; one per list): every process then checks each member token against it, through
	// Running.TokenStatus where it runs and MemberTokenChecks.Remote elsewhere.
	MemberTokens *MemberTokenChecks
}

// MemberTokenChecks is how a process that does not host the member token service checks tokens
// with it: the answers that a token is usable are trusted for Config.KeyTTL, and a revocation
// event (on natsx.MemberTokenRevocations) drops them at once.
type MemberTokenChecks struct {
	// Remote asks the service over cc, a connection that authenticates as the asking service.
	Remote func(cc grpc.ClientConnInterface) auth.TokenStatus
	// Revocation decodes the payload of one of tenant's revocation events.
	Revocation func(tenant string, payload []byte) (auth.TokenRevocation, error)
}

// GatewayRoutes registers one API's JSON routes on mux, calling the API through cc.
type GatewayRoutes func(ctx context.Context, mux *runtime.ServeMux, cc grpc.ClientConnInterface) error

// Env is what the runner gives a service to start with.
type Env struct {
	// DB is the service's own bbolt file and Writer its group-commit writer (nil when
	// Stateless).
	DB     *boltx.DB
	Writer *boltx.Writer
	// Log is the service's event log (nil unless Description.Events); append to it in the
	// transaction of the change.
	Log *eventlog.Log
	// DataDir is the service's own directory, for files beside its store (its secrets).
	DataDir string
	// Clock tells the time.
	Clock clock.Clock
	// Logger is the service's log.
	Logger *slog.Logger
	// Registry takes the service's metrics.
	Registry prometheus.Registerer
	// Dial returns a connection to another service (one of Description.Calls) that
	// authenticates as this service, acting for the tenant of the principal in each call's
	// context (auth.WithPrincipal, or auth.ServiceContext outside a request).
	Dial func(service string) grpc.ClientConnInterface
	// Forward returns a connection to another service that forwards the caller's own
	// credentials (the JSON edge).
	Forward func(service string) grpc.ClientConnInterface
	// APIs maps each gRPC API name of every service in the list to the service that serves it.
	APIs map[string]string
	// Services describes every service of the list, hosted here or not (the JSON edge routes
	// to all of them).
	Services []Description
	// Tokens verifies member JWTs; services that issue or revoke them use it too.
	Tokens *auth.MemberTokens
	// NATS is the service's broker connection, for core subscriptions (nil without a broker).
	NATS *nats.Conn
	// BrokerURL is where outside subscribers reach the broker (a hint for their credentials).
	BrokerURL string
	// TLS is the JSON edge's HTTPS configuration when TLS is on (nil otherwise): the process's
	// certificate, without the client-certificate demand of mutual TLS between services.
	TLS *tls.Config
	// Ready reports nil once every service of the process is started.
	Ready func(ctx context.Context) error
	// Metrics serves the process's metrics (the JSON edge's /metrics).
	Metrics http.Handler
	// Stdout receives one-time notices meant for the operator (a generated admin key).
	Stdout io.Writer
	// Listening records an address the service listens on beyond gRPC (the gateway's "http"),
	// for Process.Addr.
	Listening func(name, addr string)
	// ShutdownGrace bounds how long draining may take on Close.
	ShutdownGrace time.Duration
}

// Running is a started service.
type Running struct {
	// Register registers its gRPC services on r (the process's server and its in-process
	// channel, both with the interceptor chain).
	Register func(r grpc.ServiceRegistrar)
	// Jobs run in the background until the process stops.
	Jobs []Job
	// Consumers apply other services' events exactly once.
	Consumers []Consumer
	// Keys authenticates API keys: set by the iam service, whose process then uses it
	// instead of asking iam over the network.
	Keys auth.Authenticator
	// TokenStatus checks member tokens against the service's own store: set by the service
	// whose description has MemberTokens, whose process then asks nobody.
	TokenStatus auth.TokenStatus
	// Close releases what Start acquired beyond the runner's own resources; nil for nothing.
	Close func(ctx context.Context) error
}

// Job is a background loop of a service.
type Job struct {
	Name string
	// Run works until ctx is cancelled and then returns; an error before that is logged and
	// stops the process.
	Run func(ctx context.Context) error
}

// Consumer is a durable consumer of another service's events: the runner creates it on the
// producer's stream, fills gaps from the producer's ListEvents, and runs Handler in the
// consumer's own write transaction, which also records what was applied.
type Consumer struct {
	// Name is the durable consumer's name: the consuming service's (the default when empty),
	// which is what the service's broker credential allows (Grant).
	Name string
	// Producer is the service whose events are consumed (one of Description.Consumes).
	Producer string
	// Types limits Handler to these event types; empty means all.
	Types []string
	// Sparse has the broker deliver only Types, for types that are rare among the producer's
	// events (eventlog.ConsumerConfig.Sparse).
	Sparse bool
	// Handler applies one event.
	Handler eventlog.Handler
}
