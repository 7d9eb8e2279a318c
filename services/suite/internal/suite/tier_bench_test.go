package suite_test

import (
	"context"
	"fmt"
	"sort"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"

	loyaltyv1 "github.com/huiyuan-dev/huiyuan/gen/huiyuan/loyalty/v1"
	memberv1 "github.com/huiyuan-dev/huiyuan/gen/huiyuan/member/v1"
	opsv1 "github.com/huiyuan-dev/huiyuan/gen/huiyuan/ops/v1"
)

// BenchmarkTierEvaluation records b.N orders from 64 clients into the whole suite (in process,
// fsync on, events on) while the member service evaluates tiers from loyalty's order stream,
// and samples every second how far evaluation is behind: loyalty's event log (what it has
// committed) against the member service's consumer (what it has applied). It reports the order
// rate, the evaluation rate (orders evaluated per second until the consumer caught up), and the
// lag at its worst in the first and second half of the run: evaluation keeps up when the second
// half's lag is no larger than the first's. -benchtime 360000x runs about a minute.
func BenchmarkTierEvaluation(b *testing.B) {
	productionGC(b)
	r := startSuite(b, "--rate-limit=0")
	conn, err := grpc.NewClient(r.GRPCAddr(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { conn.Close() })
	ctx := metadata.AppendToOutgoingContext(context.Background(), "authorization", "Bearer "+adminKey)
	tiers := memberv1.NewTierServiceClient(conn)
	for _, t := range []*memberv1.Tier{
		{Id: "bronze", DisplayName: "Bronze"},
		{Id: "silver", DisplayName: "Silver", Rank: 1, MinSpendMinor: 50_000},
		{Id: "gold", DisplayName: "Gold", Rank: 2, MinSpendMinor: 200_000, MinOrders: 10},
	} {
		if _, err := tiers.CreateTier(ctx, &memberv1.CreateTierRequest{Tier: t}); err != nil {
			b.Fatal(err)
		}
	}
	const members = 2000
	ids := make([]string, members)
	mc := memberv1.NewMemberServiceClient(conn)
	var wg sync.WaitGroup
	for w := range 16 {
		wg.Go(func() {
			for i := w; i < members; i += 16 {
				resp, err := mc.CreateMember(ctx, &memberv1.CreateMemberRequest{Member: &memberv1.Member{DisplayName: "Bench",
					Phone: fmt.Sprintf("+86136%08d", i)}})
				if err != nil {
					b.Error(err)
					return
				}
				ids[i] = resp.GetMember().GetId()
			}
		})
	}
	wg.Wait()
	nc, err := nats.Connect(r.NATSURL(), r.brokerCredential(b))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		b.Fatal(err)
	}
	ops := opsv1.NewOperationsServiceClient(conn)
	lag := func() (committed, applied uint64) {
		resp, err := ops.ListEvents(ctx, &opsv1.ListEventsRequest{Service: "loyalty", AfterSequence: ^uint64(0) >> 1, PageSize: 1})
		if err == nil {
			committed = resp.GetLastSequence()
		}
		if c, err := js.Consumer(context.Background(), "LOYALTY", "member"); err == nil {
			if info, err := c.Info(context.Background()); err == nil {
				applied = info.AckFloor.Stream
			}
		}
		return committed, applied
	}
	c0, _ := lag()

	orders := loyaltyv1.NewLoyaltyServiceClient(conn)
	var next, failed atomic.Int64
	type sample struct {
		at       time.Duration
		acked    int64
		lagEvent int64
	}
	var samples []sample
	done := make(chan struct{})
	start := time.Now()
	go func() {
		t := time.NewTicker(time.Second)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				c, a := lag()
				samples = append(samples, sample{at: time.Since(start), acked: next.Load(), lagEvent: int64(c) - int64(a)})
			}
		}
	}()
	b.ResetTimer()
	for w := range 64 {
		wg.Go(func() {
			for {
				i := next.Add(1)
				if i > int64(b.N) {
					return
				}
				id := fmt.Sprintf("tb-%d-%d", b.N, i)
				if _, err := orders.RecordOrder(ctx, &loyaltyv1.RecordOrderRequest{RequestId: id, Order: &loyaltyv1.Order{Id: id,
					MemberId: ids[(int(i)*7+w)%members], AmountMinor: int64(1_000 + i%9_000), Currency: "CNY"}}); err != nil {
					failed.Add(1)
				}
			}
		})
	}
	wg.Wait()
	loaded := time.Since(start)
	committed, _ := lag()
	for {
		if _, a := lag(); a >= committed {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	caughtUp := time.Since(start)
	close(done)
	b.StopTimer()
	if failed.Load() > 0 {
		b.Fatalf("%d orders failed", failed.Load())
	}
	events := float64(committed-c0) / float64(b.N) // loyalty events per order
	b.ReportMetric(float64(b.N)/loaded.Seconds(), "orders/s")
	b.ReportMetric(float64(b.N)/caughtUp.Seconds(), "evaluated/s")
	b.ReportMetric(events, "events/order")
	b.ReportMetric((caughtUp-loaded).Seconds()*1000, "catchup-ms")
	half := func(first bool) int64 {
		var worst int64
		for i, s := range samples {
			if (i < len(samples)/2) == first && s.lagEvent > worst {
				worst = s.lagEvent
			}
		}
		return worst
	}
	if len(samples) >= 4 {
		b.ReportMetric(float64(half(true)), "lag1-events")
		b.ReportMetric(float64(half(false)), "lag2-events")
	}
	if testing.Verbose() {
		sort.Slice(samples, func(i, j int) bool { return samples[i].at < samples[j].at })
		for _, s := range samples {
			b.Logf("t=%5.1fs acked=%7d lag=%6d events", s.at.Seconds(), s.acked, s.lagEvent)
		}
	}
}
