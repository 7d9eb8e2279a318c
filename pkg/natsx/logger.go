package natsx

import (
	"context"
	"fmt"
	"log/slog"
)

// slogAdapter routes the NATS server's printf-style log calls to slog.
type slogAdapter struct{ log *slog.Logger }

func (a slogAdapter) emit(level slog.Level, format string, v []any) {
	if !a.log.Enabled(context.Background(), level) {
		return // skip formatting lines nobody reads
	}
	a.log.Log(context.Background(), level, fmt.Sprintf(format, v...), "component", "nats-server")
}

func (a slogAdapter) Noticef(format string, v ...any) { a.emit(slog.LevelInfo, format, v) }
func (a slogAdapter) Warnf(format string, v ...any)   { a.emit(slog.LevelWarn, format, v) }
func (a slogAdapter) Fatalf(format string, v ...any)  { a.emit(slog.LevelError, format, v) }
func (a slogAdapter) Errorf(format string, v ...any)  { a.emit(slog.LevelError, format, v) }
func (a slogAdapter) Debugf(format string, v ...any)  { a.emit(slog.LevelDebug, format, v) }
func (a slogAdapter) Tracef(format string, v ...any)  { a.emit(slog.LevelDebug-4, format, v) }
