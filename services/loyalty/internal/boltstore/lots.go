package boltstore

import (
	"bytes"
	"fmt"
	"slices"
	"sort"
	"time"

	bolt "go.etcd.io/bbolt"
	"google.golang.org/protobuf/encoding/protowire"

	"github.com/huiyuan-dev/huiyuan/services/loyalty/internal/ledger"
)

// An account's last lots live in its record and the others have keys of their own (bucket
// loyalty_lots, see LotRecord), so that what an order costs does not grow with its member's
// history. Under a daily expiry a member who buys every day has a lot per day of the year; an
// order touches only the first lots (those due, those a debit spends first) and the last (the
// one it merges into, the pending ones). The last are in the record, which every order
// rewrites anyway; an update reads a few lots from the front of the bucket and hides the rest
// behind a lotSource, from which the ledger reads what it turns out to need
// (ledger.Book.Hide). Saving writes back only the bucket's lots that changed. A view reads
// every lot.

// DefaultLotWindow is how many lots an update reads at least from the front of an account's
// lots in the bucket.
const DefaultLotWindow = 2

// An account's record holds its last lots: the one an order merges into and one or two more,
// so that most orders write no other lot. New lots join the record until it holds
// recordMaxLots; then all but the last recordLots move to the bucket at once, so that a
// member whose every order starts a lot (a monthly expiry, monthly orders) writes a bucket
// page every other order rather than at every one. A small record is what makes a long
// history cheap: every order decodes, re-encodes and commits it.
const (
	recordLots    = 2
	recordMaxLots = 4
)

// lotsState is what a tx knows of one account's lots in the bucket.
type lotsState struct {
	prefix []byte       // lotPrefix of the account
	stored []ledger.Lot // the lots read from the bucket, as stored
	// unknown: the bucket may hold lots of the account this tx never read (an account saved
	// without being loaded); saving deletes them first.
	unknown bool
	// recordFrom is the key (lotKey without prefix) of the first lot the record holds; nil
	// when it holds none.
	recordFrom []byte
}

// hideable reports whether a store may leave l out of a book (ledger.Book.Hide).
func hideable(l *ledger.Lot) bool {
	return !l.ExpiresAt.IsZero() && !l.Pending && l.Held == 0 && l.Remaining > 0
}

// decodeLotValue decodes a LotRecord from the lots bucket; its strings share one copy of v.
func decodeLotValue(v []byte) (ledger.Lot, error) {
	text := recordText{raw: v, s: string(v)}
	l, err := decodeLot(v, &text)
	if err != nil {
		return ledger.Lot{}, fmt.Errorf("decode a lot: %w", err)
	}
	return l, nil
}

