package keyapi_test

import (
	"context"
	"testing"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/huiyuan-dev/huiyuan/pkg/auth"
	"github.com/huiyuan-dev/huiyuan/pkg/auth/keyapi"
	"github.com/huiyuan-dev/huiyuan/pkg/boltx/bolttest"
	"github.com/huiyuan-dev/huiyuan/pkg/clock"
	"github.com/huiyuan-dev/huiyuan/pkg/grpcx"
	"github.com/huiyuan-dev/huiyuan/pkg/idempotency"

	iamv1 "github.com/huiyuan-dev/huiyuan/gen/huiyuan/iam/v1"
)

const operatorSecret = "operator-bootstrap-secret"

// env is a key service behind the real interceptor chain, reached through a Channel.
type env struct {
	keys   *auth.KeyStore
	ch     *grpcx.Channel
	client iamv1.ApiKeyServiceClient
	srv    *keyapi.Server
	clk    *clock.Fake
}

func newEnv(t *testing.T) *env {
	t.Helper()
	db := bolttest.Open(t, append(auth.Buckets(), idempotency.Buckets()...)...)
	clk := clock.NewFake(t0())
	keys, err := auth.NewKeyStore(db, clk)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := keys.Bootstrap(context.Background(), auth.DefaultTenant, operatorSecret); err != nil {
		t.Fatal(err)
	}
	srv := keyapi.New(keys, clk, nil)
	ch := grpcx.NewChannel(grpcx.UnaryInterceptors(grpcx.Config{Domain: "iam.huiyuan.dev", Auth: keys, Policy: keyapi.Policy()})...)
	iamv1.RegisterApiKeyServiceServer(ch, srv)
	return &env{keys: keys, ch: ch, client: iamv1.NewApiKeyServiceClient(ch), srv: srv, clk: clk}
}

func as(secret string) context.Context {
	return metadata.AppendToOutgoingContext(context.Background(), "authorization", "Bearer "+secret)
}

// create makes a key as caller and returns its secret and id.
func (e *env) create(t *testing.T, caller, tenant string, role iamv1.Role) (string, string) {
	t.Helper()
	resp, err := e.client.CreateApiKey(as(caller), &iamv1.CreateApiKeyRequest{ApiKey: &iamv1.ApiKey{DisplayName: "k", Role: role, Tenant: tenant}})
	if err != nil {
		t.Fatalf("create %s key for %q: %v", role, tenant, err)
	}
	return resp.GetSecret(), resp.GetApiKey().GetId()
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

func TestCreateApiKey(t *testing.T) {
	e := newEnv(t)
	acmeAdmin, _ := e.create(t, operatorSecret, "acme", iamv1.Role_ADMIN)
	acmeOperator, _ := e.create(t, acmeAdmin, "", iamv1.Role_OPERATOR)
	tests := []struct {
		name       string
		caller     string
		key        *iamv1.ApiKey
		code       codes.Code
		reason     string
		field      string
		wantTenant string
	}{
		{name: "default tenant", caller: acmeAdmin, key: &iamv1.ApiKey{DisplayName: "till", Role: iamv1.Role_SERVICE}, wantTenant: "acme"},
		{name: "own tenant named", caller: acmeAdmin, key: &iamv1.ApiKey{DisplayName: "bi", Role: iamv1.Role_ANALYST, Tenant: "acme"}, wantTenant: "acme"},
		{name: "operator creates a tenant", caller: operatorSecret, key: &iamv1.ApiKey{DisplayName: "x", Role: iamv1.Role_ADMIN, Tenant: "beta"}, wantTenant: "beta"},
		{name: "other tenant forbidden", caller: acmeAdmin, key: &iamv1.ApiKey{DisplayName: "x", Role: iamv1.Role_ADMIN, Tenant: "beta"}, code: codes.PermissionDenied, reason: "PERMISSION_DENIED"},
		{name: "missing api_key", caller: acmeAdmin, code: codes.InvalidArgument, reason: "INVALID_ARGUMENT", field: "api_key"},
		{name: "member role", caller: acmeAdmin, key: &iamv1.ApiKey{DisplayName: "x", Role: iamv1.Role_MEMBER}, code: codes.InvalidArgument, field: "api_key.role"},
		{name: "no role", caller: acmeAdmin, key: &iamv1.ApiKey{DisplayName: "x"}, code: codes.InvalidArgument, field: "api_key.role"},
		{name: "no name", caller: acmeAdmin, key: &iamv1.ApiKey{Role: iamv1.Role_SERVICE}, code: codes.InvalidArgument, field: "api_key.display_name"},
		{name: "bad tenant", caller: operatorSecret, key: &iamv1.ApiKey{DisplayName: "x", Role: iamv1.Role_SERVICE, Tenant: "Beta!"}, code: codes.InvalidArgument, field: "api_key.tenant"},
		{name: "operator role may not", caller: acmeOperator, key: &iamv1.ApiKey{DisplayName: "x", Role: iamv1.Role_SERVICE}, code: codes.PermissionDenied, reason: "PERMISSION_DENIED"},
		{name: "empty bearer", caller: "", key: &iamv1.ApiKey{DisplayName: "x", Role: iamv1.Role_SERVICE}, code: codes.Unauthenticated, reason: "UNAUTHENTICATED"},
		{name: "unknown key", caller: "hy_unknown", key: &iamv1.ApiKey{DisplayName: "x", Role: iamv1.Role_SERVICE}, code: codes.Unauthenticated, reason: "INVALID_API_KEY"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, err := e.client.CreateApiKey(as(tt.caller), &iamv1.CreateApiKeyRequest{ApiKey: tt.key})
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
			if resp.GetApiKey().GetTenant() != tt.wantTenant || resp.GetSecret() == "" || resp.GetApiKey().GetCreateTime() == nil {
				t.Fatalf("response = %v", resp)
			}
			p, err := e.keys.Authenticate(context.Background(), resp.GetSecret())
			if err != nil || p.Tenant != tt.wantTenant || p.Role != tt.key.GetRole() {
				t.Fatalf("new key authenticates as %+v, %v", p, err)
			}
		})
	}
}

