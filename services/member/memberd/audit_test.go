package memberd_test

import (
	"bytes"
	"encoding/json"
	"slices"
	"strings"
	"sync"
	"testing"

	iamv1 "github.com/huiyuan-dev/huiyuan/gen/huiyuan/iam/v1"
	memberv1 "github.com/huiyuan-dev/huiyuan/gen/huiyuan/member/v1"
	"github.com/huiyuan-dev/huiyuan/pkg/auditlog"
)

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) lines(t *testing.T) []map[string]any {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []map[string]any
	for _, l := range strings.Split(strings.TrimSpace(s.b.String()), "\n") {
		if l == "" {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatal(err)
		}
		out = append(out, m)
	}
	s.b.Reset()
	return out
}

// TestAuditLog: reading personal data leaves an audit record naming the reader; an analyst's
// redacted read leaves none, and no record holds the personal data itself.
func TestAuditLog(t *testing.T) {
	var buf syncBuffer
	h := newHarness(t, harnessOpts{noSync: true, audit: auditlog.NewLogger(&buf)})
	m := h.create(t, &memberv1.Member{DisplayName: "Audited", Phone: "13812345678"})
	buf.lines(t)
	if _, err := h.client.GetMember(h.as(iamv1.Role_SERVICE), &memberv1.GetMemberRequest{MemberId: m.GetId()}); err != nil {
		t.Fatal(err)
	}
	recs := buf.lines(t)
	if len(recs) != 1 || recs[0]["action"] != "get" || recs[0]["role"] != "SERVICE" || recs[0]["key_id"] == "" ||
		recs[0]["tenant"] != tenant || !slices.Contains(recs[0]["member_ids"].([]any), any(m.GetId())) {
		t.Fatalf("audit records %v", recs)
	}
	if _, err := h.client.GetMember(h.as(iamv1.Role_ANALYST), &memberv1.GetMemberRequest{MemberId: m.GetId()}); err != nil {
		t.Fatal(err)
	}
	if _, err := h.client.ListMembers(h.as(iamv1.Role_ANALYST), &memberv1.ListMembersRequest{}); err != nil {
		t.Fatal(err)
	}
	if recs := buf.lines(t); len(recs) != 0 {
		t.Fatalf("redacted reads audited: %v", recs)
	}
	if _, err := h.client.ListMembers(h.as(iamv1.Role_OPERATOR), &memberv1.ListMembersRequest{}); err != nil {
		t.Fatal(err)
	}
	recs = buf.lines(t)
	if len(recs) != 1 || recs[0]["action"] != "list" {
		t.Fatalf("list audit %v", recs)
	}
	raw, _ := json.Marshal(recs)
	if bytes.Contains(raw, []byte("Audited")) || bytes.Contains(raw, []byte("13812345678")) {
		t.Fatalf("audit log holds personal data: %s", raw)
	}
}
