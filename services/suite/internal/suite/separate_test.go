package suite_test

import (
	"context"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/huiyuan-dev/huiyuan/pkg/natsx"

	loyaltyv1 "github.com/huiyuan-dev/huiyuan/gen/huiyuan/loyalty/v1"
	memberv1 "github.com/huiyuan-dev/huiyuan/gen/huiyuan/member/v1"
)

func httpGet(url string) (int, error) {
	resp, err := http.Get(url)
	if err != nil {
		return 0, err
	}
	resp.Body.Close()
	return resp.StatusCode, nil
}

// TestSeparateProcesses runs every service as its own process against one broker: the JSON edge
// reaches each over gRPC, errors carry the domain of the service that raised them, loyalty
// follows the member service's events across processes, and a key revoked through iam, or a
// member token revoked through the member service, is refused by every process within a second.
func TestSeparateProcesses(t *testing.T) {
	if testing.Short() {
		t.Skip("starts five processes")
	}
	setup, authority := natsSetup(t, "127.0.0.1:6222")
	sa, err := authority.ServerAuth()
	if err != nil {
		t.Fatal(err)
	}
	ns, err := natsx.StartEmbedded(natsx.EmbeddedConfig{Host: "127.0.0.1", Port: -1, StoreDir: filepath.Join(t.TempDir(), "nats"), Auth: sa})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ns.Shutdown(); ns.WaitForShutdown() })
	// Answers about keys and member tokens trusted for a minute: a revocation refused within a
	// second shows that its event reached every process.
	l := newLayout(t, ns.ClientURL(), setup, "HUIYUAN_KEY_CACHE_TTL=1m")
	l.start()
	r := l.edge

	keyID, op := r.newKey(t, "OPERATOR", "")
	created := r.call(t, "POST", "/v1/members", op, map[string]any{"requestId": "sep-1",
		"member": map[string]any{"displayName": "Separate", "phone": "13800138011", "channel": "STORE"}}).must(t, 200)
	id := created["id"].(string)
	body := r.call(t, "POST", "/v1/orders", op, map[string]any{"requestId": "sep-o1",
		"order": map[string]any{"id": "sep-o1", "memberId": id, "amountMinor": "25000", "currency": "CNY"}}).must(t, 200)
	if body["pointsEarned"] != "250" {
		t.Fatalf("order: %v", body)
	}
	checkProcessMetrics(t, l.procs["loyalty"].metrics)

	// Each error names the service that raised it.
	domains := map[string]string{}
	rp := r.call(t, "POST", "/v1/members/"+id+"/points:redeem", op, map[string]any{"requestId": "sep-r1", "points": "100000", "reason": "x"})
	rp.must(t, 400)
	domains["loyalty"] = errorDomain(rp)
	rp = r.call(t, "GET", "/v1/members/0190a0e0-0000-7000-8000-000000000000", op, nil)
	rp.must(t, 404)
	domains["member"] = errorDomain(rp)
	rp = r.call(t, "POST", "/v1/apiKeys/nope:revoke", adminKey, map[string]any{"requestId": "sep-k"})
	rp.must(t, 404)
	domains["iam"] = errorDomain(rp)
	for svc, d := range domains {
		if d != svc+".huiyuan.dev" {
			t.Errorf("%s error domain %q", svc, d)
		}
	}

	// The key works against each process directly, then a revocation through iam reaches all.
	ctx := metadata.AppendToOutgoingContext(context.Background(), "authorization", "Bearer "+op)
	mconn, lconn := l.dial("member"), l.dial("loyalty")
	defer mconn.Close()
	defer lconn.Close()
	members, points := memberv1.NewMemberServiceClient(mconn), loyaltyv1.NewLoyaltyServiceClient(lconn)
	if _, err := members.GetMember(ctx, &memberv1.GetMemberRequest{MemberId: id}); err != nil {
		t.Fatal(err)
	}
	if _, err := points.GetPointsBalance(ctx, &loyaltyv1.GetPointsBalanceRequest{MemberId: id}); err != nil {
		t.Fatal(err)
	}
	r.call(t, "POST", "/v1/apiKeys/"+keyID+":revoke", adminKey, map[string]any{"requestId": "sep-rev"}).must(t, 200)
	revoked := time.Now()
	for _, check := range []func() error{
		func() error { _, err := members.GetMember(ctx, &memberv1.GetMemberRequest{MemberId: id}); return err },
		func() error {
			_, err := points.GetPointsBalance(ctx, &loyaltyv1.GetPointsBalanceRequest{MemberId: id})
			return err
		},
	} {
		for status.Code(check()) != codes.Unauthenticated {
			if time.Since(revoked) > time.Second {
				t.Fatal("a revoked key still works after a second")
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	r.call(t, "GET", "/v1/members/"+id, op, nil).must(t, 401)

	checkMemberTokenRevocation(t, r, members, points, id)

	// Loyalty, in its own process, consumed the registration from the MEMBER stream.
	op1, err := authority.IssueOperator("test", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	waitConsumed(t, ns.ClientURL(), []nats.Option{natsx.WithCredential(op1)}, "MEMBER", "loyalty")

	// Outside subscribers: none without credentials; a tenant credential from the edge reads its
	// tenant's live events only, and publishes nothing.
	if nc, err := nats.Connect(ns.ClientURL(), nats.NoReconnect()); err == nil {
		nc.Close()
		t.Fatal("an anonymous connection was accepted")
	}
	checkTenantCredential(t, r, ns.ClientURL())

	// The forged-event attack: loyalty's own credential cannot publish a member event into the
	// MEMBER stream (the broker refuses it, so nothing is stored or consumed).
	lc, err := nats.Connect(ns.ClientURL(), natsx.WithCredentialsFile(filepath.Join(setup, "creds", "loyalty.creds")))
	if err != nil {
		t.Fatal(err)
	}
	defer lc.Close()
	ljs, err := jetstream.New(lc)
	if err != nil {
		t.Fatal(err)
	}
	pctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	if _, err := ljs.Publish(pctx, "huiyuan.default.member.v1.member_updated", []byte("forged")); err == nil {
		t.Fatal("loyalty's credential published a member event")
	}
}

// errorDomain is the ErrorInfo domain of an error reply.
func errorDomain(rp reply) string {
	details, _ := rp.body["details"].([]any)
	for _, d := range details {
		m, _ := d.(map[string]any)
		if m["@type"] == "type.googleapis.com/google.rpc.ErrorInfo" {
			s, _ := m["domain"].(string)
			return s
		}
	}
	return ""
}

// checkTenantCredential issues a broker credential for a tenant through the JSON edge and checks
// what it allows at url: that tenant's live events, nothing of another tenant, no publishing.
func checkTenantCredential(t *testing.T, r *running, url string) {
	t.Helper()
	_, defaultOperator := r.newKey(t, "OPERATOR", "")
	_, acmeAdmin := r.newKey(t, "ADMIN", "acme")
	_, acmeOp := r.newKey(t, "OPERATOR", "acme")
	body := r.call(t, "POST", "/v1/brokerCredentials", acmeAdmin, map[string]any{"requestId": "bc-1", "ttl": "3600s"}).must(t, 200)
	creds, _ := body["creds"].(string)
	cred, err := natsx.ParseCredential([]byte(creds))
	if err != nil {
		t.Fatalf("credential %v: %v", body, err)
	}
	violations := make(chan error, 8)
	nc, err := nats.Connect(url, natsx.WithCredential(cred), nats.ErrorHandler(func(_ *nats.Conn, _ *nats.Subscription, err error) {
		violations <- err
	}))
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	own, err := nc.SubscribeSync("huiyuan.acme.>")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := nc.SubscribeSync("huiyuan.default.>"); err != nil {
		t.Fatal(err)
	}
	if err := nc.Publish("huiyuan.acme.member.v1.member_updated", []byte("forged")); err != nil {
		t.Fatal(err)
	}
	if err := nc.Flush(); err != nil {
		t.Fatal(err)
	}
	for range 2 { // the subscription to another tenant and the publish are both refused
		select {
		case err := <-violations:
			if !strings.Contains(strings.ToLower(err.Error()), "permissions violation") {
				t.Fatalf("unexpected async error %v", err)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("the broker did not refuse another tenant's subjects or a publish")
		}
	}
	r.call(t, "POST", "/v1/members", defaultOperator, map[string]any{"requestId": "bc-default",
		"member": map[string]any{"displayName": "Default", "phone": "13800138021"}}).must(t, 200)
	r.call(t, "POST", "/v1/members", acmeOp, map[string]any{"requestId": "bc-acme",
		"member": map[string]any{"displayName": "Acme", "phone": "13800138022"}}).must(t, 200)
	m, err := own.NextMsg(10 * time.Second)
	if err != nil {
		t.Fatalf("the tenant's own event did not arrive: %v", err)
	}
	if !strings.HasPrefix(m.Subject, "huiyuan.acme.member.v1.") {
		t.Fatalf("received %s", m.Subject)
	}
}

// checkMemberTokenRevocation issues a member token through the edge, uses it against the member
// and loyalty processes directly, revokes it and then all of the member's tokens, and checks that
// both processes refuse each within a second.
func checkMemberTokenRevocation(t *testing.T, r *running, members memberv1.MemberServiceClient, points loyaltyv1.LoyaltyServiceClient, id string) {
	t.Helper()
	_, svc := r.newKey(t, "SERVICE", "")
	issue := func() (context.Context, string) {
		body := r.call(t, "POST", "/v1/members/"+id+":issueToken", svc, map[string]any{}).must(t, 200)
		return metadata.AppendToOutgoingContext(context.Background(), "authorization", "Bearer "+body["token"].(string)), body["tokenId"].(string)
	}
	calls := func(ctx context.Context) []func() error {
		return []func() error{
			func() error { _, err := members.GetMember(ctx, &memberv1.GetMemberRequest{MemberId: id}); return err },
			func() error {
				_, err := points.GetPointsBalance(ctx, &loyaltyv1.GetPointsBalanceRequest{MemberId: id})
				return err
			},
		}
	}
	refusedWithinASecond := func(ctx context.Context, what string) {
		t.Helper()
		revoked := time.Now()
		for _, check := range calls(ctx) {
			for status.Code(check()) != codes.Unauthenticated {
				if time.Since(revoked) > time.Second {
					t.Fatalf("%s still works after a second", what)
				}
				time.Sleep(10 * time.Millisecond)
			}
		}
	}
	one, oneID := issue()
	all, _ := issue()
	for _, ctx := range []context.Context{one, all} {
		for _, call := range calls(ctx) {
			if err := call(); err != nil {
				t.Fatal(err)
			}
		}
	}
	r.call(t, "POST", "/v1/members/"+id+"/tokens/"+oneID+":revoke", svc, map[string]any{"requestId": "sep-tok-1"}).must(t, 200)
	refusedWithinASecond(one, "a revoked member token")
	for _, call := range calls(all) {
		if err := call(); err != nil {
			t.Fatalf("revoking one token refused another: %v", err)
		}
	}
	r.call(t, "POST", "/v1/members/"+id+"/tokens:revoke", svc, map[string]any{"requestId": "sep-tok-all"}).must(t, 200)
	refusedWithinASecond(all, "a member token revoked with all of its member's")
}

// checkProcessMetrics: a process without the edge serves its own metrics at addr, without a
// key: its store's commits (the order just recorded among them) and its outbox.
func checkProcessMetrics(t *testing.T, addr string) {
	t.Helper()
	raw := scrape(t, "http://"+addr+"/metrics")
	if v, ok := metric(raw, `huiyuan_store_commit_writes_count{store="loyalty"}`); !ok || v < 1 {
		t.Errorf("loyalty's commits: %v (there: %v)", v, ok)
	}
	if _, ok := metric(raw, `huiyuan_outbox_backlog_events{service="loyalty"}`); !ok {
		t.Error("no outbox backlog for loyalty")
	}
	if _, ok := metric(raw, `huiyuan_store_commit_writes_count{store="member"}`); ok {
		t.Error("loyalty's process reports the member store, which it does not host")
	}
}
