package brokerapi_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/huiyuan-dev/huiyuan/pkg/auth"
	"github.com/huiyuan-dev/huiyuan/pkg/auth/brokerapi"
	"github.com/huiyuan-dev/huiyuan/pkg/boltx/bolttest"
	"github.com/huiyuan-dev/huiyuan/pkg/clock"
	"github.com/huiyuan-dev/huiyuan/pkg/grpcx"
	"github.com/huiyuan-dev/huiyuan/pkg/natsx"
	"github.com/huiyuan-dev/huiyuan/pkg/natsx/natstest"

	iamv1 "github.com/huiyuan-dev/huiyuan/gen/huiyuan/iam/v1"
)

const operatorSecret = "operator-bootstrap-secret"

// env is the credential service behind the real interceptor chain on a loopback gRPC server,
// issuing for an embedded broker in operator mode.
type env struct {
	keys   *auth.KeyStore
	client iamv1.BrokerCredentialServiceClient
	conn   *grpc.ClientConn
	ns     *server.Server
	auth   *natsx.Authority
	clk    *clock.Fake
}

func newEnv(t *testing.T, issuer func(*natsx.Authority) *natsx.TenantIssuer) *env {
	t.Helper()
	clk := clock.NewFake(time.Now().UTC().Truncate(time.Second))
	keys, err := auth.NewKeyStore(bolttest.Open(t, auth.Buckets()...), clk)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := keys.Bootstrap(context.Background(), auth.DefaultTenant, operatorSecret); err != nil {
		t.Fatal(err)
	}
	ns, a := natstest.RunWithAuth(t)

	srv := grpcx.NewServer(grpcx.Config{Domain: "iam.huiyuan.dev", Auth: keys, Policy: brokerapi.Policy()})
	iamv1.RegisterBrokerCredentialServiceServer(srv, brokerapi.New(issuer(a), brokerapi.Options{URL: ns.ClientURL(), Clock: clk}))
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(lis) }()
	t.Cleanup(func() {
		srv.Stop()
		if err := <-served; err != nil {
			t.Errorf("serve: %v", err)
		}
	})
	conn, err := grpc.NewClient(lis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return &env{keys: keys, client: iamv1.NewBrokerCredentialServiceClient(conn), conn: conn, ns: ns, auth: a, clk: clk}
}

func withIssuer(a *natsx.Authority) *natsx.TenantIssuer { return a.TenantIssuer() }

func as(secret string) context.Context {
	return metadata.AppendToOutgoingContext(context.Background(), "authorization", "Bearer "+secret)
}

func (e *env) key(t *testing.T, tenant string, role iamv1.Role) string {
	t.Helper()
	_, secret, err := e.keys.Create(context.Background(), tenant, "k", role)
	if err != nil {
		t.Fatal(err)
	}
	return secret
}

// reasonOf returns the ErrorInfo reason and the BadRequest fields of a status error.
func reasonOf(err error) (string, []string) {
	var reason string
	var fields []string
	for _, d := range status.Convert(err).Details() {
		switch d := d.(type) {
		case *errdetails.ErrorInfo:
			reason = d.GetReason()
		case *errdetails.BadRequest:
			for _, v := range d.GetFieldViolations() {
				fields = append(fields, v.GetField())
			}
		}
	}
	return reason, fields
}

