// Command huiyuan is the operator's tool: it serves the suite (or one service), backs up and
// restores the stores, and manages API keys. `huiyuan help` explains each command.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/huiyuan-dev/huiyuan/services/suite/internal/cli"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := cli.Main(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
