package suite_test

import (
	"bytes"
	"encoding/base64"
	"slices"
	"testing"
)

// TestEdgeMemberSelfService: a member's token changes only what the member owns; its phone and
// email change only with the code the notification sender reads (the event announcing it
// carries neither code nor address); wrong codes are refused, five at most; each refusal is its
// 400 (or 403) with a reason and the JSON path as sent (the PATCH body is the member itself),
// and changes nothing.
func TestEdgeMemberSelfService(t *testing.T) {
	r := startSuite(t)
	_, op := r.newKey(t, "OPERATOR", "")
	_, svc := r.newKey(t, "SERVICE", "")
	id := r.call(t, "POST", "/v1/members", op, map[string]any{"member": map[string]any{"displayName": "Sun", "phone": "13800138701",
		"email": "sun@example.com", "storeId": "sh-001", "tags": []string{"regular"}}}).must(t, 200)["id"].(string)
	tok := r.call(t, "POST", "/v1/members/"+id+":issueToken", svc, map[string]any{}).must(t, 200)["token"].(string)
	member := func() map[string]any { return r.call(t, "GET", "/v1/members/"+id, op, nil).must(t, 200) }
	refusal := func(name string, rp reply, status int, reason, field string) {
		t.Helper()
		got, fields := rp.reason()
		if rp.status != status || got != reason || (field != "" && !slices.Contains(fields, field)) {
			t.Fatalf("%s: %d %q %v, want %d %s on %s: %s", name, rp.status, got, fields, status, reason, field, rp.raw)
		}
	}

	r.call(t, "PATCH", "/v1/members/"+id, tok, map[string]any{"displayName": "Sun Li", "birthday": "1993-03-03", "gender": "FEMALE",
		"preferences": map[string]string{"language": "en"}}).must(t, 200)
	before := member()
	for _, c := range []struct {
		name          string
		body          map[string]any
		status        int
		reason, field string
	}{
		{"tags", map[string]any{"tags": []string{"vip"}}, 403, "MEMBER_FIELD_STAFF_ONLY", "tags"},
		{"store", map[string]any{"storeId": "bj-001"}, 403, "MEMBER_FIELD_STAFF_ONLY", "storeId"},
		{"status", map[string]any{"status": "FROZEN"}, 400, "INVALID_ARGUMENT", "updateMask"},
		{"phone", map[string]any{"phone": "13900139001"}, 400, "CONTACT_VERIFICATION_REQUIRED", "phone"},
		{"email", map[string]any{"email": "thief@example.com"}, 400, "CONTACT_VERIFICATION_REQUIRED", "email"},
		{"birthday twice", map[string]any{"birthday": "1990-01-01"}, 400, "MEMBER_BIRTHDAY_SET", "birthday"},
		{"bad gender", map[string]any{"gender": "F"}, 400, "INVALID_VALUE", "gender"},
	} {
		refusal(c.name, r.call(t, "PATCH", "/v1/members/"+id, tok, c.body), c.status, c.reason, c.field)
	}
	refusal("status change", r.call(t, "POST", "/v1/members/"+id+":changeStatus", tok, map[string]any{"status": "FROZEN"}), 403, "PERMISSION_DENIED", "")
	refusal("identifier", r.call(t, "POST", "/v1/members/"+id+":addIdentifier", tok,
		map[string]any{"identifier": map[string]any{"type": "card", "value": "1"}}), 403, "PERMISSION_DENIED", "")
	after := member()
	for _, f := range []string{"displayName", "phone", "email", "storeId", "birthday", "status", "updateTime"} {
		if before[f] != after[f] {
			t.Fatalf("a refused update changed %s: %v -> %v", f, before[f], after[f])
		}
	}
	if !slices.Equal(after["tags"].([]any), []any{"regular"}) {
		t.Fatalf("tags %v", after["tags"])
	}

	// Requests that are refused.
	for _, c := range []struct {
		name          string
		body          map[string]any
		status        int
		reason, field string
	}{
		{"both", map[string]any{"phone": "13900139001", "email": "x@example.com"}, 400, "INVALID_ARGUMENT", "phone"},
		{"neither", map[string]any{}, 400, "INVALID_ARGUMENT", "phone"},
		{"bad phone", map[string]any{"phone": "12"}, 400, "INVALID_ARGUMENT", "phone"},
		{"unknown field", map[string]any{"mobile": "13900139001"}, 400, "UNKNOWN_FIELD", "mobile"},
		{"the same phone", map[string]any{"phone": "13800138701"}, 400, "CONTACT_UNCHANGED", "phone"},
	} {
		refusal(c.name, r.call(t, "POST", "/v1/members/"+id+":requestContactChange", tok, c.body), c.status, c.reason, c.field)
	}

	// A phone change: the code goes to the sender, not to the member, and five wrong codes end it.
	v := r.call(t, "POST", "/v1/members/"+id+":requestContactChange", tok, map[string]any{"requestId": "cc-1", "phone": "13900139001"}).must(t, 200)
	vid := v["id"].(string)
	if v["channel"] != "SMS" || v["attemptsLeft"] != float64(5) || v["code"] != nil || v["destination"] != nil {
		t.Fatalf("verification %v", v)
	}
	refusal("too soon", r.call(t, "POST", "/v1/members/"+id+":requestContactChange", tok, map[string]any{"phone": "13900139002"}),
		429, "VERIFICATION_TOO_FREQUENT", "")
	msgPath := "/v1/members/" + id + "/contactVerifications/" + vid + "/message"
	refusal("member reads the code", r.call(t, "GET", msgPath, tok, nil), 403, "PERMISSION_DENIED", "")
	msg := r.call(t, "GET", msgPath, svc, nil).must(t, 200)
	code, _ := msg["code"].(string)
	if msg["destination"] != "+8613900139001" || len(code) != 6 || msg["channel"] != "SMS" {
		t.Fatalf("message %v", msg)
	}
	checkRequestedEvent(t, r, svc, vid, code, "13900139001")
	wrong := "000000"
	if code == wrong {
		wrong = "999999"
	}
	confirm := func(vid, code string) reply {
		return r.call(t, "POST", "/v1/members/"+id+":confirmContactChange", tok, map[string]any{"verificationId": vid, "code": code})
	}
	for range 4 {
		refusal("wrong code", confirm(vid, wrong), 400, "VERIFICATION_CODE_INVALID", "code")
	}
	refusal("fifth wrong code", confirm(vid, wrong), 400, "VERIFICATION_ATTEMPTS_EXHAUSTED", "")
	refusal("right code, too late", confirm(vid, code), 404, "VERIFICATION_NOT_FOUND", "")
	refusal("bad verification id", confirm("nope", code), 400, "INVALID_ARGUMENT", "verificationId")
	if member()["phone"] != "+8613800138701" {
		t.Fatal("the phone changed without its code")
	}

	// An email change with the right code applies.
	v = r.call(t, "POST", "/v1/members/"+id+":requestContactChange", tok, map[string]any{"email": "Sun.Li@Example.com"}).must(t, 200)
	code = r.call(t, "GET", "/v1/members/"+id+"/contactVerifications/"+v["id"].(string)+"/message", svc, nil).must(t, 200)["code"].(string)
	if got := confirm(v["id"].(string), code).must(t, 200); got["email"] != "sun.li@example.com" {
		t.Fatalf("confirmed %v", got)
	}
	if found := r.call(t, "GET", "/v1/members:lookup?email=sun.li@example.com", op, nil).must(t, 200); found["id"] != id {
		t.Fatalf("lookup %v", found)
	}
	// Staff change the phone directly.
	if got := r.call(t, "PATCH", "/v1/members/"+id, op, map[string]any{"phone": "13900139009"}).must(t, 200); got["phone"] != "+8613900139009" {
		t.Fatalf("staff change %v", got)
	}
}

// checkRequestedEvent finds the verification_code_requested event of vid in the member
// service's log and checks that its payload holds neither the code nor the destination.
func checkRequestedEvent(t *testing.T, r *running, key, vid, code, phone string) {
	t.Helper()
	evs := r.call(t, "GET", "/v1/events/member?pageSize=1000", key, nil).must(t, 200)["events"].([]any)
	for _, e := range evs {
		ev := e.(map[string]any)
		if ev["type"] != "verification_code_requested" {
			continue
		}
		payload, err := base64.StdEncoding.DecodeString(ev["payload"].(string))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Contains(payload, []byte(vid)) {
			continue
		}
		if bytes.Contains(payload, []byte(code)) || bytes.Contains(payload, []byte(phone)) {
			t.Fatalf("the event carries the code or the phone: %q", payload)
		}
		return
	}
	t.Fatalf("no verification_code_requested event for %s", vid)
}
