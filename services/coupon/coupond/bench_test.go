package coupond_test

import (
	"context"
	"crypto/rand"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/huiyuan-dev/huiyuan/pkg/boltx"
	"github.com/huiyuan-dev/huiyuan/pkg/clock"
	"github.com/huiyuan-dev/huiyuan/pkg/ids"
	"github.com/huiyuan-dev/huiyuan/pkg/kittest"
	"github.com/huiyuan-dev/huiyuan/services/coupon/coupond"
	"github.com/huiyuan-dev/huiyuan/services/coupon/internal/coupon"

	couponv1 "github.com/huiyuan-dev/huiyuan/gen/huiyuan/coupon/v1"
	iamv1 "github.com/huiyuan-dev/huiyuan/gen/huiyuan/iam/v1"
	opsv1 "github.com/huiyuan-dev/huiyuan/gen/huiyuan/ops/v1"
)

// BenchmarkClaimInterleaved puts the claim path beside the work it cannot avoid, in one run, with
// every store on a real file that fsyncs each commit:
//
//	go test -run '^$' -bench ClaimInterleaved -benchtime 1x ./services/coupon/coupond/
//
// Modes, each driven by 256 concurrent callers:
//   - raw: a bare bbolt transaction of a claim's shape through the group-commit writer: the
//     reads (request_id, template, counter, member usage, time zone) and the writes (counter,
//     usage, coupon, code, member, template and due indexes, an event and its sequence head, the
//     request_id's answer and its time index), with bytes of the real sizes made beforehand;
//   - service: coupon.Service.Claim in process (the domain's decision, the real store and event
//     log, no gRPC);
//   - grpc: ClaimCoupon over loopback gRPC through the full interceptor chain (kit.Run through
//     kittest), with a request_id each;
//   - soldout: the same calls on a sold-out template;
//   - noop: OperationsService.Ping through the same chain.
//
// The modes take turns in 400 ms phases over 8 rounds (b.N times), so the shared machine's drift
// weighs on each alike; each reports its rate and p50/p99 latency, and the run reports the
// ratios the targets are judged by: service/raw, grpc/raw (target 0.6), soldout/noop (0.8).
// Stock never runs out before sell-out: it is far above what a run claims, and members never
// repeat.
func BenchmarkClaimInterleaved(b *testing.B) {
	modes := []*mode{{name: "raw"}, {name: "service"}, {name: "grpc"}, {name: "soldout"}, {name: "noop"}}
	modes[0].op = rawMode(b)
	modes[1].op = serviceMode(b)
	e := start(b, kittest.Options{Sync: true, Clock: clock.System{}})
	ctx := e.till()
	open := e.template(b, func(x *couponv1.CouponTemplate) { *x = *benchTemplate(1 << 40) })
	modes[2].op = func(i int64) error {
		_, err := e.coupons.ClaimCoupon(ctx, &couponv1.ClaimCouponRequest{TemplateId: open.GetId(), MemberId: fmt.Sprintf("member-%d", i),
			RequestId: fmt.Sprint("claim-", i)})
		return err
	}
	sold := e.template(b, func(x *couponv1.CouponTemplate) { *x = *benchTemplate(1) })
	e.claim(b, sold.GetId(), "first")
	modes[3].op = func(i int64) error {
		_, err := e.coupons.ClaimCoupon(ctx, &couponv1.ClaimCouponRequest{TemplateId: sold.GetId(), MemberId: fmt.Sprintf("member-%d", i),
			RequestId: fmt.Sprint("late-", i)})
		// Like the no-op's caller, this one reads the status code; every 64th call also decodes
		// the reason, to show it is COUPON_OUT_OF_STOCK.
		if status.Code(err) == codes.FailedPrecondition && (i%64 != 0 || reasonOf(err) == coupon.ReasonOutOfStock) {
			return nil
		}
		return fmt.Errorf("claim after sell-out: %v", err)
	}
	ops := opsv1.NewOperationsServiceClient(e.h.Conn)
	modes[4].op = func(int64) error {
		_, err := ops.Ping(ctx, &opsv1.PingRequest{})
		return err
	}
	var seq atomic.Int64
	for _, m := range modes { // warm up: connections, page cache, first batches
		m.phase(b, &seq, 100*time.Millisecond, false)
	}
	b.ResetTimer()
	for range b.N {
		for range 8 {
			for _, m := range modes {
				m.phase(b, &seq, 400*time.Millisecond, true)
			}
		}
	}
	b.StopTimer()
	for _, m := range modes {
		m.report(b)
	}
	b.ReportMetric(modes[1].rate()/modes[0].rate(), "service/raw")
	b.ReportMetric(modes[2].rate()/modes[0].rate(), "grpc/raw")
	b.ReportMetric(modes[3].rate()/modes[4].rate(), "soldout/noop")
}

