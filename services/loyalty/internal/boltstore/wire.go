package boltstore

import (
	"encoding/binary"
	"encoding/hex"

	"google.golang.org/protobuf/encoding/protowire"

	"github.com/huiyuan-dev/huiyuan/services/loyalty/internal/ledger"
	"github.com/huiyuan-dev/huiyuan/services/loyalty/internal/loyalty"
	"github.com/huiyuan-dev/huiyuan/services/loyalty/internal/loyaltypb"
)

// The hot path's records (a journal entry, an account, an order's event) are encoded here with
// protowire, straight from the domain values into one buffer, instead of building the
// generated messages and marshalling them: on the single writer, where every order of every
// caller is encoded in turn, building messages was a third of the work. The bytes are the
// messages' wire format (records.proto, events.proto), which the generated code decodes; the
// tests check each encoder against the generated messages.

// enc appends protobuf fields to b.
type enc struct{ b []byte }

func (e *enc) str(n protowire.Number, s string) {
	if s != "" {
		e.b = protowire.AppendTag(e.b, n, protowire.BytesType)
		e.b = protowire.AppendString(e.b, s)
	}
}

func (e *enc) bytes(n protowire.Number, v []byte) {
	if len(v) > 0 {
		e.b = protowire.AppendTag(e.b, n, protowire.BytesType)
		e.b = protowire.AppendBytes(e.b, v)
	}
}

func (e *enc) i64(n protowire.Number, v int64) {
	if v != 0 {
		e.b = protowire.AppendTag(e.b, n, protowire.VarintType)
		e.b = protowire.AppendVarint(e.b, uint64(v))
	}
}

func (e *enc) u64(n protowire.Number, v uint64) {
	if v != 0 {
		e.b = protowire.AppendTag(e.b, n, protowire.VarintType)
		e.b = protowire.AppendVarint(e.b, v)
	}
}

func (e *enc) flag(n protowire.Number, v bool) {
	if v {
		e.b = protowire.AppendTag(e.b, n, protowire.VarintType)
		e.b = append(e.b, 1)
	}
}

// msg appends a nested message whose fields body appends: encoded in place after a one-byte
// length, which is right for most (under 128 bytes); a longer one is moved up to make room
// for its longer length.
func (e *enc) msg(n protowire.Number, body func(e *enc)) {
	e.b = protowire.AppendTag(e.b, n, protowire.BytesType)
	at := len(e.b)
	e.b = append(e.b, 0)
	body(e)
	size := len(e.b) - at - 1
	if size < 0x80 {
		e.b[at] = byte(size)
		return
	}
	var lb [binary.MaxVarintLen64]byte
	l := protowire.AppendVarint(lb[:0], uint64(size))
	e.b = append(e.b, l[1:]...)
	copy(e.b[at+len(l):], e.b[at+1:at+1+size])
	copy(e.b[at:], l)
}

// ts appends a google.protobuf.Timestamp; nothing for the zero time.
func (e *enc) ts(n protowire.Number, nanos int64) {
	if nanos == 0 {
		return
	}
	sec, ns := nanos/1e9, nanos%1e9
	if ns < 0 {
		sec, ns = sec-1, ns+1e9
	}
	e.msg(n, func(e *enc) {
		e.i64(1, sec)
		e.i64(2, ns)
	})
}

// cause appends a storage CauseRecord.
func (c *codec) cause(e *enc, n protowire.Number, x ledger.Cause, ref string) {
	e.msg(n, func(e *enc) {
		e.i64(1, int64(c.causeEnums[x.Type]))
		e.str(2, ref)
		e.str(3, x.Reason)
		e.str(4, x.Actor)
	})
}

// appendEntry appends e's EntryRecord (see toEntryRecord for the fields).
func (c *codec) appendEntry(dst []byte, e *loyalty.Entry) []byte {
	w := enc{dst}
	w.bytes(1, e.Hash[:])
	w.i64(2, nanos(e.Time))
	w.str(3, e.MemberID)
	w.u64(4, e.MemberPrevious)
	if t := e.Txn; t != nil {
		w.msg(5, func(w *enc) {
			w.str(1, t.ID)
			w.i64(2, int64(c.kindEnums[t.Kind]))
			ref := t.Cause.Ref
			if e.Order != nil && t.Cause.Type == ledger.CauseOrder && ref == e.Order.ID {
				ref = "" // the entry's order says it
			}
			c.cause(w, 3, t.Cause, ref)
			for _, p := range t.Postings {
				acc, campaign := c.accountEnum(p.Account)
				w.msg(4, func(w *enc) {
					w.i64(1, int64(acc))
					w.i64(2, p.Points)
					w.str(3, campaign)
				})
			}
			w.i64(5, e.AvailableAfter)
		})
	}
	if o := e.Order; o != nil {
		w.msg(6, func(w *enc) {
			w.str(1, o.ID)
			w.i64(2, o.AmountMinor)
			w.str(3, o.Currency)
			w.str(4, o.StoreID)
			for _, it := range o.Items {
				w.msg(5, func(w *enc) {
					w.str(1, it.SKU)
					w.str(2, it.Category)
					w.i64(3, it.Quantity)
					w.i64(4, it.UnitPriceMinor)
				})
			}
			if !o.TimeDefaulted {
				w.i64(6, nanos(o.CreateTime))
			}
			w.i64(7, o.PointsEarned)
		})
	}
	if f := e.Refund; f != nil {
		w.msg(7, func(w *enc) {
			w.str(1, f.OrderID)
			w.i64(2, f.AmountMinor)
			w.i64(3, f.RefundedTotal)
			w.i64(4, f.PointsReversed)
			w.i64(5, f.PointsToDebt)
			w.i64(6, f.ReversedTotal)
			w.i64(7, f.ToDebtTotal)
		})
	}
	return w.b
}

