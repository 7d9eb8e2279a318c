package edge

import (
	"net/http"
	"slices"

	"github.com/rs/cors"
)

// corsFor answers every preflight with 204, with the allow headers only for an allowed origin,
// and lets browsers read the headers clients need (Retry-After, X-Request-Id).
func corsFor(origins []string) *cors.Cors {
	opts := cors.Options{
		AllowedMethods: []string{http.MethodGet, http.MethodPost, http.MethodPatch, http.MethodPut, http.MethodDelete},
		AllowedHeaders: []string{"Authorization", "Content-Type", "Idempotency-Key", requestIDHeaderName},
		ExposedHeaders: []string{"Retry-After", requestIDHeaderName, "WWW-Authenticate"},
		MaxAge:         600,
		// Preflights stop here, answered 204 (rs/cors's default), whatever the origin.
		OptionsSuccessStatus: http.StatusNoContent,
	}
	if len(origins) == 0 {
		// rs/cors reads no origins as "*": allow none instead.
		opts.AllowOriginFunc = func(string) bool { return false }
	} else if !slices.Contains(origins, "*") {
		opts.AllowedOrigins = origins
	} else {
		opts.AllowedOrigins = []string{"*"}
	}
	return cors.New(opts)
}
