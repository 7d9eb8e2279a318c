package kit_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/huiyuan-dev/huiyuan/pkg/kit"
)

func TestSecret(t *testing.T) {
	tests := []struct {
		name        string
		configured  string
		file        *string // the file's content before; nil: no file
		wantCreated bool
		wantErr     string
	}{
		{name: "configured wins", configured: "set", file: ptr("kept\n")},
		{name: "kept file", file: ptr("kept\n")},
		{name: "first start creates", wantCreated: true},
		// What a start killed between creating and writing the file left, before files
		// appeared whole: refused, never used as an empty key.
		{name: "empty file", file: ptr(""), wantErr: "is empty"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "kek")
			if tt.file != nil {
				if err := os.WriteFile(path, []byte(*tt.file), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			v, created, err := kit.Secret(tt.configured, dir, "kek", 32)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || created != tt.wantCreated || v == "" {
				t.Fatalf("Secret = %q, %v, %v", v, created, err)
			}
			again, created, err := kit.Secret(tt.configured, dir, "kek", 32)
			if err != nil || created || again != v {
				t.Fatalf("second start: %q, %v, %v; want %q", again, created, err, v)
			}
			entries, _ := os.ReadDir(dir)
			if len(entries) > 1 {
				t.Fatalf("left behind: %v", entries)
			}
		})
	}
}

func ptr(s string) *string { return &s }
