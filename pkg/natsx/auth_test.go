package natsx_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/huiyuan-dev/huiyuan/pkg/natsx"
	"github.com/huiyuan-dev/huiyuan/pkg/natsx/natstest"
)

// authEnv is an embedded server in operator mode on a loopback port, with the credentials of
// the services the tests play: member produces, loyalty produces and consumes member, the
// gateway only listens to iam.
type authEnv struct {
	ns                       *server.Server
	auth                     *natsx.Authority
	member, loyalty, gateway *natsx.Credential
}

func startAuthServer(t *testing.T) *authEnv {
	t.Helper()
	ns, a := natstest.RunWithAuth(t)
	var err error
	e := &authEnv{ns: ns, auth: a}
	for _, c := range []struct {
		dst   **natsx.Credential
		grant natsx.ServiceGrant
	}{
		{&e.member, natsx.ServiceGrant{Service: "member", Produces: true}},
		{&e.loyalty, natsx.ServiceGrant{Service: "loyalty", Produces: true, Consumes: []string{"member"}}},
		{&e.gateway, natsx.ServiceGrant{Service: "gateway"}},
	} {
		if *c.dst, err = a.IssueService(c.grant.Service, c.grant); err != nil {
			t.Fatal(err)
		}
	}
	return e
}

// inProcess connects c in process, as services in the suite do.
func (e *authEnv) inProcess(t *testing.T, c *natsx.Credential) *nats.Conn {
	t.Helper()
	nc, err := natsx.ConnectInProcess(e.ns, natsx.WithCredential(c), natsx.WithLogger(nil))
	if err != nil {
		t.Fatalf("connect as %s: %v", c, err)
	}
	t.Cleanup(nc.Close)
	return nc
}

// dial connects over the loopback port without retries, as an outside subscriber would.
func (e *authEnv) dial(opts ...nats.Option) (*nats.Conn, error) {
	return nats.Connect(e.ns.ClientURL(), append([]nats.Option{nats.NoReconnect(), natsx.WithLogger(nil)}, opts...)...)
}

// lastError flushes nc and returns the error the server answered its earlier operations with:
// the server checks permissions in order, and its -ERR arrives before the flush's PONG.
func lastError(t *testing.T, nc *nats.Conn) error {
	t.Helper()
	if err := nc.FlushTimeout(5 * time.Second); err != nil {
		t.Fatalf("flush: %v", err)
	}
	return nc.LastError()
}

func jetStream(t *testing.T, nc *nats.Conn) jetstream.JetStream {
	t.Helper()
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	return js
}

