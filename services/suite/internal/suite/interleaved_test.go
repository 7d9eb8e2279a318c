package suite_test

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	memberv1 "github.com/huiyuan-dev/huiyuan/gen/huiyuan/member/v1"
	opsv1 "github.com/huiyuan-dev/huiyuan/gen/huiyuan/ops/v1"
)

// BenchmarkMemberInterleaved compares gRPC and the JSON edge, and get with the no-op, on a noisy
// machine: the modes take turns in short phases over several rounds, so drift and neighbours
// weigh on every mode alike, and each mode's figures are sums over its phases. The suite runs as
// a child process (the huiyuan binary, production settings) and the CPU per request is that
// process's, read from /proc: the load generator's own cost (Go's HTTP client is much dearer per
// request than a multiplexed gRPC client) is not the edge's. It runs once whatever -benchtime
// says; its ratios are the figures docs/benchmarks.md cites.
func BenchmarkMemberInterleaved(b *testing.B) {
	p := newProcess(b)
	p.start()
	defer p.stop()
	conn := p.dial()
	defer conn.Close()
	members, ops := memberv1.NewMemberServiceClient(conn), opsv1.NewOperationsServiceClient(conn)
	authCtx := authed(context.Background())
	r := &running{base: "http://" + p.http}
	seed, err := members.CreateMember(authCtx, &memberv1.CreateMemberRequest{Member: &memberv1.Member{
		DisplayName: "Bench Seed", Phone: "+8613800000000", Email: "seed@example.com", Birthday: "1990-01-01"}})
	if err != nil {
		b.Fatal(err)
	}
	id := seed.GetMember().GetId()
	do := jsonCaller(r)
	run := benchRun.Add(1)
	var regSeq atomic.Int64
	modes := []struct {
		name string
		op   func(ctx context.Context) error
	}{
		{"grpc-noop", func(context.Context) error { _, err := ops.Ping(authCtx, &opsv1.PingRequest{}); return err }},
		{"json-noop", func(ctx context.Context) error { return do(ctx, "GET", "/v1/ping", nil) }},
		{"grpc-get", func(context.Context) error {
			_, err := members.GetMember(authCtx, &memberv1.GetMemberRequest{MemberId: id})
			return err
		}},
		{"json-get", func(ctx context.Context) error { return do(ctx, "GET", "/v1/members/"+id, nil) }},
		{"grpc-register", func(context.Context) error {
			i := regSeq.Add(1)
			_, err := members.CreateMember(authCtx, &memberv1.CreateMemberRequest{RequestId: fmt.Sprintf("il-%d-%d", run, i),
				Member: &memberv1.Member{DisplayName: "Bench Member", Phone: phone(run, i), Birthday: "1990-01-01"}})
			return err
		}},
		{"json-register", func(ctx context.Context) error {
			i := regSeq.Add(1)
			body := fmt.Sprintf(`{"requestId":"il-%d-%d","member":{"displayName":"Bench Member","phone":%q,"birthday":"1990-01-01"}}`, run, i, phone(run, i))
			return do(ctx, "POST", "/v1/members", []byte(body))
		}},
	}
	const rounds, phase, callers = 8, 300 * time.Millisecond, 32
	type total struct {
		n         int64
		cpu, wall time.Duration
	}
	totals := make([]total, len(modes))
	b.ResetTimer()
	for round := 0; round < rounds; round++ {
		for i, m := range modes {
			n, cpu, wall := runPhase(b, m.op, phase, callers, p.cpu)
			totals[i].n += n
			totals[i].cpu += cpu
			totals[i].wall += wall
		}
	}
	b.StopTimer()
	cpuPerOp := map[string]float64{}
	rate := map[string]float64{}
	for i, m := range modes {
		t := totals[i]
		cpuPerOp[m.name] = float64(t.cpu) / float64(t.n)
		rate[m.name] = float64(t.n) / t.wall.Seconds()
		b.ReportMetric(cpuPerOp[m.name], m.name+"-cpu-ns/op")
		b.ReportMetric(rate[m.name], m.name+"-req/s")
	}
	b.ReportMetric(rate["grpc-get"]/rate["grpc-noop"], "grpc-get/noop-rate")
	b.ReportMetric(rate["json-get"]/rate["json-noop"], "json-get/noop-rate")
	for _, op := range []string{"noop", "get", "register"} {
		b.ReportMetric(cpuPerOp["json-"+op]/cpuPerOp["grpc-"+op], "json/grpc-cpu-"+op)
	}
}

// runPhase runs op from callers goroutines for d and returns the calls made, the CPU time
// cpuTime counted meanwhile, and the wall time.
func runPhase(b *testing.B, op func(context.Context) error, d time.Duration, callers int, cpuTime func() time.Duration) (int64, time.Duration, time.Duration) {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	var n atomic.Int64
	var wg sync.WaitGroup
	start, cpu0 := time.Now(), cpuTime()
	for g := 0; g < callers; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				if err := op(context.Background()); err != nil {
					b.Error(err)
					return
				}
				n.Add(1)
			}
		}()
	}
	wg.Wait()
	return n.Load(), cpuTime() - cpu0, time.Since(start)
}