// benchClaimers is how many callers each mode has.
const benchClaimers = 256

// mode is one kind of call of an interleaved benchmark.
type mode struct {
	name    string
	op      func(i int64) error
	calls   int64
	elapsed time.Duration
	lat     []time.Duration
}

// phase runs m.op from benchClaimers goroutines for d and, when count, adds the calls and
// their latencies to m.
func (m *mode) phase(b *testing.B, seq *atomic.Int64, d time.Duration, count bool) {
	b.Helper()
	lat := make([][]time.Duration, benchClaimers)
	stop := time.Now().Add(d)
	var wg sync.WaitGroup
	start := time.Now()
	for c := range benchClaimers {
		wg.Go(func() {
			for time.Now().Before(stop) {
				t := time.Now()
				if err := m.op(seq.Add(1)); err != nil {
					b.Errorf("%s: %v", m.name, err)
					return
				}
				lat[c] = append(lat[c], time.Since(t))
			}
		})
	}
	wg.Wait()
	if count {
		m.elapsed += time.Since(start)
		for _, l := range lat {
			m.calls += int64(len(l))
			m.lat = append(m.lat, l...)
		}
	}
}

func (m *mode) rate() float64 { return float64(m.calls) / m.elapsed.Seconds() }

func (m *mode) report(b *testing.B) {
	slices.Sort(m.lat)
	pct := func(p float64) float64 {
		if len(m.lat) == 0 {
			return 0
		}
		return float64(m.lat[int(p*float64(len(m.lat)-1))]) / float64(time.Millisecond)
	}
	b.ReportMetric(m.rate(), m.name+"/s")
	b.ReportMetric(pct(0.50), m.name+"-p50-ms")
	b.ReportMetric(pct(0.99), m.name+"-p99-ms")
}

func benchTemplate(stock int64) *couponv1.CouponTemplate {
	return &couponv1.CouponTemplate{Title: "秒杀 满100减20", Type: couponv1.CouponTemplate_THRESHOLD, Currency: "CNY",
		ThresholdMinor: 10000, DiscountMinor: 2000, ValidDays: 7, Claimable: true, TotalStock: stock, PerMemberLimit: 1}
}

// rawMode is the raw group-commit transaction on its own file.
func rawMode(b *testing.B) func(i int64) error {
	db, err := boltx.Open(b.TempDir()+"/raw.db", boltx.Options{}, rawBuckets...)
	if err != nil {
		b.Fatal(err)
	}
	w := boltx.NewWriter(db, boltx.WriterOptions{})
	b.Cleanup(func() { _ = w.Close(); _ = db.Close() })
	seed := rawSeed(b, db)
	ctx := context.Background()
	return func(i int64) error { return w.Update(ctx, rawClaim(seed, i)) }
}

// serviceMode is coupon.Service.Claim over the real store on its own file, no gRPC.
func serviceMode(b *testing.B) func(i int64) error {
	db, err := boltx.Open(b.TempDir()+"/coupon.db", boltx.Options{}, coupond.Buckets()...)
	if err != nil {
		b.Fatal(err)
	}
	w := boltx.NewWriter(db, boltx.WriterOptions{})
	b.Cleanup(func() { _ = w.Close(); _ = db.Close() })
	s, err := coupond.New(coupond.Deps{DB: db, Writer: w, Clock: clock.System{}})
	if err != nil {
		b.Fatal(err)
	}
	svc, ctx := s.Service(), context.Background()
	tv, err := svc.CreateTemplate(ctx, kittest.Tenant, &coupon.Template{Title: "秒杀", Type: coupon.TypeThreshold, Currency: "CNY",
		ThresholdMinor: 10000, DiscountMinor: 2000, ValidDays: 7, Claimable: true, TotalStock: 1 << 40, PerMemberLimit: 1})
	if err != nil {
		b.Fatal(err)
	}
	if _, err := svc.SetStatus(ctx, kittest.Tenant, tv.Template.ID, coupon.StatusActive); err != nil {
		b.Fatal(err)
	}
	return func(i int64) error {
		_, _, err := svc.Claim(ctx, kittest.Tenant, tv.Template.ID, fmt.Sprintf("member-%d", i))
		return err
	}
}

