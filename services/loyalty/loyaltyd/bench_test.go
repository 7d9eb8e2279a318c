package loyaltyd_test

import (
	"context"
	"encoding/binary"
	"fmt"
	"os"
	"sync/atomic"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/huiyuan-dev/huiyuan/pkg/boltx"
	"github.com/huiyuan-dev/huiyuan/pkg/clock"
	"github.com/huiyuan-dev/huiyuan/pkg/kittest"
	"github.com/huiyuan-dev/huiyuan/services/loyalty/loyaltybench"

	iamv1 "github.com/huiyuan-dev/huiyuan/gen/huiyuan/iam/v1"
	loyaltyv1 "github.com/huiyuan-dev/huiyuan/gen/huiyuan/loyalty/v1"
)

// The RecordOrder benchmarks compare the service with the bbolt work it cannot avoid.
//
//   - BenchmarkRecordOrderGRPC64: 64 concurrent clients record orders over gRPC on loopback
//     TCP through the full grpcx chain (logging, metrics, errors, API-key auth, idempotency),
//     into a bbolt file that fsyncs every commit through the group-commit writer.
//   - BenchmarkRecordOrderRawGroupCommit64: 64 writers run, through the same group-commit
//     writer on the same kind of file, a transaction of the same shape without the service:
//     read a balance, write it back, append two postings.
//   - BenchmarkRecordOrderGRPCSerial and BenchmarkRecordOrderRawSerial: the same with one
//     client, the raw side committing with plain bbolt Update.
//
//   - BenchmarkRecordOrderHistory: 64 clients record orders for members with 10,000 past orders
//     each (a year of them) and for new members, in alternating phases; see its comment.
//
// Each reports orders/s and the p50 and p99 latency in milliseconds. The store alone (no gRPC)
// is measured in internal/loyalty (BenchmarkRecordOrderStore64, BenchmarkRecordOrdersBatch100).

// benchMembers is how many members the orders are spread over (registered first, at a few
// thousand a second, so the spread stays modest).
const benchMembers = 10_000

// freshMembers is how many new members BenchmarkRecordOrderHistory registers for its new
// phases. A machine that records more than these in the 2.4 s of new phases gets them again,
// each then with an order or two of history against the heavy members' 10,000.
const freshMembers = 30_000

// noSync reports whether LOYALTY_BENCH_NOSYNC is set: the files then skip fsync, which shows
// the CPU cost alone. Production syncs every commit, as the benchmarks do by default.
func noSync() bool { return os.Getenv("LOYALTY_BENCH_NOSYNC") != "" }

// commitLinger is LOYALTY_BENCH_LINGER (such as "2ms"): the stores' group-commit linger. The
// benchmarks commit at once by default; the suite runs with kit.DefaultCommitLinger.
func commitLinger(b *testing.B) time.Duration {
	v := os.Getenv("LOYALTY_BENCH_LINGER")
	if v == "" {
		return 0
	}
	d, err := time.ParseDuration(v)
	if err != nil || d < 0 {
		b.Fatalf("LOYALTY_BENCH_LINGER=%q: want a duration such as 2ms", v)
	}
	return d
}

func benchRecordOrder(b *testing.B, clients int) {
	h := start(b, kittest.Options{Clock: clock.System{}, Sync: !noSync(), CommitLinger: commitLinger(b)})
	ctx := h.As(iamv1.Role_SERVICE)
	members := h.knownMembers(b, benchMembers)
	// One call first, so connection setup is not measured.
	h.order(b, "warmup", members[0], 100)
	loyaltybench.Measure(b, clients, 1, func(i int64) error {
		_, err := h.points().RecordOrder(ctx, &loyaltyv1.RecordOrderRequest{RequestId: fmt.Sprintf("r-%d", i), Order: &loyaltyv1.Order{
			Id: fmt.Sprintf("order-%d", i), MemberId: members[i%benchMembers], AmountMinor: 12_345,
			Currency: "CNY", StoreId: "sh-001"}})
		return err
	})
}

// knownMembers registers n members, each known to loyalty before the timer starts
// (loyaltybench.Known).
func (h *lh) knownMembers(b *testing.B, n int) []string {
	b.Helper()
	ids := h.NewMembers(b, n)
	loyaltybench.Known(b, h.As(iamv1.Role_SERVICE), h.points(), ids)
	return ids
}

func BenchmarkRecordOrderGRPC64(b *testing.B)     { benchRecordOrder(b, 64) }
func BenchmarkRecordOrderGRPCSerial(b *testing.B) { benchRecordOrder(b, 1) }

