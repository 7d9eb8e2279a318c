package suite_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	bolt "go.etcd.io/bbolt"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"github.com/huiyuan-dev/huiyuan/pkg/boltx/bolttest"
	"github.com/huiyuan-dev/huiyuan/pkg/eventlog"
	"github.com/huiyuan-dev/huiyuan/pkg/natsx"
	"github.com/huiyuan-dev/huiyuan/pkg/natsx/natstest"

	loyaltyv1 "github.com/huiyuan-dev/huiyuan/gen/huiyuan/loyalty/v1"
	memberv1 "github.com/huiyuan-dev/huiyuan/gen/huiyuan/member/v1"
)

// repoRoot is the repository, from this package's directory.
var repoRoot = filepath.Join("..", "..", "..", "..")

// TestClusterLayout is `make test-cluster`: the production topology as processes. A three-node
// NATS cluster (deploy/nats, the pinned nats-server) with streams replicated three ways and
// credentials from `huiyuan nats-setup`; every service its own `huiyuan serve --service NAME`
// process; the JSON edge. Under registration, order and redemption load it SIGKILLs one NATS
// node and then the loyalty process and restarts them, and shows that every acknowledged write is
// there, every event reached an outside consumer exactly once, the ledger verifies, and a key
// revoked through iam is refused by every process.
func TestClusterLayout(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a NATS cluster and five processes")
	}
	bin := natstest.ServerBinary(t, repoRoot)
	setup, authority := natsSetup(t, "127.0.0.1:6222")
	sa, err := authority.ServerAuth()
	if err != nil {
		t.Fatal(err)
	}
	cluster := natstest.StartCluster(t, bin, filepath.Join(repoRoot, "deploy", "nats"), sa)
	l := newLayout(t, cluster.URLs(), setup, "HUIYUAN_NATS_REPLICAS=3")
	l.start()
	r := l.edge
	_, op := r.newKey(t, "OPERATOR", "")

	// Outside consumers count each registration and each order event.
	counts := newEventCounts(t, cluster.URLs(), authority)

	load := newClusterLoad(r, op)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Add(1)
		go func() { defer wg.Done(); load.run(t, w, stop) }()
	}
	time.Sleep(1500 * time.Millisecond)
	cluster.Kill(1)
	t.Log("killed NATS node n2")
	time.Sleep(1500 * time.Millisecond)
	cluster.Start(1)
	time.Sleep(time.Second)
	l.kill("loyalty")
	t.Log("killed the loyalty process")
	time.Sleep(500 * time.Millisecond)
	l.startOne("loyalty")
	time.Sleep(1500 * time.Millisecond)
	close(stop)
	wg.Wait()
	if t.Failed() {
		return
	}
	t.Logf("acknowledged: %d registrations, %d orders, %d redemptions", len(load.members), len(load.orders), load.redeemed)
	if len(load.orders) == 0 || len(load.members) == 0 {
		t.Fatal("no load got through")
	}

	// Every acknowledged write is there, with its points; balances add up.
	earned := map[string]int64{}
	for id, o := range load.orders {
		got := r.call(t, "GET", "/v1/orders/"+id, op, nil).must(t, 200)
		if got["pointsEarned"] != fmt.Sprint(o.points) {
			t.Fatalf("order %s: %v, acknowledged with %d points", id, got, o.points)
		}
		earned[o.member] += o.points
	}
	for id := range load.members {
		r.call(t, "GET", "/v1/members/"+id, op, nil).must(t, 200)
		bal := r.call(t, "GET", "/v1/members/"+id+"/points", op, nil).must(t, 200)
		if want := fmt.Sprint(earned[id] - load.spent[id]); bal["available"] != want && !(want == "0" && bal["available"] == nil) {
			t.Fatalf("member %s: available %v, want %s", id, bal["available"], want)
		}
	}
	if v := r.call(t, "POST", "/v1/ledger:verify", adminKey, map[string]any{}).must(t, 200); v["ok"] != true {
		t.Fatalf("ledger: %v", v)
	}

	// Every event reached the outside consumers exactly once.
	counts.wait(t, load)

	// A key revoked through iam is refused by every process.
	keyID, key := r.newKey(t, "OPERATOR", "")
	ctx := metadata.AppendToOutgoingContext(context.Background(), "authorization", "Bearer "+key)
	mconn, lconn := l.dial("member"), l.dial("loyalty")
	defer mconn.Close()
	defer lconn.Close()
	var some string
	for id := range load.members {
		some = id
		break
	}
	member := func() error {
		_, err := memberv1.NewMemberServiceClient(mconn).GetMember(ctx, &memberv1.GetMemberRequest{MemberId: some})
		return err
	}
	points := func() error {
		_, err := loyaltyv1.NewLoyaltyServiceClient(lconn).GetPointsBalance(ctx, &loyaltyv1.GetPointsBalanceRequest{MemberId: some})
		return err
	}
	for _, f := range []func() error{member, points} {
		if err := f(); err != nil {
			t.Fatal(err)
		}
	}
	r.call(t, "POST", "/v1/apiKeys/"+keyID+":revoke", adminKey, map[string]any{"requestId": "cluster-revoke"}).must(t, 200)
	revoked := time.Now()
	for _, f := range []func() error{member, points} {
		for status.Code(f()) != codes.Unauthenticated {
			if time.Since(revoked) > time.Second {
				t.Fatal("a revoked key still works after a second")
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	r.call(t, "GET", "/v1/members/"+some, key, nil).must(t, 401)
}

// clusterLoad registers members, records their orders and redeems some points through the JSON
// edge. A request that fails without a definite answer (the edge's 503 while a process is down,
// a broken connection) is retried with the same requestId until it gets one, so every write ends
// acknowledged or refused, never unknown.
type clusterLoad struct {
	r  *running
	op string

	mu       sync.Mutex
	members  map[string]bool
	orders   map[string]orderAck
	spent    map[string]int64
	redeemed int
}

type orderAck struct {
	member string
	points int64
}

func newClusterLoad(r *running, op string) *clusterLoad {
	return &clusterLoad{r: r, op: op, members: map[string]bool{}, orders: map[string]orderAck{}, spent: map[string]int64{}}
}

// do sends a write until it has a definite answer: its status and body.
func (c *clusterLoad) do(t testing.TB, path string, body map[string]any) reply {
	for attempt := 0; ; attempt++ {
		rp, err := c.r.try("POST", path, c.op, body)
		if err == nil && rp.status != 503 && rp.status != 502 && rp.status != 504 {
			return rp
		}
		if attempt > 400 {
			t.Errorf("%s: no definite answer after %d attempts (last %v %d %s)", path, attempt, err, rp.status, rp.raw)
			return rp
		}
		time.Sleep(25 * time.Millisecond)
	}
}

func (c *clusterLoad) run(t testing.TB, worker int, stop <-chan struct{}) {
	rng := rand.New(rand.NewPCG(uint64(worker), 7))
	var mine []string
	for i := 0; ; i++ {
		select {
		case <-stop:
			return
		default:
		}
		switch {
		case len(mine) == 0 || i%5 == 0:
			rp := c.do(t, "/v1/members", map[string]any{"requestId": fmt.Sprintf("reg-%d-%d", worker, i),
				"member": map[string]any{"displayName": "Load", "phone": fmt.Sprintf("137%04d%04d", worker, i)}})
			if rp.status != 200 {
				t.Errorf("register: %d %s", rp.status, rp.raw)
				return
			}
			id := rp.body["id"].(string)
			mine = append(mine, id)
			c.mu.Lock()
			c.members[id] = true
			c.mu.Unlock()
		case i%7 == 3:
			m := mine[rng.IntN(len(mine))]
			rp := c.do(t, "/v1/members/"+m+"/points:redeem", map[string]any{"requestId": fmt.Sprintf("red-%d-%d", worker, i), "points": "3", "reason": "load"})
			switch {
			case rp.status == 200:
				c.mu.Lock()
				c.spent[m] += 3
				c.redeemed++
				c.mu.Unlock()
			case rp.status == 400: // not enough points yet: refused, nothing spent
			default:
				t.Errorf("redeem: %d %s", rp.status, rp.raw)
				return
			}
		default:
			m := mine[rng.IntN(len(mine))]
			id := fmt.Sprintf("ord-%d-%d", worker, i)
			amount := 100 * (1 + rng.IntN(500))
			rp := c.do(t, "/v1/orders", map[string]any{"requestId": id,
				"order": map[string]any{"id": id, "memberId": m, "amountMinor": fmt.Sprint(amount), "currency": "CNY"}})
			if rp.status != 200 {
				t.Errorf("order: %d %s", rp.status, rp.raw)
				return
			}
			var pts int64
			fmt.Sscan(rp.body["pointsEarned"].(string), &pts)
			c.mu.Lock()
			c.orders[id] = orderAck{member: m, points: pts}
			c.mu.Unlock()
		}
	}
}

// eventCounts are outside durable consumers of the MEMBER and LOYALTY streams, counting how
// often each registration and each order event was applied.
type eventCounts struct {
	db *bolt.DB
}

var countBucket = []byte("counts")

func newEventCounts(t *testing.T, urls string, a *natsx.Authority) *eventCounts {
	t.Helper()
	cred, err := a.IssueOperator("cluster-test", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	nc, err := natsx.Connect(urls, natsx.WithCredential(cred), natsx.WithLogger(nil))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	db := bolttest.Open(t, append(eventlog.ConsumerBuckets(), countBucket)...)
	ec := &eventCounts{db: db.Bolt()}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	for _, c := range []struct{ service, typ string }{{"member", "member_registered"}, {"loyalty", "order_recorded"}} {
		cons := eventlog.NewConsumer(js, db, db, eventlog.ConsumerConfig{
			Name: "cluster-test", Service: c.service, Types: []string{c.typ},
			AckWait: 2 * time.Second, GapDelay: 200 * time.Millisecond, CheckInterval: 500 * time.Millisecond,
		}, ec.count, slog.New(slog.NewTextHandler(io.Discard, nil)))
		go func() { _ = cons.Run(ctx) }()
	}
	return ec
}

// count records one application of a registration or order event, by member or order id.
func (ec *eventCounts) count(tx *bolt.Tx, d eventlog.Delivery) error {
	var key string
	switch d.Type {
	case "member_registered":
		var ev memberv1.MemberRegisteredEvent
		if err := proto.Unmarshal(d.Payload, &ev); err != nil {
			return err
		}
		key = "m/" + ev.GetMemberId()
	case "order_recorded":
		var ev loyaltyv1.OrderRecordedEvent
		if err := proto.Unmarshal(d.Payload, &ev); err != nil {
			return err
		}
		key = "o/" + ev.GetOrder().GetId()
	default:
		return nil
	}
	b := tx.Bucket(countBucket)
	n := 0
	if v := b.Get([]byte(key)); v != nil {
		n = int(v[0])
	}
	return b.Put([]byte(key), []byte{byte(n + 1)})
}

// wait waits until every acknowledged registration and order was applied, and checks that none
// was applied twice.
func (ec *eventCounts) wait(t *testing.T, load *clusterLoad) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		missing, twice := 0, 0
		_ = ec.db.View(func(tx *bolt.Tx) error {
			b := tx.Bucket(countBucket)
			check := func(key string) {
				switch v := b.Get([]byte(key)); {
				case v == nil:
					missing++
				case v[0] > 1:
					twice++
				}
			}
			for id := range load.members {
				check("m/" + id)
			}
			for id := range load.orders {
				check("o/" + id)
			}
			return nil
		})
		if twice > 0 {
			t.Fatalf("%d events applied twice", twice)
		}
		if missing == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d events never arrived", missing)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
