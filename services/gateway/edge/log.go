package edge

import (
	"log/slog"
	"net/http"
	"time"
)

// levelOf logs server failures as errors, the rest at debug: one line per request at info
// would drown a busy edge's log.
func levelOf(status int) slog.Level {
	if status >= 500 {
		return slog.LevelError
	}
	return slog.LevelDebug
}

func slogAttrs(r *http.Request, id string, status int, d time.Duration) []slog.Attr {
	return []slog.Attr{
		slog.String("request_id", id), slog.String("method", r.Method), slog.String("path", r.URL.Path),
		slog.Int("status", status), slog.Duration("duration", d),
	}
}
