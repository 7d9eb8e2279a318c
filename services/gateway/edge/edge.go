// Package edge is the JSON edge: grpc-gateway handlers for every service, behind strict input
// checks (unknown fields, wrong types, unknown enum names and oversized bodies are refused with
// a reason and the JSON path the client sent), one JSON error shape for every failure, routing
// included, CORS, request ids, and the health, readiness, metrics and OpenAPI endpoints. It
// talks to the services through grpc.ClientConnInterface, so the suite hands it an in-process
// channel (no second network hop, same interceptors, rate limit included) and a standalone
// gateway hands it real connections.
package edge

import (
	"context"
	"crypto/subtle"
	"fmt"
	"log/slog"
	"net/http"
	"net/textproto"
	"strings"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	_ "google.golang.org/genproto/googleapis/rpc/errdetails" // resolve Any details in JSON errors
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/huiyuan-dev/huiyuan/gen/openapi"
	"github.com/huiyuan-dev/huiyuan/pkg/auth"
)

// Backend is one API behind the edge: the function that registers its JSON routes (a
// generated Register...HandlerClient) and the connection to the service that serves it, an
// in-process channel in the suite or a network connection otherwise.
type Backend struct {
	Name   string
	Routes func(ctx context.Context, mux *runtime.ServeMux, cc grpc.ClientConnInterface) error
	Conn   grpc.ClientConnInterface
}

// Config tunes the edge. Zero values mean: no origin allowed by CORS, a 1 MiB body limit, open
// metrics.
type Config struct {
	CORSOrigins  []string                        // allowed origins; "*" allows any
	MaxBodyBytes int64                           // request body limit
	Ready        func(ctx context.Context) error // nil error once every service is ready
	Metrics      http.Handler                    // served at /metrics when set
	MetricsKey   string                          // when set, /metrics wants Authorization: Bearer <it>
	Logger       *slog.Logger
}

// edge holds what the handlers share.
type edge struct {
	routes     routes
	maxBody    int64
	metricsKey string
	log        *slog.Logger
	details    detailTypes
}

// New builds the edge's HTTP handler.
func New(ctx context.Context, cfg Config, backends []Backend) (http.Handler, error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.MaxBodyBytes <= 0 {
		cfg.MaxBodyBytes = 1 << 20
	}
	rs, err := loadRoutes()
	if err != nil {
		return nil, err
	}
	e := &edge{routes: rs, maxBody: cfg.MaxBodyBytes, metricsKey: cfg.MetricsKey, log: cfg.Logger}
	gw := runtime.NewServeMux(
		// grpc-gateway's defaults, but unknown fields are errors (strictInput names them first).
		runtime.WithMarshalerOption(runtime.MIMEWildcard, bodyMarshaler{&runtime.HTTPBodyMarshaler{Marshaler: &runtime.JSONPb{
			MarshalOptions: protojson.MarshalOptions{EmitUnpopulated: true},
		}}}),
		runtime.WithIncomingHeaderMatcher(incomingHeader),
		runtime.WithErrorHandler(e.handleError),
		runtime.WithForwardResponseOption(e.renameResultFields),
		runtime.WithRoutingErrorHandler(e.handleRoutingError),
		runtime.WithMiddlewares(e.strictInput),
		// A form-encoded POST would otherwise reach a GET handler (path-length fallback, and
		// X-HTTP-Method-Override), which reads the form body strictInput never checks.
		runtime.WithDisablePathLengthFallback(),
		runtime.WithDisableHTTPMethodOverride(),
	)
	for _, b := range backends {
		if err := b.Routes(ctx, gw, b.Conn); err != nil {
			return nil, fmt.Errorf("register %s routes: %w", b.Name, err)
		}
	}

	mux := http.NewServeMux()
	mux.Handle("/v1/", e.limitBody(gw))
	mux.Handle("/healthz", e.only(http.MethodGet, readiness(cfg.Ready)))
	mux.Handle("/readyz", e.only(http.MethodGet, readiness(cfg.Ready)))
	mux.Handle("/openapi.json", e.only(http.MethodGet, document("application/json", openapi.JSON)))
	mux.Handle("/openapi.yaml", e.only(http.MethodGet, document("application/yaml", openapi.YAML)))
	if cfg.Metrics != nil {
		mux.Handle("/metrics", e.only(http.MethodGet, e.metricsAuth(cfg.Metrics)))
	}
	mux.HandleFunc("/", e.notFound)
	return e.requestID(securityHeaders(corsFor(cfg.CORSOrigins).Handler(mux))), nil
}

// incomingHeader decides which HTTP headers reach the services as gRPC metadata. No
// Grpc-Metadata-* header passes: one could otherwise carry credentials beside Authorization
// (which grpc-gateway forwards itself) or set the internal huiyuan-tenant key.
func incomingHeader(key string) (string, bool) {
	switch key = textproto.CanonicalMIMEHeaderKey(key); {
	case strings.HasPrefix(key, runtime.MetadataHeaderPrefix):
		return "", false
	case key == requestIDHeaderName:
		return "x-request-id", true
	}
	return runtime.DefaultHeaderMatcher(key)
}

// only answers other methods than method with 405 METHOD_NOT_ALLOWED.
func (e *edge) only(method string, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != method && !(method == http.MethodGet && r.Method == http.MethodHead) {
			w.Header().Set("Allow", method)
			e.methodNotAllowed(w, r)
			return
		}
		h.ServeHTTP(w, r)
	})
}

func document(contentType string, body []byte) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", contentType)
		_, _ = w.Write(body)
	})
}

// metricsAuth wants the metrics key when one is configured.
func (e *edge) metricsAuth(next http.Handler) http.Handler {
	if e.metricsKey == "" {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got, ok := auth.ParseAuthorization(r.Header.Get("Authorization"))
		if !ok || subtle.ConstantTimeCompare([]byte(got), []byte(e.metricsKey)) != 1 {
			e.refuse(w, r, codes.Unauthenticated, ReasonUnauthenticated, "the metrics want Authorization: Bearer <metrics key>", nil)
			return
		}
		next.ServeHTTP(w, r)
	})
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

// limitBody refuses at once a body whose Content-Length is over the limit; strictInput refuses
// a longer chunked one.
func (e *edge) limitBody(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.ContentLength > e.maxBody {
			e.tooLarge(w, r)
			return
		}
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