func TestCreateApiKeyIdempotent(t *testing.T) {
	e := newEnv(t)
	req := &iamv1.CreateApiKeyRequest{RequestId: "create-1", ApiKey: &iamv1.ApiKey{DisplayName: "till", Role: iamv1.Role_SERVICE}}
	first, err := e.client.CreateApiKey(as(operatorSecret), req)
	if err != nil {
		t.Fatal(err)
	}
	again, err := e.client.CreateApiKey(as(operatorSecret), req)
	if err != nil {
		t.Fatal(err)
	}
	if again.GetApiKey().GetId() != first.GetApiKey().GetId() {
		t.Fatalf("retry created another key: %s vs %s", again.GetApiKey().GetId(), first.GetApiKey().GetId())
	}
	if again.GetSecret() != "" {
		t.Fatal("a replay showed the secret again")
	}
	list, err := e.client.ListApiKeys(as(operatorSecret), &iamv1.ListApiKeysRequest{})
	if err != nil || len(list.GetApiKeys()) != 2 { // bootstrap + one
		t.Fatalf("list = %v, %v; want 2 keys", list, err)
	}
	req.ApiKey.DisplayName = "other"
	_, err = e.client.CreateApiKey(as(operatorSecret), req)
	if reason, fields := reasonOf(err); status.Code(err) != codes.InvalidArgument || reason != idempotency.ReasonRequestIDReused || len(fields) != 1 || fields[0] != "request_id" {
		t.Fatalf("reused request_id: %v", err)
	}
}

func TestListApiKeys(t *testing.T) {
	e := newEnv(t)
	acmeAdmin, _ := e.create(t, operatorSecret, "acme", iamv1.Role_ADMIN)
	e.create(t, acmeAdmin, "", iamv1.Role_SERVICE)
	e.create(t, operatorSecret, "beta", iamv1.Role_ADMIN)
	tests := []struct {
		caller string
		tenant string
		n      int
	}{
		{acmeAdmin, "acme", 2},
		{operatorSecret, auth.DefaultTenant, 1}, // the operator lists its own tenant only
	}
	for _, tt := range tests {
		list, err := e.client.ListApiKeys(as(tt.caller), &iamv1.ListApiKeysRequest{})
		if err != nil {
			t.Fatal(err)
		}
		if len(list.GetApiKeys()) != tt.n {
			t.Fatalf("%s lists %d keys, want %d", tt.tenant, len(list.GetApiKeys()), tt.n)
		}
		for _, k := range list.GetApiKeys() {
			if k.GetTenant() != tt.tenant {
				t.Fatalf("%s sees a key of %s", tt.tenant, k.GetTenant())
			}
		}
	}
}

