package suite_test

import (
	"crypto/rand"
	"encoding/base64"
	"slices"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// TestEdgeMemberTokens: the app backend's SERVICE key issues member tokens within the limits;
// a token signed with the installation's secret but living ten years is refused; a revoked
// token (one, or all of a member's, the member's own logout included) and an erased member's
// token are refused by the member routes and by loyalty's.
func TestEdgeMemberTokens(t *testing.T) {
	secret := make([]byte, 32)
	_, _ = rand.Read(secret)
	r := startSuite(t, "--jwt-secret="+base64.StdEncoding.EncodeToString(secret))
	_, op := r.newKey(t, "OPERATOR", "")
	_, svc := r.newKey(t, "SERVICE", "")
	newMember := func(phone string) string {
		return r.call(t, "POST", "/v1/members", op, map[string]any{"member": map[string]any{"displayName": "T", "phone": phone}}).
			must(t, 200)["id"].(string)
	}
	m := newMember("13800138601")
	issue := func(id string, body map[string]any) reply {
		return r.call(t, "POST", "/v1/members/"+id+":issueToken", svc, body)
	}
	token := func(id string) (string, string) {
		body := issue(id, map[string]any{"ttl": "3600s"}).must(t, 200)
		tok, _ := body["token"].(string)
		tid, _ := body["tokenId"].(string)
		if tok == "" || tid == "" || body["expireTime"] == nil {
			t.Fatalf("issued %v", body)
		}
		return tok, tid
	}
	// works and refused check the member routes and loyalty's with a member token.
	works := func(tok, id string) {
		t.Helper()
		r.call(t, "GET", "/v1/members/"+id, tok, nil).must(t, 200)
		r.call(t, "GET", "/v1/members/"+id+"/points", tok, nil).must(t, 200)
	}
	refused := func(tok, id, reason string) {
		t.Helper()
		for _, path := range []string{"/v1/members/" + id, "/v1/members/" + id + "/points"} {
			rp := r.call(t, "GET", path, tok, nil)
			if got, _ := rp.reason(); rp.status != 401 || got != reason {
				t.Fatalf("GET %s: %d %q, want 401 %s: %s", path, rp.status, got, reason, rp.raw)
			}
		}
	}

	t.Run("issuing", func(t *testing.T) {
		tok, _ := token(m)
		works(tok, m)
		for _, c := range []struct {
			name, key, id string
			body          map[string]any
			status        int
			reason, field string
		}{
			{"31 days", svc, m, map[string]any{"ttl": "2678400s"}, 400, "INVALID_ARGUMENT", "ttl"},
			{"negative", svc, m, map[string]any{"ttl": "-5s"}, 400, "INVALID_ARGUMENT", "ttl"},
			{"not a duration", svc, m, map[string]any{"ttl": "a week"}, 400, "INVALID_VALUE", "ttl"},
			{"unknown field", svc, m, map[string]any{"lifetime": "60s"}, 400, "UNKNOWN_FIELD", "lifetime"},
			{"unknown member", svc, "0190a0e0-0000-7000-8000-000000000000", map[string]any{}, 404, "MEMBER_NOT_FOUND", ""},
			{"operator key", op, m, map[string]any{}, 403, "PERMISSION_DENIED", ""},
			{"member token", tok, m, map[string]any{}, 403, "PERMISSION_DENIED", ""},
		} {
			rp := r.call(t, "POST", "/v1/members/"+c.id+":issueToken", c.key, c.body)
			reason, fields := rp.reason()
			if rp.status != c.status || reason != c.reason || (c.field != "" && !slices.Contains(fields, c.field)) {
				t.Fatalf("%s: %d %q %v: %s", c.name, rp.status, reason, fields, rp.raw)
			}
		}
		frozen := newMember("13800138602")
		r.call(t, "POST", "/v1/members/"+frozen+":changeStatus", op, map[string]any{"status": "FROZEN"}).must(t, 200)
		if rp := issue(frozen, map[string]any{}); rp.status != 400 {
			t.Fatalf("frozen member: %s", rp.raw)
		} else if reason, _ := rp.reason(); reason != "MEMBER_NOT_ACTIVE" {
			t.Fatalf("frozen member: %s", rp.raw)
		}
	})

	t.Run("lifetime", func(t *testing.T) {
		now := time.Now()
		for name, claims := range map[string]jwt.MapClaims{
			"ten years": {"iss": "huiyuan", "sub": m, "tnt": "default", "jti": "0190a0e0-0000-7000-8000-000000000007",
				"iat": now.Unix(), "exp": now.AddDate(10, 0, 0).Unix()},
			"no issue time": {"iss": "huiyuan", "sub": m, "tnt": "default", "jti": "0190a0e0-0000-7000-8000-000000000007",
				"exp": now.Add(time.Hour).Unix()},
		} {
			tok, err := jwt.NewWithClaims(jwt.SigningMethodHS256, claims).SignedString(secret)
			if err != nil {
				t.Fatal(err)
			}
			t.Log(name)
			refused(tok, m, "INVALID_TOKEN")
		}
	})

	t.Run("revocation", func(t *testing.T) {
		phone, phoneID := token(m)
		laptop, _ := token(m)
		rp := r.call(t, "POST", "/v1/members/"+m+"/tokens/"+phoneID+":revoke", op, map[string]any{"requestId": "rv-1"})
		if body := rp.must(t, 200); body["tokenId"] != phoneID || body["memberId"] != m || body["revokeTime"] == nil {
			t.Fatalf("revocation %s", rp.raw)
		}
		refused(phone, m, "TOKEN_REVOKED")
		works(laptop, m)
		rp = r.call(t, "POST", "/v1/members/"+m+"/tokens/not-a-token:revoke", op, map[string]any{})
		if reason, fields := rp.reason(); rp.status != 400 || reason != "INVALID_ARGUMENT" || !slices.Contains(fields, "tokenId") {
			t.Fatalf("bad token id: %s", rp.raw)
		}

		// The member logs out everywhere itself; another member's tokens it cannot touch.
		other := newMember("13800138603")
		otherTok, _ := token(other)
		r.call(t, "POST", "/v1/members/"+other+"/tokens:revoke", laptop, map[string]any{"requestId": "rv-x"}).must(t, 403)
		works(otherTok, other)
		r.call(t, "POST", "/v1/members/"+m+"/tokens:revoke", laptop, map[string]any{"requestId": "rv-all"}).must(t, 200)
		refused(laptop, m, "TOKEN_REVOKED")
		fresh, _ := token(m)
		works(fresh, m)

		// Erasure revokes all of the member's tokens.
		r.call(t, "POST", "/v1/members/"+other+":erase", otherTok, map[string]any{"requestId": "rv-erase"}).must(t, 200)
		refused(otherTok, other, "TOKEN_REVOKED")
	})
}
