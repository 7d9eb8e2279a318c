package boltstore

import (
	"bytes"
	"encoding/binary"

	"github.com/huiyuan-dev/huiyuan/pkg/boltx"
)

// entryKey is the key of tenant's journal entry seq.
func entryKey(tenant string, seq uint64) []byte {
	k := make([]byte, 0, len(tenant)+9)
	k = append(k, tenant...)
	k = append(k, 0)
	return binary.BigEndian.AppendUint64(k, seq)
}

// headKey is the key of tenant's chain head: after every entry key, on the page the journal
// appends to.
func headKey(tenant string) []byte {
	k := make([]byte, 0, len(tenant)+10)
	k = append(k, boltx.TenantPrefix(tenant)...)
	return append(k, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff)
}

// entrySeq returns the sequence of a journal key of the tenant whose prefix has prefixLen
// bytes, and false for the head or a key of another shape.
func entrySeq(k []byte, prefixLen int) (uint64, bool) {
	if len(k) != prefixLen+8 {
		return 0, false
	}
	return binary.BigEndian.Uint64(k[prefixLen:]), true
}

// dueKey is the due-index key of member's account due at n (Unix nanoseconds).
func dueKey(n int64, tenant, member string) []byte {
	k := make([]byte, 0, 8+len(tenant)+1+len(member))
	k = binary.BigEndian.AppendUint64(k, uint64(max(n, 1)))
	k = append(k, tenant...)
	k = append(k, 0)
	return append(k, member...)
}

// parseDueKey splits a due-index key.
func parseDueKey(k []byte) (at int64, tenant, member string, ok bool) {
	if len(k) < 10 {
		return 0, "", "", false
	}
	rest := k[8:]
	i := bytes.IndexByte(rest, 0)
	if i <= 0 || i == len(rest)-1 {
		return 0, "", "", false
	}
	return int64(binary.BigEndian.Uint64(k[:8])), string(rest[:i]), string(rest[i+1:]), true
}

// memberRedemptionKey indexes redemption id under its member.
func memberRedemptionKey(tenant, member, id string) []byte {
	return append(append(boltx.Key(tenant, member), 0), id...)
}
