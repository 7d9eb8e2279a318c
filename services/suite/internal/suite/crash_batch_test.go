package suite_test

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/huiyuan-dev/huiyuan/pkg/kittest"

	loyaltyv1 "github.com/huiyuan-dev/huiyuan/gen/huiyuan/loyalty/v1"
)

// sentBatch is one batch a till sent: its orders, and the points each earned when the batch was
// acknowledged.
type sentBatch struct {
	orders []*loyaltyv1.Order
	acked  bool
	points []int64
}

// TestSIGKILLUnderBatchLoad kills the suite with SIGKILL while tills send batches of orders,
// restarts it, and checks: every order of every acknowledged batch is there once with the
// points it was acknowledged with; every unacknowledged batch is wholly there or wholly absent
// (a batch is one write transaction); retrying the unacknowledged batches completes them without
// doubling any order; each member's balance is exactly the sum of its orders' points; the ledger
// verifies.
func TestSIGKILLUnderBatchLoad(t *testing.T) {
	if testing.Short() {
		t.Skip("starts processes")
	}
	p := newProcess(t)
	p.start()
	conn := p.dial()
	defer conn.Close()
	client := loyaltyv1.NewLoyaltyServiceClient(conn)

	const members, size, tills = 10, 50, 8
	ids := kittest.RegisterMembers(t, authed(context.Background()), conn, members)
	memberID := func(i int) string { return ids[i] }
	var mu sync.Mutex
	var batches []*sentBatch
	ctx, stop := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for g := range tills {
		wg.Go(func() {
			for b := 0; ctx.Err() == nil; b++ {
				sb := &sentBatch{}
				for i := range size {
					sb.orders = append(sb.orders, &loyaltyv1.Order{Id: fmt.Sprintf("t%d-b%d-%d", g, b, i),
						MemberId: memberID((g + b + i) % members), AmountMinor: int64(100 * (1 + i%30)), Currency: "CNY"})
				}
				mu.Lock()
				batches = append(batches, sb)
				mu.Unlock()
				resp, err := client.BatchRecordOrders(authed(ctx), &loyaltyv1.BatchRecordOrdersRequest{Orders: sb.orders})
				if err != nil {
					return // not acknowledged: the process is gone
				}
				mu.Lock()
				sb.acked = true
				for _, r := range resp.GetResults() {
					sb.points = append(sb.points, r.GetPointsEarned())
				}
				mu.Unlock()
			}
		})
	}
	time.Sleep(time.Second)
	p.kill()
	stop()
	wg.Wait()

	p.start()
	defer p.stop()
	bg := authed(context.Background())
	// Which orders of each batch are there, looked up by 8 workers.
	present := make([]int, len(batches))
	var next atomic.Int64
	var check sync.WaitGroup
	for range 8 {
		check.Go(func() {
			for {
				b := int(next.Add(1)) - 1
				if b >= len(batches) {
					return
				}
				sb := batches[b]
				for i, o := range sb.orders {
					got, err := client.GetOrder(bg, &loyaltyv1.GetOrderRequest{Id: o.GetId()})
					switch {
					case err != nil && sb.acked:
						t.Errorf("order %s of an acknowledged batch lost after SIGKILL: %v", o.GetId(), err)
					case err != nil:
					case sb.acked && got.GetOrder().GetPointsEarned() != sb.points[i]:
						t.Errorf("order %s: %d points stored, %d acknowledged", o.GetId(), got.GetOrder().GetPointsEarned(), sb.points[i])
					default:
						present[b]++
					}
				}
			}
		})
	}
	check.Wait()
	if t.Failed() {
		t.FailNow()
	}
	acked, whole, absent := 0, 0, 0
	for b, sb := range batches {
		switch {
		case sb.acked:
			acked++
		case present[b] == len(sb.orders):
			whole++
		case present[b] == 0:
			absent++
		default:
			t.Fatalf("an unacknowledged batch is partly there: %d of %d orders", present[b], len(sb.orders))
		}
	}
	if acked < 10 {
		t.Fatalf("only %d batches acknowledged before the kill", acked)
	}
	// Retrying what was not acknowledged completes it; nothing is recorded twice.
	points := map[string]int64{} // order id -> points, as stored
	for _, sb := range batches {
		if sb.acked {
			for i, o := range sb.orders {
				points[o.GetId()] = sb.points[i]
			}
			continue
		}
		resp, err := client.BatchRecordOrders(bg, &loyaltyv1.BatchRecordOrdersRequest{Orders: sb.orders})
		if err != nil {
			t.Fatal(err)
		}
		for i, r := range resp.GetResults() {
			if r.GetError() != nil || r.GetOrder().GetId() != sb.orders[i].GetId() {
				t.Fatalf("retry of %s: %v", sb.orders[i].GetId(), r)
			}
			points[r.GetOrder().GetId()] = r.GetPointsEarned()
		}
	}
	balancesMatchOrders(t, client, bg, members, memberID, points)
	v, err := client.VerifyLedger(bg, &loyaltyv1.VerifyLedgerRequest{})
	if err != nil || !v.GetOk() {
		t.Fatalf("verify after SIGKILL: %v %v", v, err)
	}
	t.Logf("%d batches acknowledged, %d unacknowledged ones wholly there, %d wholly absent; %d transactions verified",
		acked, whole, absent, v.GetTransactions())
}

// balancesMatchOrders checks that each member's balance is exactly the sum of the points of
// the orders its earnings name, each order of points earning once and no other.
func balancesMatchOrders(t *testing.T, client loyaltyv1.LoyaltyServiceClient, ctx context.Context, members int, memberID func(int) string,
	points map[string]int64) {
	t.Helper()
	seen := map[string]bool{}
	for i := range members {
		var earned int64
		token := ""
		for {
			page, err := client.ListPointsTransactions(ctx, &loyaltyv1.ListPointsTransactionsRequest{MemberId: memberID(i), PageSize: 1000, PageToken: token})
			if err != nil {
				t.Fatal(err)
			}
			for _, tx := range page.GetTransactions() {
				ref := tx.GetCause().GetRef()
				if tx.GetKind() != loyaltyv1.PointsTransaction_EARN || seen[ref] {
					t.Fatalf("unexpected or repeated %v", tx)
				}
				seen[ref] = true
				if want, ok := points[ref]; !ok || want != tx.GetPoints() {
					t.Fatalf("earn %v has no matching order (%d, %v)", tx, want, ok)
				}
				earned += tx.GetPoints()
			}
			if token = page.GetNextPageToken(); token == "" {
				break
			}
		}
		bal, err := client.GetPointsBalance(ctx, &loyaltyv1.GetPointsBalanceRequest{MemberId: memberID(i)})
		if err != nil {
			t.Fatal(err)
		}
		if bal.GetBalance().GetAvailable() != earned || bal.GetBalance().GetLifetimeEarned() != earned {
			t.Fatalf("member %d: balance %v, earned by orders %d", i, bal.GetBalance(), earned)
		}
	}
}
