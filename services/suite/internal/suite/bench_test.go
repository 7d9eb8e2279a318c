package suite_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"sync/atomic"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"

	memberv1 "github.com/huiyuan-dev/huiyuan/gen/huiyuan/member/v1"
	opsv1 "github.com/huiyuan-dev/huiyuan/gen/huiyuan/ops/v1"
	"github.com/huiyuan-dev/huiyuan/services/loyalty/loyaltybench"
)

// The benchmarks run client and server in one process, so the CPU time per request they report
// (cpu-ns/op, from getrusage) is the whole cost of a call: client, transport and service.
// Parallelism: GOMAXPROCS x benchParallelism concurrent callers.
const benchParallelism = 16

// measure runs op from many goroutines and reports CPU time per operation beside ns/op.
func measure(b *testing.B, op func(ctx context.Context, i int64) error) {
	var seq atomic.Int64
	var failed atomic.Int64
	b.SetParallelism(benchParallelism)
	b.ResetTimer()
	start := loyaltybench.CPUTime()
	b.RunParallel(func(pb *testing.PB) {
		ctx := context.Background()
		for pb.Next() {
			if err := op(ctx, seq.Add(1)); err != nil {
				if failed.Add(1) == 1 {
					b.Error(err)
				}
			}
		}
	})
	b.StopTimer()
	b.ReportMetric(float64(loyaltybench.CPUTime()-start)/float64(b.N), "cpu-ns/op")
}

func benchSuite(b *testing.B) (*running, memberv1.MemberServiceClient, opsv1.OperationsServiceClient, context.Context) {
	r := startSuite(b, "--rate-limit=0")
	conn, err := grpc.NewClient(r.GRPCAddr(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { conn.Close() })
	ctx := metadata.AppendToOutgoingContext(context.Background(), "authorization", "Bearer "+adminKey)
	return r, memberv1.NewMemberServiceClient(conn), opsv1.NewOperationsServiceClient(conn), ctx
}

// phone makes the i-th distinct valid mainland mobile number.
func phone(run, i int64) string { return fmt.Sprintf("+86139%02d%06d", run%100, i%1_000_000) }

var benchRun atomic.Int64

func BenchmarkMemberGRPC(b *testing.B) {
	productionGC(b)
	_, members, ops, authCtx := benchSuite(b)
	seed, err := members.CreateMember(authCtx, &memberv1.CreateMemberRequest{Member: &memberv1.Member{
		DisplayName: "Bench Seed", Phone: "+8613800000000", Email: "seed@example.com", Birthday: "1990-01-01"}})
	if err != nil {
		b.Fatal(err)
	}
	id := seed.GetMember().GetId()
	b.Run("noop", func(b *testing.B) {
		measure(b, func(context.Context, int64) error {
			_, err := ops.Ping(authCtx, &opsv1.PingRequest{})
			return err
		})
	})
	b.Run("get", func(b *testing.B) {
		measure(b, func(context.Context, int64) error {
			_, err := members.GetMember(authCtx, &memberv1.GetMemberRequest{MemberId: id})
			return err
		})
	})
	b.Run("register", func(b *testing.B) {
		run := benchRun.Add(1)
		measure(b, func(_ context.Context, i int64) error {
			_, err := members.CreateMember(authCtx, &memberv1.CreateMemberRequest{
				RequestId: fmt.Sprintf("bench-%d-%d", run, i),
				Member:    &memberv1.Member{DisplayName: "Bench Member", Phone: phone(run, i), Birthday: "1990-01-01"},
			})
			return err
		})
	})
}

func BenchmarkMemberJSON(b *testing.B) {
	productionGC(b)
	r, members, _, authCtx := benchSuite(b)
	seed, err := members.CreateMember(authCtx, &memberv1.CreateMemberRequest{Member: &memberv1.Member{
		DisplayName: "Bench Seed", Phone: "+8613800000000", Email: "seed@example.com", Birthday: "1990-01-01"}})
	if err != nil {
		b.Fatal(err)
	}
	do := jsonCaller(r)
	get := "/v1/" + seed.GetMember().GetName()
	b.Run("noop", func(b *testing.B) {
		measure(b, func(ctx context.Context, _ int64) error { return do(ctx, "GET", "/v1/ping", nil) })
	})
	b.Run("get", func(b *testing.B) {
		measure(b, func(ctx context.Context, _ int64) error { return do(ctx, "GET", get, nil) })
	})
	b.Run("register", func(b *testing.B) {
		run := benchRun.Add(1)
		measure(b, func(ctx context.Context, i int64) error {
			body := fmt.Sprintf(`{"requestId":"bench-%d-%d","member":{"displayName":"Bench Member","phone":%q,"birthday":"1990-01-01"}}`,
				run, i, phone(run, i))
			return do(ctx, "POST", "/v1/members", []byte(body))
		})
	})
}

// jsonCaller returns a function that calls the JSON edge with the admin key over keep-alive
// connections and fails on any status but 200.
func jsonCaller(r *running) func(ctx context.Context, method, path string, body []byte) error {
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 256, MaxConnsPerHost: 256}}
	return func(ctx context.Context, method, path string, body []byte) error {
		req, err := http.NewRequestWithContext(ctx, method, r.base+path, bytes.NewReader(body))
		if err != nil {
			return err
		}
		req.Header.Set("Authorization", "Bearer "+adminKey)
		resp, err := client.Do(req)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		if _, err := io.Copy(io.Discard, resp.Body); err != nil {
			return err
		}
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("%s %s: %s", method, path, resp.Status)
		}
		return nil
	}
}
