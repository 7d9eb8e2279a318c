package keyapi_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"

	iamv1 "github.com/huiyuan-dev/huiyuan/gen/huiyuan/iam/v1"
)

func t0() time.Time { return time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC) }

// TestGateway drives the JSON edge of API.md through grpc-gateway and the in-process Channel.
func TestGateway(t *testing.T) {
	e := newEnv(t)
	mux := runtime.NewServeMux()
	if err := iamv1.RegisterApiKeyServiceHandlerClient(context.Background(), mux, iamv1.NewApiKeyServiceClient(e.ch)); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)

	do := func(method, path, key, body string) (int, map[string]any) {
		t.Helper()
		req, err := http.NewRequest(method, srv.URL+path, strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		if key != "" {
			req.Header.Set("Authorization", "Bearer "+key)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		raw, _ := io.ReadAll(resp.Body)
		var out map[string]any
		if err := json.Unmarshal(raw, &out); err != nil {
			t.Fatalf("%s %s: body %q: %v", method, path, raw, err)
		}
		return resp.StatusCode, out
	}
	reason := func(body map[string]any) string {
		details, _ := body["details"].([]any)
		for _, d := range details {
			if m, _ := d.(map[string]any); m["@type"] == "type.googleapis.com/google.rpc.ErrorInfo" {
				r, _ := m["reason"].(string)
				return r
			}
		}
		return ""
	}

	code, body := do("POST", "/v1/apiKeys", "", `{"apiKey":{"displayName":"x","role":"SERVICE"}}`)
	if code != http.StatusUnauthorized || reason(body) != "UNAUTHENTICATED" {
		t.Fatalf("no key: %d %v", code, body)
	}
	code, body = do("POST", "/v1/apiKeys", "wrong-key-wrong-key", `{"apiKey":{"displayName":"x","role":"SERVICE"}}`)
	if code != http.StatusUnauthorized || reason(body) != "INVALID_API_KEY" {
		t.Fatalf("wrong key: %d %v", code, body)
	}
	code, body = do("POST", "/v1/apiKeys", operatorSecret, `{"requestId":"r1","apiKey":{"displayName":"till","role":"SERVICE","tenant":"acme"}}`)
	if code != http.StatusOK || body["secret"] == "" {
		t.Fatalf("create: %d %v", code, body)
	}
	key, _ := body["apiKey"].(map[string]any)
	if key["tenant"] != "acme" || key["role"] != "SERVICE" || key["displayName"] != "till" || key["id"] == "" || key["createTime"] == nil {
		t.Fatalf("created key = %v", key)
	}
	till, _ := body["secret"].(string)
	code, body = do("GET", "/v1/apiKeys", till, "")
	if code != http.StatusForbidden || reason(body) != "PERMISSION_DENIED" {
		t.Fatalf("service key listing keys: %d %v", code, body)
	}
	code, body = do("POST", "/v1/apiKeys", operatorSecret, `{"apiKey":{"displayName":"m","role":"MEMBER"}}`)
	if code != http.StatusBadRequest || reason(body) != "INVALID_ARGUMENT" {
		t.Fatalf("member role: %d %v", code, body)
	}
	code, body = do("GET", "/v1/apiKeys", operatorSecret, "")
	if keys, _ := body["apiKeys"].([]any); code != http.StatusOK || len(keys) != 1 {
		t.Fatalf("list: %d %v (want the operator's own key only)", code, body)
	}
	code, body = do("POST", "/v1/apiKeys/"+key["id"].(string)+":revoke", operatorSecret, `{"requestId":"rv1"}`)
	if code != http.StatusOK || body["id"] != key["id"] || body["revokeTime"] == nil {
		t.Fatalf("revoke: %d %v (want the ApiKey itself)", code, body)
	}
	code, body = do("GET", "/v1/apiKeys", till, "")
	if code != http.StatusUnauthorized || reason(body) != "INVALID_API_KEY" {
		t.Fatalf("revoked key: %d %v", code, body)
	}
}