func TestIssueBrokerCredential(t *testing.T) {
	e := newEnv(t, withIssuer)
	acmeAdmin := e.key(t, "acme", iamv1.Role_ADMIN)
	acmeOperator := e.key(t, "acme", iamv1.Role_OPERATOR)
	tests := []struct {
		name       string
		caller     string
		tenant     string
		ttl        *durationpb.Duration
		code       codes.Code
		reason     string
		field      string
		wantTenant string
		wantTTL    time.Duration
	}{
		{name: "own tenant by default", caller: acmeAdmin, wantTenant: "acme", wantTTL: natsx.DefaultTenantTTL},
		{name: "own tenant named", caller: acmeAdmin, tenant: "acme", ttl: durationpb.New(time.Hour), wantTenant: "acme", wantTTL: time.Hour},
		{name: "operator names a tenant", caller: operatorSecret, tenant: "beta", wantTenant: "beta", wantTTL: natsx.DefaultTenantTTL},
		{name: "longest ttl", caller: acmeAdmin, ttl: durationpb.New(brokerapi.DefaultMaxTTL), wantTenant: "acme", wantTTL: brokerapi.DefaultMaxTTL},
		{name: "other tenant forbidden", caller: acmeAdmin, tenant: "beta", code: codes.PermissionDenied, reason: "PERMISSION_DENIED"},
		{name: "operator role may not", caller: acmeOperator, code: codes.PermissionDenied, reason: "PERMISSION_DENIED"},
		{name: "no credentials", caller: "", code: codes.Unauthenticated, reason: "UNAUTHENTICATED"},
		{name: "unknown key", caller: "hy_unknown", code: codes.Unauthenticated, reason: "INVALID_API_KEY"},
		{name: "bad tenant", caller: operatorSecret, tenant: "Beta!", code: codes.InvalidArgument, field: "tenant"},
		{name: "wildcard tenant", caller: operatorSecret, tenant: "*", code: codes.InvalidArgument, field: "tenant"},
		{name: "ttl too short", caller: acmeAdmin, ttl: durationpb.New(time.Second), code: codes.InvalidArgument, field: "ttl"},
		{name: "ttl too long", caller: acmeAdmin, ttl: durationpb.New(brokerapi.DefaultMaxTTL + time.Second), code: codes.InvalidArgument, field: "ttl"},
		{name: "negative ttl", caller: acmeAdmin, ttl: durationpb.New(-time.Hour), code: codes.InvalidArgument, field: "ttl"},
		{name: "malformed ttl", caller: acmeAdmin, ttl: &durationpb.Duration{Seconds: 3600, Nanos: -1}, code: codes.InvalidArgument, field: "ttl"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, err := e.client.IssueBrokerCredential(as(tt.caller), &iamv1.IssueBrokerCredentialRequest{
				RequestId: "r-" + strings.ReplaceAll(tt.name, " ", "-"), Tenant: tt.tenant, Ttl: tt.ttl,
			})
			if status.Code(err) != tt.code {
				t.Fatalf("err = %v, want %s", err, tt.code)
			}
			reason, fields := reasonOf(err)
			if tt.reason != "" && reason != tt.reason {
				t.Fatalf("reason = %q, want %q", reason, tt.reason)
			}
			if tt.field != "" && (len(fields) != 1 || fields[0] != tt.field) {
				t.Fatalf("violations = %v, want %s", fields, tt.field)
			}
			if err != nil {
				return
			}
			c, err := natsx.ParseCredential([]byte(resp.GetCreds()))
			if err != nil {
				t.Fatalf("creds do not parse: %v", err)
			}
			wantExpiry := e.clk.Now().Add(tt.wantTTL)
			if !resp.GetExpireTime().AsTime().Equal(wantExpiry) || !c.Expires().Equal(wantExpiry) {
				t.Fatalf("expire_time %v, credential expires %v, want %v", resp.GetExpireTime().AsTime(), c.Expires(), wantExpiry)
			}
			if resp.GetTenant() != tt.wantTenant || resp.GetSubjectFilter() != "huiyuan."+tt.wantTenant+".>" ||
				resp.GetNatsUrl() != e.ns.ClientURL() || resp.GetUser() != c.User() {
				t.Fatalf("response = %v", resp)
			}
		})
	}
}

