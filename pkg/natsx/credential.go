package natsx

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/nats-io/jwt/v2"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nkeys"
)

// Credential is a NATS user: its JWT and its nkey seed, what a .creds file holds. The seed is a
// secret: String never shows it.
type Credential struct {
	jwt     string
	seed    []byte
	user    string
	name    string
	expires time.Time
	creds   []byte
}

func newCredential(token string, kp nkeys.KeyPair) (*Credential, error) {
	seed, err := kp.Seed()
	if err != nil {
		return nil, fmt.Errorf("natsx: credential: %w", err)
	}
	creds, err := jwt.FormatUserConfig(token, seed)
	if err != nil {
		return nil, fmt.Errorf("natsx: credential: %w", err)
	}
	return ParseCredential(creds)
}

// ParseCredential reads a .creds file's text. It returns an error when the text holds no user
// JWT or seed, or when the seed is not the JWT's key.
func ParseCredential(creds []byte) (*Credential, error) {
	token, err := jwt.ParseDecoratedJWT(creds)
	if err != nil {
		return nil, fmt.Errorf("natsx: credential: %w", err)
	}
	uc, err := jwt.DecodeUserClaims(token)
	if err != nil {
		return nil, fmt.Errorf("natsx: credential: not a user JWT: %w", err)
	}
	kp, err := jwt.ParseDecoratedUserNKey(creds)
	if err != nil {
		return nil, fmt.Errorf("natsx: credential: %w", err)
	}
	pub, err := kp.PublicKey()
	if err != nil {
		return nil, fmt.Errorf("natsx: credential: %w", err)
	}
	if pub != uc.Subject {
		return nil, errors.New("natsx: credential: the seed is not the JWT's key")
	}
	seed, err := kp.Seed()
	if err != nil {
		return nil, fmt.Errorf("natsx: credential: %w", err)
	}
	c := &Credential{jwt: token, seed: seed, user: pub, name: uc.Name, creds: bytes.Clone(creds)}
	if uc.Expires > 0 {
		c.expires = time.Unix(uc.Expires, 0).UTC()
	}
	return c, nil
}

// LoadCredential reads a .creds file.
func LoadCredential(path string) (*Credential, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("natsx: credential: %w", err)
	}
	c, err := ParseCredential(raw)
	if err != nil {
		return nil, fmt.Errorf("%w (%s)", err, path)
	}
	return c, nil
}

// Creds is the credential as a .creds file: the decorated JWT and seed.
func (c *Credential) Creds() []byte { return bytes.Clone(c.creds) }

// User is the user's public key, the JWT's subject.
func (c *Credential) User() string { return c.user }

// Name is the label the JWT carries: a service name, or "tenant:<tenant>".
func (c *Credential) Name() string { return c.name }

// Expires is when the servers stop accepting the credential (and disconnect it); zero for never.
func (c *Credential) Expires() time.Time { return c.expires }

// InboxPrefix is the one inbox prefix the credential may subscribe under; WithCredential sets
// it on the connection.
func (c *Credential) InboxPrefix() string { return inboxPrefix(c.user) }

// String names the credential without its secret.
func (c *Credential) String() string { return fmt.Sprintf("nats user %s (%s)", c.name, c.user) }

// WithCredential connects as c, with its inbox prefix (needed for any request or JetStream
// call): natsx.Connect(url, natsx.WithCredential(c)) or natsx.ConnectInProcess(ns, ...).
func WithCredential(c *Credential) nats.Option {
	return func(o *nats.Options) error {
		if c == nil {
			return errors.New("natsx: nil credential")
		}
		if err := nats.UserJWTAndSeed(c.jwt, string(c.seed))(o); err != nil {
			return err
		}
		return nats.CustomInboxPrefix(c.InboxPrefix())(o)
	}
}

// WithCredentialsFile connects with the .creds file at path (HUIYUAN_NATS_CREDS), read once when
// the connection is made: a new file takes effect at the next start. The connection fails with
// the file's error when it cannot be read or parsed.
func WithCredentialsFile(path string) nats.Option {
	return func(o *nats.Options) error {
		c, err := LoadCredential(path)
		if err != nil {
			return err
		}
		return WithCredential(c)(o)
	}
}

// WriteSecretFile writes data to path with mode 0600, replacing it atomically, and creates its
// directory with mode 0700 if needed. For credentials, issuer files and other secrets.
func WriteSecretFile(path string, data []byte) error {
	if err := writeSecret(path, data, true); err != nil {
		return fmt.Errorf("natsx: write %s: %w", path, err)
	}
	return nil
}

// CreateSecretFile writes data to path with mode 0600 as WriteSecretFile does, but only when
// path does not exist yet (an error matching fs.ErrExist otherwise): the file appears whole or
// not at all, and of two processes creating it one wins.
func CreateSecretFile(path string, data []byte) error {
	if err := writeSecret(path, data, false); err != nil {
		return fmt.Errorf("natsx: create %s: %w", path, err)
	}
	return nil
}

// writeSecret writes data to a temporary file beside path, syncs it, then moves it to path:
// replacing what is there, or, without replace, failing with an error matching fs.ErrExist
// when path exists.
func writeSecret(path string, data []byte, replace bool) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".*") // mode 0600
	if err != nil {
		return err
	}
	tmp := f.Name()
	defer os.Remove(tmp) // gone after a rename; the leftover after a link
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if replace {
		err = os.Rename(tmp, path)
	} else {
		err = os.Link(tmp, path) // unlike rename, refuses an existing path
	}
	if err != nil {
		return err
	}
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync() // the new name survives a crash
}
