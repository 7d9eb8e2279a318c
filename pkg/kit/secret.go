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

	"github.com/huiyuan-dev/huiyuan/pkg/natsx"
)

// Secret returns configured, or the secret kept in <dir>/<name>, creating it with n random bytes
// (base64) on first start. Generated secrets make `make run` work on a fresh machine; production
// sets them explicitly (and keeps key-encryption keys out of the data directory's backups).
// created reports that it was generated now. The file appears whole or not at all: a start
// killed while creating it leaves no empty secret behind for the next one to use.
func Secret(configured, dir, name string, n int) (value string, created bool, err error) {
	if configured != "" {
		return configured, false, nil
	}
	path := filepath.Join(dir, name)
	b, err := os.ReadFile(path)
	if err == nil {
		if value = strings.TrimSpace(string(b)); value == "" {
			return "", false, fmt.Errorf("secret file %s is empty: set the secret, or remove the file to generate one", path)
		}
		return value, false, nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return "", false, fmt.Errorf("read %s: %w", path, err)
	}
	raw := make([]byte, n)
	_, _ = rand.Read(raw) // crypto/rand.Read never fails
	value = base64.StdEncoding.EncodeToString(raw)
	if err := natsx.CreateSecretFile(path, []byte(value+"\n")); err != nil {
		return "", false, err
	}
	return value, true, nil
}
