package suite_test

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"runtime/debug"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/huiyuan-dev/huiyuan/pkg/natsx"
	"github.com/huiyuan-dev/huiyuan/services/suite/internal/suite"
)

const adminKey = "hy_test_admin_key_0123456789abcdef"

// running is a suite started in process on loopback ports with its data in a temporary directory.
type running struct {
	*suite.Suite
	base   string
	phones atomic.Int64 // the last phone number newMember gave out
}

// productionGC gives an in-process benchmark the GC percent `huiyuan serve` runs with (GOGC
// when set, else suite.DefaultGCPercent) and gives the test binary its own back after.
func productionGC(b *testing.B) {
	prev := debug.SetGCPercent(100)
	debug.SetGCPercent(prev)
	if _, fromGOGC := (&suite.Config{GCPercent: suite.DefaultGCPercent}).ApplyGC(os.Getenv); !fromGOGC {
		b.Cleanup(func() { debug.SetGCPercent(prev) })
	}
}

// startSuite runs the whole suite in process on free loopback ports with its data in a temporary
// directory; args are extra settings ("--rate-limit=0").
func startSuite(t testing.TB, args ...string) *running {
	t.Helper()
	cfg := suite.NewConfig()
	base := []string{"--http-addr=127.0.0.1:0", "--grpc-addr=127.0.0.1:0", "--nats-addr=127.0.0.1:0",
		"--data-dir=" + t.TempDir(), "--admin-key=" + adminKey, "--event-retention=24h", "--shutdown-grace=10s", "--log-level=error"}
	if err := cfg.Parse(flag.NewFlagSet("test", flag.ContinueOnError), append(base, args...), func(string) string { return "" }); err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	s, err := suite.Start(context.Background(), cfg, log, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := s.Close(ctx); err != nil {
			t.Errorf("close: %v", err)
		}
	})
	r := &running{Suite: s, base: "http://" + s.HTTPAddr()}
	r.phones.Store(time.Now().UnixNano() % 50_000_000)
	return r
}

// newMember registers a member of key's tenant through the JSON edge, with a phone number of
// its own, and returns its id: loyalty and coupon act only for members the member service knows.
func (r *running) newMember(t testing.TB, key string) string {
	t.Helper()
	n := r.phones.Add(1)
	body := r.call(t, "POST", "/v1/members", key, map[string]any{"requestId": fmt.Sprintf("new-member-%d", n),
		"member": map[string]any{"displayName": "Test member", "phone": fmt.Sprintf("+86137%08d", n)}}).must(t, 200)
	id, _ := body["id"].(string)
	if id == "" {
		t.Fatalf("registration answered no id: %v", body)
	}
	return id
}

// reply is a decoded JSON answer.
type reply struct {
	status int
	body   map[string]any
	raw    []byte
}

func (r *running) call(t testing.TB, method, path, key string, body any) reply {
	t.Helper()
	out, err := r.try(method, path, key, body)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	return out
}

// try is call without failing the test: a transport error or an answer that is not JSON comes
// back as an error.
func (r *running) try(method, path, key string, body any) (reply, error) {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return reply{}, err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, r.base+path, rd)
	if err != nil {
		return reply{}, err
	}
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return reply{}, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return reply{}, err
	}
	out := reply{status: resp.StatusCode, raw: raw}
	if len(raw) > 0 && raw[0] == '{' {
		if err := json.Unmarshal(raw, &out.body); err != nil {
			return out, fmt.Errorf("bad JSON %s: %w", raw, err)
		}
	}
	return out, nil
}

// must asserts the status and returns the body.
func (rp reply) must(t testing.TB, status int) map[string]any {
	t.Helper()
	if rp.status != status {
		t.Fatalf("status %d, want %d: %s", rp.status, status, rp.raw)
	}
	return rp.body
}

// reason returns the ErrorInfo reason of an error body, and the field paths of its violations.
func (rp reply) reason() (string, []string) {
	var reason string
	var fields []string
	details, _ := rp.body["details"].([]any)
	for _, d := range details {
		m, _ := d.(map[string]any)
		switch m["@type"] {
		case "type.googleapis.com/google.rpc.ErrorInfo":
			reason, _ = m["reason"].(string)
		case "type.googleapis.com/google.rpc.BadRequest":
			vs, _ := m["fieldViolations"].([]any)
			for _, v := range vs {
				f, _ := v.(map[string]any)["field"].(string)
				fields = append(fields, f)
			}
		}
	}
	return reason, fields
}

// newKey creates an API key with the admin key and returns its secret.
func (r *running) newKey(t testing.TB, role, tenant string) (id, secret string) {
	t.Helper()
	body := r.call(t, "POST", "/v1/apiKeys", adminKey, map[string]any{
		"requestId": "key-" + role + "-" + tenant + "-" + time.Now().Format("150405.000000000"),
		"apiKey":    map[string]any{"displayName": role + " key", "role": role, "tenant": tenant},
	}).must(t, 200)
	k := body["apiKey"].(map[string]any)
	return k["id"].(string), body["secret"].(string)
}

// brokerCredential is a full-access connection option to the suite's embedded broker, which
// refuses connections without credentials.
func (r *running) brokerCredential(t testing.TB) nats.Option {
	t.Helper()
	c, err := r.OperatorCredential(time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	return natsx.WithCredential(c)
}
