package grpcx

import (
	"log/slog"
	"maps"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/grpc/health"

	"github.com/huiyuan-dev/huiyuan/pkg/auth"
)

// Config configures the interceptor chain and the server.
type Config struct {
	// Logger receives one line per finished call and every hidden internal error or panic.
	// nil discards logs.
	Logger *slog.Logger
	// Domain is the google.rpc.ErrorInfo domain of this service's errors, such as
	// "member.huiyuan.dev".
	Domain string
	// Domains overrides Domain per gRPC service (full name, "huiyuan.member.v1.MemberService"),
	// for a server that hosts several services: each error carries the domain of the service
	// that raised it.
	Domains map[string]string
	// Auth authenticates bearer credentials. nil accepts none: only Public methods work.
	Auth auth.Authenticator
	// Policy says which roles may call which method; unlisted methods are denied. The gRPC health
	// and reflection methods are Public unless Policy lists them itself.
	Policy auth.Policy
	// Registry receives the gRPC server metrics (grpc_server_*, with a handling-time histogram).
	// nil disables metrics. Using one Registry for several chains (a server and a Channel)
	// shares one set of metrics.
	Registry prometheus.Registerer
	// Limiter charges each call to its authenticated principal (the rate limit); nil limits
	// nothing. Share one Limiter between the chains of a process (its server and its Channel),
	// or each would grant its own allowance.
	Limiter *auth.Limiter
	// Health is the health service NewServer registers; nil makes one that reports SERVING.
	// Pass your own to flip services to NOT_SERVING while starting or draining.
	Health *health.Server
}

// domains returns the function that names the error domain of a full method name.
func (c Config) domains() func(method string) string {
	if len(c.Domains) == 0 {
		return func(string) string { return c.Domain }
	}
	byService := maps.Clone(c.Domains)
	return func(method string) string {
		// "/pkg.Service/Method": the service is between the slashes.
		if svc, _, ok := strings.Cut(strings.TrimPrefix(method, "/"), "/"); ok {
			if d, ok := byService[svc]; ok {
				return d
			}
		}
		return c.Domain
	}
}

func (c Config) logger() *slog.Logger {
	if c.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return c.Logger
}

// policy is c.Policy over the standard Public methods: an entry of c.Policy replaces the
// default for its method.
func (c Config) policy() auth.Policy {
	p := auth.PublicMethods()
	for method, roles := range c.Policy {
		p[method] = roles
	}
	return p
}
