package pii

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"hash"
)

// indexer is an HMAC keyed with the blind-index key plus a scratch buffer, pooled per Keyring.
type indexer struct {
	mac hash.Hash
	buf []byte
}

func newIndexer(key []byte) *indexer {
	return &indexer{mac: hmac.New(sha256.New, key), buf: make([]byte, 0, 128)}
}

// BlindIndex returns a 32-byte keyed hash (HMAC-SHA256 under a key derived from the KEK) of
// normalized within tenant and kind (such as "phone" or "email"). Equal inputs give equal
// indexes, so a store can look a value up without keeping it in plaintext; without the KEK
// the index reveals nothing about the value. Normalizing (E.164 phone numbers, lower-case
// email) is the caller's job. The three inputs are length-prefixed, so that ("a", "bc") and
// ("ab", "c") never collide, and the tenant is an input, so equal values of two tenants have
// unrelated indexes.
func (k *Keyring) BlindIndex(tenant, kind, normalized string) []byte {
	ix := k.macs.Get().(*indexer)
	b := ix.buf[:0]
	b = binary.AppendUvarint(b, uint64(len(tenant)))
	b = append(b, tenant...)
	b = binary.AppendUvarint(b, uint64(len(kind)))
	b = append(b, kind...)
	b = binary.AppendUvarint(b, uint64(len(normalized)))
	b = append(b, normalized...)
	ix.mac.Reset()
	ix.mac.Write(b)
	sum := ix.mac.Sum(make([]byte, 0, sha256.Size))
	if cap(b) <= 4096 { // do not pin a huge buffer in the pool
		ix.buf = b[:0]
	}
	clear(b) // the buffer held a personal value
	k.macs.Put(ix)
	return sum
}
