package suite

import (
	"flag"
	"net"
	"slices"
	"strings"
	"time"

	"github.com/huiyuan-dev/huiyuan/pkg/config"
	"github.com/huiyuan-dev/huiyuan/pkg/kit"
)

// EnvPrefix prefixes every setting's environment variable: --http-addr is HUIYUAN_HTTP_ADDR.
const EnvPrefix = "HUIYUAN_"

// Config is everything a process of the suite is started with: the process's own settings here,
// and each service's, which the services declare themselves (kit.Service.Flags).
type Config struct {
	Service        string // kit.All or a service name
	GRPCAddr       string
	DataDir        string
	NATSURL        string
	NATSAddr       string
	NATSCreds      string
	NATSReplicas   int
	JWTSecret      string
	ServiceSecret  string
	TLSCert        string
	TLSKey         string
	TLSCA          string
	EventRetention time.Duration
	CommitLinger   time.Duration
	GCPercent      int
	ShutdownGrace  time.Duration
	KeyTTL         time.Duration
	RateLimit      float64
	RateBurst      int
	LogLevel       string
	LogFormat      string
	PprofAddr      string
	MetricsAddr    string
	// Addrs are the other processes' gRPC addresses, by service (--member-addr, ...).
	Addrs map[string]*string
	// Modules are the services of the suite, their settings parsed with the rest.
	Modules []kit.Service
}

// NewConfig returns a Config over the suite's services (Services).
func NewConfig() *Config { return &Config{Modules: Services(), Addrs: map[string]*string{}} }

// Flags declares the settings on fs, with their defaults and help.
func (c *Config) Flags(fs *flag.FlagSet) {
	names := make([]string, len(c.Modules))
	for i, m := range c.Modules {
		names[i] = m.Describe().Name
	}
	fs.StringVar(&c.Service, "service", kit.All, "what this process runs: all (every service and the JSON edge), or one of "+strings.Join(names, ", "))
	fs.StringVar(&c.GRPCAddr, "grpc-addr", "127.0.0.1:9090", "gRPC listen address")
	fs.StringVar(&c.DataDir, "data-dir", "./data", "directory of each service's own directory (bbolt file, secrets), the embedded NATS store and its credentials")
	fs.StringVar(&c.NATSURL, "nats-url", "", "external NATS server URLs (comma-separated); empty embeds one")
	fs.StringVar(&c.NATSAddr, "nats-addr", "127.0.0.1:4223", "listen address of the embedded NATS server")
	fs.IntVar(&c.NATSReplicas, "nats-replicas", 1, "how many ways the services' streams are replicated (3 on a three-node cluster)")
	fs.StringVar(&c.NATSCreds, "nats-creds", "", "credentials file for the external NATS server (one per service process: huiyuan nats-setup)")
	fs.StringVar(&c.JWTSecret, "jwt-secret", "", "HMAC secret for member JWTs, base64 of at least 32 bytes; shared by every process; empty uses (or creates) <data-dir>/secrets/jwt")
	fs.StringVar(&c.ServiceSecret, "service-secret", "", "HMAC secret of the tokens services present to each other, base64 of at least 32 bytes; shared by every process; empty uses (or creates) <data-dir>/secrets/service")
	fs.StringVar(&c.TLSCert, "tls-cert", "", "PEM certificate: gRPC and the JSON edge serve TLS with it")
	fs.StringVar(&c.TLSKey, "tls-key", "", "PEM key of --tls-cert")
	fs.StringVar(&c.TLSCA, "tls-ca", "", "PEM CA certificates: services then require and verify each other's client certificates (mutual TLS)")
	fs.DurationVar(&c.EventRetention, "event-retention", 7*24*time.Hour, "how long each service keeps its event log")
	fs.DurationVar(&c.CommitLinger, "commit-linger", kit.DefaultCommitLinger, "how long a store's group commit, having been idle, may wait for more writes when it holds fewer than its last one did (never for a lone caller, nor for callers queued while it was busy); 0 commits at once")
	fs.IntVar(&c.GCPercent, "gc-percent", DefaultGCPercent, "the Go garbage collector's heap growth between collections, in percent (Go's GOGC, whose default is 100); a higher value spends less CPU per request for a larger heap; the GOGC environment variable, when set, wins")
	fs.DurationVar(&c.ShutdownGrace, "shutdown-grace", 15*time.Second, "how long SIGTERM waits for requests to drain and the outbox to flush")
	fs.DurationVar(&c.KeyTTL, "key-cache-ttl", time.Second, "how long a process trusts the iam service's answer about an API key and the member service's about a member token (revocation events evict at once)")
	fs.Float64Var(&c.RateLimit, "rate-limit", 200, "default requests per second of an API key or member, in this process (gRPC and the JSON edge); a key's own rate_limit overrides it; SERVICE keys are unlimited unless they have one; 0 disables")
	fs.IntVar(&c.RateBurst, "rate-burst", 400, "burst of the default rate limit")
	fs.StringVar(&c.LogLevel, "log-level", "info", "debug, info, warn or error")
	fs.StringVar(&c.LogFormat, "log-format", "text", "text or json")
	fs.StringVar(&c.PprofAddr, "pprof-addr", "", "serve Go's /debug/pprof profiles on this address (keep it on loopback); empty disables")
	fs.StringVar(&c.MetricsAddr, "metrics-addr", "", "serve this process's Prometheus /metrics on an address of its own, without a key (a private network; a process without the gateway has no other); empty disables")
	for _, n := range names {
		if n == "gateway" {
			continue // nothing calls the edge over gRPC
		}
		c.Addrs[n] = fs.String(n+"-addr", "", "gRPC address of the process running the "+n+" service, when it is not this one")
	}
	for _, m := range c.Modules {
		m.Flags(fs)
	}
}

