package pii

import (
	"crypto/cipher"
	"errors"
)

// DataKey seals and opens one subject's fields with AES-256-GCM. A random 12-byte nonce is
// generated per Seal and prepended to the ciphertext. A DataKey holds its cipher ready (built
// once in NewDataKey or OpenDataKey), is safe for concurrent use, and must not seal more than
// 2^32 values (far beyond one subject's fields).
type DataKey struct {
	aead cipher.AEAD // AES-256-GCM with random nonces
}

// errNoKey is returned by the methods of a nil or zero DataKey instead of panicking.
var errNoKey = errors.New("pii: no data key")

func newDataKey(key []byte) (*DataKey, error) {
	aead, err := newAEAD(key)
	if err != nil {
		return nil, err
	}
	return &DataKey{aead: aead}, nil
}

// Seal encrypts plaintext, binding aad (such as the tenant, record id and field name, so that
// a sealed value cannot be moved to another field or record). It fails only on a nil
// DataKey.
func (dk *DataKey) Seal(plaintext, aad []byte) ([]byte, error) {
	if dk == nil || dk.aead == nil {
		return nil, errNoKey
	}
	out := make([]byte, 0, len(plaintext)+dk.aead.Overhead())
	return dk.aead.Seal(out, nil, plaintext, aad), nil
}

// Open decrypts what Seal returned with the same aad. Anything else (another key or aad, a
// truncated or altered ciphertext) gives ErrDecrypt.
func (dk *DataKey) Open(ciphertext, aad []byte) ([]byte, error) {
	if dk == nil || dk.aead == nil {
		return nil, errNoKey
	}
	pt, err := dk.aead.Open(nil, nil, ciphertext, aad)
	if err != nil {
		return nil, ErrDecrypt
	}
	return pt, nil
}
