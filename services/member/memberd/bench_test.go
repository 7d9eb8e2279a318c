package memberd_test

import (
	"fmt"
	"sync/atomic"
	"testing"

	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	iamv1 "github.com/huiyuan-dev/huiyuan/gen/huiyuan/iam/v1"
	memberv1 "github.com/huiyuan-dev/huiyuan/gen/huiyuan/member/v1"
)

// The benchmarks run a real gRPC server on loopback TCP with the grpcx chain (logging,
// errors, API-key auth, idempotency) over a bbolt file that fsyncs every commit, as in
// production. BenchmarkNoop is a health Check through the same chain (it authenticates too):
// the difference is what the member service itself costs.

func benchHarness(b *testing.B) *harness { return newHarness(b, harnessOpts{sync: true}) }

// phones hands out distinct valid Chinese mobile numbers.
type phones struct{ n atomic.Int64 }

func (p *phones) next() string { return fmt.Sprintf("+86138%08d", p.n.Add(1)) }

func createReq(p *phones, i int64) *memberv1.CreateMemberRequest {
	return &memberv1.CreateMemberRequest{
		RequestId: fmt.Sprintf("bench-%d", i),
		Member: &memberv1.Member{DisplayName: "Bench Member", Phone: p.next(), Birthday: "1990-01-01",
			Channel: memberv1.Member_STORE, StoreId: "sh-001", Tags: []string{"vip"}},
	}
}

func BenchmarkCreateMember(b *testing.B) {
	h := benchHarness(b)
	ctx := h.as(iamv1.Role_OPERATOR)
	var p phones
	var i atomic.Int64
	b.ReportAllocs()
	for b.Loop() {
		if _, err := h.client.CreateMember(ctx, createReq(&p, i.Add(1))); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkCreateMemberParallel(b *testing.B) {
	h := benchHarness(b)
	ctx := h.as(iamv1.Role_OPERATOR)
	var p phones
	var i atomic.Int64
	b.SetParallelism(16) // 16 callers per CPU: the group-commit writer batches their fsyncs
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := h.client.CreateMember(ctx, createReq(&p, i.Add(1))); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

func benchMembers(b *testing.B, h *harness, n int) []string {
	var p phones
	ids := make([]string, n)
	ctx := h.as(iamv1.Role_OPERATOR)
	for i := range ids {
		resp, err := h.client.CreateMember(ctx, createReq(&p, int64(i)))
		if err != nil {
			b.Fatal(err)
		}
		ids[i] = resp.GetMember().GetId()
	}
	return ids
}

func BenchmarkGetMember(b *testing.B) {
	h := benchHarness(b)
	ids := benchMembers(b, h, 100)
	ctx := h.as(iamv1.Role_SERVICE)
	i := 0
	b.ReportAllocs()
	for b.Loop() {
		if _, err := h.client.GetMember(ctx, &memberv1.GetMemberRequest{MemberId: ids[i%len(ids)]}); err != nil {
			b.Fatal(err)
		}
		i++
	}
}

func BenchmarkGetMemberParallel(b *testing.B) {
	h := benchHarness(b)
	ids := benchMembers(b, h, 100)
	ctx := h.as(iamv1.Role_SERVICE)
	var i atomic.Int64
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := h.client.GetMember(ctx, &memberv1.GetMemberRequest{MemberId: ids[i.Add(1)%int64(len(ids))]}); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

func BenchmarkNoop(b *testing.B) {
	h := benchHarness(b)
	ctx := h.as(iamv1.Role_SERVICE)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := h.health.Check(ctx, &healthpb.HealthCheckRequest{}); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkNoopParallel(b *testing.B) {
	h := benchHarness(b)
	ctx := h.as(iamv1.Role_SERVICE)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := h.health.Check(ctx, &healthpb.HealthCheckRequest{}); err != nil {
				b.Error(err)
				return
			}
		}
	})
}
