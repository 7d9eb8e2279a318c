package loyalty

import (
	"crypto/sha256"
	"encoding/binary"
	"time"
)

// canonVersion starts an entry's canonical bytes, so the encoding can change one day without
// old links verifying differently.
const canonVersion = 2

// AppendCanonical appends the canonical bytes of e to dst: every field but the hash and the
// history link, each length-prefixed, in a fixed order. The chain is built over these bytes
// rather than over a protobuf encoding, which the protobuf library does not promise to keep
// stable.
func AppendCanonical(dst []byte, e *Entry) []byte {
	dst = append(dst, canonVersion)
	dst = binary.AppendUvarint(dst, e.Sequence)
	dst = binary.AppendVarint(dst, nanos(e.Time))
	dst = appendString(dst, e.MemberID)
	if t := e.Txn; t != nil {
		dst = append(dst, 't')
		dst = appendString(dst, t.ID)
		dst = appendString(dst, string(t.Kind))
		dst = appendString(dst, string(t.Cause.Type))
		dst = appendString(dst, t.Cause.Ref)
		dst = appendString(dst, t.Cause.Reason)
		dst = appendString(dst, t.Cause.Actor)
		dst = binary.AppendVarint(dst, e.AvailableAfter)
		dst = binary.AppendUvarint(dst, uint64(len(t.Postings)))
		for _, p := range t.Postings {
			dst = appendString(dst, string(p.Account))
			dst = binary.AppendVarint(dst, p.Points)
		}
	}
	if o := e.Order; o != nil {
		dst = append(dst, 'o')
		dst = appendString(dst, o.ID)
		dst = binary.AppendVarint(dst, o.AmountMinor)
		dst = appendString(dst, o.Currency)
		dst = appendString(dst, o.StoreID)
		dst = binary.AppendUvarint(dst, uint64(len(o.Items)))
		for _, it := range o.Items {
			dst = appendString(dst, it.SKU)
			dst = appendString(dst, it.Category)
			dst = binary.AppendVarint(dst, it.Quantity)
			dst = binary.AppendVarint(dst, it.UnitPriceMinor)
		}
		if o.TimeDefaulted {
			dst = append(dst, 0)
		} else {
			dst = append(dst, 1)
			dst = binary.AppendVarint(dst, nanos(o.CreateTime))
		}
		dst = binary.AppendVarint(dst, o.PointsEarned)
	}
	if r := e.Refund; r != nil {
		dst = append(dst, 'r')
		dst = appendString(dst, r.OrderID)
		for _, n := range [...]int64{r.AmountMinor, r.RefundedTotal, r.PointsReversed, r.PointsToDebt, r.ReversedTotal, r.ToDebtTotal} {
			dst = binary.AppendVarint(dst, n)
		}
	}
	return dst
}

func appendString(dst []byte, s string) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(s)))
	return append(dst, s...)
}

// Link returns SHA-256(prev ‖ canonical bytes of e), using buf as scratch space, and the
// (possibly grown) buffer for reuse.
func Link(buf []byte, prev [32]byte, e *Entry) ([32]byte, []byte) {
	buf = append(buf[:0], prev[:]...)
	buf = AppendCanonical(buf, e)
	return sha256.Sum256(buf), buf
}

// nanos encodes t as Unix nanoseconds, 0 for the zero time.
func nanos(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}
