package kit

import (
	"context"
	"log/slog"
	"time"
)

// Every runs fn now and then every interval (real time: tests call fn directly) until ctx ends,
// and returns nil then. A failure of fn is logged and retried at the next tick: periodic work
// (pruning, due work) must never stop the process.
func Every(ctx context.Context, interval time.Duration, log *slog.Logger, name string, fn func(ctx context.Context) error) error {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		if err := fn(ctx); err != nil && ctx.Err() == nil {
			log.ErrorContext(ctx, "periodic work failed", "work", name, "err", err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}
