// Package loyaltybench holds what loyalty's benchmarks share with the suite's: a load
// driver that reports orders/s and call latency, and the history-against-new comparison.
// It is imported by benchmarks only.
package loyaltybench

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	loyaltyv1 "github.com/huiyuan-dev/huiyuan/gen/huiyuan/loyalty/v1"
)

// CPUTime is the process's CPU time so far (user and system, from getrusage). Benchmarks run
// clients and services in one process, so its growth over a run is the whole machine's cost.
func CPUTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// Measure runs op b.N times spread over clients goroutines, each call recording per orders,
// and reports orders/s, the p50 and p99 latency of a call, and the process's CPU time per order
// (cpu-us/order: client, transport, services, broker and consumers alike, so steadier across
// runs than the rate on a shared machine).
func Measure(b *testing.B, clients int, per int64, op func(i int64) error) {
	b.Helper()
	var next atomic.Int64
	lat := make([][]time.Duration, clients)
	var wg sync.WaitGroup
	b.ReportAllocs()
	b.ResetTimer()
	start, cpu := time.Now(), CPUTime()
	for c := range clients {
		wg.Go(func() {
			for {
				i := next.Add(1)
				if i > int64(b.N) {
					return
				}
				t := time.Now()
				if err := op(i); err != nil {
					b.Error(err)
					return
				}
				lat[c] = append(lat[c], time.Since(t))
			}
		})
	}
	wg.Wait()
	elapsed, cpu := time.Since(start), CPUTime()-cpu
	b.StopTimer()
	all := slices.Concat(lat...)
	if len(all) == 0 {
		return
	}
	slices.Sort(all)
	pct := func(p float64) float64 { return float64(all[int(p*float64(len(all)-1))]) / float64(time.Millisecond) }
	orders := float64(int64(len(all)) * per)
	b.ReportMetric(orders/elapsed.Seconds(), "orders/s")
	b.ReportMetric(float64(cpu.Microseconds())/orders, "cpu-us/order")
	b.ReportMetric(pct(0.50), "p50-ms")
	b.ReportMetric(pct(0.99), "p99-ms")
}

// Known records an order that earns nothing for each of members (registered members), a
// thousand to a batch, so loyalty has each one's status before a benchmark's timer starts: it
// records orders only for members the member service has, hears of them from its events, and
// asks it about one it has not heard of (the rare path, not the one measured).
func Known(b *testing.B, ctx context.Context, client loyaltyv1.LoyaltyServiceClient, members []string) {
	b.Helper()
	for first := 0; first < len(members); first += 1000 {
		req := &loyaltyv1.BatchRecordOrdersRequest{}
		for _, m := range members[first:min(first+1000, len(members))] {
			req.Orders = append(req.Orders, &loyaltyv1.Order{Id: "known-" + m, MemberId: m, AmountMinor: 1, Currency: "CNY"})
		}
		resp, err := client.BatchRecordOrders(ctx, req)
		if err != nil {
			b.Fatal(err)
		}
		for _, r := range resp.GetResults() {
			if r.GetError() != nil {
				b.Fatalf("warm-up order: %v", r.GetError())
			}
		}
	}
}

// Scattered returns member id i of a kind, spread over the key space as ids from many
// sources are (a multiplicative hash first), so members of two kinds share pages alike.
func Scattered(kind string, i int64) string {
	return fmt.Sprintf("%08x-%s-%d", uint32(uint64(i)*2654435761), kind, i)
}

// HistoryAgainstNew runs clients goroutines that record orders through record in phases
// that alternate, 8 rounds of 300 ms each (LOYALTY_BENCH_ROUNDS sets another number, for a
// steadier ratio on a noisy machine), so the machine's drift weighs on both alike:
// in a history phase each client records for its own heavy member (heavy(client)), in a new
// phase every order is for a member fresh returns, one with no orders yet. It reports both
// rates and their ratio (history/new). The caller has given the heavy members their history
// before, and made both kinds members loyalty knows alike.
func HistoryAgainstNew(b *testing.B, clients int, heavy func(client int) string, fresh func() string, record func(id, member string) error) {
	b.Helper()
	var seq atomic.Int64
	phase := func(member func(client int) string) (int64, time.Duration) {
		ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
		defer cancel()
		var n atomic.Int64
		var wg sync.WaitGroup
		start := time.Now()
		for c := range clients {
			wg.Go(func() {
				for ctx.Err() == nil {
					if err := record(fmt.Sprintf("now-%d", seq.Add(1)), member(c)); err != nil {
						b.Error(err)
						return
					}
					n.Add(1)
				}
			})
		}
		wg.Wait()
		return n.Load(), time.Since(start)
	}
	rounds := 8
	if s := os.Getenv("LOYALTY_BENCH_ROUNDS"); s != "" {
		if n, err := strconv.Atoi(s); err != nil || n < 1 {
			b.Fatalf("LOYALTY_BENCH_ROUNDS=%q: want a positive number", s)
		} else {
			rounds = n
		}
	}
	var histN, newN int64
	var histT, newT time.Duration
	b.ResetTimer()
	for range rounds {
		n, d := phase(heavy)
		histN, histT = histN+n, histT+d
		n, d = phase(func(int) string { return fresh() })
		newN, newT = newN+n, newT+d
	}
	b.StopTimer()
	hist, young := float64(histN)/histT.Seconds(), float64(newN)/newT.Seconds()
	b.ReportMetric(hist, "history-orders/s")
	b.ReportMetric(young, "new-orders/s")
	b.ReportMetric(hist/young, "history/new")
}
