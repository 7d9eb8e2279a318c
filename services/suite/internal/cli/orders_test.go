package cli_test

import (
	"context"
	"fmt"
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
)

// register registers n members through the member service and returns their ids: loyalty
// records orders only for members the member service knows.
func register(t *testing.T, addr string, n int) []string {
	t.Helper()
	conn, ctx := adminConn(t, addr)
	defer conn.Close()
	out := make([]string, n)
	for i := range out {
		resp, err := memberv1.NewMemberServiceClient(conn).CreateMember(ctx, &memberv1.CreateMemberRequest{
			Member: &memberv1.Member{DisplayName: "Importer", Phone: fmt.Sprintf("+86136%08d", i)}})
		if err != nil {
			t.Fatal(err)
		}
		out[i] = resp.GetMember().GetId()
	}
	return out
}

// adminConn dials the suite at addr and returns a context that calls as the admin key.
func adminConn(t *testing.T, addr string) (*grpc.ClientConn, context.Context) {
	t.Helper()
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	return conn, metadata.AppendToOutgoingContext(context.Background(), "authorization", "Bearer "+adminKey)
}

func balance(t *testing.T, addr, member string) int64 {
	t.Helper()
	conn, ctx := adminConn(t, addr)
	defer conn.Close()
	resp, err := loyaltyv1.NewLoyaltyServiceClient(conn).GetPointsBalance(ctx, &loyaltyv1.GetPointsBalanceRequest{MemberId: member})
	if err != nil {
		t.Fatal(err)
	}
	return resp.GetBalance().GetAvailable()
}

// TestOrdersImport imports a CSV and a JSON-lines file into a running suite: every good order
// is recorded, a refused one is listed by its line and makes the command exit 1, and importing
// again (an interrupted import resumed) records nothing twice.
func TestOrdersImport(t *testing.T) {
	s := start(t, t.TempDir())
	defer stop(t, s)
	addr := s.GRPCAddr()
	dir := t.TempDir()
	m := register(t, addr, 4)
	var csv strings.Builder
	csv.WriteString("id,member_id,amount_minor,currency,store_id,create_time\n")
	for i := range 1200 { // three batches
		fmt.Fprintf(&csv, "till-%d,%s,1000,CNY,s1,%s\n", i, m[i%3], time.Now().Add(-time.Hour).UTC().Format(time.RFC3339))
	}
	fmt.Fprintf(&csv, "till-bad,%s,500,cny,s1,\n", m[1])
	csvPath := filepath.Join(dir, "backlog.csv")
	if err := os.WriteFile(csvPath, []byte(csv.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		code, out := run("orders", "import", "--addr", addr, "--key", adminKey, csvPath)
		if code != 1 || !strings.Contains(out, "recorded 1200 orders (12000 points); 1 refused") ||
			!strings.Contains(out, `line 1202: order "till-bad": InvalidArgument`) {
			t.Fatalf("import: %d %s", code, out)
		}
	}
	jsonl := `{"id": "web-1", "memberId": "` + m[3] + `", "amountMinor": "2500", "currency": "CNY",
` + "\n" + `{"id": "web-2", "memberId": "` + m[3] + `", "amountMinor": "2500", "currency": "CNY", "items": [{"sku": "a", "quantity": "1", "unitPriceMinor": "2500"}]}` + "\n\n"
	jsonPath := filepath.Join(dir, "web.jsonl")
	if err := os.WriteFile(jsonPath, []byte(jsonl), 0o600); err != nil {
		t.Fatal(err)
	}
	if code, out := run("orders", "import", "--addr", addr, "--key", adminKey, jsonPath); code != 1 || !strings.Contains(out, "line 1") {
		t.Fatalf("a line that is not an order must stop the import: %d %s", code, out)
	}
	if err := os.WriteFile(jsonPath, []byte(strings.Replace(jsonl, `"CNY",`+"\n", `"CNY"}`, 1)), 0o600); err != nil {
		t.Fatal(err)
	}
	if code, out := run("orders", "import", "--addr", addr, "--key", adminKey, jsonPath); code != 0 || !strings.Contains(out, "recorded 2 orders (50 points); 0 refused") {
		t.Fatalf("import jsonl: %d %s", code, out)
	}
	var total int64
	for _, id := range m[:3] {
		total += balance(t, addr, id)
	}
	if total != 12000 || balance(t, addr, m[3]) != 50 {
		t.Fatalf("points %d, the web member %d", total, balance(t, addr, m[3]))
	}
	if code, out := run("orders", "import", "--addr", addr, "--key", adminKey, filepath.Join(dir, "missing.csv")); code != 1 {
		t.Fatalf("missing file: %d %s", code, out)
	}
	if code, out := run("orders"); code != 2 || !strings.Contains(out, "Usage: huiyuan orders import") {
		t.Fatalf("usage: %d %s", code, out)
	}
	if code, out := run("orders", "import", "--help"); code != 0 || !strings.Contains(out, "Usage: huiyuan orders import [flags] FILE\n") || !strings.Contains(out, "member_id, amount_minor") {
		t.Fatalf("import's help names no columns: %d %s", code, out)
	}
}

// TestCompact compacts a stopped suite's loyalty database: it is refused while the process
// runs, and afterwards the file is no larger (bbolt grows files in steps, so a small one stays
// at its first step) and the data the same.
func TestCompact(t *testing.T) {
	dir := t.TempDir()
	s := start(t, dir)
	m := register(t, s.GRPCAddr(), 50)
	var csv strings.Builder
	csv.WriteString("id,member_id,amount_minor,currency\n")
	for i := range 3000 {
		fmt.Fprintf(&csv, "o-%d,%s,1000,CNY\n", i, m[i%50])
	}
	path := filepath.Join(t.TempDir(), "orders.csv")
	if err := os.WriteFile(path, []byte(csv.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	if code, out := run("orders", "import", "--addr", s.GRPCAddr(), "--key", adminKey, path); code != 0 {
		t.Fatalf("import: %d %s", code, out)
	}
	if code, out := run("compact", "--data-dir", dir, "--database", "loyalty"); code != 1 || !strings.Contains(out, "stop the process first") {
		t.Fatalf("compacting a database in use: %d %s", code, out)
	}
	stop(t, s)
	code, out := run("compact", "--data-dir", dir, "--database", "loyalty")
	var before, after int64
	if code != 0 || !strings.Contains(out, "compacted") {
		t.Fatalf("compact: %d %s", code, out)
	}
	if _, err := fmt.Sscanf(out[strings.Index(out, ": ")+2:], "%d bytes -> %d bytes", &before, &after); err != nil || after > before {
		t.Fatalf("sizes %d -> %d (%v): %s", before, after, err, out)
	}
	s2 := start(t, dir)
	defer stop(t, s2)
	if got := balance(t, s2.GRPCAddr(), m[7]); got != 60*10 {
		t.Fatalf("after compaction member 7 has %d", got)
	}
	if code, out := run("ledger", "verify", "--addr", s2.GRPCAddr(), "--key", adminKey); code != 0 {
		t.Fatalf("verify after compaction: %d %s", code, out)
	}
}
