// Package cli implements the huiyuan command's subcommands.
package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/huiyuan-dev/huiyuan/pkg/config"
)

type command struct {
	name    string
	summary string
	run     func(ctx context.Context, args []string, env func(string) string, stdout, stderr io.Writer) error
}

func commands() []command {
	return []command{
		{"serve", "run the suite (default: every service in one process with embedded NATS) or one service", serve},
		{"backup", "stream an online backup of one database from a running process to a file", backup},
		{"restore", "replace a database file with a backup (the process must be stopped)", restore},
		{"keys", "create, list or revoke API keys on a running process", keys},
		{"ledger", "verify the points ledger: balances from postings, and the hash chain", ledger},
		{"orders", "import orders from a CSV or JSON-lines file into a running process", orders},
		{"compact", "rewrite a stopped process's database file without its free pages", compact},
		{"probe", "exit 0 when a running process is ready (container health checks)", probe},
		{"nats-credentials", "issue a read-only NATS credential for a tenant's outside subscriber", natsCredentials},
		{"nats-setup", "generate the NATS authority, server auth and service credentials for an external cluster", natsSetup},
	}
}

// errUsage marks an error already explained by a usage message.
var errUsage = errors.New("usage")

// Main runs the subcommand named by args[0] and returns the process exit code.
func Main(ctx context.Context, args []string, env func(string) string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		usage(stdout)
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	for _, c := range commands() {
		if c.name != args[0] {
			continue
		}
		err := c.run(ctx, args[1:], env, stdout, stderr)
		switch {
		case err == nil, errors.Is(err, flag.ErrHelp):
			return 0
		case errors.Is(err, errUsage), errors.Is(err, config.ErrOperands):
			return 2
		default:
			fmt.Fprintf(stderr, "huiyuan %s: %v\n", c.name, err)
			return 1
		}
	}
	fmt.Fprintf(stderr, "huiyuan: unknown command %q\n\n", args[0])
	usage(stderr)
	return 2
}

func usage(w io.Writer) {
	var b strings.Builder
	b.WriteString("huiyuan: membership and loyalty backend\n\nUsage: huiyuan <command> [flags]\n\nCommands:\n")
	for _, c := range commands() {
		fmt.Fprintf(&b, "  %-16s %s\n", c.name, c.summary)
	}
	b.WriteString("\nRun `huiyuan <command> --help` for a command's flags. Every flag can also be set by an\n" +
		"environment variable: --http-addr is HUIYUAN_HTTP_ADDR, --key is HUIYUAN_KEY.\n")
	_, _ = io.WriteString(w, b.String())
}

// newFlags returns a flag set whose --help prints the command's description and flags;
// operands name the arguments that follow the flags ("FILE").
func newFlags(name, description string, out io.Writer, operands ...string) *flag.FlagSet {
	fs := flag.NewFlagSet("huiyuan "+name, flag.ContinueOnError)
	fs.SetOutput(out)
	usage := strings.Join(append([]string{"huiyuan", name, "[flags]"}, operands...), " ")
	fs.Usage = func() {
		fmt.Fprintf(out, "Usage: %s\n\n%s\n\nFlags:\n", usage, description)
		fs.PrintDefaults()
	}
	return fs
}
