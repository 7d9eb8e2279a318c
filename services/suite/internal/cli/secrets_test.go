package cli_test

import (
	"os"
	"path/filepath"
	"testing"
)

// copySecrets copies the generated key-encryption key and JWT secret: personal data in a backup
// is readable only with the KEK it was sealed under.
func copySecrets(t *testing.T, from, to string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Join(to, "secrets"), 0o700); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"kek", "jwt"} {
		b, err := os.ReadFile(filepath.Join(from, "secrets", name))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(to, "secrets", name), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
}
