package cli_test

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"

	loyaltyv1 "github.com/huiyuan-dev/huiyuan/gen/huiyuan/loyalty/v1"
	memberv1 "github.com/huiyuan-dev/huiyuan/gen/huiyuan/member/v1"
	"github.com/huiyuan-dev/huiyuan/services/suite/internal/cli"
	"github.com/huiyuan-dev/huiyuan/services/suite/internal/suite"
)

const adminKey = "hy_cli_test_admin_key_0123456789"

func start(t *testing.T, dataDir string) *suite.Suite {
	t.Helper()
	cfg := suite.NewConfig()
	args := []string{"--http-addr=127.0.0.1:0", "--grpc-addr=127.0.0.1:0", "--nats-addr=127.0.0.1:0",
		"--data-dir=" + dataDir, "--admin-key=" + adminKey, "--event-retention=24h", "--log-level=error"}
	if err := cfg.Parse(flag.NewFlagSet("test", flag.ContinueOnError), args, func(string) string { return "" }); err != nil {
		t.Fatal(err)
	}
	s, err := suite.Start(context.Background(), cfg, slog.New(slog.NewTextHandler(io.Discard, nil)), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func stop(t *testing.T, s *suite.Suite) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := s.Close(ctx); err != nil {
		t.Fatal(err)
	}
}

// run runs the command line and returns its exit code and output.
func run(args ...string) (int, string) {
	var out bytes.Buffer
	code := cli.Main(context.Background(), args, func(string) string { return "" }, &out, &out)
	return code, out.String()
}

func TestHelp(t *testing.T) {
	tests := []struct {
		args []string
		code int
		want string
	}{
		{args: nil, code: 2, want: "Commands:"},
		{args: []string{"help"}, code: 0, want: "backup"},
		{args: []string{"serve", "--help"}, code: 0, want: "SIGTERM drains"},
		{args: []string{"backup", "--help"}, code: 0, want: "--out"},
		{args: []string{"restore", "--help"}, code: 0, want: "Stop the process first"},
		{args: []string{"keys"}, code: 2, want: "revoke --id"},
		{args: []string{"nats-setup", "--help"}, code: 0, want: "-routes"},
		{args: []string{"nats-credentials", "--help"}, code: 0, want: "huiyuan.<tenant>.>"},
		{args: []string{"ledger"}, code: 2, want: "hash chain"},
		{args: []string{"frobnicate"}, code: 2, want: "unknown command"},
		{args: []string{"serve", "--service", "everything"}, code: 1, want: "HUIYUAN_SERVICE"},
		{args: []string{"serve", "--commit-linger", "1s"}, code: 1, want: "HUIYUAN_COMMIT_LINGER=1s: want 0 to 100ms"},
		{args: []string{"serve", "--commit-linger", "-1ms"}, code: 1, want: "HUIYUAN_COMMIT_LINGER"},
		{args: []string{"serve", "--gc-percent", "10"}, code: 1, want: "HUIYUAN_GC_PERCENT=10: want 50 to 2000"},
		{args: []string{"serve", "--gc-percent", "5000"}, code: 1, want: "HUIYUAN_GC_PERCENT=5000: want 50 to 2000"},
		{args: []string{"serve", "--help"}, code: 0, want: "gc-percent"},
		{args: []string{"serve", "--help"}, code: 0, want: "loyalty-job-interval"},
		{args: []string{"backup", "--out", "x"}, code: 1, want: "no API key"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			code, out := run(tt.args...)
			if code != tt.code || !strings.Contains(out, tt.want) {
				t.Fatalf("exit %d, want %d; output lacks %q:\n%s", code, tt.code, tt.want, out)
			}
		})
	}
}

// TestOperandsRefused: a command that takes only flags refuses arguments after them as a usage
// error (exit 2) before doing anything, as the flag package would otherwise stop at the first
// and ignore every flag that follows it (here --database, and the data directory).
func TestOperandsRefused(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	tests := [][]string{
		{"restore", "--from", "member.bak", "loyalty", "--data-dir", dir},
		{"compact", "loyalty", "--data-dir", dir},
		{"serve", "all", "--data-dir", dir},
		{"backup", "--key", adminKey, "--out", filepath.Join(dir, "x"), "member"},
		{"keys", "list", "--key", adminKey, "extra"},
		{"ledger", "verify", "--key", adminKey, "extra"},
		{"probe", "extra"},
		{"nats-credentials", "extra"},
		{"nats-setup", "--out", dir, "extra"},
	}
	for _, args := range tests {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			code, out := run(args...)
			if code != 2 || !strings.Contains(out, "unexpected arguments") || !strings.Contains(out, "Usage: huiyuan") {
				t.Fatalf("exit %d, want 2 with the unexpected arguments and the usage:\n%s", code, out)
			}
			if _, err := os.Stat(dir); !errors.Is(err, fs.ErrNotExist) {
				t.Fatalf("%s wrote %s before refusing its arguments: %v", args[0], dir, err)
			}
		})
	}
}