func TestAuthRefusesWithoutCredentials(t *testing.T) {
	t.Parallel()
	e := startAuthServer(t)
	other, err := natsx.OpenAuthority(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	foreign, err := other.IssueService("member", natsx.ServiceGrant{Service: "member", Produces: true})
	if err != nil {
		t.Fatal(err)
	}
	expired, err := e.auth.TenantIssuer().IssueTenant("acme", time.Now().Add(-time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	acme, err := e.auth.TenantIssuer().IssueTenant("acme", time.Now().Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	beta, err := e.auth.TenantIssuer().IssueTenant("beta", time.Now().Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	jwtOf := func(c *natsx.Credential) string {
		parsed := strings.Split(string(c.Creds()), "\n")
		return parsed[1] // the line after "-----BEGIN NATS USER JWT-----"
	}
	seedOf := func(c *natsx.Credential) string {
		lines := strings.Split(string(c.Creds()), "\n")
		for i, l := range lines {
			if strings.Contains(l, "BEGIN USER NKEY SEED") {
				return lines[i+1]
			}
		}
		t.Fatal("no seed in creds")
		return ""
	}
	// Refusals are checked over the network, where strangers come from. An in-process client is
	// refused too, but over net.Pipe the server's refusal waits for its write deadline (10 s).
	tests := []struct {
		name       string
		inProcess  bool
		opts       []nats.Option
		wantRefuse bool
	}{
		{name: "anonymous", wantRefuse: true},
		{name: "user and password", opts: []nats.Option{nats.UserInfo("admin", "admin")}, wantRefuse: true},
		{name: "token", opts: []nats.Option{nats.Token("s3cr3t")}, wantRefuse: true},
		{name: "another authority's credential", opts: []nats.Option{natsx.WithCredential(foreign)}, wantRefuse: true},
		{name: "expired tenant credential", opts: []nats.Option{natsx.WithCredential(expired)}, wantRefuse: true},
		{name: "a tenant's JWT with another key", opts: []nats.Option{nats.UserJWTAndSeed(jwtOf(acme), seedOf(beta))}, wantRefuse: true},
		{name: "tenant credential", opts: []nats.Option{natsx.WithCredential(acme)}},
		{name: "service credential", opts: []nats.Option{natsx.WithCredential(e.member)}},
		{name: "service credential in process", inProcess: true, opts: []nats.Option{natsx.WithCredential(e.member)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var nc *nats.Conn
			var err error
			if tt.inProcess {
				nc, err = natsx.ConnectInProcess(e.ns, append([]nats.Option{natsx.WithLogger(nil)}, tt.opts...)...)
			} else {
				nc, err = e.dial(tt.opts...)
			}
			if err == nil {
				defer nc.Close()
			}
			if tt.wantRefuse {
				if err == nil {
					t.Fatal("connected, want refused")
				}
				if !errors.Is(err, nats.ErrAuthorization) && !errors.Is(err, nats.ErrAuthExpired) {
					t.Fatalf("err = %v, want an authorization error", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("refused: %v", err)
			}
		})
	}
}

// TestServicePermissions is the matrix of what a service credential may do beyond its grant:
// publish only on its own subjects (a forged member event from loyalty is refused), subscribe
// only to iam's events and its own inbox, touch only its own stream and durable.
func TestServicePermissions(t *testing.T) {
	t.Parallel()
	e := startAuthServer(t)
	memberInbox := e.member.InboxPrefix()
	type op struct {
		pub, sub string
	}
	tests := []struct {
		name  string
		as    *natsx.Credential
		op    op
		allow bool
	}{
		{"member publishes its events", e.member, op{pub: "huiyuan.acme.member.v1.member_updated"}, true},
		{"loyalty forges a member event", e.loyalty, op{pub: "huiyuan.acme.member.v1.member_updated"}, false},
		{"loyalty publishes its events", e.loyalty, op{pub: "huiyuan.acme.loyalty.v1.points_earned"}, true},
		{"member publishes loyalty's", e.member, op{pub: "huiyuan.acme.loyalty.v1.points_earned"}, false},
		{"gateway publishes", e.gateway, op{pub: "huiyuan.acme.gateway.v1.x"}, false},
		{"publish outside huiyuan", e.member, op{pub: "crm.sync"}, false},
		{"member listens to iam", e.member, op{sub: "huiyuan.*.iam.v1.>"}, true},
		{"gateway listens to iam", e.gateway, op{sub: "huiyuan.*.iam.v1.>"}, true},
		{"loyalty listens to member token revocations", e.loyalty, op{sub: "huiyuan.*.member.v1.member_tokens_revoked"}, true},
		{"gateway listens to member token revocations", e.gateway, op{sub: natsx.MemberTokenRevocations}, true},
		{"loyalty subscribes to another member event", e.loyalty, op{sub: "huiyuan.*.member.v1.member_updated"}, false},
		{"loyalty subscribes to member's subjects", e.loyalty, op{sub: "huiyuan.acme.member.v1.>"}, false},
		{"loyalty subscribes to everything", e.loyalty, op{sub: ">"}, false},
		{"member subscribes to its own events", e.member, op{sub: "huiyuan.*.member.v1.>"}, false},
		{"own inbox", e.member, op{sub: memberInbox + ".>"}, true},
		{"another service's inbox", e.loyalty, op{sub: memberInbox + ".>"}, false},
		{"the default inbox", e.loyalty, op{sub: "_INBOX.>"}, false},
		{"producer declares its stream", e.member, op{pub: "$JS.API.STREAM.CREATE.MEMBER"}, true},
		{"consumer creates its durable", e.loyalty, op{pub: "$JS.API.CONSUMER.CREATE.MEMBER.loyalty"}, true},
		{"consumer creates another durable", e.loyalty, op{pub: "$JS.API.CONSUMER.CREATE.MEMBER.analytics"}, false},
		{"consumer pulls another durable", e.loyalty, op{pub: "$JS.API.CONSUMER.MSG.NEXT.MEMBER.analytics"}, false},
		{"consumer acks for another durable", e.loyalty, op{pub: "$JS.ACK.MEMBER.analytics.1.1.1.1.0"}, false},
		{"consumer deletes its durable", e.loyalty, op{pub: "$JS.API.CONSUMER.DELETE.MEMBER.loyalty"}, false},
		{"consumer reconfigures the producer's stream", e.loyalty, op{pub: "$JS.API.STREAM.UPDATE.MEMBER"}, false},
		{"consumer deletes the producer's stream", e.loyalty, op{pub: "$JS.API.STREAM.DELETE.MEMBER"}, false},
		{"producer purges its stream", e.member, op{pub: "$JS.API.STREAM.PURGE.MEMBER"}, false},
		{"producer reads another stream", e.member, op{pub: "$JS.API.STREAM.MSG.GET.LOYALTY"}, false},
		{"producer consumes a stream it does not", e.member, op{pub: "$JS.API.CONSUMER.CREATE.LOYALTY.member"}, false},
		{"list streams", e.loyalty, op{pub: "$JS.API.STREAM.LIST"}, false},
		{"account info", e.loyalty, op{pub: "$JS.API.INFO"}, false},
		{"system requests", e.member, op{pub: "$SYS.REQ.SERVER.PING"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			nc := e.inProcess(t, tt.as)
			var subject string
			if tt.op.pub != "" {
				subject = tt.op.pub
				if err := nc.Publish(subject, []byte("{}")); err != nil {
					t.Fatal(err)
				}
			} else {
				subject = tt.op.sub
				if _, err := nc.SubscribeSync(subject); err != nil {
					t.Fatal(err)
				}
			}
			err := lastError(t, nc)
			if tt.allow && err != nil {
				t.Fatalf("%s: %v", subject, err)
			}
			if !tt.allow && (!errors.Is(err, nats.ErrPermissionViolation) || !strings.Contains(err.Error(), subject)) {
				t.Fatalf("%s: err = %v, want a permission violation", subject, err)
			}
		})
	}
}

// TestForgedEventNotStored publishes a member event with loyalty's credential through JetStream
// and checks that the broker refuses it and the MEMBER stream does not store it.
func TestForgedEventNotStored(t *testing.T) {
	t.Parallel()
	e := startAuthServer(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	memberJS := jetStream(t, e.inProcess(t, e.member))
	stream, err := natsx.EnsureStream(ctx, memberJS, "member")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := memberJS.Publish(ctx, "huiyuan.acme.member.v1.member_registered", []byte("real")); err != nil {
		t.Fatal(err)
	}

	forger := e.inProcess(t, e.loyalty)
	pctx, pcancel := context.WithTimeout(ctx, 500*time.Millisecond)
	_, err = jetStream(t, forger).Publish(pctx, "huiyuan.acme.member.v1.member_updated", []byte("forged"))
	pcancel()
	if err == nil {
		t.Fatal("the broker acknowledged a forged member event")
	}
	if err := forger.LastError(); !errors.Is(err, nats.ErrPermissionViolation) {
		t.Fatalf("forger's error = %v, want a permission violation", err)
	}
	info, err := stream.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if info.State.Msgs != 1 {
		t.Fatalf("MEMBER holds %d messages, want only the real one", info.State.Msgs)
	}
	if _, err := stream.GetLastMsgForSubject(ctx, "huiyuan.acme.member.v1.member_updated"); !errors.Is(err, jetstream.ErrMsgNotFound) {
		t.Fatalf("last forged-subject message: err = %v, want not found", err)
	}
}

// TestTenantCredential checks an outside subscriber's credential: it reads its tenant's live
// events, nothing of another tenant, and publishes nothing (JetStream's API included).
func TestTenantCredential(t *testing.T) {
	t.Parallel()
	e := startAuthServer(t)
	issue := func(tenant string) *natsx.Credential {
		c, err := e.auth.TenantIssuer().IssueTenant(tenant, time.Now().Add(time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	acme := issue("acme")

	t.Run("permissions", func(t *testing.T) {
		tests := []struct {
			pub, sub string
			allow    bool
		}{
			{sub: "huiyuan.acme.>", allow: true},
			{sub: "huiyuan.acme.member.v1.>", allow: true},
			{sub: acme.InboxPrefix() + ".>", allow: true},
			{sub: "huiyuan.beta.>"},
			{sub: "huiyuan.beta.member.v1.member_updated"},
			{sub: "huiyuan.*.member.v1.>"},
			{sub: "huiyuan.>"},
			{sub: ">"},
			{sub: "_INBOX.>"},
			{sub: "$JS.API.>"},
			{pub: "huiyuan.acme.member.v1.member_updated"},
			{pub: "huiyuan.acme.x"},
			{pub: "$JS.API.STREAM.INFO.MEMBER"},
			{pub: "$JS.API.CONSUMER.CREATE.MEMBER.loyalty"},
			{pub: "$JS.API.CONSUMER.MSG.NEXT.MEMBER.loyalty"},
			{pub: "$JS.API.DIRECT.GET.MEMBER.huiyuan.beta.member.v1.>"},
			{pub: acme.InboxPrefix() + ".x"},
		}
		for _, tt := range tests {
			subject := tt.pub + tt.sub
			t.Run(subject, func(t *testing.T) {
				nc, err := e.dial(natsx.WithCredential(acme))
				if err != nil {
					t.Fatal(err)
				}
				defer nc.Close()
				if tt.pub != "" {
					err = nc.Publish(tt.pub, []byte("x"))
				} else {
					_, err = nc.SubscribeSync(tt.sub)
				}
				if err != nil {
					t.Fatal(err)
				}
				err = lastError(t, nc)
				if tt.allow && err != nil {
					t.Fatalf("%s: %v", subject, err)
				}
				if !tt.allow && (!errors.Is(err, nats.ErrPermissionViolation) || !strings.Contains(err.Error(), subject)) {
					t.Fatalf("%s: err = %v, want a permission violation", subject, err)
				}
			})
		}
	})

	t.Run("live events", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		subs := map[string]*nats.Subscription{}
		for _, tenant := range []string{"acme", "beta"} {
			nc, err := e.dial(natsx.WithCredential(issue(tenant)))
			if err != nil {
				t.Fatal(err)
			}
			defer nc.Close()
			sub, err := nc.SubscribeSync(natsx.TenantSubjects(tenant))
			if err != nil {
				t.Fatal(err)
			}
			if err := lastError(t, nc); err != nil {
				t.Fatal(err)
			}
			subs[tenant] = sub
		}
		js := jetStream(t, e.inProcess(t, e.member))
		if _, err := natsx.EnsureStream(ctx, js, "member"); err != nil {
			t.Fatal(err)
		}
		published := []string{"huiyuan.acme.member.v1.member_registered", "huiyuan.beta.member.v1.member_registered",
			"huiyuan.acme.member.v1.member_updated", "huiyuan.beta.member.v1.member_updated"}
		for _, s := range published {
			if _, err := js.Publish(ctx, s, []byte(s)); err != nil {
				t.Fatal(err)
			}
		}
		for tenant, sub := range subs {
			for _, want := range published {
				if !strings.HasPrefix(want, "huiyuan."+tenant+".") {
					continue
				}
				m, err := sub.NextMsg(10 * time.Second)
				if err != nil {
					t.Fatalf("%s waiting for %s: %v", tenant, want, err)
				}
				if m.Subject != want {
					t.Fatalf("%s received %s, want %s", tenant, m.Subject, want)
				}
			}
			if n, _, _ := sub.Pending(); n != 0 {
				t.Fatalf("%s has %d more messages, want none", tenant, n)
			}
		}
	})
}
