package pii

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"sync"
)

const (
	keySize = 32 // AES-256 and HMAC-SHA256 keys

	// wrapVersion is the first byte of a wrapped data key, so the format can change later.
	wrapVersion byte = 1
	// wrappedSize is version || nonce (12) || encrypted data key (32) || GCM tag (16).
	wrappedSize = 1 + 12 + keySize + 16

	// HKDF labels: one per derived key, versioned so that a future scheme derives new keys.
	infoWrap  = "huiyuan/pii/v1/data-key-wrapping"
	infoIndex = "huiyuan/pii/v1/blind-index"
)

var (
	// ErrInvalidKEK is returned by ParseKEK and NewKeyring for a KEK that is not 32 bytes (or
	// not base64).
	ErrInvalidKEK = errors.New("pii: the KEK must be 32 random bytes, base64-encoded")
	// ErrDecrypt is wrapped by every failure to open a wrapped data key or a sealed value: a
	// wrong KEK or data key, a wrong scope or AAD, a truncated or tampered input. The cases are
	// deliberately not told apart.
	ErrDecrypt = errors.New("pii: cannot decrypt: wrong key, scope or AAD, or damaged data")
)

// ParseKEK decodes a KEK given as standard or URL-safe base64, padded or not, surrounding
// spaces ignored. It returns ErrInvalidKEK (which does not echo the input) unless the result
// is 32 bytes.
func ParseKEK(s string) ([]byte, error) {
	s = strings.TrimSpace(s)
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if k, err := enc.DecodeString(s); err == nil {
			if len(k) != keySize {
				break
			}
			return k, nil
		}
	}
	return nil, ErrInvalidKEK
}

// Keyring holds the keys derived from one KEK. It is safe for concurrent use.
type Keyring struct {
	wrap     cipher.AEAD // AES-256-GCM with random nonces, under the wrapping key
	indexKey []byte
	macs     sync.Pool // of *indexer, so BlindIndex does not rebuild an HMAC per call
}

// NewKeyring derives the wrapping and blind-index keys from kek. It returns ErrInvalidKEK
// unless kek is 32 bytes. kek is not retained.
func NewKeyring(kek []byte) (*Keyring, error) {
	if len(kek) != keySize {
		return nil, ErrInvalidKEK
	}
	wrapKey, err := hkdf.Key(sha256.New, kek, nil, infoWrap, keySize)
	if err != nil {
		return nil, fmt.Errorf("pii: derive wrapping key: %w", err)
	}
	defer clear(wrapKey)
	indexKey, err := hkdf.Key(sha256.New, kek, nil, infoIndex, keySize)
	if err != nil {
		return nil, fmt.Errorf("pii: derive index key: %w", err)
	}
	wrap, err := newAEAD(wrapKey)
	if err != nil {
		return nil, err
	}
	k := &Keyring{wrap: wrap, indexKey: indexKey}
	k.macs.New = func() any { return newIndexer(k.indexKey) }
	return k, nil
}

// NewDataKey makes a fresh random data key for scope (such as "acme/members/<id>") and returns
// it with its wrapped form, the only form to store. The scope is bound to the wrapped key as
// associated data: OpenDataKey fails under any other scope, so a wrapped key copied to another
// subject's record is useless there.
func (k *Keyring) NewDataKey(scope string) (wrapped []byte, dk *DataKey, err error) {
	key := make([]byte, keySize)
	defer clear(key)
	_, _ = rand.Read(key) // never fails (crypto/rand: it crashes the program instead)
	if dk, err = newDataKey(key); err != nil {
		return nil, nil, err
	}
	wrapped = make([]byte, 1, wrappedSize)
	wrapped[0] = wrapVersion
	wrapped = k.wrap.Seal(wrapped, nil, key, wrapAAD(scope))
	return wrapped, dk, nil
}

// OpenDataKey unwraps what NewDataKey returned for the same scope. Any other input (other
// scope, other KEK, tampered, truncated or of an unknown version) gives an error wrapping
// ErrDecrypt.
func (k *Keyring) OpenDataKey(scope string, wrapped []byte) (*DataKey, error) {
	if len(wrapped) != wrappedSize {
		return nil, fmt.Errorf("%w: a wrapped data key has %d bytes, got %d", ErrDecrypt, wrappedSize, len(wrapped))
	}
	if wrapped[0] != wrapVersion {
		return nil, fmt.Errorf("%w: unknown wrapped data key version %d", ErrDecrypt, wrapped[0])
	}
	key, err := k.wrap.Open(nil, nil, wrapped[1:], wrapAAD(scope))
	if err != nil {
		return nil, ErrDecrypt
	}
	defer clear(key)
	return newDataKey(key)
}

// wrapAAD binds the format version and the scope to a wrapped key.
func wrapAAD(scope string) []byte {
	aad := make([]byte, 0, 1+len(scope))
	aad = append(aad, wrapVersion)
	return append(aad, scope...)
}

func newAEAD(key []byte) (cipher.AEAD, error) {
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("pii: aes: %w", err)
	}
	aead, err := cipher.NewGCMWithRandomNonce(block)
	if err != nil {
		return nil, fmt.Errorf("pii: gcm: %w", err)
	}
	return aead, nil
}
