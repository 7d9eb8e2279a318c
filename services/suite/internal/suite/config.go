package suite

import (
	"flag"
	"net"
	"strings"
	"time"

	"github.com/huiyuan-dev/huiyuan/pkg/config"
)

// EnvPrefix prefixes every setting's environment variable: --http-addr is HUIYUAN_HTTP_ADDR.
const EnvPrefix = "HUIYUAN_"

// Config is everything a process of the suite is started with.
type Config struct {
	Service        string // all, core or gateway
	HTTPAddr       string
	GRPCAddr       string
	DataDir        string
	NATSURL        string
	NATSAddr       string
	AdminKey       string
	KEK            string
	JWTSecret      string
	DefaultRegion  string
	CORSOrigins    string
	RateLimit      float64
	RateBurst      int
	MaxBodyBytes   int64
	EventRetention time.Duration
	ShutdownGrace  time.Duration
	MemberAddr     string
	LogLevel       string
	LogFormat      string
	AuditLog       string
	PprofAddr      string
}

// Flags declares the settings on fs, with their defaults and help.
func (c *Config) Flags(fs *flag.FlagSet) {
	fs.StringVar(&c.Service, "service", "all", "what this process runs: all (the whole suite), core (every service over gRPC, no JSON edge), or gateway (the JSON edge alone)")
	fs.StringVar(&c.HTTPAddr, "http-addr", "127.0.0.1:8080", "JSON edge listen address (all, gateway)")
	fs.StringVar(&c.GRPCAddr, "grpc-addr", "127.0.0.1:9090", "gRPC listen address (all, member)")
	fs.StringVar(&c.DataDir, "data-dir", "./data", "directory of the bbolt files, the embedded NATS store and generated secrets")
	fs.StringVar(&c.NATSURL, "nats-url", "", "external NATS server URL; empty embeds one")
	fs.StringVar(&c.NATSAddr, "nats-addr", "127.0.0.1:4223", "listen address of the embedded NATS server")
	fs.StringVar(&c.AdminKey, "admin-key", "", "secret of an admin API key for the tenant \"default\", ensured at start")
	fs.StringVar(&c.KEK, "kek", "", "key-encryption key for personal data: base64 of 32 bytes; empty uses (or creates) <data-dir>/secrets/kek")
	fs.StringVar(&c.JWTSecret, "jwt-secret", "", "HMAC secret for member JWTs, base64 of at least 32 bytes; empty uses (or creates) <data-dir>/secrets/jwt")
	fs.StringVar(&c.DefaultRegion, "default-region", "CN", "region for phone numbers given without a country code (ISO 3166 alpha-2)")
	fs.StringVar(&c.CORSOrigins, "cors-origins", "", "comma-separated origins allowed by CORS; \"*\" for any; empty disables CORS")
	fs.Float64Var(&c.RateLimit, "rate-limit", 200, "requests per second per API key on the JSON edge; 0 disables")
	fs.IntVar(&c.RateBurst, "rate-burst", 400, "burst per API key on the JSON edge")
	fs.Int64Var(&c.MaxBodyBytes, "max-body-bytes", 1<<20, "largest request body the JSON edge accepts")
	fs.DurationVar(&c.EventRetention, "event-retention", 7*24*time.Hour, "how long each service keeps its event log")
	fs.DurationVar(&c.ShutdownGrace, "shutdown-grace", 15*time.Second, "how long SIGTERM waits for requests to drain and the outbox to flush")
	fs.StringVar(&c.MemberAddr, "member-addr", "127.0.0.1:9090", "gRPC address of the core process (gateway)")
	fs.StringVar(&c.LogLevel, "log-level", "info", "debug, info, warn or error")
	fs.StringVar(&c.LogFormat, "log-format", "text", "text or json")
	fs.StringVar(&c.PprofAddr, "pprof-addr", "", "serve Go's /debug/pprof profiles on this address (keep it on loopback); empty disables")
	fs.StringVar(&c.AuditLog, "audit-log", "", "file that receives the personal-data access audit log; empty: <data-dir>/audit.log")
}

// Parse reads args and the environment into c and validates it.
func (c *Config) Parse(fs *flag.FlagSet, args []string, getenv func(string) string) error {
	c.Flags(fs)
	if err := config.Parse(fs, args, EnvPrefix, getenv); err != nil {
		return err
	}
	return c.Validate()
}

// Validate reports every bad setting at once, each by its environment variable.
func (c *Config) Validate() error {
	var p config.Problems
	switch c.Service {
	case "all", "core", "gateway":
	default:
		p.Addf("HUIYUAN_SERVICE=%q: want all, core or gateway", c.Service)
	}
	for _, a := range []struct{ name, v string }{
		{"HUIYUAN_HTTP_ADDR", c.HTTPAddr}, {"HUIYUAN_GRPC_ADDR", c.GRPCAddr},
		{"HUIYUAN_NATS_ADDR", c.NATSAddr}, {"HUIYUAN_MEMBER_ADDR", c.MemberAddr},
	} {
		if _, _, err := net.SplitHostPort(a.v); err != nil {
			p.Addf("%s=%q: want host:port", a.name, a.v)
		}
	}
	if c.PprofAddr != "" {
		if _, _, err := net.SplitHostPort(c.PprofAddr); err != nil {
			p.Addf("HUIYUAN_PPROF_ADDR=%q: want host:port", c.PprofAddr)
		}
	}
	if c.DataDir == "" {
		p.Addf("HUIYUAN_DATA_DIR: must not be empty")
	}
	if c.RateLimit < 0 || c.RateBurst < 0 {
		p.Addf("HUIYUAN_RATE_LIMIT and HUIYUAN_RATE_BURST must not be negative")
	}
	if c.MaxBodyBytes < 1024 {
		p.Addf("HUIYUAN_MAX_BODY_BYTES=%d: want at least 1024", c.MaxBodyBytes)
	}
	if c.EventRetention < time.Hour {
		p.Addf("HUIYUAN_EVENT_RETENTION=%s: want at least 1h", c.EventRetention)
	}
	if c.AdminKey != "" && len(c.AdminKey) < 16 {
		p.Addf("HUIYUAN_ADMIN_KEY: want at least 16 characters")
	}
	if len(c.DefaultRegion) != 2 || strings.ToUpper(c.DefaultRegion) != c.DefaultRegion {
		p.Addf("HUIYUAN_DEFAULT_REGION=%q: want an upper-case ISO 3166 alpha-2 code", c.DefaultRegion)
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

// Origins splits CORSOrigins.
func (c *Config) Origins() []string {
	var out []string
	for _, o := range strings.Split(c.CORSOrigins, ",") {
		if o = strings.TrimSpace(o); o != "" {
			out = append(out, o)
		}
	}
	return out
}