// loadLots puts the bucket's lots of st's account before those its record held: all of them
// when whole, else (an update's) at least window from the front and every lot of the expiry
// it ends on (more while they are pending or held), hiding the rest from the book. When the
// lots read hold fewer pending or held points than the balances say, or the record holds no
// lot with an expiry, it reads from the back too, as many as it takes (and every lot of the
// expiry it ends on).
func (t *tx) loadLots(st *accountState, whole, precede bool, window int) error {
	b := st.a.Book
	lots := &st.lots
	lots.prefix = lotPrefix(t.tenant, st.a.MemberID)
	prefix := lots.prefix
	inline := b.Lots
	if len(inline) > 0 {
		lots.recordFrom = lotKey(nil, &inline[0])
	}
	front := make([]ledger.Lot, 0, window+1)
	bucket := t.bucket(bucketLots)
	c := bucket.Cursor()
	k, v := c.Seek(prefix)
	for ; k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
		l, err := decodeLotValue(v)
		if err != nil {
			return err
		}
		if !whole && len(front) >= window && hideable(&l) &&
			(len(front) == 0 || !l.ExpiresAt.Equal(front[len(front)-1].ExpiresAt)) {
			break
		}
		front = append(front, l)
	}
	if k == nil || !bytes.HasPrefix(k, prefix) {
		lots.stored = front
		b.Lots = joinLots(front, inline)
		return nil
	}
	boundary := bytes.Clone(k) // the first lot not read from the front
	first, _ := lotKeyExpiry(boundary, len(prefix))
	var pending, held int64
	for _, part := range [][]ledger.Lot{front, inline} {
		for i := range part {
			if l := &part[i]; l.Pending {
				pending += l.Remaining
			}
			held += part[i].Held
		}
	}
	wantPending, wantHeld := b.Balances[ledger.Pending], b.Balances[ledger.Held]
	if precede && pending >= wantPending && held >= wantHeld && len(inline) > 0 && !inline[0].ExpiresAt.IsZero() {
		// Every lot in the bucket expires before the record's first (the record says so:
		// recordTail keeps an expiry's lots together), so the hidden ones end before it.
		lots.stored = front
		b.Lots = joinLots(front, inline)
		b.Hide(&lotSource{t: t, st: st}, first, inline[0].ExpiresAt.Add(-time.Nanosecond))
		return nil
	}
	var back []ledger.Lot
	var last time.Time
	bc := bucket.Cursor()
	for k, v = lastWithPrefix(bc, prefix); k != nil && bytes.Compare(k, boundary) >= 0; k, v = bc.Prev() {
		l, err := decodeLotValue(v)
		if err != nil {
			return err
		}
		var after *ledger.Lot // the loaded lot that comes next
		switch {
		case len(back) > 0:
			after = &back[len(back)-1]
		case len(inline) > 0:
			after = &inline[0]
		}
		if hideable(&l) && pending >= wantPending && held >= wantHeld && (after == nil || !l.ExpiresAt.Equal(after.ExpiresAt)) {
			last = l.ExpiresAt
			break
		}
		if l.Pending {
			pending += l.Remaining
		}
		held += l.Held
		back = append(back, l)
	}
	slices.Reverse(back)
	lots.stored = append(front, back...)
	b.Lots = joinLots(lots.stored, inline)
	if !last.IsZero() {
		b.Hide(&lotSource{t: t, st: st}, first, last)
	}
	return nil
}

// joinLots returns a new slice of a's lots then b's, with room for one more (the lot an
// order adds).
func joinLots(a, b []ledger.Lot) []ledger.Lot {
	out := make([]ledger.Lot, 0, len(a)+len(b)+1)
	return append(append(out, a...), b...)
}

// lastWithPrefix positions c on the last key with prefix (or on another key, which the
// caller's range check then stops at).
func lastWithPrefix(c *bolt.Cursor, prefix []byte) ([]byte, []byte) {
	end := bytes.Clone(prefix)
	end[len(end)-1]++ // prefix ends in the 0x00 separator
	if k, _ := c.Seek(end); k == nil {
		return c.Last()
	}
	return c.Prev()
}

// lotSource reads an account's hidden lots for the ledger, within the tx that loaded it.
type lotSource struct {
	t  *tx
	st *accountState
}

// Lots implements ledger.LotSource. A read that fails fails the tx (tx.err).
func (s *lotSource) Lots(from, to time.Time, n int) ([]ledger.Lot, time.Time) {
	lots := &s.st.lots
	prefix := lots.prefix
	c := s.t.bucket(bucketLots).Cursor()
	var out []ledger.Lot
	var next time.Time
	for k, v := c.Seek(appendLotTime(bytes.Clone(prefix), from)); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
		exp, ok := lotKeyExpiry(k, len(prefix))
		if !ok {
			s.t.fail(fmt.Errorf("the lots of member %s: a key of %d bytes", s.st.a.MemberID, len(k)))
			return nil, time.Time{}
		}
		if exp.IsZero() || exp.After(to) {
			break
		}
		if n > 0 && len(out) >= n && !exp.Equal(out[len(out)-1].ExpiresAt) {
			next = exp
			break
		}
		l, err := decodeLotValue(v)
		if err != nil {
			s.t.fail(fmt.Errorf("the lots of member %s: %w", s.st.a.MemberID, err))
			return nil, time.Time{}
		}
		out = append(out, l)
	}
	lots.stored = append(lots.stored, out...)
	return out, next
}

// FirstUnannounced implements ledger.LotSource, reading only each lot's notified flag.
func (s *lotSource) FirstUnannounced(from, to time.Time) time.Time {
	prefix := s.st.lots.prefix
	c := s.t.bucket(bucketLots).Cursor()
	for k, v := c.Seek(appendLotTime(bytes.Clone(prefix), from)); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
		exp, ok := lotKeyExpiry(k, len(prefix))
		if !ok || exp.IsZero() || exp.After(to) {
			break
		}
		notified, err := lotNotified(v)
		if err != nil {
			s.t.fail(fmt.Errorf("the lots of member %s: %w", s.st.a.MemberID, err))
			return time.Time{}
		}
		if !notified {
			return exp
		}
	}
	return time.Time{}
}

