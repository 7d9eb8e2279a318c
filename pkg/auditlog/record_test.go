package auditlog_test

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"

	"github.com/huiyuan-dev/huiyuan/pkg/auditlog"
)

func TestLogWritesValidJSONLines(t *testing.T) {
	tests := []struct {
		name string
		rec  auditlog.Record
	}{
		{name: "plain", rec: auditlog.Record{Tenant: "acme", Action: "member.get", Role: "OPERATOR", KeyID: "k1", MemberIDs: []string{"a", "b"}}},
		{name: "no ids", rec: auditlog.Record{Tenant: "acme", Action: "member.list"}},
		{name: "hostile strings", rec: auditlog.Record{Tenant: "a\"b\\c\n\t\x01", Action: "é中文", Role: "\xff\xfe", MemberIDs: []string{"\u2028", `"}`}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			tt.rec.Time = time.Date(2026, 11, 22, 8, 0, 0, 5, time.UTC)
			if err := auditlog.NewLogger(&buf).Log(tt.rec); err != nil {
				t.Fatal(err)
			}
			if n := bytes.Count(buf.Bytes(), []byte("\n")); n != 1 {
				t.Fatalf("%d newlines in %q", n, buf.Bytes())
			}
			var got struct {
				Time      time.Time `json:"time"`
				Msg       string    `json:"msg"`
				Tenant    string    `json:"tenant"`
				Action    string    `json:"action"`
				MemberIDs []string  `json:"member_ids"`
			}
			if err := json.Unmarshal(buf.Bytes(), &got); err != nil {
				t.Fatalf("invalid JSON %q: %v", buf.Bytes(), err)
			}
			if !got.Time.Equal(tt.rec.Time) || got.Msg != "personal data read" || len(got.MemberIDs) != len(tt.rec.MemberIDs) {
				t.Fatalf("decoded %+v from %q", got, buf.Bytes())
			}
			if tt.name != "hostile strings" && (got.Tenant != tt.rec.Tenant || got.Action != tt.rec.Action) {
				t.Fatalf("decoded %+v", got)
			}
		})
	}
}

func FuzzLog(f *testing.F) {
	f.Add("acme", "member.get", "id-1")
	f.Add("\"\\\n", "\xff", "\u2028")
	f.Fuzz(func(t *testing.T, tenant, action, id string) {
		var buf bytes.Buffer
		if err := auditlog.NewLogger(&buf).Log(auditlog.Record{Tenant: tenant, Action: action, MemberIDs: []string{id}}); err != nil {
			t.Fatal(err)
		}
		if !json.Valid(bytes.TrimSuffix(buf.Bytes(), []byte("\n"))) {
			t.Fatalf("invalid JSON %q", buf.Bytes())
		}
	})
}

func BenchmarkLog(b *testing.B) {
	l := auditlog.NewLogger(discard{})
	r := auditlog.Record{Time: time.Now(), Tenant: "default", Action: "member.get", Role: "OPERATOR",
		KeyID: "0190a0e0-0000-7000-8000-000000000000", MemberIDs: []string{"0190a0e0-0000-7000-8000-000000000001"}}
	b.ReportAllocs()
	for b.Loop() {
		_ = l.Log(r)
	}
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }
