package memberd_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	bolt "go.etcd.io/bbolt"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/huiyuan-dev/huiyuan/pkg/boltx"
	"github.com/huiyuan-dev/huiyuan/pkg/eventlog"
	"github.com/huiyuan-dev/huiyuan/pkg/kit"
	"github.com/huiyuan-dev/huiyuan/pkg/natsx/natstest"
	"github.com/huiyuan-dev/huiyuan/pkg/pii"
	"github.com/huiyuan-dev/huiyuan/services/member/memberd"

	iamv1 "github.com/huiyuan-dev/huiyuan/gen/huiyuan/iam/v1"
	loyaltyv1 "github.com/huiyuan-dev/huiyuan/gen/huiyuan/loyalty/v1"
	memberv1 "github.com/huiyuan-dev/huiyuan/gen/huiyuan/member/v1"
)

// BenchmarkTierConsumer measures tier evaluation alone: b.N orders (each followed by a
// points_earned event, as loyalty writes them) wait in a loyalty event log already relayed to
// JetStream; the timer runs while the member service's durable consumer applies them, through
// the real consumer, handler and group-commit writer, fsync on, against 2,000 members.
func BenchmarkTierConsumer(b *testing.B) {
	h := newHarness(b, harnessOpts{sync: true})
	admin := h.as(iamv1.Role_ADMIN)
	for _, t := range []*memberv1.Tier{
		{Id: "bronze", DisplayName: "Bronze"},
		{Id: "silver", DisplayName: "Silver", Rank: 1, MinSpendMinor: 50_000},
		{Id: "gold", DisplayName: "Gold", Rank: 2, MinSpendMinor: 200_000, MinOrders: 10},
	} {
		if _, err := h.tiers.CreateTier(admin, &memberv1.CreateTierRequest{Tier: t}); err != nil {
			b.Fatal(err)
		}
	}
	const members = 2000
	ids := make([]string, members)
	var wg sync.WaitGroup
	for w := range 16 {
		wg.Go(func() {
			for i := w; i < members; i += 16 {
				resp, err := h.client.CreateMember(h.as(iamv1.Role_OPERATOR), &memberv1.CreateMemberRequest{
					Member: &memberv1.Member{DisplayName: "Bench", Phone: fmt.Sprintf("+86137%08d", i)}})
				if err != nil {
					b.Error(err)
					return
				}
				ids[i] = resp.GetMember().GetId()
			}
		})
	}
	wg.Wait()

	_, nc := natstest.Run(b)
	js, err := jetstream.New(nc)
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	llog := eventlog.New(memberd.LoyaltyService)
	ldb, err := boltx.Open(b.TempDir()+"/loyalty.db", boltx.Options{NoSync: true}, llog.Buckets()...)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = ldb.Close() })
	relay := eventlog.NewRelay(llog, ldb, js, nil, eventlog.RelayOptions{})
	rctx, stopRelay := context.WithCancel(ctx)
	relayDone := make(chan struct{})
	go func() { defer close(relayDone); _ = relay.Run(rctx) }()
	b.Cleanup(func() { stopRelay(); <-relayDone })
	now := time.Now()
	for i := 0; i < b.N; i += 1000 {
		if err := ldb.Update(ctx, func(tx *bolt.Tx) error {
			for j := i; j < min(i+1000, b.N); j++ {
				o := &loyaltyv1.Order{Id: fmt.Sprintf("o-%d", j), MemberId: ids[j*7%members], AmountMinor: int64(1_000 + j%9_000),
					Currency: "CNY", CreateTime: timestamppb.New(now)}
				if _, err := llog.Append(tx, "acme", memberd.EventOrderRecorded, &loyaltyv1.OrderRecordedEvent{Order: o}, now); err != nil {
					return err
				}
				if _, err := llog.Append(tx, "acme", "points_earned", &loyaltyv1.PointsChangedEvent{}, now); err != nil {
					return err
				}
			}
			return nil
		}); err != nil {
			b.Fatal(err)
		}
	}
	fctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	if err := relay.Flush(fctx); err != nil {
		b.Fatal(err)
	}
	last := uint64(2 * b.N)

	// The member service's store, opened alone now that the harness made its tiers and members:
	// the consumer is the only writer while the timer runs.
	h.Close()
	db, w, svc := openMemberStore(b, h.DataDir())
	b.ResetTimer()
	cons := eventlog.NewConsumer(js, db, w, eventlog.ConsumerConfig{Name: memberd.LoyaltyConsumerName, Service: memberd.LoyaltyService,
		Types: memberd.LoyaltyEventTypes(), Fetcher: eventlog.LogFetcher{Log: llog, DB: ldb}}, svc.LoyaltyEvents(), nil)
	cctx, stop := context.WithCancel(ctx)
	consDone := make(chan struct{})
	go func() { defer close(consDone); _ = cons.Run(cctx) }()
	for {
		got, err := cons.Applied(ctx, "acme")
		if err != nil {
			b.Fatal(err)
		}
		if got >= last {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	b.StopTimer()
	stop()
	<-consDone
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "orders/s")
}

// openMemberStore opens the member service's store in dataDir (fsync on) with its writer, and
// assembles the service over it with the KEK the service generated there.
func openMemberStore(b *testing.B, dataDir string) (*boltx.DB, *boltx.Writer, *memberd.Service) {
	b.Helper()
	raw, err := os.ReadFile(filepath.Join(kit.ServiceDir(dataDir, memberd.Name), "secrets", "kek"))
	if err != nil {
		b.Fatal(err)
	}
	kek, err := pii.ParseKEK(strings.TrimSpace(string(raw)))
	if err != nil {
		b.Fatal(err)
	}
	kr, err := pii.NewKeyring(kek)
	if err != nil {
		b.Fatal(err)
	}
	db, err := boltx.Open(kit.StorePath(dataDir, memberd.Name), boltx.Options{}, memberd.Buckets()...)
	if err != nil {
		b.Fatal(err)
	}
	w := boltx.NewWriter(db, boltx.WriterOptions{})
	b.Cleanup(func() { _ = w.Close(); _ = db.Close() })
	svc, err := memberd.New(memberd.Deps{DB: db, Writer: w, Keyring: kr})
	if err != nil {
		b.Fatal(err)
	}
	return db, w, svc
}
