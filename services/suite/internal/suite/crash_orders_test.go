package suite_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/huiyuan-dev/huiyuan/pkg/kittest"

	loyaltyv1 "github.com/huiyuan-dev/huiyuan/gen/huiyuan/loyalty/v1"
)

// TestSIGKILLUnderOrderLoad kills the suite with SIGKILL while orders stream in, restarts it, and
// checks that every acknowledged order is there with its points, counted once: each member's
// balance is exactly the sum of the points of its stored orders, and the ledger verifies.
func TestSIGKILLUnderOrderLoad(t *testing.T) {
	if testing.Short() {
		t.Skip("starts processes")
	}
	p := newProcess(t)
	p.start()
	conn := p.dial()
	defer conn.Close()
	client := loyaltyv1.NewLoyaltyServiceClient(conn)

	const members = 8
	ids := kittest.RegisterMembers(t, authed(context.Background()), conn, members)
	memberID := func(i int) string { return ids[i] }
	var mu sync.Mutex
	acked := map[string]int64{} // order id -> points earned, as acknowledged
	ctx, stop := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for g := 0; g < 16; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ctx.Err() == nil; i++ {
				id := fmt.Sprintf("g%d-%d", g, i)
				resp, err := client.RecordOrder(authed(ctx), &loyaltyv1.RecordOrderRequest{RequestId: id, Order: &loyaltyv1.Order{
					Id: id, MemberId: memberID((g + i) % members), AmountMinor: int64(100 * (1 + i%50)), Currency: "CNY"}})
				if err != nil {
					continue // not acknowledged
				}
				mu.Lock()
				acked[id] = resp.GetPointsEarned()
				mu.Unlock()
			}
		}()
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
	bg := authed(context.Background())
	for id, pts := range acked {
		got, err := client.GetOrder(bg, &loyaltyv1.GetOrderRequest{Id: id})
		if err != nil {
			t.Fatalf("acknowledged order %s lost after SIGKILL: %v", id, err)
		}
		if got.GetOrder().GetPointsEarned() != pts {
			t.Fatalf("order %s: %d points stored, %d acknowledged", id, got.GetOrder().GetPointsEarned(), pts)
		}
	}
	// Every member's balance is the sum of its stored orders' points: nothing earned twice,
	// nothing earned without its order (orders that were written but not acknowledged count too).
	for i := 0; i < members; i++ {
		var earned int64
		token := ""
		for {
			page, err := client.ListPointsTransactions(bg, &loyaltyv1.ListPointsTransactionsRequest{MemberId: memberID(i), PageSize: 1000, PageToken: token})
			if err != nil {
				t.Fatal(err)
			}
			for _, tx := range page.GetTransactions() {
				if tx.GetKind() != loyaltyv1.PointsTransaction_EARN {
					t.Fatalf("unexpected %v", tx)
				}
				o, err := client.GetOrder(bg, &loyaltyv1.GetOrderRequest{Id: tx.GetCause().GetRef()})
				if err != nil || o.GetOrder().GetPointsEarned() != tx.GetPoints() || o.GetOrder().GetMemberId() != memberID(i) {
					t.Fatalf("earn %v has no matching order: %v %v", tx, o, err)
				}
				earned += tx.GetPoints()
			}
			if token = page.GetNextPageToken(); token == "" {
				break
			}
		}
		bal, err := client.GetPointsBalance(bg, &loyaltyv1.GetPointsBalanceRequest{MemberId: memberID(i)})
		if err != nil {
			t.Fatal(err)
		}
		if bal.GetBalance().GetAvailable() != earned || bal.GetBalance().GetLifetimeEarned() != earned {
			t.Fatalf("member %d: balance %v, earned by orders %d", i, bal.GetBalance(), earned)
		}
	}
	v, err := client.VerifyLedger(bg, &loyaltyv1.VerifyLedgerRequest{})
	if err != nil || !v.GetOk() {
		t.Fatalf("verify after SIGKILL: %v %v", v, err)
	}
	t.Logf("%d orders acknowledged before SIGKILL; all present once, %d transactions verified", len(acked), v.GetTransactions())
}
