package edge

import (
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestReasonsCatalogued: every reason the code raises is in services/gateway/reasons.yaml (which
// the OpenAPI document is built from), and the README lists every reason of the catalogue.
func TestReasonsCatalogued(t *testing.T) {
	root := filepath.Join("..", "..", "..")
	cat, err := os.ReadFile(filepath.Join("..", "reasons.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	catalogued := map[string]bool{}
	for _, m := range regexp.MustCompile(`reason: ([A-Z][A-Z0-9_]+)`).FindAllStringSubmatch(string(cat), -1) {
		catalogued[m[1]] = true
	}
	raised := regexp.MustCompile(`(?:apperr\.E\([^,]+,\s*|Reason[A-Za-z]*\s*=\s*|Reason:\s*)"([A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+)"`)
	for _, dir := range []string{"pkg", "services"} {
		err := filepath.WalkDir(filepath.Join(root, dir), func(path string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
				return err
			}
			src, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			for _, m := range raised.FindAllStringSubmatch(string(src), -1) {
				if !catalogued[m[1]] {
					t.Errorf("%s raises %s, which services/gateway/reasons.yaml (and the README) does not list", path, m[1])
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	readme, err := os.ReadFile(filepath.Join(root, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	for r := range catalogued {
		if !strings.Contains(string(readme), "`"+r+"`") {
			t.Errorf("README.md does not list the reason %s", r)
		}
	}
}
