package boltstore

import (
	"crypto/sha256"
	"encoding/binary"

	"github.com/huiyuan-dev/huiyuan/pkg/boltx"
	"github.com/huiyuan-dev/huiyuan/services/loyalty/internal/loyalty"
)

// canonVersion starts a transaction's canonical bytes, so the encoding can change one day
// without old links verifying differently.
const canonVersion = 1

// appendCanonical appends the canonical bytes of t to dst: every field but the hash, each
// length-prefixed, in a fixed order. The hash chain is built over these bytes rather than
// over the protobuf encoding, which the protobuf library does not promise to keep stable.
func appendCanonical(dst []byte, t *loyalty.Txn) []byte {
	dst = append(dst, canonVersion)
	dst = binary.AppendUvarint(dst, t.Sequence)
	dst = appendString(dst, t.ID)
	dst = appendString(dst, t.MemberID)
	dst = appendString(dst, string(t.Kind))
	dst = appendString(dst, string(t.Cause.Type))
	dst = appendString(dst, t.Cause.Ref)
	dst = appendString(dst, t.Cause.Reason)
	dst = appendString(dst, t.Cause.Actor)
	dst = binary.AppendVarint(dst, nanos(t.Time))
	dst = binary.AppendVarint(dst, t.AvailableAfter)
	dst = binary.AppendUvarint(dst, uint64(len(t.Postings)))
	for _, p := range t.Postings {
		dst = appendString(dst, string(p.Account))
		dst = binary.AppendVarint(dst, p.Points)
	}
	return dst
}

func appendString(dst []byte, s string) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(s)))
	return append(dst, s...)
}

// linkHash returns SHA-256(prev || canonical bytes of t), using buf as scratch space; it
// returns the (possibly grown) buffer for reuse.
func linkHash(buf []byte, prev [32]byte, t *loyalty.Txn) ([32]byte, []byte) {
	buf = append(buf[:0], prev[:]...)
	buf = appendCanonical(buf, t)
	return sha256.Sum256(buf), buf
}

// txnKey is the key of tenant's transaction seq in bucketTxns.
func txnKey(tenant string, seq uint64) []byte {
	k := make([]byte, 0, len(tenant)+9)
	k = append(k, boltx.TenantPrefix(tenant)...)
	return binary.BigEndian.AppendUint64(k, seq)
}

// headKey is the key of tenant's chain head in bucketTxns: after every transaction key.
func headKey(tenant string) []byte {
	k := make([]byte, 0, len(tenant)+10)
	k = append(k, boltx.TenantPrefix(tenant)...)
	return append(k, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff)
}

// historyPrefix is the prefix of member's history entries in bucketBooks.
func historyPrefix(tenant, member string) []byte {
	return append(boltx.Key(tenant, member), 0)
}

// historyKey is the key of member's transaction seq in bucketBooks: sequences are stored
// inverted so the newest comes first.
func historyKey(prefix []byte, seq uint64) []byte {
	k := make([]byte, 0, len(prefix)+8)
	k = append(k, prefix...)
	return binary.BigEndian.AppendUint64(k, ^seq)
}

// historySeq returns the sequence of a history key with the given prefix length.
func historySeq(k []byte, prefixLen int) uint64 {
	return ^binary.BigEndian.Uint64(k[prefixLen:])
}
