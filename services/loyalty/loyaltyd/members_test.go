package loyaltyd_test

import (
	"context"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/protobuf/proto"

	bolt "go.etcd.io/bbolt"

	"github.com/huiyuan-dev/huiyuan/pkg/boltx"
	"github.com/huiyuan-dev/huiyuan/pkg/eventlog"
	"github.com/huiyuan-dev/huiyuan/pkg/natsx/natstest"
	"github.com/huiyuan-dev/huiyuan/services/loyalty/loyaltyd"

	iamv1 "github.com/huiyuan-dev/huiyuan/gen/huiyuan/iam/v1"
	loyaltyv1 "github.com/huiyuan-dev/huiyuan/gen/huiyuan/loyalty/v1"
	memberv1 "github.com/huiyuan-dev/huiyuan/gen/huiyuan/member/v1"
)

// tierPolicy sets acme's policy: gold members earn ×1.5.
func (h *harness) tierPolicy(t testing.TB) {
	t.Helper()
	got := h.setPolicy(t, &loyaltyv1.LoyaltyPolicy{TierMultiplierPercent: map[string]int32{"gold": 150}}, "tierMultiplierPercent")
	if got.GetTierMultiplierPercent()["gold"] != 150 {
		t.Fatalf("policy %v", got)
	}
}

func earned(t testing.TB, h *harness, id, member string) int64 {
	t.Helper()
	return h.order(t, id, member, 10_000).GetOrder().GetPointsEarned()
}