func TestRevokeApiKey(t *testing.T) {
	e := newEnv(t)
	acmeAdmin, _ := e.create(t, operatorSecret, "acme", iamv1.Role_ADMIN)
	betaAdmin, _ := e.create(t, operatorSecret, "beta", iamv1.Role_ADMIN)
	acmeTill, acmeTillID := e.create(t, acmeAdmin, "", iamv1.Role_SERVICE)
	_, betaTillID := e.create(t, betaAdmin, "", iamv1.Role_SERVICE)
	acmeBI, acmeBIID := e.create(t, acmeAdmin, "", iamv1.Role_ANALYST)

	tests := []struct {
		name   string
		caller string
		id     string
		reqID  string
		code   codes.Code
		reason string
	}{
		{name: "empty id", caller: acmeAdmin, code: codes.InvalidArgument},
		{name: "unknown id", caller: acmeAdmin, id: "0190f7b4-7c1e-7f3a-8d2b-000000000000", code: codes.NotFound, reason: "API_KEY_NOT_FOUND"},
		{name: "other tenant's key", caller: acmeAdmin, id: betaTillID, code: codes.NotFound, reason: "API_KEY_NOT_FOUND"},
		{name: "own key", caller: acmeAdmin, id: acmeTillID, reqID: "rev-1"},
		{name: "retry", caller: acmeAdmin, id: acmeTillID, reqID: "rev-1"},
		{name: "again without id", caller: acmeAdmin, id: acmeTillID},
		{name: "reused id", caller: acmeAdmin, id: acmeBIID, reqID: "rev-1", code: codes.InvalidArgument, reason: idempotency.ReasonRequestIDReused},
		{name: "operator revokes any tenant's", caller: operatorSecret, id: betaTillID},
	}
	var revokeTime string
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, err := e.client.RevokeApiKey(as(tt.caller), &iamv1.RevokeApiKeyRequest{Id: tt.id, RequestId: tt.reqID})
			if status.Code(err) != tt.code {
				t.Fatalf("err = %v, want %s", err, tt.code)
			}
			if reason, _ := reasonOf(err); tt.reason != "" && reason != tt.reason {
				t.Fatalf("reason = %q, want %q", reason, tt.reason)
			}
			if err != nil {
				return
			}
			if resp.GetApiKey().GetId() != tt.id || resp.GetApiKey().GetRevokeTime() == nil {
				t.Fatalf("response = %v", resp)
			}
			if tt.id == acmeTillID {
				if ts := resp.GetApiKey().GetRevokeTime().String(); revokeTime == "" {
					revokeTime = ts
				} else if ts != revokeTime {
					t.Fatalf("revoke time changed on retry: %s vs %s", ts, revokeTime)
				}
			}
		})
	}
	// The revoked key stops working at once; the other acme key still works.
	if _, err := e.client.ListApiKeys(as(acmeTill), &iamv1.ListApiKeysRequest{}); status.Code(err) != codes.Unauthenticated {
		t.Fatalf("revoked key: %v, want Unauthenticated", err)
	}
	if _, err := e.keys.Authenticate(context.Background(), acmeBI); err != nil {
		t.Fatalf("unrevoked key: %v", err)
	}
}

func TestPrune(t *testing.T) {
	e := newEnv(t)
	for _, id := range []string{"a", "b", "c"} {
		_, err := e.client.CreateApiKey(as(operatorSecret), &iamv1.CreateApiKeyRequest{RequestId: id, ApiKey: &iamv1.ApiKey{DisplayName: id, Role: iamv1.Role_SERVICE}})
		if err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		advance time.Duration
		want    int
	}{
		{0, 0},
		{idempotency.Retention - time.Minute, 0}, // kept at least Retention
		{2 * time.Minute, 3},
		{time.Hour, 0},
	}
	for _, tt := range tests {
		e.clk.Advance(tt.advance)
		if n, err := e.srv.Prune(context.Background()); err != nil || n != tt.want {
			t.Fatalf("after +%s: Prune = %d, %v; want %d", tt.advance, n, err, tt.want)
		}
	}
	// Pruned: the same request_id acts again (a new key).
	resp, err := e.client.CreateApiKey(as(operatorSecret), &iamv1.CreateApiKeyRequest{RequestId: "a", ApiKey: &iamv1.ApiKey{DisplayName: "a", Role: iamv1.Role_SERVICE}})
	if err != nil || resp.GetSecret() == "" {
		t.Fatalf("after prune: %v, %v; want a new key with its secret", resp, err)
	}
}