// The raw transaction's buckets and values, sized like the service's.
var rawBuckets = [][]byte{[]byte("templates"), []byte("stock"), []byte("usage"), []byte("zones"), []byte("coupons"), []byte("codes"),
	[]byte("by_member"), []byte("by_template"), []byte("due"), []byte("events"), []byte("heads"), []byte("requests"), []byte("requests_by_time")}

type seed struct {
	tenant, template string
	coupon, usage    []byte // values of the sizes the service writes
	event, answer    []byte
}

func rawSeed(b *testing.B, db *boltx.DB) seed {
	s := seed{tenant: "acme", template: ids.New(), coupon: make([]byte, 190), usage: make([]byte, 16), event: make([]byte, 330), answer: make([]byte, 230)}
	err := db.Update(context.Background(), func(tx *bolt.Tx) error {
		if err := tx.Bucket([]byte("templates")).Put(boltx.Key(s.tenant, s.template), make([]byte, 140)); err != nil {
			return err
		}
		return tx.Bucket([]byte("zones")).Put(boltx.Key(s.tenant), []byte("Asia/Shanghai"))
	})
	if err != nil {
		b.Fatal(err)
	}
	return s
}

func rawClaim(s seed, i int64) func(tx *bolt.Tx) error {
	member := fmt.Sprintf("member-%d", i)
	id := ids.New()
	code := make([]byte, 16)
	_, _ = rand.Read(code)
	req := boltx.Key(s.tenant, "/huiyuan.coupon.v1.CouponService/ClaimCoupon", fmt.Sprint("claim-", i))
	now := uint64(time.Now().UnixNano())
	return func(tx *bolt.Tx) error {
		bk := func(name string) *bolt.Bucket { return tx.Bucket([]byte(name)) }
		tkey := boltx.Key(s.tenant, s.template)
		_ = bk("requests").Get(req)
		_ = bk("templates").Get(tkey)
		_ = bk("zones").Get(boltx.Key(s.tenant))
		ukey := boltx.Key(s.tenant, s.template, member)
		_ = bk("usage").Get(ukey)
		issued := boltx.ParseU64(bk("stock").Get(tkey))
		puts := []struct {
			b    string
			k, v []byte
		}{
			{"stock", tkey, boltx.U64(issued + 1)},
			{"usage", ukey, s.usage},
			{"coupons", boltx.Key(s.tenant, id), s.coupon},
			{"codes", boltx.Key(s.tenant, string(code)), []byte(id)},
			{"by_member", boltx.Key(s.tenant, member, id), nil},
			{"by_template", boltx.Key(s.tenant, s.template, id), nil},
			{"due", append(boltx.U64(now+7*24*3600e9), boltx.Key(s.tenant, id)...), nil},
			{"requests", req, s.answer},
			{"requests_by_time", append(boltx.U64(now), req...), nil},
		}
		for _, p := range puts {
			if err := bk(p.b).Put(p.k, p.v); err != nil {
				return err
			}
		}
		head := boltx.ParseU64(bk("heads").Get([]byte(s.tenant))) + 1
		if err := bk("heads").Put([]byte(s.tenant), boltx.U64(head)); err != nil {
			return err
		}
		return bk("events").Put(append(boltx.TenantPrefix(s.tenant), boltx.U64(head)...), s.event)
	}
}

// BenchmarkCodeBatch generates 100,000 codes per operation through CreateCodeBatch (fsync on)
// and waits until the batch is DONE; it reports codes/s.
// `go test -run '^$' -bench CodeBatch -benchtime 3x ./services/coupon/coupond/`
func BenchmarkCodeBatch(b *testing.B) {
	e := start(b, kittest.Options{Sync: true, Clock: clock.System{}})
	tpl := e.template(b, func(x *couponv1.CouponTemplate) { x.TotalStock = 0 })
	op := e.h.As(iamv1.Role_OPERATOR)
	const n = 100_000
	b.ResetTimer()
	start := time.Now()
	for i := range b.N {
		bt, err := e.coupons.CreateCodeBatch(op, &couponv1.CreateCodeBatchRequest{TemplateId: tpl.GetId(), Count: n, RequestId: fmt.Sprint("b-", i)})
		if err != nil {
			b.Fatal(err)
		}
		for {
			got, err := e.coupons.GetCodeBatch(op, &couponv1.GetCodeBatchRequest{Id: bt.GetBatch().GetId()})
			if err != nil {
				b.Fatal(err)
			}
			if got.GetBatch().GetState() == couponv1.CodeBatch_DONE {
				break
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	elapsed := time.Since(start)
	b.StopTimer()
	b.ReportMetric(float64(n*b.N)/elapsed.Seconds(), "codes/s")
	b.ReportMetric(elapsed.Seconds()/float64(b.N), "s/100k")
}
