package suite_test

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/huiyuan-dev/huiyuan/pkg/kittest"
	"github.com/huiyuan-dev/huiyuan/services/loyalty/loyaltybench"
	"github.com/huiyuan-dev/huiyuan/services/suite/internal/pgpeer"

	loyaltyv1 "github.com/huiyuan-dev/huiyuan/gen/huiyuan/loyalty/v1"
	opsv1 "github.com/huiyuan-dev/huiyuan/gen/huiyuan/ops/v1"
)

// BenchmarkOrderIntake measures, side by side in one run against one suite (in process,
// production settings: fsync on, the embedded broker and relay running), what docs/benchmarks.md
// compares. Every sub-benchmark spreads orders over the 10,000 members it registers and
// reports orders/s and the p50 and p99 latency of a call:
//
//   - postgres-64: the same earn as one PostgreSQL transaction (pgpeer), 64 connections; skipped
//     when no PostgreSQL answers at HUIYUAN_PEER_PG (default 127.0.0.1:5432).
//   - edge-64: POST /v1/orders through the JSON edge, 64 keep-alive HTTP/1.1 clients.
//   - grpc-noop-64 and grpc-64: OperationsService.Ping (the authenticated no-op) and
//     RecordOrder over one gRPC connection, 64 concurrent callers.
//   - edge-batch100: POST /v1/orders:batchRecord with 100 orders a call, 16 clients; after the
//     last answer it waits for the broker to hold every event and reports how long that took
//     (broker-lag-s).
//
// Each runs for -benchtime (the usual b.N loop); -count repeats the whole comparison. The
// framework calls a sub-benchmark again with a growing b.N against the same suite, so each call
// takes order ids of its own: reused ids would make the later calls replay the earlier calls'
// orders, whose idempotent answers cost a fraction of an order (as they did until 2026-12-01).
func BenchmarkOrderIntake(b *testing.B) {
	productionGC(b)
	r := startSuite(b, "--rate-limit=0")
	conn, err := grpc.NewClient(r.GRPCAddr(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { conn.Close() })
	ctx := authed(context.Background())
	orders, ops := loyaltyv1.NewLoyaltyServiceClient(conn), opsv1.NewOperationsServiceClient(conn)
	// The orders are spread over 10,000 registered members (registered first, at a few
	// thousand a second), whom loyalty knows from the member service's events.
	ids := kittest.RegisterMembers(b, ctx, conn, 10_000)
	loyaltybench.Known(b, ctx, orders, ids)
	member := func(i int64) string { return ids[i%int64(len(ids))] }

	b.Run("postgres-64", func(b *testing.B) {
		run := benchRun.Add(1) // order ids of this round's own
		dsn := os.Getenv("HUIYUAN_PEER_PG")
		if dsn == "" {
			dsn = pgpeer.DefaultDSN
		}
		peer, err := pgpeer.Open(context.Background(), dsn, 64)
		if err != nil {
			b.Skipf("no PostgreSQL at %q: %v", dsn, err)
		}
		defer peer.Close(context.Background())
		loyaltybench.Measure(b, 64, 1, func(i int64) error {
			_, err := peer.Earn(context.Background(), pgpeer.Order{Tenant: "default", ID: fmt.Sprintf("pg-%d-%d", run, i),
				MemberID: member(i), AmountMinor: 12_345, Currency: "CNY"})
			return err
		})
	})
	post := edgePoster(r)
	b.Run("edge-64", func(b *testing.B) {
		run := benchRun.Add(1) // order ids of this round's own
		defer loyaltyCommits(b, r)()
		loyaltybench.Measure(b, 64, 1, func(i int64) error {
			return post("/v1/orders", fmt.Appendf(nil, `{"requestId":"e-%d-%d","order":{"id":"e-%d-%d","memberId":%q,"amountMinor":"12345","currency":"CNY"}}`,
				run, i, run, i, member(i)))
		})
	})
	b.Run("grpc-noop-64", func(b *testing.B) {
		loyaltybench.Measure(b, 64, 1, func(int64) error {
			_, err := ops.Ping(ctx, &opsv1.PingRequest{})
			return err
		})
	})
	b.Run("grpc-64", func(b *testing.B) {
		run := benchRun.Add(1) // order ids of this round's own
		defer loyaltyCommits(b, r)()
		loyaltybench.Measure(b, 64, 1, func(i int64) error {
			id := fmt.Sprintf("g-%d-%d", run, i)
			_, err := orders.RecordOrder(ctx, &loyaltyv1.RecordOrderRequest{RequestId: id, Order: &loyaltyv1.Order{
				Id: id, MemberId: member(i), AmountMinor: 12_345, Currency: "CNY"}})
			return err
		})
	})
	b.Run("edge-batch100", func(b *testing.B) {
		run := benchRun.Add(1) // order ids of this round's own
		const size = 100
		report := loyaltyCommits(b, r)
		loyaltybench.Measure(b, 16, size, func(i int64) error {
			var body bytes.Buffer
			fmt.Fprintf(&body, `{"requestId":"bb-%d-%d","orders":[`, run, i)
			for j := range int64(size) {
				if j > 0 {
					body.WriteByte(',')
				}
				n := i*size + j
				fmt.Fprintf(&body, `{"id":"bb-%d-%d","memberId":%q,"amountMinor":"12345","currency":"CNY"}`, run, n, member(n))
			}
			body.WriteString("]}")
			return post("/v1/orders:batchRecord", body.Bytes())
		})
		report()
		waitBroker(b, r)
	})
}

// loyaltyCommits reads loyalty's commit metrics now and returns what reports, from a second
// reading, the writes (calls) per group commit in between and the share of the benchmark's
// time loyalty's writer spent committing: whether its one goroutine is what the rate waits for.
func loyaltyCommits(b *testing.B, r *running) (report func()) {
	b.Helper()
	read := func() (commits, writes, seconds float64) {
		raw := scrape(b, r.base+"/metrics")
		commits, _ = metric(raw, `huiyuan_store_commit_writes_count{store="loyalty"}`)
		writes, _ = metric(raw, `huiyuan_store_commit_writes_sum{store="loyalty"}`)
		seconds, _ = metric(raw, `huiyuan_store_commit_seconds_sum{store="loyalty"}`)
		return commits, writes, seconds
	}
	c0, w0, s0 := read()
	return func() {
		c1, w1, s1 := read()
		if c1 > c0 && b.Elapsed() > 0 {
			b.ReportMetric((w1-w0)/(c1-c0), "writes/commit")
			b.ReportMetric((s1-s0)/b.Elapsed().Seconds(), "writer-busy")
		}
	}
}

// edgePoster returns a function that POSTs a JSON body to the edge as the admin over
// keep-alive connections and fails unless the answer is 200 and holds no order's error.
func edgePoster(r *running) func(path string, body []byte) error {
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 256, MaxConnsPerHost: 256}}
	return func(path string, body []byte) error {
		req, err := http.NewRequest("POST", r.base+path, bytes.NewReader(body))
		if err != nil {
			return err
		}
		req.Header.Set("Authorization", "Bearer "+adminKey)
		req.Header.Set("Content-Type", "application/json")
		resp, err := client.Do(req)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		var out bytes.Buffer
		if _, err := out.ReadFrom(resp.Body); err != nil {
			return err
		}
		if resp.StatusCode != http.StatusOK || strings.Contains(out.String(), `"error"`) {
			return fmt.Errorf("POST %s: %s %.200s", path, resp.Status, out.String())
		}
		return nil
	}
}

// waitBroker waits until the broker's LOYALTY stream holds every event the loyalty log has and
// reports how long after the last answer that was.
func waitBroker(b *testing.B, r *running) {
	b.Helper()
	start := time.Now()
	nc, err := nats.Connect(r.NATSURL(), r.brokerCredential(b))
	if err != nil {
		b.Logf("broker lag not measured: %v", err)
		return
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		b.Fatal(err)
	}
	conn, err := grpc.NewClient(r.GRPCAddr(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close()
	logged, err := opsv1.NewOperationsServiceClient(conn).ListEvents(authed(context.Background()),
		&opsv1.ListEventsRequest{Service: "loyalty", PageSize: 1})
	if err != nil {
		b.Fatal(err)
	}
	for {
		st, err := js.Stream(context.Background(), "LOYALTY")
		if err == nil {
			if info, err := st.Info(context.Background()); err == nil && info.State.LastSeq >= logged.GetLastSequence() {
				break
			}
		}
		if time.Since(start) > 5*time.Minute {
			b.Fatalf("the broker did not catch up in 5 minutes")
		}
		time.Sleep(10 * time.Millisecond)
	}
	b.ReportMetric(time.Since(start).Seconds(), "broker-lag-s")
}
