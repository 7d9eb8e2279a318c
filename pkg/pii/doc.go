// Package pii protects personal data at rest. Each subject (a member, say) gets its own data
// key; data keys are stored wrapped (encrypted) by a key derived from the key-encryption key
// (KEK) that comes from configuration, and fields are sealed under the data key with
// AES-256-GCM. Deleting a subject's wrapped data key makes everything sealed under it
// unreadable (crypto-shredding). Lookups by phone or email use a blind index: a keyed
// HMAC-SHA256 of the normalized value, never the value itself.
//
// Two keys are derived from the KEK with HKDF-SHA256 under distinct labels, one to wrap data
// keys and one for blind indexes, so that neither use can help attack the other.
//
// Errors from this package never contain plaintext, keys or key material.
package pii
