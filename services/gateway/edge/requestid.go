package edge

import (
	"context"
	"net/http"
	"time"

	"github.com/huiyuan-dev/huiyuan/pkg/ids"
)

const requestIDHeaderName = "X-Request-Id"

type requestIDKey struct{}

// requestIDOf is the request's X-Request-Id and whether the client sent it.
type requestIDOf struct {
	id         string
	fromClient bool
}

// validRequestID is what the edge takes from a client: up to 128 of [A-Za-z0-9._:-], the
// request_id contract.
func validRequestID(s string) bool {
	if s == "" || len(s) > 128 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == ':' || c == '-') {
			return false
		}
	}
	return true
}

// requestID gives every request an X-Request-Id (the client's, when valid, or a new one),
// echoes it on the response, forwards it to the services and logs the request with it.
func (e *edge) requestID(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rid := requestIDOf{id: r.Header.Get(requestIDHeaderName), fromClient: true}
		if !validRequestID(rid.id) {
			rid = requestIDOf{id: ids.New()}
		}
		r.Header.Set(requestIDHeaderName, rid.id)
		w.Header().Set(requestIDHeaderName, rid.id)
		sw := &statusWriter{ResponseWriter: w, status: http.StatusOK}
		next.ServeHTTP(sw, r.WithContext(context.WithValue(r.Context(), requestIDKey{}, rid)))
		if lvl := levelOf(sw.status); e.log.Enabled(r.Context(), lvl) { // a skipped line costs no attributes
			e.log.LogAttrs(r.Context(), lvl, "http request", slogAttrs(r, rid.id, sw.status, time.Since(start))...)
		}
	})
}

// clientRequestID is the X-Request-Id the client itself sent, or "".
func clientRequestID(r *http.Request) string {
	if rid, ok := r.Context().Value(requestIDKey{}).(requestIDOf); ok && rid.fromClient {
		return rid.id
	}
	return ""
}

// statusWriter remembers the status written, for the log line.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (s *statusWriter) WriteHeader(code int) {
	s.status = code
	s.ResponseWriter.WriteHeader(code)
}

// Unwrap lets http.ResponseController reach the real writer (flushing, deadlines).
func (s *statusWriter) Unwrap() http.ResponseWriter { return s.ResponseWriter }
