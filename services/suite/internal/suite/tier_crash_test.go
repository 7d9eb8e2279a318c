package suite_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	loyaltyv1 "github.com/huiyuan-dev/huiyuan/gen/huiyuan/loyalty/v1"
	memberv1 "github.com/huiyuan-dev/huiyuan/gen/huiyuan/member/v1"
	opsv1 "github.com/huiyuan-dev/huiyuan/gen/huiyuan/ops/v1"
)

// crashTiers are the tiers of the SIGKILL test: spend over the window, so a member's tier is a
// function of the orders stored for them.
var crashTiers = []struct {
	id       string
	rank     int32
	minSpend int64
}{{"bronze", 0, 0}, {"silver", 1, 300_000}, {"gold", 2, 1_500_000}}

func crashTierOf(spend int64) string {
	tier := ""
	for _, t := range crashTiers {
		if spend >= t.minSpend {
			tier = t.id
		}
	}
	return tier
}

// TestSIGKILLUnderOrderLoadWithTiers kills the suite with SIGKILL while orders stream in and
// tiers are evaluated from them, restarts it, and checks that every member's tier is what the
// orders stored for them give (every acknowledged one among them), that each order counted once
// in the member's value, and that each tier change was emitted once.
func TestSIGKILLUnderOrderLoadWithTiers(t *testing.T) {
	if testing.Short() {
		t.Skip("starts processes")
	}
	p := newProcess(t)
	p.start()
	conn := p.dial()
	defer conn.Close()
	orders := loyaltyv1.NewLoyaltyServiceClient(conn)
	members := memberv1.NewMemberServiceClient(conn)
	tiers := memberv1.NewTierServiceClient(conn)
	bg := authed(context.Background())
	for _, tier := range crashTiers {
		if _, err := tiers.CreateTier(bg, &memberv1.CreateTierRequest{Tier: &memberv1.Tier{Id: tier.id, DisplayName: tier.id, Rank: tier.rank,
			MinSpendMinor: tier.minSpend}}); err != nil {
			t.Fatal(err)
		}
	}
	const n = 8
	ids := make([]string, n)
	for i := range ids {
		resp, err := members.CreateMember(bg, &memberv1.CreateMemberRequest{Member: &memberv1.Member{DisplayName: "Crash",
			Phone: fmt.Sprintf("+86135000%05d", i)}})
		if err != nil {
			t.Fatal(err)
		}
		ids[i] = resp.GetMember().GetId()
	}

	var mu sync.Mutex
	acked := map[string]string{} // order id -> member id, as acknowledged
	ctx, stop := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for g := range 16 {
		wg.Go(func() {
			for i := 0; ctx.Err() == nil; i++ {
				id := fmt.Sprintf("tc-%d-%d", g, i)
				member := ids[(g+i)%n]
				_, err := orders.RecordOrder(authed(ctx), &loyaltyv1.RecordOrderRequest{RequestId: id, Order: &loyaltyv1.Order{
					Id: id, MemberId: member, AmountMinor: int64(1_000 * (1 + i%40)), Currency: "CNY"}})
				if err != nil {
					continue // not acknowledged
				}
				mu.Lock()
				acked[id] = member
				mu.Unlock()
			}
		})
	}
	time.Sleep(1500 * time.Millisecond)
	p.kill()
	stop()
	wg.Wait()
	if len(acked) < 50 {
		t.Fatalf("only %d orders acknowledged before the kill", len(acked))
	}

	p.start()
	defer p.stop()
	// What loyalty stored for each member (every acknowledged order, and perhaps some written
	// but not acknowledged): the truth the tiers must follow.
	spend := map[string]int64{}
	count := map[string]int64{}
	for _, m := range ids {
		token := ""
		for {
			page, err := orders.ListPointsTransactions(bg, &loyaltyv1.ListPointsTransactionsRequest{MemberId: m, PageSize: 1000, PageToken: token})
			if err != nil {
				t.Fatal(err)
			}
			for _, tx := range page.GetTransactions() {
				o, err := orders.GetOrder(bg, &loyaltyv1.GetOrderRequest{Id: tx.GetCause().GetRef()})
				if err != nil {
					t.Fatal(err)
				}
				spend[m] += o.GetOrder().GetAmountMinor()
				count[m]++
			}
			if token = page.GetNextPageToken(); token == "" {
				break
			}
		}
	}
	for id, m := range acked {
		if _, err := orders.GetOrder(bg, &loyaltyv1.GetOrderRequest{Id: id}); err != nil {
			t.Fatalf("acknowledged order %s of %s lost: %v", id, m, err)
		}
	}
	deadline := time.Now().Add(60 * time.Second)
	for _, m := range ids {
		for {
			resp, err := members.GetMember(bg, &memberv1.GetMemberRequest{MemberId: m})
			if err != nil {
				t.Fatal(err)
			}
			v := resp.GetMember().GetValue()
			if v.GetLifetimeOrders() == count[m] {
				if v.GetLifetimeSpendMinor() != spend[m] {
					t.Fatalf("member %s: value spend %d, orders stored %d", m, v.GetLifetimeSpendMinor(), spend[m])
				}
				if got, want := resp.GetMember().GetTier(), crashTierOf(spend[m]); got != want {
					t.Fatalf("member %s: tier %s, its %d stored orders (%d) give %s", m, got, count[m], spend[m], want)
				}
				break
			}
			if v.GetLifetimeOrders() > count[m] {
				t.Fatalf("member %s: %d orders counted, %d stored", m, v.GetLifetimeOrders(), count[m])
			}
			if time.Now().After(deadline) {
				t.Fatalf("member %s: %d of %d orders evaluated after restart", m, v.GetLifetimeOrders(), count[m])
			}
			time.Sleep(50 * time.Millisecond)
		}
	}

	// Each change once: per member, strictly rising, ending at the tier it holds.
	changes := map[string][]string{}
	ops := opsv1.NewOperationsServiceClient(conn)
	var after uint64
	for {
		resp, err := ops.ListEvents(bg, &opsv1.ListEventsRequest{Service: "member", AfterSequence: after, PageSize: 1000})
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range resp.GetEvents() {
			after = e.GetSequence()
			if e.GetType() != "tier_changed" {
				continue
			}
			var ev memberv1.TierChangedEvent
			if err := proto.Unmarshal(e.GetPayload(), &ev); err != nil {
				t.Fatal(err)
			}
			changes[ev.GetMemberId()] = append(changes[ev.GetMemberId()], ev.GetOldTier()+">"+ev.GetNewTier())
		}
		if len(resp.GetEvents()) == 0 || after >= resp.GetLastSequence() {
			break
		}
	}
	total := 0
	for _, m := range ids {
		want := []string{}
		for i := 1; i < len(crashTiers) && spend[m] >= crashTiers[i].minSpend; i++ {
			want = append(want, crashTiers[i-1].id+">"+crashTiers[i].id)
		}
		got := changes[m]
		// An order may lift a member two tiers at once; then one change says so.
		if fmt.Sprint(got) != fmt.Sprint(want) && !(len(want) == 2 && fmt.Sprint(got) == "[bronze>gold]") {
			t.Fatalf("member %s (%d spent): tier changes %v, want %v once each", m, spend[m], got, want)
		}
		total += len(got)
	}
	t.Logf("%d orders acknowledged before SIGKILL; %d tier changes, each once", len(acked), total)
}
