package cli

import (
	"context"
	"io"
	"log/slog"
	"strings"

	"github.com/huiyuan-dev/huiyuan/services/suite/internal/suite"
)

func serve(ctx context.Context, args []string, env func(string) string, stdout, stderr io.Writer) error {
	fs := newFlags("serve", "Runs the suite. With --service all (the default) every service runs in one process with an\n"+
		"embedded NATS server, and the JSON edge calls the services in process. --service NAME runs one\n"+
		"service (iam, member, loyalty, ..., gateway) as its own process, which finds the others at\n"+
		"--<name>-addr and the broker at --nats-url.\n"+
		"SIGTERM drains requests, flushes the outbox to the broker and closes the stores.", stderr)
	cfg := suite.NewConfig()
	if err := cfg.Parse(fs, args, env); err != nil {
		return err
	}
	log := newLogger(stderr, cfg.LogLevel, cfg.LogFormat)
	if gc, fromGOGC := cfg.ApplyGC(env); fromGOGC {
		log.Info("GOGC is set: --gc-percent does not apply", "gogc", gc)
	}
	s, err := suite.Start(ctx, cfg, log, stdout)
	if err != nil {
		return err
	}
	var runErr error
	select {
	case <-ctx.Done():
		log.Info("shutting down")
	case runErr = <-s.Errors():
		log.Error("server failed", "err", runErr)
	}
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cfg.ShutdownGrace)
	defer cancel()
	if err := s.Close(cctx); err != nil && runErr == nil {
		runErr = err
	}
	if runErr == nil {
		log.Info("stopped")
	}
	return runErr
}

func newLogger(w io.Writer, level, format string) *slog.Logger {
	var lv slog.Level
	_ = lv.UnmarshalText([]byte(strings.ToUpper(level)))
	opts := &slog.HandlerOptions{Level: lv}
	if format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}
