package cli_test

import (
	"os"
	"path/filepath"
	"testing"
)

// copySecrets copies the generated key-encryption key and the shared secrets: personal data in a backup
// is readable only with the KEK it was sealed under.
func copySecrets(t *testing.T, from, to string) {
	t.Helper()
	for _, name := range []string{"member/secrets/kek", "secrets/jwt", "secrets/service"} {
		b, err := os.ReadFile(filepath.Join(from, name))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.MkdirAll(filepath.Dir(filepath.Join(to, name)), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(to, name), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
}
