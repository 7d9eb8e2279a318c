package suite_test

import (
	"slices"
	"testing"
)

// personalFields lists what of a member body is personal or identifying beyond its id.
func personalFields(m map[string]any) []string {
	var out []string
	for _, f := range []string{"displayName", "phone", "email", "birthday", "address", "specialNeeds", "identifiers", "tags",
		"preferences", "consents"} {
		switch v := m[f].(type) {
		case nil:
		case string:
			if v != "" {
				out = append(out, f)
			}
		case []any:
			if len(v) > 0 {
				out = append(out, f)
			}
		case map[string]any:
			if len(v) > 0 {
				out = append(out, f)
			}
		}
	}
	if g, _ := m["gender"].(string); g != "" && g != "GENDER_UNSPECIFIED" {
		out = append(out, "gender")
	}
	return out
}

// TestEdgeMemberPrivacy: identifiers are personal data at the edge: an analyst sees their types
// only; bad identifiers are 400s naming the JSON path and change nothing; after erasure, a
// replay of every earlier request answers the erased member with nothing personal.
func TestEdgeMemberPrivacy(t *testing.T) {
	r := startSuite(t)
	_, op := r.newKey(t, "OPERATOR", "")
	_, analyst := r.newKey(t, "ANALYST", "")
	register := map[string]any{"requestId": "priv-reg", "member": map[string]any{"displayName": "Qian Wei", "phone": "13800138501",
		"email": "qian@example.com", "birthday": "1988-08-08", "gender": "FEMALE", "tags": []string{"vip"},
		"identifiers": []map[string]any{{"type": "card", "value": "CARD-7788"}}, "preferences": map[string]string{"language": "zh-CN"}},
		"consents": []map[string]any{{"purpose": "MARKETING_SMS", "granted": true}}}
	m := r.call(t, "POST", "/v1/members", op, register).must(t, 200)
	id := m["id"].(string)
	addID := map[string]any{"requestId": "priv-add", "identifier": map[string]any{"type": "wechat_openid", "value": "oWx-Private-1"}}
	r.call(t, "POST", "/v1/members/"+id+":addIdentifier", op, addID).must(t, 200)
	patch := map[string]any{"address": "8 Hidden Lane"}
	r.call(t, "PATCH", "/v1/members/"+id+"?requestId=priv-upd", op, patch).must(t, 200)

	t.Run("bad identifiers", func(t *testing.T) {
		oid := r.call(t, "POST", "/v1/members", op, map[string]any{"member": map[string]any{"displayName": "o", "phone": "13800138502"}}).
			must(t, 200)["id"].(string)
		for _, c := range []struct {
			name, reason, field string
			identifier          map[string]any
		}{
			{"type not a token", "INVALID_ARGUMENT", "identifier.type", map[string]any{"type": "Card No!", "value": "1"}},
			{"empty value", "INVALID_ARGUMENT", "identifier.value", map[string]any{"type": "card", "value": " "}},
			{"unknown field", "UNKNOWN_FIELD", "identifier.number", map[string]any{"type": "card", "number": "1"}},
			{"taken", "MEMBER_IDENTIFIER_EXISTS", "", map[string]any{"type": "card", "value": "CARD-7788"}},
		} {
			rp := r.call(t, "POST", "/v1/members/"+oid+":addIdentifier", op, map[string]any{"identifier": c.identifier})
			reason, fields := rp.reason()
			if rp.status/100 != 4 || reason != c.reason || (c.field != "" && !slices.Contains(fields, c.field)) {
				t.Fatalf("%s: %d %q %v: %s", c.name, rp.status, reason, fields, rp.raw)
			}
			if ids, _ := r.call(t, "GET", "/v1/members/"+oid, op, nil).must(t, 200)["identifiers"].([]any); len(ids) != 0 {
				t.Fatalf("%s: a refused identifier was stored: %v", c.name, ids)
			}
		}
	})

	t.Run("analysts see identifier types only", func(t *testing.T) {
		got := r.call(t, "GET", "/v1/members/"+id, analyst, nil).must(t, 200)
		listed := r.call(t, "GET", "/v1/members?filter=tag%20%3D%20vip", analyst, nil).must(t, 200)["members"].([]any)
		if len(listed) != 1 {
			t.Fatalf("listed %v", listed)
		}
		for _, m := range []map[string]any{got, listed[0].(map[string]any)} {
			ids, _ := m["identifiers"].([]any)
			if len(ids) != 2 {
				t.Fatalf("identifiers %v", m["identifiers"])
			}
			for _, x := range ids {
				if v, _ := x.(map[string]any)["value"].(string); v != "" || x.(map[string]any)["type"] == "" {
					t.Fatalf("an analyst sees %v", x)
				}
			}
			if m["phone"] != "" || m["displayName"] != "" {
				t.Fatalf("an analyst sees personal fields: %v", m)
			}
		}
	})

	t.Run("replays after erasure", func(t *testing.T) {
		_, admin := r.newKey(t, "ADMIN", "")
		r.call(t, "POST", "/v1/members/"+id+":erase", admin, map[string]any{"requestId": "priv-erase"}).must(t, 200)
		for name, rp := range map[string]reply{
			"register":       r.call(t, "POST", "/v1/members", op, register),
			"add identifier": r.call(t, "POST", "/v1/members/"+id+":addIdentifier", op, addID),
			"update":         r.call(t, "PATCH", "/v1/members/"+id+"?requestId=priv-upd", op, patch),
			"erase":          r.call(t, "POST", "/v1/members/"+id+":erase", admin, map[string]any{"requestId": "priv-erase"}),
		} {
			body := rp.must(t, 200)
			if body["id"] != id || body["status"] != "ERASED" || len(personalFields(body)) > 0 {
				t.Fatalf("%s replayed after erasure: personal %v in %s", name, personalFields(body), rp.raw)
			}
		}
		// The identifier is free for someone else, and the erased member is found by none.
		r.call(t, "GET", "/v1/members:lookup?phone=13800138501", op, nil).must(t, 404)
		r.call(t, "POST", "/v1/members", op, map[string]any{"member": map[string]any{"displayName": "n", "phone": "13800138503",
			"identifiers": []map[string]any{{"type": "card", "value": "CARD-7788"}}}}).must(t, 200)
	})
}