// Parse reads args and the environment into c and validates the process's own settings (each
// service validates its own when it starts).
func (c *Config) Parse(fs *flag.FlagSet, args []string, getenv func(string) string) error {
	c.Flags(fs)
	if err := config.Parse(fs, args, EnvPrefix, getenv); err != nil {
		return err
	}
	return c.Validate()
}

// Validate reports every bad process setting at once, each by its environment variable.
func (c *Config) Validate() error {
	var p config.Problems
	names := []string{kit.All}
	for _, m := range c.Modules {
		names = append(names, m.Describe().Name)
	}
	for _, m := range c.Modules {
		if fc, ok := m.(kit.FlagChecker); ok {
			fc.CheckFlags(&p)
		}
	}
	if !slices.Contains(names, c.Service) {
		p.Addf("HUIYUAN_SERVICE=%q: want one of %s", c.Service, strings.Join(names, ", "))
	}
	for _, a := range []struct {
		name, v  string
		optional bool
	}{{"HUIYUAN_GRPC_ADDR", c.GRPCAddr, false}, {"HUIYUAN_NATS_ADDR", c.NATSAddr, false},
		{"HUIYUAN_PPROF_ADDR", c.PprofAddr, true}, {"HUIYUAN_METRICS_ADDR", c.MetricsAddr, true}} {
		if a.optional && a.v == "" {
			continue
		}
		if _, _, err := net.SplitHostPort(a.v); err != nil {
			p.Addf("%s=%q: want host:port", a.name, a.v)
		}
	}
	for n, a := range c.Addrs {
		if *a != "" {
			if _, _, err := net.SplitHostPort(*a); err != nil {
				p.Addf("%s=%q: want host:port", kit.EnvName(n), *a)
			}
		}
	}
	if c.RateLimit < 0 || c.RateBurst < 0 {
		p.Addf("HUIYUAN_RATE_LIMIT and HUIYUAN_RATE_BURST must not be negative")
	}
	if c.DataDir == "" {
		p.Addf("HUIYUAN_DATA_DIR: must not be empty")
	}
	if c.NATSCreds != "" && c.NATSURL == "" {
		// Without a URL the process embeds a broker of its own and never reads the credentials.
		p.Addf("HUIYUAN_NATS_CREDS is set but HUIYUAN_NATS_URL is not: the credentials are for an external NATS server; set HUIYUAN_NATS_URL too, or unset HUIYUAN_NATS_CREDS")
	}
	if c.NATSReplicas < 1 || c.NATSReplicas > 5 {
		p.Addf("HUIYUAN_NATS_REPLICAS=%d: want 1 to 5", c.NATSReplicas)
	}
	if c.EventRetention < time.Hour {
		p.Addf("HUIYUAN_EVENT_RETENTION=%s: want at least 1h", c.EventRetention)
	}
	if c.CommitLinger < 0 || c.CommitLinger > 100*time.Millisecond {
		p.Addf("HUIYUAN_COMMIT_LINGER=%s: want 0 to 100ms", c.CommitLinger)
	}
	if c.GCPercent < minGCPercent || c.GCPercent > maxGCPercent {
		p.Addf("HUIYUAN_GC_PERCENT=%d: want %d to %d", c.GCPercent, minGCPercent, maxGCPercent)
	}
	if c.KeyTTL <= 0 || c.KeyTTL > time.Minute {
		p.Addf("HUIYUAN_KEY_CACHE_TTL=%s: want more than 0 and at most 1m", c.KeyTTL)
	}
	if (c.TLSCert == "") != (c.TLSKey == "") || (c.TLSCA != "" && c.TLSCert == "") {
		p.Addf("HUIYUAN_TLS_CERT and HUIYUAN_TLS_KEY go together, and HUIYUAN_TLS_CA needs them")
	}
	switch c.LogLevel {
	case "debug", "info", "warn", "error":
	default:
		p.Addf("HUIYUAN_LOG_LEVEL=%q: want debug, info, warn or error", c.LogLevel)
	}
	if c.LogFormat != "text" && c.LogFormat != "json" {
		p.Addf("HUIYUAN_LOG_FORMAT=%q: want text or json", c.LogFormat)
	}
	return p.Err()
}

// addrs returns the other processes' addresses that are set.
func (c *Config) addrs() map[string]string {
	out := map[string]string{}
	for n, a := range c.Addrs {
		if *a != "" {
			out[n] = *a
		}
	}
	return out
}