// appendAccount appends a's AccountRecord (see toAccountRecord for the fields) with tail, the
// last of its lots: the others are records of their own (lots.go). Balances are written in
// map order: a record's bytes need not be canonical, only decodable.
func (c *codec) appendAccount(dst []byte, a *loyalty.Account, tail []ledger.Lot) []byte {
	w := enc{dst}
	b := a.Book
	for acc, p := range b.Balances {
		e, campaign := c.accountEnum(acc)
		w.msg(1, func(w *enc) {
			w.i64(1, int64(e))
			w.i64(2, p)
			w.str(3, campaign)
		})
	}
	for i := range tail {
		w.msg(2, func(w *enc) { w.b = appendLot(w.b, &tail[i]) })
	}
	for i := range b.Holds {
		h := &b.Holds[i]
		w.msg(3, func(w *enc) {
			w.str(1, h.ID)
			c.cause(w, 2, h.Cause, h.Cause.Ref)
			w.i64(3, h.Amount)
			w.i64(4, h.Points)
			w.i64(5, h.Captured)
			for _, p := range h.Portions {
				w.msg(6, func(w *enc) {
					w.str(1, p.LotID)
					w.i64(2, p.Points)
				})
			}
			w.i64(7, nanos(h.CreatedAt))
			w.i64(8, nanos(h.ExpiresAt))
			w.i64(9, nanos(h.ClosedAt))
			w.i64(10, int64(c.holdEnums[h.Status]))
		})
	}
	w.i64(4, b.LifetimeEarned)
	for _, m := range b.RecentTransfers {
		w.msg(5, func(w *enc) {
			w.i64(1, nanos(m.At))
			w.i64(2, m.Points)
		})
	}
	w.i64(6, nanos(b.UpdatedAt))
	w.i64(7, nanos(a.Due))
	w.u64(8, a.LastSequence)
	w.str(9, a.Tier)
	if ci := a.CheckIn; ci != (ledger.CheckInState{}) {
		w.msg(10, func(w *enc) {
			w.str(1, ci.LastDate)
			w.i64(2, int64(ci.Streak))
			w.i64(3, ci.Days)
		})
	}
	w.u64(11, b.LotSeq)
	w.i64(12, int64(c.memberEnums[a.Status]))
	w.flag(13, len(tail) > 0) // recordTail keeps an expiry's lots together
	return w.b
}

// appendLot appends l's LotRecord: the value of its key in the lots bucket, and what an
// AccountRecord's field 2 held before lots had keys of their own.
func appendLot(dst []byte, l *ledger.Lot) []byte {
	w := enc{dst}
	w.str(1, l.ID)
	w.str(2, l.Order)
	w.i64(3, nanos(l.EarnedAt))
	w.i64(4, nanos(l.ExpiresAt))
	w.i64(5, nanos(l.PendingUntil))
	w.flag(6, l.Pending)
	w.i64(7, l.Points)
	w.i64(8, l.Remaining)
	w.i64(9, l.Held)
	w.flag(10, l.Notified)
	return w.b
}

// appendTxnMessage appends e's transaction as a huiyuan.loyalty.v1.PointsTransaction (what
// loyaltypb.Txn builds).
func appendTxnMessage(w *enc, n protowire.Number, e *loyalty.Entry) {
	t := e.Txn
	w.msg(n, func(w *enc) {
		w.str(1, t.ID)
		w.str(2, t.MemberID)
		w.i64(3, int64(loyaltypb.Kind(t.Kind)))
		w.i64(4, t.Delta(ledger.Available))
		w.msg(5, func(w *enc) {
			w.i64(5, int64(loyaltypb.CauseType(t.Cause.Type)))
			w.str(2, t.Cause.Ref)
			w.str(3, t.Cause.Reason)
			w.str(4, t.Cause.Actor)
		})
		for _, p := range t.Postings {
			w.msg(6, func(w *enc) {
				w.str(1, loyaltypb.AccountName(t.MemberID, p.Account))
				w.i64(2, p.Points)
			})
		}
		w.ts(7, nanos(t.Time))
		w.u64(8, e.Sequence)
		var hx [64]byte
		hex.Encode(hx[:], e.Hash[:])
		w.bytes(9, hx[:])
	})
}

// appendOrderRecorded appends the OrderRecordedEvent of an order's entry.
func appendOrderRecorded(dst []byte, e *loyalty.Entry) []byte {
	w := enc{dst}
	o := e.Order
	w.msg(1, func(w *enc) {
		w.str(1, o.ID)
		w.str(2, o.MemberID)
		w.i64(3, o.AmountMinor)
		w.str(4, o.Currency)
		w.str(5, o.StoreID)
		for _, it := range o.Items {
			w.msg(6, func(w *enc) {
				w.str(1, it.SKU)
				w.str(2, it.Category)
				w.i64(3, it.Quantity)
				w.i64(4, it.UnitPriceMinor)
			})
		}
		w.ts(7, nanos(o.CreateTime))
		w.i64(8, o.PointsEarned)
		w.i64(9, o.RefundedMinor)
		w.i64(10, o.PointsReversed)
	})
	if e.Txn != nil {
		appendTxnMessage(&w, 2, e)
		w.i64(3, e.AvailableAfter)
	}
	return w.b
}

// appendPointsChanged appends the PointsChangedEvent of a transaction's entry.
func appendPointsChanged(dst []byte, e *loyalty.Entry) []byte {
	w := enc{dst}
	appendTxnMessage(&w, 1, e)
	w.i64(2, e.AvailableAfter)
	return w.b
}
