package suite_test

import (
	"encoding/base64"
	"fmt"
	"testing"

	"google.golang.org/protobuf/proto"

	memberv1 "github.com/huiyuan-dev/huiyuan/gen/huiyuan/member/v1"
)

func TestEdgeEventsAndDatabases(t *testing.T) {
	r := startSuite(t)
	_, op := r.newKey(t, "OPERATOR", "")
	_, svc := r.newKey(t, "SERVICE", "")
	_, acmeAdmin := r.newKey(t, "ADMIN", "acme")
	var ids []string
	for i := 0; i < 3; i++ {
		m := r.call(t, "POST", "/v1/members", op, map[string]any{"requestId": fmt.Sprint("ev-", i),
			"member": map[string]any{"displayName": "Ev", "phone": fmt.Sprintf("1370013700%d", i)}}).must(t, 200)
		ids = append(ids, m["id"].(string))
	}

	// The log answers in sequence order, after the sequence asked for, with protobuf payloads.
	body := r.call(t, "GET", "/v1/events/member?afterSequence=1&pageSize=10", svc, nil).must(t, 200)
	events := body["events"].([]any)
	if len(events) != 2 || body["lastSequence"] != "3" {
		t.Fatalf("events after 1: %s", body)
	}
	for i, e := range events {
		ev := e.(map[string]any)
		if ev["sequence"] != fmt.Sprint(i+2) || ev["type"] != "member_registered" ||
			ev["subject"] != "huiyuan.default.member.v1.member_registered" ||
			ev["epoch"] == nil || ev["epochStart"] != "1" || ev["id"] != fmt.Sprintf("member:default:%s:%d", ev["epoch"], i+2) {
			t.Fatalf("event %d: %v", i, ev)
		}
		raw, err := base64.StdEncoding.DecodeString(ev["payload"].(string))
		if err != nil {
			t.Fatal(err)
		}
		var reg memberv1.MemberRegisteredEvent
		if err := proto.Unmarshal(raw, &reg); err != nil || reg.GetMemberId() != ids[i+1] {
			t.Fatalf("payload %d: %v %v", i, &reg, err)
		}
	}
	// Another tenant's log is its own: empty.
	body = r.call(t, "GET", "/v1/events/member", acmeAdmin, nil).must(t, 200)
	if len(body["events"].([]any)) != 0 {
		t.Fatalf("acme sees %v", body)
	}
	r.call(t, "GET", "/v1/events/nosuch", svc, nil).must(t, 400)
	r.call(t, "GET", "/v1/events/member", op, nil).must(t, 403)

	// Databases hold every tenant: only the installation's admins see them.
	dbs := r.call(t, "GET", "/v1/databases", adminKey, nil).must(t, 200)
	if fmt.Sprint(dbs["databases"]) != "[coupon iam loyalty member]" {
		t.Fatalf("databases: %v", dbs)
	}
	r.call(t, "GET", "/v1/databases", acmeAdmin, nil).must(t, 403)
}
