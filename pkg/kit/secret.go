package kit

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// Secret returns configured, or the secret kept in <dir>/<name>, creating it with n random bytes
// (base64) on first start. Generated secrets make `make run` work on a fresh machine; production
// sets them explicitly (and keeps key-encryption keys out of the data directory's backups).
// created reports that it was generated now.
func Secret(configured, dir, name string, n int) (value string, created bool, err error) {
	if configured != "" {
		return configured, false, nil
	}
	path := filepath.Join(dir, name)
	b, err := os.ReadFile(path)
	if err == nil {
		return strings.TrimSpace(string(b)), false, nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return "", false, fmt.Errorf("read %s: %w", path, err)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", false, fmt.Errorf("create %s: %w", dir, err)
	}
	raw := make([]byte, n)
	_, _ = rand.Read(raw) // crypto/rand.Read never fails
	value = base64.StdEncoding.EncodeToString(raw)
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return "", false, fmt.Errorf("create %s: %w", path, err)
	}
	if _, err := f.WriteString(value + "\n"); err != nil {
		f.Close()
		return "", false, err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return "", false, err
	}
	return value, true, f.Close()
}