func memberPayload(t testing.TB, typ, member, tier string) []byte {
	t.Helper()
	var m proto.Message = &memberv1.MemberRegisteredEvent{MemberId: member, Tier: tier}
	if typ == "member_updated" {
		m = &memberv1.MemberUpdatedEvent{MemberId: member, Tier: tier, ChangedFields: []string{"tier"}}
	}
	b, err := proto.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestMemberEventsHandler applies member events through the exported handler in bolt
// transactions, as the consumer does.
func TestMemberEventsHandler(t *testing.T) {
	h := newHarness(t, harnessOpts{noSync: true})
	h.tierPolicy(t)
	handle := h.svc.MemberEvents()
	seq := uint64(0)
	apply := func(typ, member, tier string, times int) {
		t.Helper()
		seq++
		d := eventlog.Delivery{Tenant: tenant, Service: loyaltyd.MemberService, Sequence: seq, Type: typ,
			Payload: memberPayload(t, typ, member, tier)}
		for range times {
			if err := h.db.Update(context.Background(), func(tx *bolt.Tx) error { return handle(tx, d) }); err != nil {
				t.Fatal(err)
			}
		}
	}
	apply("member_registered", "m-gold", "gold", 2) // applied twice: as once
	if got := earned(t, h, "o1", "m-gold"); got != 150 {
		t.Fatalf("gold earned %d, want 150", got)
	}
	apply("member_registered", "m-plain", "bronze", 1)
	if got := earned(t, h, "o2", "m-plain"); got != 100 {
		t.Fatalf("unlisted tier earned %d, want 100", got)
	}
	apply("member_updated", "m-gold", "silver", 1)
	if got := earned(t, h, "o3", "m-gold"); got != 100 {
		t.Fatalf("after the update earned %d, want 100", got)
	}
	if o, err := h.client.GetOrder(h.as(iamv1.Role_OPERATOR), &loyaltyv1.GetOrderRequest{Id: "o1"}); err != nil ||
		o.GetOrder().GetPointsEarned() != 150 {
		t.Fatalf("the earlier order changed: %v %v", o, err)
	}
	// Another producer's events are not the member service's.
	if err := h.db.Update(context.Background(), func(tx *bolt.Tx) error {
		return handle(tx, eventlog.Delivery{Tenant: tenant, Service: "coupon", Sequence: 1, Type: "member_updated",
			Payload: memberPayload(t, "member_updated", "m-gold", "gold")})
	}); err != nil {
		t.Fatal(err)
	}
	if got := earned(t, h, "o4", "m-gold"); got != 100 {
		t.Fatalf("another service's event changed the tier: earned %d", got)
	}
}

// TestMemberConsumerEndToEnd: member events go from the member service's log through its
// relay and embedded JetStream to loyalty's consumer, exactly once.
func TestMemberConsumerEndToEnd(t *testing.T) {
	h := newHarness(t, harnessOpts{noSync: true})
	h.tierPolicy(t)
	_, nc := natstest.Run(t)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()

	// The member service's side: its event log in its own file, relayed to the MEMBER stream.
	mlog := eventlog.New(loyaltyd.MemberService)
	mdb, err := boltx.Open(t.TempDir()+"/member.db", boltx.Options{NoSync: true}, mlog.Buckets()...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = mdb.Close() })
	relay := eventlog.NewRelay(mlog, mdb, js, nil, eventlog.RelayOptions{RetryDelay: 20 * time.Millisecond})
	runBG(t, relay.Run)
	appendMember := func(typ, member, tier string) uint64 {
		t.Helper()
		var seq uint64
		err := mdb.Update(ctx, func(tx *bolt.Tx) error {
			var m proto.Message = &memberv1.MemberRegisteredEvent{MemberId: member, Tier: tier}
			if typ == "member_updated" {
				m = &memberv1.MemberUpdatedEvent{MemberId: member, Tier: tier}
			}
			rec, err := mlog.Append(tx, tenant, typ, m, h.clk.Now())
			seq = rec.GetSequence()
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		fctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		if err := relay.Flush(fctx); err != nil {
			t.Fatal(err)
		}
		return seq
	}

	c := h.svc.MemberConsumer(js, eventlog.LogFetcher{Log: mlog, DB: mdb})
	runBG(t, c.Run) // registered after the harness: stops before its store closes
	waitApplied := func(seq uint64) {
		t.Helper()
		deadline := time.Now().Add(15 * time.Second)
		for {
			got, err := c.Applied(ctx, tenant)
			if err == nil && got >= seq {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("applied %d (%v), want %d", got, err, seq)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}

	waitApplied(appendMember("member_registered", "m-gold", "gold"))
	if got := earned(t, h, "o1", "m-gold"); got != 150 {
		t.Fatalf("gold earned %d, want 150", got)
	}
	if got := earned(t, h, "o2", "m-unknown"); got != 100 {
		t.Fatalf("a member loyalty never heard of earned %d, want 100", got)
	}
	waitApplied(appendMember("member_updated", "m-gold", "silver"))
	if got := earned(t, h, "o3", "m-gold"); got != 100 {
		t.Fatalf("after the update earned %d, want 100", got)
	}

	// The broker delivers the registration (gold) again under a new message id: it is at or
	// below the applied position, so it changes nothing.
	m := nats.NewMsg("huiyuan." + tenant + ".member.v1.member_registered")
	m.Data = memberPayload(t, "member_registered", "m-gold", "gold")
	m.Header.Set(eventlog.HeaderMsgID, "dup-1")
	m.Header.Set(eventlog.HeaderTenant, tenant)
	m.Header.Set(eventlog.HeaderSequence, strconv.Itoa(1))
	m.Header.Set(eventlog.HeaderTime, time.Now().UTC().Format(time.RFC3339Nano))
	if _, err := js.PublishMsg(ctx, m); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(15 * time.Second)
	for {
		cons, err := js.Consumer(ctx, "MEMBER", loyaltyd.MemberConsumerName)
		if err == nil {
			if info, err := cons.Info(ctx); err == nil && info.NumPending == 0 && info.NumAckPending == 0 &&
				info.Delivered.Stream >= 3 {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatal("the duplicate was not acknowledged")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if got := earned(t, h, "o4", "m-gold"); got != 100 {
		t.Fatalf("a redelivered event changed the tier again: earned %d, want 100", got)
	}
	if o, err := h.client.GetOrder(h.as(iamv1.Role_OPERATOR), &loyaltyv1.GetOrderRequest{Id: "o1"}); err != nil ||
		o.GetOrder().GetPointsEarned() != 150 {
		t.Fatalf("the earlier order changed: %v %v", o, err)
	}
}

// runBG runs fn in the background until the test ends.
func runBG(t *testing.T, fn func(context.Context) error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() {
		if err := fn(ctx); err != nil {
			t.Errorf("background run: %v", err)
		}
	})
	t.Cleanup(func() {
		cancel()
		wg.Wait()
	})
}
