package boltx

import "encoding/binary"

// sep separates the parts of a key. Tenant ids and the ids used as parts never contain it, so
// keys of one tenant are exactly those starting with TenantPrefix(tenant).
const sep = 0x00

// Key builds the key tenant 0x00 part 0x00 part ... in one allocation. Parts must not contain
// 0x00, or two different part lists could build the same key.
func Key(tenant string, parts ...string) []byte {
	n := len(tenant)
	for _, p := range parts {
		n += 1 + len(p)
	}
	k := make([]byte, 0, n)
	k = append(k, tenant...)
	for _, p := range parts {
		k = append(k, sep)
		k = append(k, p...)
	}
	return k
}

// TenantPrefix returns tenant 0x00: the prefix shared by every Key(tenant, ...) with at least
// one part, and by no key of another tenant.
func TenantPrefix(tenant string) []byte {
	k := make([]byte, 0, len(tenant)+1)
	k = append(k, tenant...)
	return append(k, sep)
}

// U64 encodes v as 8 big-endian bytes, so that numeric order is byte order (sequence keys,
// counters).
func U64(v uint64) []byte {
	return binary.BigEndian.AppendUint64(make([]byte, 0, 8), v)
}

// ParseU64 decodes what U64 encoded. It returns 0 for anything that is not exactly 8 bytes,
// including nil, so a counter that was never written reads as 0.
func ParseU64(b []byte) uint64 {
	if len(b) != 8 {
		return 0
	}
	return binary.BigEndian.Uint64(b)
}
