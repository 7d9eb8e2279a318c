package boltstore

import (
	"errors"
	"fmt"

	"google.golang.org/protobuf/encoding/protowire"

	"github.com/huiyuan-dev/huiyuan/services/loyalty/internal/ledger"
	"github.com/huiyuan-dev/huiyuan/services/loyalty/internal/loyalty"

	storagev1 "github.com/huiyuan-dev/huiyuan/gen/huiyuan/loyalty/storage/v1"
)

// An account is read by every order of its member, so it is decoded here with protowire
// straight into the domain's values (as wire.go encodes it), without the generated messages in
// between; the tests check it against the generated decoder.

var errWire = errors.New("malformed record")

// dec reads protobuf fields from b.
type dec struct{ b []byte }

// field returns the next field's number and type, and false at the end.
func (d *dec) field() (protowire.Number, protowire.Type, bool, error) {
	if len(d.b) == 0 {
		return 0, 0, false, nil
	}
	n, t, l := protowire.ConsumeTag(d.b)
	if l < 0 {
		return 0, 0, false, errWire
	}
	d.b = d.b[l:]
	return n, t, true, nil
}

func (d *dec) varint(t protowire.Type) (uint64, error) {
	if t != protowire.VarintType {
		return 0, errWire
	}
	v, l := protowire.ConsumeVarint(d.b)
	if l < 0 {
		return 0, errWire
	}
	d.b = d.b[l:]
	return v, nil
}

func (d *dec) bytes(t protowire.Type) ([]byte, error) {
	if t != protowire.BytesType {
		return nil, errWire
	}
	v, l := protowire.ConsumeBytes(d.b)
	if l < 0 {
		return nil, errWire
	}
	d.b = d.b[l:]
	return v, nil
}

func (d *dec) skip(n protowire.Number, t protowire.Type) error {
	l := protowire.ConsumeFieldValue(n, t, d.b)
	if l < 0 {
		return errWire
	}
	d.b = d.b[l:]
	return nil
}

// fields calls f for each field of the message in b; f reads the field's value from d.
func fields(b []byte, f func(d *dec, n protowire.Number, t protowire.Type) error) error {
	d := &dec{b: b}
	for {
		n, t, ok, err := d.field()
		if err != nil || !ok {
			return err
		}
		if err := f(d, n, t); err != nil {
			return err
		}
	}
}

// decodeAccount decodes the AccountRecord raw of member, and reports its lots_precede (see
// lots.go). The record's lots' ids are cut from one copy of the record.
func (c *codec) decodeAccount(member string, raw []byte) (*loyalty.Account, bool, error) {
	b := &ledger.Book{MemberID: member, Balances: map[ledger.Account]int64{}}
	a := &loyalty.Account{MemberID: member, Book: b}
	precede := false
	text := recordText{raw: raw, s: string(raw)}
	err := fields(raw, func(d *dec, n protowire.Number, t protowire.Type) error {
		var v uint64
		var m []byte
		var err error
		switch n {
		case 1, 2, 3, 5, 10:
			if m, err = d.bytes(t); err != nil {
				return err
			}
		case 4, 6, 7, 8, 11, 12, 13:
			if v, err = d.varint(t); err != nil {
				return err
			}
		case 9:
			s, err := d.bytes(t)
			a.Tier = string(s)
			return err
		default:
			return d.skip(n, t)
		}
		switch n {
		case 1:
			return c.decodeBalance(m, b)
		case 2:
			l, err := decodeLot(m, &text)
			b.Lots = append(b.Lots, l)
			return err
		case 3:
			h, err := c.decodeHold(m)
			b.Holds = append(b.Holds, h)
			return err
		case 5:
			return decodeMark(m, b)
		case 10:
			return decodeCheckIn(m, a)
		case 4:
			b.LifetimeEarned = int64(v)
		case 6:
			b.UpdatedAt = fromNanos(int64(v))
		case 7:
			a.Due = fromNanos(int64(v))
		case 8:
			a.LastSequence = v
		case 11:
			b.LotSeq = v
		case 12:
			a.Status = c.members[storagev1.MemberStatus(int32(v))]
		case 13:
			precede = v != 0
		}
		return nil
	})
	if err != nil {
		return nil, false, fmt.Errorf("decode the account of member %s: %w", member, err)
	}
	return a, precede, nil
}

// ints reads the varint fields of a message into vals by field number (1 to len(vals)-1),
// and the string fields into strs; others are skipped.
func ints(m []byte, vals []uint64, strs []string) error {
	return fields(m, func(d *dec, n protowire.Number, t protowire.Type) error {
		if int(n) < len(vals) && t == protowire.VarintType {
			v, err := d.varint(t)
			vals[n] = v
			return err
		}
		if int(n) < len(strs) && t == protowire.BytesType {
			s, err := d.bytes(t)
			strs[n] = string(s)
			return err
		}
		return d.skip(n, t)
	})
}

