package suite_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	bolt "go.etcd.io/bbolt"
	"google.golang.org/protobuf/proto"

	memberv1 "github.com/huiyuan-dev/huiyuan/gen/huiyuan/member/v1"
	"github.com/huiyuan-dev/huiyuan/pkg/boltx"
	"github.com/huiyuan-dev/huiyuan/pkg/boltx/bolttest"
	"github.com/huiyuan-dev/huiyuan/pkg/eventlog"
)

var appliedBucket = []byte("applied")

// TestSIGKILLUnderRegistrationLoad kills the suite with SIGKILL while registrations stream in,
// restarts it, and checks that every acknowledged registration is there and that each
// registration event reaches a durable consumer exactly once.
func TestSIGKILLUnderRegistrationLoad(t *testing.T) {
	if testing.Short() {
		t.Skip("starts processes")
	}
	p := newProcess(t)
	p.start()

	// A durable consumer outside the process, recording how often each member's registration
	// was applied.
	db := bolttest.Open(t, append(eventlog.ConsumerBuckets(), appliedBucket)...)
	nc, err := nats.Connect("nats://"+p.nats, nats.MaxReconnects(-1), nats.ReconnectWait(100*time.Millisecond), p.brokerCredential())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	consumer := eventlog.NewConsumer(js, db, db, eventlog.ConsumerConfig{
		Name: "crash-test", Service: "member", Types: []string{"member_registered"},
		AckWait: 2 * time.Second, GapDelay: 200 * time.Millisecond, CheckInterval: 300 * time.Millisecond,
		Backoff: 100 * time.Millisecond, MaxBackoff: time.Second,
	}, countRegistrations, slog.New(slog.NewTextHandler(io.Discard, nil)))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() { _ = consumer.Run(ctx) }()

	// Registration load from 16 clients until the kill.
	conn := p.dial()
	defer conn.Close()
	client := memberv1.NewMemberServiceClient(conn)
	var mu sync.Mutex
	acked := map[string]bool{}
	loadCtx, stopLoad := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for g := 0; g < 16; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; loadCtx.Err() == nil; i++ {
				resp, err := client.CreateMember(authed(loadCtx), &memberv1.CreateMemberRequest{
					RequestId: fmt.Sprintf("load-%d-%d", g, i),
					Member:    &memberv1.Member{DisplayName: "Load", Phone: fmt.Sprintf("+86136%02d%06d", g, i)},
				})
				if err != nil {
					continue // not acknowledged: it may or may not have been written
				}
				mu.Lock()
				acked[resp.GetMember().GetId()] = true
				mu.Unlock()
			}
		}()
	}
	time.Sleep(1500 * time.Millisecond)
	p.kill()
	stopLoad()
	wg.Wait()
	mu.Lock()
	n := len(acked)
	mu.Unlock()
	if n < 50 {
		t.Fatalf("only %d registrations acknowledged before the kill; the load is too light to show anything", n)
	}

	p.start()
	defer p.stop()
	for id := range acked {
		if _, err := client.GetMember(authed(context.Background()), &memberv1.GetMemberRequest{MemberId: id}); err != nil {
			t.Fatalf("acknowledged member %s lost after SIGKILL: %v", id, err)
		}
	}

	// Every acknowledged registration's event arrives, and nothing is applied twice.
	stored := listAll(t, client)
	deadline := time.Now().Add(60 * time.Second)
	for {
		counts := appliedCounts(t, db)
		missing := 0
		for id := range stored {
			if counts[id] == 0 {
				missing++
			}
		}
		for id, c := range counts {
			if c != 1 {
				t.Fatalf("registration of %s applied %d times", id, c)
			}
			if !stored[id] {
				t.Fatalf("event for %s, which is not stored", id)
			}
		}
		if missing == 0 {
			t.Logf("%d acknowledged, %d stored, %d events applied once each", n, len(stored), len(counts))
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d stored registrations never reached the consumer", missing, len(stored))
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func countRegistrations(tx *bolt.Tx, d eventlog.Delivery) error {
	var ev memberv1.MemberRegisteredEvent
	if err := proto.Unmarshal(d.Payload, &ev); err != nil {
		return err
	}
	b := tx.Bucket(appliedBucket)
	k := []byte(ev.GetMemberId())
	return b.Put(k, boltx.U64(boltx.ParseU64(b.Get(k))+1))
}

func appliedCounts(t *testing.T, db *boltx.DB) map[string]uint64 {
	t.Helper()
	out := map[string]uint64{}
	if err := db.View(context.Background(), func(tx *bolt.Tx) error {
		return tx.Bucket(appliedBucket).ForEach(func(k, v []byte) error {
			out[string(k)] = boltx.ParseU64(v)
			return nil
		})
	}); err != nil {
		t.Fatal(err)
	}
	return out
}

// listAll returns the ids of every stored member.
func listAll(t *testing.T, client memberv1.MemberServiceClient) map[string]bool {
	t.Helper()
	out := map[string]bool{}
	token := ""
	for {
		resp, err := client.ListMembers(authed(context.Background()), &memberv1.ListMembersRequest{PageSize: 1000, PageToken: token})
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range resp.GetMembers() {
			out[m.GetId()] = true
		}
		if token = resp.GetNextPageToken(); token == "" {
			return out
		}
	}
}