// lotNotified reads field 10 (notified) of the LotRecord v.
func lotNotified(v []byte) (bool, error) {
	notified := false
	err := fields(v, func(d *dec, n protowire.Number, t protowire.Type) error {
		if n != 10 {
			return d.skip(n, t)
		}
		x, err := d.varint(t)
		notified = x != 0
		return err
	})
	return notified, err
}

// saveLots writes the lots of st's account but the last inRecord (which its record holds)
// that changed since they were read, and deletes those that are gone; lots the book still
// hides are untouched.
func (t *tx) saveLots(st *accountState, inRecord int) error {
	lots := &st.lots
	if lots.prefix == nil {
		lots.prefix = lotPrefix(t.tenant, st.a.MemberID)
	}
	bucket := t.bucket(bucketLots)
	if lots.unknown {
		if err := deletePrefix(bucket, lots.prefix); err != nil {
			return err
		}
		lots.unknown, lots.stored = false, nil
	}
	cur := st.a.Book.Lots[:len(st.a.Book.Lots)-inRecord]
	seen := make([]bool, len(lots.stored))
	var byID map[string]int
	if len(lots.stored) > 32 {
		byID = make(map[string]int, len(lots.stored))
		for i := range lots.stored {
			byID[lots.stored[i].ID] = i
		}
	}
	for i := range cur {
		l := &cur[i]
		j := -1
		if byID != nil {
			if x, ok := byID[l.ID]; ok {
				j = x
			}
		} else {
			j = slices.IndexFunc(lots.stored, func(o ledger.Lot) bool { return o.ID == l.ID })
		}
		if j >= 0 {
			seen[j] = true
			o := &lots.stored[j]
			if *o == *l {
				continue
			}
			if !o.ExpiresAt.Equal(l.ExpiresAt) || !o.EarnedAt.Equal(l.EarnedAt) {
				t.wrote = true
				if err := bucket.Delete(lotKey(lots.prefix, o)); err != nil {
					return err
				}
			}
		}
		t.scratch = appendLot(t.scratch[:0], l)
		if err := t.putRaw(bucket, lotKey(lots.prefix, l), t.scratch); err != nil {
			return err
		}
	}
	for j := range lots.stored {
		if !seen[j] {
			t.wrote = true
			if err := bucket.Delete(lotKey(lots.prefix, &lots.stored[j])); err != nil {
				return err
			}
		}
	}
	lots.stored = slices.Clone(cur)
	return nil
}

// deletePrefix deletes every key of bucket that starts with prefix.
func deletePrefix(bucket *bolt.Bucket, prefix []byte) error {
	c := bucket.Cursor()
	for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Seek(prefix) {
		if err := bucket.Delete(k); err != nil {
			return err
		}
	}
	return nil
}

// recordTail returns the lots of b its record is to hold: of those after any it hides (so
// that every lot in the bucket comes before them), the ones from the record's first lot on,
// or when there are more than recordMaxLots of them the last recordLots; and with its first
// lot every other lot of that expiry, so that every lot in the bucket expires before the
// record's first (which loadLots relies on).
func (s *lotsState) recordTail(b *ledger.Book) []ledger.Lot {
	all := b.Lots
	lots := all
	if _, last, ok := b.HiddenRange(); ok {
		lots = lots[sort.Search(len(lots), func(i int) bool {
			e := lots[i].ExpiresAt
			return e.IsZero() || e.After(last)
		}):]
	}
	from := len(all) - len(lots) // lots is all[from:]
	if s.recordFrom != nil {
		from += sort.Search(len(lots), func(i int) bool { return bytes.Compare(lotKey(nil, &lots[i]), s.recordFrom) >= 0 })
	}
	if len(all)-from > recordMaxLots {
		from = len(all) - recordLots
	}
	for min := len(all) - len(lots); from > min && from < len(all) && all[from-1].ExpiresAt.Equal(all[from].ExpiresAt); {
		from--
	}
	return all[from:]
}
