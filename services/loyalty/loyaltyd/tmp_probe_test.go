package loyaltyd_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/huiyuan-dev/huiyuan/pkg/boltx"

	iamv1 "github.com/huiyuan-dev/huiyuan/gen/huiyuan/iam/v1"
	loyaltyv1 "github.com/huiyuan-dev/huiyuan/gen/huiyuan/loyalty/v1"
)

func TestProbePages(t *testing.T) {
	h := newHarness(t, harnessOpts{noSync: true})
	ctx := h.as(iamv1.Role_SERVICE)
	for i := 0; i < 3000; i++ {
		h.client.RecordOrder(ctx, &loyaltyv1.RecordOrderRequest{RequestId: fmt.Sprintf("r-%d", i), Order: &loyaltyv1.Order{Id: fmt.Sprintf("o-%d", i), MemberId: fmt.Sprintf("m%d", i%1000), AmountMinor: 12345, Currency: "CNY"}})
	}
	s0 := h.db.Bolt().Stats()
	for i := 3000; i < 3100; i++ {
		h.client.RecordOrder(ctx, &loyaltyv1.RecordOrderRequest{RequestId: fmt.Sprintf("r-%d", i), Order: &loyaltyv1.Order{Id: fmt.Sprintf("o-%d", i), MemberId: fmt.Sprintf("m%d", i%1000), AmountMinor: 12345, Currency: "CNY"}})
	}
	s1 := h.db.Bolt().Stats()
	d := s1.Sub(&s0)
	t.Logf("per op: writes %d, spills %d, pages %d, rebalance %d, writeTime %v", d.TxStats.GetWrite()/100, d.TxStats.GetSpill()/100, d.TxStats.GetPageCount()/100, d.TxStats.GetRebalance()/100, d.TxStats.GetWriteTime()/100)
	_ = context.Background()
}

func TestProbeRaw(t *testing.T) {
	b := &testing.B{}
	_ = b
	db := rawDBT(t)
	ctx := context.Background()
	for i := int64(0); i < 3000; i++ {
		db.Update(ctx, rawEarn(i))
	}
	s0 := db.Bolt().Stats()
	for i := int64(3000); i < 3100; i++ {
		db.Update(ctx, rawEarn(i))
	}
	s1 := db.Bolt().Stats()
	d := s1.Sub(&s0)
	t.Logf("raw per op: writes %d, pages %d", d.TxStats.GetWrite()/100, d.TxStats.GetPageCount()/100)
}

func rawDBT(t *testing.T) *boltx.DB {
	db, err := boltx.Open(t.TempDir()+"/raw.db", boltx.Options{NoSync: true}, []byte("balances"), []byte("postings"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	return db
}
