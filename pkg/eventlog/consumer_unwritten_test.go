package eventlog_test

import (
	"errors"
	"sync"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/huiyuan-dev/huiyuan/pkg/boltx"
	"github.com/huiyuan-dev/huiyuan/pkg/eventlog"
	"github.com/huiyuan-dev/huiyuan/pkg/natsx/natstest"
)

// TestConsumer_HandlerUnwrittenRollsBack: a Handler's error that carries a boltx.Unwritten mark
// (as the services' stores mark refusals) still rolls the consumer's transaction back. Were the
// group-commit writer to see the mark, it would commit the batch's earlier events without
// their cursor, and they would be applied again on redelivery.
func TestConsumer_HandlerUnwrittenRollsBack(t *testing.T) {
	_, nc := natstest.Run(t)
	js := newJS(t, nc)
	publishSeqs(t, js, "coupon", "acme", 1, 2, 3)
	cdb := consumerDB(t)
	cw := boltx.NewWriter(cdb, boltx.WriterOptions{})
	var mu sync.Mutex
	failed := false
	rec := &recorder{t: t}
	h := func(tx *bolt.Tx, d eventlog.Delivery) error {
		mu.Lock()
		if d.Sequence == 2 && !failed {
			failed = true
			mu.Unlock()
			return boltx.Unwritten(errors.New("refused before writing"))
		}
		mu.Unlock()
		return rec.handle(tx, d)
	}
	cfg := fastConsumer("unwritten", "coupon")
	cfg.Workers = 1
	cfg.Linger = 200 * time.Millisecond
	c := eventlog.NewConsumer(js, cdb, cw, cfg, h, nil)
	stop := runBG(t, c.Run)
	t.Cleanup(func() { stop(); _ = cw.Close() })
	waitApplied(t, c, "acme", 3)
	if got := effects(t, cdb, "coupon", "acme"); !equalSeqs(got, seq1toN(3)) {
		t.Fatalf("effects %v", got)
	}
}
