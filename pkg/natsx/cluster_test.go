package natsx_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/huiyuan-dev/huiyuan/pkg/natsx"
	"github.com/huiyuan-dev/huiyuan/pkg/natsx/natstest"
)

// TestCluster starts the shipped three-node configuration with the pinned nats-server and checks
// the permission matrix across nodes: an R3 stream declared with a service credential, strangers
// refused (clients and routes), a service confined to its subjects, a consumer reading its
// producer through its durable, a tenant confined to its own events.
func TestCluster(t *testing.T) {
	t.Parallel()
	bin := natstest.ServerBinary(t, filepath.Join("..", ".."))
	a, sa := newAuthority(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	nodes := natstest.StartCluster(t, bin, filepath.Join("..", "..", "deploy", "nats"), sa).Nodes()
	member, err := a.IssueService("member", natsx.ServiceGrant{Service: "member", Produces: true})
	if err != nil {
		t.Fatal(err)
	}
	loyalty, err := a.IssueService("loyalty", natsx.ServiceGrant{Service: "loyalty", Produces: true, Consumes: []string{"member"}})
	if err != nil {
		t.Fatal(err)
	}
	connect := func(n *natstest.Node, c *natsx.Credential) *nats.Conn {
		t.Helper()
		nc, err := natsx.Connect(n.URL, natsx.WithCredential(c), natsx.WithLogger(nil))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(nc.Close)
		return nc
	}

	// The cluster is ready when it elects a leader for an R3 stream, declared as the relay does.
	memberNC := connect(nodes[0], member)
	memberJS := jetStream(t, memberNC)
	var stream jetstream.Stream
	for stream == nil {
		actx, acancel := context.WithTimeout(ctx, 2*time.Second)
		stream, err = natsx.EnsureStream(actx, memberJS, "member", natsx.WithReplicas(3))
		acancel()
		if ctx.Err() != nil {
			t.Fatalf("no R3 stream before the deadline: %v", err)
		}
		if err != nil {
			time.Sleep(100 * time.Millisecond) // the meta group is still electing: ask again
		}
	}
	if cfg := stream.CachedInfo().Config; cfg.Replicas != 3 {
		t.Fatalf("MEMBER has %d replicas, want 3", cfg.Replicas)
	}

	t.Run("strangers refused", func(t *testing.T) {
		for _, n := range nodes {
			if nc, err := nats.Connect(n.URL, nats.NoReconnect()); err == nil {
				nc.Close()
				t.Fatalf("%s accepted an anonymous client", n.URL)
			} else if !errors.Is(err, nats.ErrAuthorization) {
				t.Fatalf("%s: anonymous client: %v, want an authorization error", n.URL, err)
			}
			if info := routeInfo(t, n.RouteAddr); !strings.Contains(info, `"auth_required":true`) {
				t.Fatalf("route port %s does not require auth: %s", n.RouteAddr, info)
			}
		}
	})

	tenantSub := func(tenant, other string, n *natstest.Node) *nats.Subscription {
		t.Helper()
		c, err := a.TenantIssuer().IssueTenant(tenant, time.Now().Add(time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		nc := connect(n, c)
		sub, err := nc.SubscribeSync(natsx.TenantSubjects(tenant))
		if err != nil {
			t.Fatal(err)
		}
		if err := lastError(t, nc); err != nil {
			t.Fatal(err)
		}
		for _, denied := range []func() error{
			func() error { _, err := nc.SubscribeSync(natsx.TenantSubjects(other)); return err },
			func() error { return nc.Publish("huiyuan."+tenant+".member.v1.member_updated", nil) },
		} {
			if err := denied(); err != nil {
				t.Fatal(err)
			}
			if err := lastError(t, nc); !errors.Is(err, nats.ErrPermissionViolation) {
				t.Fatalf("tenant %s: err = %v, want a permission violation", tenant, err)
			}
		}
		return sub
	}
	acmeSub, otherSub := tenantSub("acme", "other", nodes[1]), tenantSub("other", "acme", nodes[2])
	waitInterest(t, nodes[0].Monitor, natsx.TenantSubjects("acme"), natsx.TenantSubjects("other"))

	published := []string{"huiyuan.acme.member.v1.member_registered", "huiyuan.other.member.v1.member_registered",
		"huiyuan.acme.member.v1.member_updated"}
	for _, s := range published {
		if _, err := memberJS.Publish(ctx, s, []byte(s)); err != nil {
			t.Fatalf("member publishes %s: %v", s, err)
		}
	}
	if err := memberNC.Publish("huiyuan.acme.loyalty.v1.points_earned", nil); err != nil {
		t.Fatal(err)
	}
	if err := lastError(t, memberNC); !errors.Is(err, nats.ErrPermissionViolation) {
		t.Fatalf("member publishing loyalty's subject: err = %v, want a permission violation", err)
	}

	t.Run("tenants read their own events", func(t *testing.T) {
		for sub, want := range map[*nats.Subscription][]string{
			acmeSub:  {published[0], published[2]},
			otherSub: {published[1]},
		} {
			for _, w := range want {
				m, err := sub.NextMsg(10 * time.Second)
				if err != nil || m.Subject != w {
					t.Fatalf("received %v, %v; want %s", m, err, w)
				}
			}
			if n, _, _ := sub.Pending(); n != 0 {
				t.Fatalf("%d more messages, want none", n)
			}
		}
	})

	t.Run("consumer reads through its durable", func(t *testing.T) {
		nc := connect(nodes[2], loyalty)
		js := jetStream(t, nc)
		cons, err := js.CreateOrUpdateConsumer(ctx, natsx.StreamName("member"), jetstream.ConsumerConfig{
			Durable: "loyalty", AckPolicy: jetstream.AckExplicitPolicy, FilterSubject: natsx.StreamSubjects("member"),
		})
		if err != nil {
			t.Fatal(err)
		}
		// A consumer just created on the cluster may answer a first fetch before its leader is
		// elected (an empty batch with an error, seen in CI): fetch again, within a bound.
		var got []string
		for deadline := time.Now().Add(20 * time.Second); len(got) < len(published) && time.Now().Before(deadline); {
			batch, err := cons.Fetch(len(published)-len(got), jetstream.FetchMaxWait(2*time.Second))
			if err != nil {
				t.Fatal(err)
			}
			for m := range batch.Messages() {
				got = append(got, m.Subject())
				if err := m.DoubleAck(ctx); err != nil {
					t.Fatalf("ack %s: %v", m.Subject(), err)
				}
			}
			if err := batch.Error(); err != nil {
				t.Logf("fetch: %v; fetching again", err)
			}
		}
		if strings.Join(got, ",") != strings.Join(published, ",") {
			t.Fatalf("fetched %v, want %v", got, published)
		}
		if err := nc.Publish("$JS.API.CONSUMER.CREATE.MEMBER.analytics", []byte("{}")); err != nil {
			t.Fatal(err)
		}
		if err := lastError(t, nc); !errors.Is(err, nats.ErrPermissionViolation) {
			t.Fatalf("loyalty creating another service's durable: err = %v, want a permission violation", err)
		}
	})
}

// routeInfo reads the INFO line a route port sends to whoever connects.
func routeInfo(t *testing.T, addr string) string {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		t.Fatalf("read INFO from %s: %v", addr, err)
	}
	return line
}

// waitInterest waits until the node monitored at monitor has learned, from its routes, of
// subscriptions to every one of subjects, so what is published there reaches them.
func waitInterest(t *testing.T, monitor string, subjects ...string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		resp, err := http.Get(monitor + "/routez?subs=1")
		if err != nil {
			t.Fatal(err)
		}
		var routez struct {
			Routes []struct {
				Subs []string `json:"subscriptions_list"`
			} `json:"routes"`
		}
		err = json.NewDecoder(resp.Body).Decode(&routez)
		resp.Body.Close()
		if err != nil {
			t.Fatal(err)
		}
		missing := slices.DeleteFunc(slices.Clone(subjects), func(s string) bool {
			return slices.ContainsFunc(routez.Routes, func(r struct {
				Subs []string `json:"subscriptions_list"`
			}) bool {
				return slices.Contains(r.Subs, s)
			})
		})
		if len(missing) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s does not know of subscriptions to %v", monitor, missing)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