// TestServiceFlagsCheckedFirst: a service's bad setting stops serve before anything is opened
// (no data directory, no port), with the others' problems, each by its environment variable.
func TestServiceFlagsCheckedFirst(t *testing.T) {
	tests := []struct {
		flag, want string
	}{
		{"--loyalty-job-interval=1ms", "HUIYUAN_LOYALTY_JOB_INTERVAL=1ms: want at least 1s"},
		{"--coupon-job-interval=1ms", "HUIYUAN_COUPON_JOB_INTERVAL=1ms: want at least 10ms"},
		{"--coupon-exchange-grace=1ms", "HUIYUAN_COUPON_EXCHANGE_GRACE=1ms: want at least 1s"},
		{"--member-job-interval=1ms", "HUIYUAN_MEMBER_JOB_INTERVAL=1ms: want at least 10ms"},
		{"--max-body-bytes=10", "HUIYUAN_MAX_BODY_BYTES=10: want at least 1024"},
		{"--admin-key=short", "HUIYUAN_ADMIN_KEY: want at least"},
		{"--kek=not-a-key", "HUIYUAN_KEK"},
	}
	for _, tt := range tests {
		t.Run(tt.flag, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "data")
			code, out := run("serve", tt.flag, "--data-dir", dir, "--commit-linger=1s")
			if code != 1 || !strings.Contains(out, tt.want) || !strings.Contains(out, "HUIYUAN_COMMIT_LINGER") {
				t.Fatalf("exit %d; output lacks %q or the process's own problem:\n%s", code, tt.want, out)
			}
			if _, err := os.Stat(dir); !errors.Is(err, fs.ErrNotExist) {
				t.Fatalf("the data directory exists after the refusal: %v", err)
			}
		})
	}
}

// TestKeysBackupRestore drives the operator commands against a running suite: key management,
// an online backup, and a restore into a fresh data directory that then serves the same member.
func TestKeysBackupRestore(t *testing.T) {
	dir := t.TempDir()
	s := start(t, dir)
	addr := s.GRPCAddr()

	code, out := run("keys", "create", "--addr", addr, "--key", adminKey, "--display-name", "till 3", "--role", "service")
	if code != 0 || !strings.Contains(out, "hy_") {
		t.Fatalf("keys create: %d %s", code, out)
	}
	id := strings.Fields(out)[2]
	if code, out = run("keys", "list", "--addr", addr, "--key", adminKey); code != 0 || !strings.Contains(out, "till 3") {
		t.Fatalf("keys list: %d %s", code, out)
	}
	if code, out = run("keys", "revoke", "--addr", addr, "--key", adminKey, "--id", id); code != 0 {
		t.Fatalf("keys revoke: %d %s", code, out)
	}
	if code, out = run("keys", "create", "--addr", addr, "--key", adminKey, "--display-name", "x", "--role", "member"); code != 1 {
		t.Fatalf("keys create with a bad role: %d %s", code, out)
	}

	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	ctx := metadata.AppendToOutgoingContext(context.Background(), "authorization", "Bearer "+adminKey)
	created, err := memberv1.NewMemberServiceClient(conn).CreateMember(ctx, &memberv1.CreateMemberRequest{
		Member: &memberv1.Member{DisplayName: "Backed Up", Phone: "13800138000"}})
	if err != nil {
		t.Fatal(err)
	}

	if _, err := loyaltyv1.NewLoyaltyServiceClient(conn).RecordOrder(ctx, &loyaltyv1.RecordOrderRequest{Order: &loyaltyv1.Order{
		Id: "o-1", MemberId: created.GetMember().GetId(), AmountMinor: 1000, Currency: "CNY"}}); err != nil {
		t.Fatal(err)
	}
	if code, out = run("ledger", "verify", "--addr", addr, "--key", adminKey); code != 0 || !strings.Contains(out, "checked 1 transactions") {
		t.Fatalf("ledger verify: %d %s", code, out)
	}

	backup := filepath.Join(t.TempDir(), "member.bak")
	if code, out = run("backup", "--addr", addr, "--key", adminKey, "--database", "member", "--out", backup); code != 0 {
		t.Fatalf("backup: %d %s", code, out)
	}
	keysBackup := filepath.Join(t.TempDir(), "keys.bak")
	if code, out = run("backup", "--addr", addr, "--key", adminKey, "--database", "iam", "--out", keysBackup); code != 0 {
		t.Fatalf("backup keys: %d %s", code, out)
	}
	if code, out = run("backup", "--addr", addr, "--key", adminKey, "--database", "nope", "--out", backup+"2"); code != 1 {
		t.Fatalf("backup of an unknown database: %d %s", code, out)
	}
	if code, out = run("restore", "--data-dir", dir, "--database", "member", "--from", backup); code != 1 {
		t.Fatalf("restore into a running process's data dir must be refused: %d %s", code, out)
	}
	stop(t, s)

	// A new installation restored from the backups (and the same key-encryption key).
	fresh := t.TempDir()
	for _, db := range []struct{ name, from string }{{"member", backup}, {"iam", keysBackup}} {
		if code, out = run("restore", "--data-dir", fresh, "--database", db.name, "--from", db.from); code != 0 {
			t.Fatalf("restore %s: %d %s", db.name, code, out)
		}
	}
	copySecrets(t, dir, fresh)
	s2 := start(t, fresh)
	defer stop(t, s2)
	conn2, err := grpc.NewClient(s2.GRPCAddr(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn2.Close()
	got, err := memberv1.NewMemberServiceClient(conn2).GetMember(ctx, &memberv1.GetMemberRequest{MemberId: created.GetMember().GetId()})
	if err != nil {
		t.Fatal(err)
	}
	if got.GetMember().GetPhone() != "+8613800138000" {
		t.Fatalf("restored member: %v", got.GetMember())
	}
}
