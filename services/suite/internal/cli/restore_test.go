package cli_test

import (
	"bytes"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/huiyuan-dev/huiyuan/pkg/boltx"
	"github.com/huiyuan-dev/huiyuan/pkg/kit"
	"github.com/huiyuan-dev/huiyuan/services/suite/internal/suite"
)

// writeStore writes a bbolt file at path with the buckets service's store declares, or with
// the given buckets when service is "".
func writeStore(t *testing.T, path, service string, buckets ...[]byte) {
	t.Helper()
	if service != "" {
		for _, s := range suite.Services() {
			if d := s.Describe(); d.Name == service {
				buckets = kit.Buckets(d)
			}
		}
	}
	db, err := boltx.Open(path, boltx.Options{NoSync: true}, buckets...)
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
}

// TestRestoreRefusesForeignBackup: restore accepts only a database of the suite's stores and
// a backup of that database; a refusal exits 1 and leaves the data directory as it was.
func TestRestoreRefusesForeignBackup(t *testing.T) {
	backups := t.TempDir()
	backup := func(name, service string, buckets ...[]byte) string {
		p := filepath.Join(backups, name)
		writeStore(t, p, service, buckets...)
		return p
	}
	member, loyalty := backup("member.bak", "member"), backup("loyalty.bak", "loyalty")
	iam := backup("iam.bak", "iam")
	foreign := backup("other.bak", "", []byte("b"))

	tests := []struct {
		name     string
		database string // "" leaves the default, member
		from     string
		want     string
	}{
		{"another service's backup over the default database", "", loyalty, `backup of the loyalty database, not member`},
		{"another service's backup", "loyalty", member, `backup of the member database, not loyalty`},
		{"a backup of a service without an event log", "member", iam, `backup of the iam database, not member`},
		{"a bbolt file of no service", "member", foreign, "holds none of its buckets"},
		{"misspelt database", "membr", member, `unknown database "membr"`},
		{"the stateless gateway", "gateway", member, `unknown database "gateway"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			memberPath := kit.StorePath(dir, "member")
			writeStore(t, memberPath, "member")
			before, err := os.ReadFile(memberPath)
			if err != nil {
				t.Fatal(err)
			}
			args := []string{"restore", "--data-dir", dir, "--from", tt.from}
			if tt.database != "" {
				args = append(args, "--database", tt.database)
			}
			code, out := run(args...)
			if code != 1 || !strings.Contains(out, tt.want) {
				t.Fatalf("exit %d, want 1 with %q:\n%s", code, tt.want, out)
			}
			if after, err := os.ReadFile(memberPath); err != nil || !bytes.Equal(before, after) {
				t.Fatalf("a refused restore changed %s (%v)", memberPath, err)
			}
			if tt.database != "" && tt.database != "member" {
				if _, err := os.Stat(kit.StorePath(dir, tt.database)); !errors.Is(err, fs.ErrNotExist) {
					t.Fatalf("a refused restore wrote the %s database: %v", tt.database, err)
				}
			}
		})
	}

	dir := t.TempDir()
	writeStore(t, kit.StorePath(dir, "loyalty"), "loyalty")
	if code, out := run("restore", "--data-dir", dir, "--database", "loyalty", "--from", loyalty); code != 0 {
		t.Fatalf("restore of the loyalty database from its own backup: exit %d\n%s", code, out)
	}
}
