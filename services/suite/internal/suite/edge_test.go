package suite_test

import (
	"net/url"
	"slices"
	"strings"
	"testing"
)

func TestEdgeMembers(t *testing.T) {
	r := startSuite(t)

	t.Run("health, openapi and metrics need no key", func(t *testing.T) {
		r.call(t, "GET", "/healthz", "", nil).must(t, 200)
		r.call(t, "GET", "/readyz", "", nil).must(t, 200)
		if body := r.call(t, "GET", "/openapi.json", "", nil).must(t, 200); body["openapi"] != "3.0.3" {
			t.Fatalf("openapi: %v", body["openapi"])
		}
		r.call(t, "GET", "/metrics", "", nil).must(t, 200)
	})
	t.Run("401 without, or with a wrong, key", func(t *testing.T) {
		for _, key := range []string{"", "hy_not_a_key", "a.b.c"} {
			r.call(t, "GET", "/v1/members", key, nil).must(t, 401)
		}
	})

	_, op := r.newKey(t, "OPERATOR", "")
	_, analyst := r.newKey(t, "ANALYST", "")

	newMember := map[string]any{
		"requestId": "reg-1",
		"member": map[string]any{
			"displayName": "李雷", "phone": "138 0013 8000", "email": "Li.Lei@Example.COM",
			"birthday": "1990-05-01", "gender": "MALE", "channel": "STORE",
			"storeId": "store-7", "tags": []string{"vip"},
		},
		"consents": []map[string]any{{"purpose": "MARKETING_SMS", "granted": true}},
	}
	created := r.call(t, "POST", "/v1/members", op, newMember).must(t, 200)
	id, _ := created["id"].(string)
	t.Run("register normalises and answers the Member", func(t *testing.T) {
		want := map[string]any{
			"name": "members/" + id, "displayName": "李雷", "phone": "+8613800138000",
			"birthday": "1990-05-01", "status": "ACTIVE", "channel": "STORE", "storeId": "store-7",
		}
		for k, v := range want {
			if created[k] != v {
				t.Errorf("%s = %v, want %v", k, created[k], v)
			}
		}
		if e, _ := created["email"].(string); !strings.EqualFold(e, "li.lei@example.com") || !strings.HasSuffix(e, "@example.com") {
			t.Errorf("email = %q", e)
		}
		for _, k := range []string{"tier", "createTime"} {
			if _, ok := created[k]; !ok {
				t.Errorf("answer lacks %s: %v", k, created)
			}
		}
	})
	t.Run("retry with the same requestId returns the first answer", func(t *testing.T) {
		again := r.call(t, "POST", "/v1/members", op, newMember).must(t, 200)
		if again["id"] != id || again["createTime"] != created["createTime"] {
			t.Fatalf("retry answered %v, first %v", again, created)
		}
	})
	t.Run("same requestId, different request: 400", func(t *testing.T) {
		other := map[string]any{"requestId": "reg-1", "member": map[string]any{"displayName": "x", "phone": "13900139000"}}
		rp := r.call(t, "POST", "/v1/members", op, other)
		rp.must(t, 400)
		if reason, _ := rp.reason(); reason != "REQUEST_ID_REUSED" {
			t.Fatalf("reason %q: %s", reason, rp.raw)
		}
	})
	t.Run("duplicate phone: 409", func(t *testing.T) {
		dup := map[string]any{"requestId": "reg-2", "member": map[string]any{"displayName": "Han Meimei", "phone": "+86 138-0013-8000"}}
		rp := r.call(t, "POST", "/v1/members", op, dup)
		rp.must(t, 409)
		if reason, _ := rp.reason(); reason != "MEMBER_PHONE_EXISTS" {
			t.Fatalf("reason %q: %s", reason, rp.raw)
		}
	})
	t.Run("bad input: 400 with field violations, nothing stored", func(t *testing.T) {
		bad := map[string]any{"requestId": "reg-3", "member": map[string]any{
			"displayName": "Bad", "phone": "abc", "email": "not-an-email", "birthday": "1990-02-30"}}
		rp := r.call(t, "POST", "/v1/members", op, bad)
		rp.must(t, 400)
		_, fields := rp.reason()
		for _, f := range []string{"member.phone", "member.email", "member.birthday"} {
			if !slices.Contains(fields, f) {
				t.Errorf("violations %v lack %s", fields, f)
			}
		}
		list := r.call(t, "GET", "/v1/members", op, nil).must(t, 200)
		if n := len(list["members"].([]any)); n != 1 {
			t.Fatalf("%d members after a rejected registration, want 1", n)
		}
	})
	t.Run("get, and 404 for an unknown id", func(t *testing.T) {
		got := r.call(t, "GET", "/v1/members/"+id, op, nil).must(t, 200)
		if got["phone"] != "+8613800138000" || got["displayName"] != "李雷" {
			t.Fatalf("get: %v", got)
		}
		r.call(t, "GET", "/v1/members/0190a0e0-0000-7000-8000-000000000000", op, nil).must(t, 404)
	})
	t.Run("lookup by phone and by email", func(t *testing.T) {
		for _, q := range []string{"phone=" + url.QueryEscape("13800138000"), "email=" + url.QueryEscape("li.lei@example.com")} {
			got := r.call(t, "GET", "/v1/members:lookup?"+q, op, nil).must(t, 200)
			if got["id"] != id {
				t.Fatalf("lookup %s: %v", q, got)
			}
		}
		r.call(t, "GET", "/v1/members:lookup?phone=13900000000", op, nil).must(t, 404)
	})
	t.Run("patch with an update mask", func(t *testing.T) {
		got := r.call(t, "PATCH", "/v1/members/"+id+"?updateMask=displayName,tags", op,
			map[string]any{"displayName": "Li Lei", "tags": []string{"vip", "gold"}, "phone": "13900139000"}).must(t, 200)
		if got["displayName"] != "Li Lei" || len(got["tags"].([]any)) != 2 || got["phone"] != "+8613800138000" {
			t.Fatalf("patch: %v", got)
		}
		rp := r.call(t, "PATCH", "/v1/members/"+id+"?updateMask=birthday", op, map[string]any{"birthday": "2990-01-01"})
		rp.must(t, 400)
	})
	t.Run("list pages and filters", func(t *testing.T) {
		for i, p := range []string{"13700137001", "13700137002", "13700137003"} {
			r.call(t, "POST", "/v1/members", op, map[string]any{"requestId": "page-" + p, "member": map[string]any{
				"displayName": "M" + p, "phone": p, "storeId": []string{"store-1", "store-2", "store-1"}[i], "channel": "ONLINE"}}).must(t, 200)
		}
		seen := map[string]bool{}
		token := ""
		for pages := 0; ; pages++ {
			if pages > 10 {
				t.Fatal("paging does not end")
			}
			body := r.call(t, "GET", "/v1/members?pageSize=2&pageToken="+url.QueryEscape(token), op, nil).must(t, 200)
			for _, m := range body["members"].([]any) {
				seen[m.(map[string]any)["id"].(string)] = true
			}
			token, _ = body["nextPageToken"].(string)
			if token == "" {
				break
			}
		}
		if len(seen) != 4 {
			t.Fatalf("paged through %d members, want 4", len(seen))
		}
		body := r.call(t, "GET", "/v1/members?filter="+url.QueryEscape(`store_id = "store-1" AND channel = ONLINE`), op, nil).must(t, 200)
		if n := len(body["members"].([]any)); n != 2 {
			t.Fatalf("filter matched %d, want 2: %s", n, body)
		}
		rp := r.call(t, "GET", "/v1/members?filter="+url.QueryEscape(`shoe_size > 3`), op, nil)
		rp.must(t, 400)
		r.call(t, "GET", "/v1/members?pageToken=%%%", op, nil).must(t, 400)
	})
	t.Run("analyst reads without personal fields and cannot write: 403", func(t *testing.T) {
		got := r.call(t, "GET", "/v1/members/"+id, analyst, nil).must(t, 200)
		for _, k := range []string{"displayName", "phone", "email", "birthday"} {
			if v, _ := got[k].(string); v != "" {
				t.Errorf("analyst sees %s = %q", k, v)
			}
		}
		r.call(t, "POST", "/v1/members", analyst, map[string]any{"requestId": "a-1", "member": map[string]any{"displayName": "x", "phone": "13600136000"}}).must(t, 403)
	})
	t.Run("another tenant's members do not exist for it", func(t *testing.T) {
		_, acme := r.newKey(t, "OPERATOR", "acme")
		r.call(t, "GET", "/v1/members/"+id, acme, nil).must(t, 404)
		list := r.call(t, "GET", "/v1/members", acme, nil).must(t, 200)
		if n := len(list["members"].([]any)); n != 0 {
			t.Fatalf("acme lists %d members", n)
		}
		// The same phone is free in another tenant.
		r.call(t, "POST", "/v1/members", acme, map[string]any{"requestId": "reg-1", "member": map[string]any{"displayName": "Acme Li", "phone": "13800138000"}}).must(t, 200)
	})
	t.Run("erase destroys personal data", func(t *testing.T) {
		got := r.call(t, "POST", "/v1/members/"+id+":erase", op, map[string]any{"requestId": "erase-1"})
		// Erasure is for admins (and the member); an operator is refused.
		got.must(t, 403)
		erased := r.call(t, "POST", "/v1/members/"+id+":erase", adminKey, map[string]any{"requestId": "erase-1"}).must(t, 200)
		if erased["status"] != "ERASED" || erased["phone"] != "" || erased["displayName"] != "" {
			t.Fatalf("erased: %v", erased)
		}
		r.call(t, "GET", "/v1/members:lookup?phone=13800138000", op, nil).must(t, 404)
		again := r.call(t, "GET", "/v1/members/"+id, op, nil).must(t, 200)
		if again["email"] != "" || again["status"] != "ERASED" {
			t.Fatalf("after erase: %v", again)
		}
	})
}

