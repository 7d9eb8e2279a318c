package boltstore

import (
	"bytes"
	"encoding/binary"
	"math"
	"time"

	"github.com/huiyuan-dev/huiyuan/pkg/boltx"
	"github.com/huiyuan-dev/huiyuan/services/loyalty/internal/ledger"
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

// lotPrefix starts the keys of member's lots.
func lotPrefix(tenant, member string) []byte {
	return append(boltx.Key(tenant, member), 0)
}

// lotKey is the key of member's lot l (see LotRecord): after prefix (lotPrefix), its expiry,
// its earn time and its id, so that byte order is consumption order.
func lotKey(prefix []byte, l *ledger.Lot) []byte {
	k := make([]byte, 0, len(prefix)+16+len(l.ID))
	k = append(k, prefix...)
	k = appendLotTime(k, l.ExpiresAt)
	if l.EarnedAt.IsZero() { // first, as in consumption order
		k = binary.BigEndian.AppendUint64(k, 0)
	} else {
		k = binary.BigEndian.AppendUint64(k, uint64(l.EarnedAt.UnixNano())^(1<<63))
	}
	return append(k, l.ID...)
}

// appendLotTime appends an expiry as lot keys hold it; the zero time (never expires) sorts
// last.
func appendLotTime(k []byte, t time.Time) []byte {
	if t.IsZero() {
		return binary.BigEndian.AppendUint64(k, math.MaxUint64)
	}
	return binary.BigEndian.AppendUint64(k, uint64(t.UnixNano())^(1<<63))
}

// lotKeyExpiry returns the expiry in a lot key after a prefix of prefixLen bytes, and false
// for a key too short to be one.
func lotKeyExpiry(k []byte, prefixLen int) (time.Time, bool) {
	if len(k) < prefixLen+16 {
		return time.Time{}, false
	}
	v := binary.BigEndian.Uint64(k[prefixLen:])
	if v == math.MaxUint64 {
		return time.Time{}, true
	}
	return time.Unix(0, int64(v^(1<<63))).UTC(), true
}
