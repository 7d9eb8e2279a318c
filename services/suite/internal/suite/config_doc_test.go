package suite_test

import (
	"flag"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/huiyuan-dev/huiyuan/pkg/config"
	"github.com/huiyuan-dev/huiyuan/services/suite/internal/suite"
)

// readmeSection returns the README's "## heading" section, up to the next "## " heading.
func readmeSection(t testing.TB, heading string) string {
	t.Helper()
	readme, err := os.ReadFile(filepath.Join("..", "..", "..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	start := strings.Index(string(readme), "\n## "+heading+"\n")
	if start < 0 {
		t.Fatalf("README.md has no %q section", heading)
	}
	section := string(readme)[start+1:]
	if end := strings.Index(section, "\n## "); end >= 0 {
		section = section[:end]
	}
	return section
}

// TestConfigurationDocumented: every setting of `huiyuan serve` (the suite's own and each
// service's) has a row in the README's configuration table, and every row names a setting that
// exists, so the table an operator reads is the one the process parses.
func TestConfigurationDocumented(t *testing.T) {
	section := readmeSection(t, "Configuration")
	envVar := regexp.MustCompile("`(" + suite.EnvPrefix + "[A-Z0-9_]+)`")
	documented := map[string]bool{}
	for _, line := range strings.Split(section, "\n") {
		if !strings.HasPrefix(line, "| `") { // a table row; its first cell names the variables
			continue
		}
		first := strings.SplitN(line, "|", 3)[1]
		for _, m := range envVar.FindAllStringSubmatch(first, -1) {
			documented[m[1]] = true
		}
	}

	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	suite.NewConfig().Flags(fs)
	parsed := map[string]bool{}
	fs.VisitAll(func(f *flag.Flag) {
		name := config.EnvName(suite.EnvPrefix, f.Name)
		parsed[name] = true
		if !documented[name] {
			t.Errorf("README.md's configuration table has no row for %s (--%s: %s)", name, f.Name, f.Usage)
		}
	})
	if len(parsed) < 20 {
		t.Fatalf("found only %d settings: the flag set is not the one serve parses", len(parsed))
	}
	for name := range documented {
		if !parsed[name] {
			t.Errorf("README.md's configuration table documents %s, which huiyuan serve does not read", name)
		}
	}
}