func (c *codec) decodeBalance(m []byte, b *ledger.Book) error {
	var vals [3]uint64
	var strs [4]string
	if err := ints(m, vals[:], strs[:]); err != nil {
		return err
	}
	acc, err := c.account(storagev1.Account(vals[1]), strs[3])
	if err != nil {
		return err
	}
	b.Balances[acc] = int64(vals[2])
	return nil
}

// recordText hands out the strings of a record as substrings of one copy of it.
type recordText struct {
	raw []byte
	s   string // string(raw)
}

// of returns v, a subslice of raw, as a string.
func (x *recordText) of(v []byte) string {
	// v was cut from raw by two-index slicing, so its offset in raw is the capacity it lost.
	if off := cap(x.raw) - cap(v); off >= 0 && off+len(v) <= len(x.s) {
		return x.s[off : off+len(v)]
	}
	return string(v)
}

// decodeLot decodes the LotRecord m. Views read every lot of an account (hundreds under a
// daily expiry), so it reads the fields itself, as ints would: varints 3-10 by number, strings
// 1 (id) and 2 (order), anything else skipped.
func decodeLot(m []byte, text *recordText) (ledger.Lot, error) {
	var vals [11]uint64
	var id, order string
	for len(m) > 0 {
		n, t, l := protowire.ConsumeTag(m)
		if l < 0 {
			return ledger.Lot{}, errWire
		}
		m = m[l:]
		switch {
		case t == protowire.VarintType && n >= 3 && n <= 10:
			v, l := protowire.ConsumeVarint(m)
			if l < 0 {
				return ledger.Lot{}, errWire
			}
			vals[n], m = v, m[l:]
		case t == protowire.BytesType && (n == 1 || n == 2):
			v, l := protowire.ConsumeBytes(m)
			if l < 0 {
				return ledger.Lot{}, errWire
			}
			if m = m[l:]; n == 1 {
				id = text.of(v)
			} else {
				order = text.of(v)
			}
		default:
			l := protowire.ConsumeFieldValue(n, t, m)
			if l < 0 {
				return ledger.Lot{}, errWire
			}
			m = m[l:]
		}
	}
	return ledger.Lot{ID: id, Order: order, EarnedAt: fromNanos(int64(vals[3])),
		ExpiresAt: fromNanos(int64(vals[4])), PendingUntil: fromNanos(int64(vals[5])), Pending: vals[6] != 0,
		Points: int64(vals[7]), Remaining: int64(vals[8]), Held: int64(vals[9]), Notified: vals[10] != 0}, nil
}

func (c *codec) decodeHold(m []byte) (ledger.Hold, error) {
	var h ledger.Hold
	var vals [11]uint64
	err := fields(m, func(d *dec, n protowire.Number, t protowire.Type) error {
		switch {
		case n == 1:
			s, err := d.bytes(t)
			h.ID = string(s)
			return err
		case n == 2:
			s, err := d.bytes(t)
			if err == nil {
				h.Cause, err = c.decodeCause(s)
			}
			return err
		case n == 6:
			s, err := d.bytes(t)
			if err != nil {
				return err
			}
			var pv [3]uint64
			var ps [2]string
			if err := ints(s, pv[:], ps[:]); err != nil {
				return err
			}
			h.Portions = append(h.Portions, ledger.Portion{LotID: ps[1], Points: int64(pv[2])})
			return nil
		case int(n) < len(vals) && t == protowire.VarintType:
			v, err := d.varint(t)
			vals[n] = v
			return err
		}
		return d.skip(n, t)
	})
	h.Amount, h.Points, h.Captured = int64(vals[3]), int64(vals[4]), int64(vals[5])
	h.CreatedAt, h.ExpiresAt, h.ClosedAt = fromNanos(int64(vals[7])), fromNanos(int64(vals[8])), fromNanos(int64(vals[9]))
	h.Status = c.holds[storagev1.HoldStatus(vals[10])]
	return h, err
}

func (c *codec) decodeCause(m []byte) (ledger.Cause, error) {
	var vals [2]uint64
	var strs [5]string
	err := ints(m, vals[:], strs[:])
	return ledger.Cause{Type: c.causes[storagev1.CauseType(vals[1])], Ref: strs[2], Reason: strs[3], Actor: strs[4]}, err
}

func decodeMark(m []byte, b *ledger.Book) error {
	var vals [3]uint64
	if err := ints(m, vals[:], nil); err != nil {
		return err
	}
	b.RecentTransfers = append(b.RecentTransfers, ledger.TransferMark{At: fromNanos(int64(vals[1])), Points: int64(vals[2])})
	return nil
}

func decodeCheckIn(m []byte, a *loyalty.Account) error {
	var vals [4]uint64
	var strs [2]string
	if err := ints(m, vals[:], strs[:]); err != nil {
		return err
	}
	a.CheckIn = ledger.CheckInState{LastDate: strs[1], Streak: int(int64(vals[2])), Days: int64(vals[3])}
	return nil
}