func TestEdgeApiKeys(t *testing.T) {
	r := startSuite(t)
	id, op := r.newKey(t, "OPERATOR", "")
	list := r.call(t, "GET", "/v1/apiKeys", adminKey, nil).must(t, 200)
	keys := list["apiKeys"].([]any)
	if len(keys) < 2 {
		t.Fatalf("keys: %v", keys)
	}
	if strings.Contains(string(r.call(t, "GET", "/v1/apiKeys", adminKey, nil).raw), op) {
		t.Fatal("list shows a secret")
	}
	r.call(t, "GET", "/v1/apiKeys", op, nil).must(t, 403)
	r.call(t, "GET", "/v1/ping", op, nil).must(t, 200)
	rp := r.call(t, "POST", "/v1/apiKeys", adminKey, map[string]any{"requestId": "k-bad", "apiKey": map[string]any{"displayName": "", "role": "MEMBER"}})
	rp.must(t, 400)
	revoked := r.call(t, "POST", "/v1/apiKeys/"+id+":revoke", adminKey, map[string]any{"requestId": "rv-1"}).must(t, 200)
	if revoked["id"] != id || revoked["revokeTime"] == nil {
		t.Fatalf("revoke: %v", revoked)
	}
	r.call(t, "GET", "/v1/ping", op, nil).must(t, 401)
	// An admin of another tenant cannot create keys elsewhere.
	_, acmeAdmin := r.newKey(t, "ADMIN", "acme")
	rp = r.call(t, "POST", "/v1/apiKeys", acmeAdmin, map[string]any{"requestId": "k-x", "apiKey": map[string]any{"displayName": "x", "role": "ADMIN", "tenant": "default"}})
	rp.must(t, 403)
}