// rawEarn is the irreducible transaction of an earn: read the member's balance, write it back
// with the points added, append two postings under the next sequence.
func rawEarn(i int64) func(tx *bolt.Tx) error {
	member := []byte(fmt.Sprintf("acme\x00m%d", i%benchMembers))
	return func(tx *bolt.Tx) error {
		bal := tx.Bucket([]byte("balances"))
		v := boltx.ParseU64(bal.Get(member))
		if err := bal.Put(member, boltx.U64(v+123)); err != nil {
			return err
		}
		post := tx.Bucket([]byte("postings"))
		seq, err := post.NextSequence()
		if err != nil {
			return err
		}
		for leg, pts := range []int64{-123, 123} {
			val := binary.AppendVarint(append([]byte(nil), member...), pts)
			if err := post.Put(boltx.U64(seq*2+uint64(leg)), val); err != nil {
				return err
			}
		}
		return nil
	}
}

func rawDB(b *testing.B) *boltx.DB {
	db, err := boltx.Open(b.TempDir()+"/raw.db", boltx.Options{NoSync: noSync()}, []byte("balances"), []byte("postings"))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = db.Close() })
	return db
}

func BenchmarkRecordOrderRawGroupCommit64(b *testing.B) {
	db := rawDB(b)
	w := boltx.NewWriter(db, boltx.WriterOptions{})
	defer w.Close()
	ctx := context.Background()
	loyaltybench.Measure(b, 64, 1, func(i int64) error { return w.Update(ctx, rawEarn(i)) })
}

func BenchmarkRecordOrderRawSerial(b *testing.B) {
	db := rawDB(b)
	ctx := context.Background()
	loyaltybench.Measure(b, 1, 1, func(i int64) error { return db.Update(ctx, rawEarn(i)) })
}

// BenchmarkRecordOrderHistory compares what an order costs a member with a long history with
// what it costs a new member. 64 members get 10,000 orders each first, spread over a year (the
// fake clock moves a day every 1,750 orders, so each member earned on about 365 days); then 64
// clients record orders over gRPC, with fsync, in phases that alternate between those members
// (each client its own) and new members, 8 rounds of 300 ms each, so the machine's drift weighs
// on both alike. It reports both rates and their ratio (history/new). Member ids of both kinds
// are spread over the key space, so the two differ in their history only. LOYALTY_BENCH_EXPIRY=days
// runs it under a daily expiry (points last 365 days from the day earned), where the year of
// orders leaves a lot per day in the account, instead of the default monthly one.
func BenchmarkRecordOrderHistory(b *testing.B) {
	const members, past, perDay = 64, 10_000, 1_750
	h := start(b, kittest.Options{Sync: !noSync(), CommitLinger: commitLinger(b)})
	ctx := h.As(iamv1.Role_SERVICE)
	if os.Getenv("LOYALTY_BENCH_EXPIRY") == "days" {
		h.setPolicy(b, &loyaltyv1.LoyaltyPolicy{ExpiryKind: loyaltyv1.LoyaltyPolicy_AFTER_DAYS, ExpiryN: 365}, "expiry_kind", "expiry_n")
	}
	heavy := h.NewMembers(b, members)
	// The new members are known to loyalty through an order that earned nothing, as the heavy
	// ones are through theirs, so the two differ in their history only.
	fresh := h.knownMembers(b, freshMembers)
	batch := &loyaltyv1.BatchRecordOrdersRequest{}
	for n := range members * past {
		batch.Orders = append(batch.Orders, &loyaltyv1.Order{Id: fmt.Sprintf("past-%d", n), MemberId: heavy[n%members],
			AmountMinor: 12_345, Currency: "CNY"})
		if len(batch.Orders) == 1000 {
			if _, err := h.points().BatchRecordOrders(ctx, batch); err != nil {
				b.Fatal(err)
			}
			batch.Orders = batch.Orders[:0]
		}
		if n%perDay == perDay-1 {
			h.Clock.Advance(24 * time.Hour)
		}
	}
	var next atomic.Int64
	loyaltybench.HistoryAgainstNew(b, members, func(c int) string { return heavy[c] }, func() string {
		return fresh[(next.Add(1)-1)%freshMembers]
	}, func(id, member string) error {
		_, err := h.points().RecordOrder(ctx, &loyaltyv1.RecordOrderRequest{Order: &loyaltyv1.Order{
			Id: id, MemberId: member, AmountMinor: 12_345, Currency: "CNY"}})
		return err
	})
}
