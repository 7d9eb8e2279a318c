package pgpeer_test

import (
	"context"
	"os"
	"sync"
	"testing"

	"github.com/huiyuan-dev/huiyuan/services/suite/internal/pgpeer"
)

// open connects to the test PostgreSQL, or skips.
func open(t testing.TB, conns int) *pgpeer.Peer {
	t.Helper()
	dsn := os.Getenv("HUIYUAN_PEER_PG")
	if dsn == "" {
		dsn = pgpeer.DefaultDSN
	}
	p, err := pgpeer.Open(context.Background(), dsn, conns)
	if err != nil {
		t.Skipf("no PostgreSQL at %q: %v", dsn, err)
	}
	t.Cleanup(func() { _ = p.Close(context.Background()) })
	return p
}

// TestEarn: the peer's earn credits once per order id, under concurrent retries.
func TestEarn(t *testing.T) {
	p := open(t, 8)
	ctx := context.Background()
	var wg sync.WaitGroup
	for range 16 {
		wg.Go(func() {
			for _, id := range []string{"o1", "o2", "o3"} {
				if _, err := p.Earn(ctx, pgpeer.Order{Tenant: "acme", ID: id, MemberID: "m1", AmountMinor: 12_345, Currency: "CNY"}); err != nil {
					t.Error(err)
				}
			}
		})
	}
	wg.Wait()
	bal, err := p.Earn(ctx, pgpeer.Order{Tenant: "acme", ID: "o1", MemberID: "m1", AmountMinor: 12_345, Currency: "CNY"})
	orders, postings, cerr := p.Count(ctx)
	if err != nil || cerr != nil || bal != 3*123 || orders != 3 || postings != 6 {
		t.Fatalf("balance %d, %d orders, %d postings (%v %v)", bal, orders, postings, err, cerr)
	}
}
