package suite_test

import (
	"context"
	"flag"
	"io"
	"log/slog"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/huiyuan-dev/huiyuan/services/suite/internal/suite"
)

// TestTakenPortFailsFast: a port the suite needs is taken, in turn the HTTP, gRPC and NATS
// ones; the start fails within a second with an error naming the setting.
func TestTakenPortFailsFast(t *testing.T) {
	for _, setting := range []string{"http-addr", "grpc-addr", "nats-addr"} {
		t.Run(setting, func(t *testing.T) {
			taken, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			defer taken.Close()
			args := map[string]string{"http-addr": "127.0.0.1:0", "grpc-addr": "127.0.0.1:0", "nats-addr": "127.0.0.1:0"}
			args[setting] = taken.Addr().String()
			argv := []string{"--data-dir=" + t.TempDir(), "--admin-key=" + adminKey, "--log-level=error", "--shutdown-grace=2s"}
			for k, v := range args {
				argv = append(argv, "--"+k+"="+v)
			}
			cfg := suite.NewConfig()
			if err := cfg.Parse(flag.NewFlagSet("test", flag.ContinueOnError), argv, func(string) string { return "" }); err != nil {
				t.Fatal(err)
			}
			start := time.Now()
			s, err := suite.Start(context.Background(), cfg, slog.New(slog.NewTextHandler(io.Discard, nil)), io.Discard)
			elapsed := time.Since(start)
			if err == nil {
				_ = s.Close(context.Background())
				t.Fatalf("started with %s taken", taken.Addr())
			}
			env := "HUIYUAN_" + strings.ToUpper(strings.ReplaceAll(setting, "-", "_"))
			if !strings.Contains(err.Error(), env) || !strings.Contains(err.Error(), taken.Addr().String()) {
				t.Fatalf("error %q does not name %s and %s", err, env, taken.Addr())
			}
			if elapsed > time.Second {
				t.Fatalf("failed after %s, want within a second", elapsed)
			}
		})
	}
}
