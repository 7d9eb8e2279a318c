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

	"github.com/huiyuan-dev/huiyuan/gen/openapi"
)

// Backend is one API behind the edge: the function that registers its JSON routes (a
// generated Register...HandlerClient) and the connection to the service that serves it, an
// in-process channel in the suite or a network connection otherwise.
type Backend struct {
	Name   string
	Routes func(ctx context.Context, mux *runtime.ServeMux, cc grpc.ClientConnInterface) error
	Conn   grpc.ClientConnInterface
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
func New(ctx context.Context, cfg Config, backends []Backend) (http.Handler, error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.MaxBodyBytes <= 0 {
		cfg.MaxBodyBytes = 1 << 20
	}
	gw := runtime.NewServeMux()
	for _, b := range backends {
		if err := b.Routes(ctx, gw, b.Conn); err != nil {
			return nil, fmt.Errorf("register %s routes: %w", b.Name, err)
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
