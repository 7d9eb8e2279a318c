package eventlog_test

import (
	"context"
	"testing"
	"time"

	"github.com/huiyuan-dev/huiyuan/pkg/eventlog"
	"github.com/huiyuan-dev/huiyuan/pkg/natsx/natstest"
)

// TestRelayBacklog: the backlog counts every tenant's committed events the broker has not
// acknowledged, before the relay runs, while it runs and, from its saved positions, after it
// stopped.
func TestRelayBacklog(t *testing.T) {
	t.Parallel()
	_, nc := natstest.Run(t)
	js := newJS(t, nc)
	l := eventlog.New("member")
	db := openDB(t, true, l.Buckets()...)
	backlog := func(r *eventlog.Relay, want uint64) {
		t.Helper()
		if n, err := r.Backlog(context.Background()); err != nil || n != want {
			t.Fatalf("backlog %d, %v; want %d", n, err, want)
		}
	}
	r1 := eventlog.NewRelay(l, db, js, nil, fastRelay)
	backlog(r1, 0)
	appendN(t, db, l, "acme", "registered", 5, time.Now())
	appendN(t, db, l, "globex", "registered", 2, time.Now())
	backlog(r1, 7)
	stop := runBG(t, r1.Run)
	flush(t, r1)
	backlog(r1, 0)
	stop()

	appendN(t, db, l, "acme", "registered", 3, time.Now())
	r2 := eventlog.NewRelay(l, db, js, nil, fastRelay)
	backlog(r2, 3) // the positions r1 saved as it stopped, not the whole log
	runBG(t, r2.Run)
	flush(t, r2)
	backlog(r2, 0)
	if _, err := eventlog.NewRelay(nil, nil, nil, nil, eventlog.RelayOptions{}).Backlog(context.Background()); err == nil {
		t.Fatal("a relay made without its log has a backlog")
	}
}