// TestIssuedCredentialWorks connects with an issued credential: it receives its tenant's events
// and may not subscribe to another tenant's.
func TestIssuedCredentialWorks(t *testing.T) {
	e := newEnv(t, withIssuer)
	resp, err := e.client.IssueBrokerCredential(as(e.key(t, "acme", iamv1.Role_ADMIN)), &iamv1.IssueBrokerCredentialRequest{})
	if err != nil {
		t.Fatal(err)
	}
	c, err := natsx.ParseCredential([]byte(resp.GetCreds()))
	if err != nil {
		t.Fatal(err)
	}
	nc, err := nats.Connect(resp.GetNatsUrl(), natsx.WithCredential(c), natsx.WithLogger(nil), nats.NoReconnect())
	if err != nil {
		t.Fatalf("connect with the issued credential: %v", err)
	}
	defer nc.Close()
	sub, err := nc.SubscribeSync(resp.GetSubjectFilter())
	if err != nil {
		t.Fatal(err)
	}
	if err := nc.Flush(); err != nil || nc.LastError() != nil {
		t.Fatalf("subscribe to %s: %v, %v", resp.GetSubjectFilter(), err, nc.LastError())
	}
	member, err := e.auth.IssueService("member", natsx.ServiceGrant{Service: "member", Produces: true})
	if err != nil {
		t.Fatal(err)
	}
	pub, err := natsx.ConnectInProcess(e.ns, natsx.WithCredential(member), natsx.WithLogger(nil))
	if err != nil {
		t.Fatal(err)
	}
	defer pub.Close()
	for _, s := range []string{"huiyuan.beta.member.v1.member_updated", "huiyuan.acme.member.v1.member_updated"} {
		if err := pub.Publish(s, []byte("x")); err != nil {
			t.Fatal(err)
		}
	}
	if err := pub.Flush(); err != nil {
		t.Fatal(err)
	}
	m, err := sub.NextMsg(10 * time.Second)
	if err != nil || m.Subject != "huiyuan.acme.member.v1.member_updated" {
		t.Fatalf("received %v, %v; want acme's event", m, err)
	}
	if _, err := nc.SubscribeSync("huiyuan.beta.>"); err != nil {
		t.Fatal(err)
	}
	if err := nc.Flush(); err != nil {
		t.Fatal(err)
	}
	if err := nc.LastError(); !errors.Is(err, nats.ErrPermissionViolation) {
		t.Fatalf("subscribing to another tenant: err = %v, want a permission violation", err)
	}
}

func TestIssueWithoutIssuer(t *testing.T) {
	e := newEnv(t, func(*natsx.Authority) *natsx.TenantIssuer { return nil })
	_, err := e.client.IssueBrokerCredential(as(operatorSecret), &iamv1.IssueBrokerCredentialRequest{})
	if reason, _ := reasonOf(err); status.Code(err) != codes.FailedPrecondition || reason != brokerapi.ReasonDisabled {
		t.Fatalf("err = %v, want FailedPrecondition %s", err, brokerapi.ReasonDisabled)
	}
}

// TestGateway issues a credential through the JSON edge's HTTP rule.
func TestGateway(t *testing.T) {
	e := newEnv(t, withIssuer)
	mux := runtime.NewServeMux()
	if err := iamv1.RegisterBrokerCredentialServiceHandlerClient(context.Background(), mux, e.client); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	post := func(key, body string) (int, map[string]any) {
		t.Helper()
		req, err := http.NewRequest(http.MethodPost, srv.URL+"/v1/brokerCredentials", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Authorization", "Bearer "+key)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		raw, _ := io.ReadAll(resp.Body)
		var out map[string]any
		if err := json.Unmarshal(raw, &out); err != nil {
			t.Fatalf("body %q: %v", raw, err)
		}
		return resp.StatusCode, out
	}
	code, body := post(operatorSecret, `{"requestId":"g1","tenant":"acme","ttl":"3600s"}`)
	if code != http.StatusOK || body["tenant"] != "acme" || body["subjectFilter"] != "huiyuan.acme.>" {
		t.Fatalf("POST /v1/brokerCredentials = %d %v", code, body)
	}
	creds, _ := body["creds"].(string)
	if _, err := natsx.ParseCredential([]byte(creds)); err != nil {
		t.Fatalf("creds in JSON do not parse: %v", err)
	}
	if code, _ := post(e.key(t, "acme", iamv1.Role_ANALYST), `{}`); code != http.StatusForbidden {
		t.Fatalf("an analyst got %d, want 403", code)
	}
}
