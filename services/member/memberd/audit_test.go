package memberd_test

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/huiyuan-dev/huiyuan/pkg/kittest"

	iamv1 "github.com/huiyuan-dev/huiyuan/gen/huiyuan/iam/v1"
	memberv1 "github.com/huiyuan-dev/huiyuan/gen/huiyuan/member/v1"
)

// auditFile reads the records the member service appends to its audit log file.
type auditFile struct {
	path string
	seen int // records already returned
}

// next waits until n more records than seen are in the file (the log is flushed every 100 ms)
// and returns them; a record beyond them fails the test.
func (a *auditFile) next(t *testing.T, n int) []map[string]any {
	t.Helper()
	var all []map[string]any
	kittest.Eventually(t, 5*time.Second, func() bool {
		all = a.read(t)
		return len(all) >= a.seen+n
	}, "%d audit records after %d", n, a.seen)
	if len(all) > a.seen+n {
		t.Fatalf("audit records %v, want %d new", all[a.seen:], n)
	}
	out := all[a.seen:]
	a.seen = len(all)
	return out
}

func (a *auditFile) read(t *testing.T) []map[string]any {
	raw, err := os.ReadFile(a.path)
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	var out []map[string]any
	for _, l := range strings.Split(strings.TrimSpace(string(raw)), "\n") {
		if l == "" {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatal(err)
		}
		out = append(out, m)
	}
	return out
}

// TestAuditLog: reading personal data leaves an audit record naming the reader; an analyst's
// redacted read leaves none, and no record holds the personal data itself.
func TestAuditLog(t *testing.T) {
	a := &auditFile{path: filepath.Join(t.TempDir(), "audit.log")}
	h := newHarness(t, harnessOpts{args: []string{"--audit-log=" + a.path}})
	m := h.create(t, &memberv1.Member{DisplayName: "Audited", Phone: "13812345678"})
	a.next(t, 1) // the registration's answer
	if _, err := h.client.GetMember(h.as(iamv1.Role_SERVICE), &memberv1.GetMemberRequest{MemberId: m.GetId()}); err != nil {
		t.Fatal(err)
	}
	recs := a.next(t, 1)
	if recs[0]["action"] != "get" || recs[0]["role"] != "SERVICE" || recs[0]["key_id"] == "" ||
		recs[0]["tenant"] != tenant || !slices.Contains(recs[0]["member_ids"].([]any), any(m.GetId())) {
		t.Fatalf("audit records %v", recs)
	}
	if _, err := h.client.GetMember(h.as(iamv1.Role_ANALYST), &memberv1.GetMemberRequest{MemberId: m.GetId()}); err != nil {
		t.Fatal(err)
	}
	if _, err := h.client.ListMembers(h.as(iamv1.Role_ANALYST), &memberv1.ListMembersRequest{}); err != nil {
		t.Fatal(err)
	}
	// The redacted reads leave nothing: the next record is the operator's list, and nothing
	// else came before it (records are written in order).
	if _, err := h.client.ListMembers(h.as(iamv1.Role_OPERATOR), &memberv1.ListMembersRequest{}); err != nil {
		t.Fatal(err)
	}
	recs = a.next(t, 1)
	if recs[0]["action"] != "list" {
		t.Fatalf("list audit %v (redacted reads audited?)", recs)
	}
	raw, _ := json.Marshal(a.read(t))
	if bytes.Contains(raw, []byte("Audited")) || bytes.Contains(raw, []byte("13812345678")) {
		t.Fatalf("audit log holds personal data: %s", raw)
	}
}
