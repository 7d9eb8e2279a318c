package edge

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestRequestLog checks the edge's line per request: a server failure at error level with its
// request id and status, anything else at debug only, and nothing when the level is above it.
func TestRequestLog(t *testing.T) {
	notReady := func(context.Context) error { return errors.New("warming up") }
	tests := []struct {
		name   string
		level  slog.Level
		ready  func(context.Context) error
		path   string
		status int
		want   string // the line's level; "" for no line
	}{
		{name: "failure_at_info", level: slog.LevelInfo, ready: notReady, path: "/readyz", status: 503, want: "ERROR"},
		{name: "success_at_info", level: slog.LevelInfo, path: "/healthz", status: 200},
		{name: "success_at_debug", level: slog.LevelDebug, path: "/healthz", status: 200, want: "DEBUG"},
		{name: "not_found_at_debug", level: slog.LevelDebug, path: "/nowhere", status: 404, want: "DEBUG"},
		{name: "failure_above_error", level: slog.LevelError + 4, ready: notReady, path: "/readyz", status: 503},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out bytes.Buffer
			log := slog.New(slog.NewJSONHandler(&out, &slog.HandlerOptions{Level: tt.level}))
			h, err := New(context.Background(), Config{Ready: tt.ready, Logger: log}, nil)
			if err != nil {
				t.Fatal(err)
			}
			req := httptest.NewRequest(http.MethodGet, tt.path, nil)
			req.Header.Set("X-Request-Id", "req-log-1")
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != tt.status {
				t.Fatalf("status %d, want %d", rec.Code, tt.status)
			}
			lines := strings.Split(strings.TrimSpace(out.String()), "\n")
			if tt.want == "" {
				if out.Len() != 0 {
					t.Fatalf("logged %q, want nothing", out.String())
				}
				return
			}
			if len(lines) != 1 {
				t.Fatalf("logged %d lines, want 1: %q", len(lines), out.String())
			}
			var got struct {
				Level     string `json:"level"`
				Msg       string `json:"msg"`
				Path      string `json:"path"`
				RequestID string `json:"request_id"`
				Status    int    `json:"status"`
			}
			if err := json.Unmarshal([]byte(lines[0]), &got); err != nil {
				t.Fatal(err)
			}
			if got.Level != tt.want || got.Msg != "http request" || got.Path != tt.path || got.RequestID != "req-log-1" || got.Status != tt.status {
				t.Fatalf("logged %+v, want level %s, path %s, request id req-log-1, status %d", got, tt.want, tt.path, tt.status)
			}
		})
	}
}
