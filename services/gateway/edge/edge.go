// Package edge is the JSON edge: grpc-gateway handlers for every service, wrapped in CORS, a rate
// limit per credential, request size limits, and the health, readiness, metrics and OpenAPI
// endpoints. It talks to the services through grpc.ClientConnInterface, so the suite hands it an
// in-process channel (no second network hop, same interceptors) and a standalone gateway hands it
// real connections.
package edge

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"github.com/rs/cors"
	_ "google.golang.org/genproto/googleapis/rpc/errdetails" // resolve Any details in JSON errors
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	iamv1 "github.com/huiyuan-dev/huiyuan/gen/huiyuan/iam/v1"
	loyaltyv1 "github.com/huiyuan-dev/huiyuan/gen/huiyuan/loyalty/v1"
	memberv1 "github.com/huiyuan-dev/huiyuan/gen/huiyuan/member/v1"
	opsv1 "github.com/huiyuan-dev/huiyuan/gen/huiyuan/ops/v1"
	"github.com/huiyuan-dev/huiyuan/gen/openapi"
)

// Backends are the connections to the services behind the edge. In the suite every field is the
// same in-process channel. A nil field leaves that service's routes out (404).
type Backends struct {
	Member  grpc.ClientConnInterface
	Keys    grpc.ClientConnInterface
	Ops     grpc.ClientConnInterface
	Loyalty grpc.ClientConnInterface
}

// Config tunes the edge. Zero values mean: no CORS, no rate limit, a 1 MiB body limit.
type Config struct {
	CORSOrigins  []string                        // allowed origins; "*" allows any
	RateLimit    float64                         // requests per second per credential; 0 disables
	RateBurst    int                             // burst per credential; defaults to 2x the rate
	MaxBodyBytes int64                           // request body limit
	Ready        func(ctx context.Context) error // nil error once every service is ready
	Metrics      http.Handler                    // served at /metrics when set
	Logger       *slog.Logger
}

// New builds the edge's HTTP handler.
func New(ctx context.Context, cfg Config, b Backends) (http.Handler, error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.MaxBodyBytes <= 0 {
		cfg.MaxBodyBytes = 1 << 20
	}
	gw := runtime.NewServeMux()
	regs := []struct {
		name string
		conn grpc.ClientConnInterface
		fn   func(grpc.ClientConnInterface) error
	}{
		{"member", b.Member, func(c grpc.ClientConnInterface) error {
			return memberv1.RegisterMemberServiceHandlerClient(ctx, gw, memberv1.NewMemberServiceClient(c))
		}},
		{"api keys", b.Keys, func(c grpc.ClientConnInterface) error {
			return iamv1.RegisterApiKeyServiceHandlerClient(ctx, gw, iamv1.NewApiKeyServiceClient(c))
		}},
		{"operations", b.Ops, func(c grpc.ClientConnInterface) error {
			return opsv1.RegisterOperationsServiceHandlerClient(ctx, gw, opsv1.NewOperationsServiceClient(c))
		}},
		{"loyalty", b.Loyalty, func(c grpc.ClientConnInterface) error {
			return loyaltyv1.RegisterLoyaltyServiceHandlerClient(ctx, gw, loyaltyv1.NewLoyaltyServiceClient(c))
		}},
		{"loyalty programmes", b.Loyalty, func(c grpc.ClientConnInterface) error {
			return loyaltyv1.RegisterLoyaltyProgramServiceHandlerClient(ctx, gw, loyaltyv1.NewLoyaltyProgramServiceClient(c))
		}},
	}
	for _, r := range regs {
		if r.conn == nil {
			continue
		}
		if err := r.fn(r.conn); err != nil {
			return nil, fmt.Errorf("register %s handlers: %w", r.name, err)
		}
	}

	api := limitBody(cfg.MaxBodyBytes, gw)
	if cfg.RateLimit > 0 {
		api = newLimiter(cfg.RateLimit, cfg.RateBurst, time.Now).wrap(api)
	}

	mux := http.NewServeMux()
	mux.Handle("/v1/", api)
	mux.HandleFunc("GET /healthz", readiness(cfg.Ready))
	mux.HandleFunc("GET /readyz", readiness(cfg.Ready))
	mux.HandleFunc("GET /openapi.json", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(openapi.JSON)
	})
	if cfg.Metrics != nil {
		mux.Handle("GET /metrics", cfg.Metrics)
	}

	var h http.Handler = mux
	if len(cfg.CORSOrigins) > 0 {
		h = cors.New(cors.Options{
			AllowedOrigins: cfg.CORSOrigins,
			AllowedMethods: []string{http.MethodGet, http.MethodPost, http.MethodPatch, http.MethodDelete},
			AllowedHeaders: []string{"Authorization", "Content-Type"},
			MaxAge:         600,
		}).Handler(h)
	}
	return securityHeaders(h), nil
}

func readiness(ready func(context.Context) error) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		if ready != nil {
			if err := ready(r.Context()); err != nil {
				w.WriteHeader(http.StatusServiceUnavailable)
				_, _ = fmt.Fprintf(w, "{\"status\":\"NOT_SERVING\"}\n")
				return
			}
		}
		_, _ = w.Write([]byte("{\"status\":\"SERVING\"}\n"))
	}
}

// limitBody refuses bodies over n bytes: at once with 413 when Content-Length says so, and as a
// decoding error when a chunked body runs over.
func limitBody(n int64, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.ContentLength > n {
			writeStatus(w, r, http.StatusRequestEntityTooLarge,
				status.New(codes.InvalidArgument, fmt.Sprintf("request body larger than %d bytes", n)))
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, n)
		next.ServeHTTP(w, r)
	})
}

func securityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Cache-Control", "no-store")
		next.ServeHTTP(w, r)
	})
}
