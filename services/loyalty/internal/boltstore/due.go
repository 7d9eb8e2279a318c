package boltstore

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/huiyuan-dev/huiyuan/pkg/idempotency"
	"github.com/huiyuan-dev/huiyuan/services/loyalty/internal/ledger"
	"github.com/huiyuan-dev/huiyuan/services/loyalty/internal/loyalty"

	loyaltyv1 "github.com/huiyuan-dev/huiyuan/gen/huiyuan/loyalty/v1"
)

// DefaultDueBatch is how many books one due-work transaction processes at most, so the job
// never holds the single writer long enough to delay requests noticeably.
const DefaultDueBatch = 64

// retryAfter postpones a book whose due work failed, so one bad book cannot stall the job.
const retryAfter = time.Hour

// nextDue returns when b next has work for the job: the earliest lot expiry (of lots with
// points left), end of a return window, hold timeout, or expiring-soon notice (notice before
// expiry, for available lots not yet announced). The zero time means nothing is due.
func nextDue(b *ledger.Book, notice time.Duration) time.Time {
	var due time.Time
	consider := func(t time.Time) {
		if !t.IsZero() && (due.IsZero() || t.Before(due)) {
			due = t
		}
	}
	for i := range b.Lots {
		l := &b.Lots[i]
		if l.Pending {
			consider(l.PendingUntil)
		}
		if l.Remaining > 0 && !l.ExpiresAt.IsZero() {
			consider(l.ExpiresAt)
			if notice > 0 && !l.Pending && !l.Notified {
				consider(l.ExpiresAt.Add(-notice))
			}
		}
	}
	for i := range b.Holds {
		if h := &b.Holds[i]; h.Status == ledger.HoldOpen {
			consider(h.ExpiresAt)
		}
	}
	return due
}

// dueKey is the due-index key of member's book due at n (Unix nanoseconds).
func dueKey(n int64, tenant, member string) []byte {
	k := make([]byte, 0, 8+len(tenant)+1+len(member))
	k = binary.BigEndian.AppendUint64(k, uint64(max(n, 1)))
	k = append(k, tenant...)
	k = append(k, 0)
	return append(k, member...)
}

// dueEntry is a parsed due-index key.
type dueEntry struct {
	key    []byte
	at     int64
	tenant string
	member string
}

func parseDueKey(k []byte) (dueEntry, bool) {
	if len(k) < 10 {
		return dueEntry{}, false
	}
	rest := k[8:]
	i := bytes.IndexByte(rest, 0)
	if i <= 0 || i == len(rest)-1 {
		return dueEntry{}, false
	}
	return dueEntry{key: bytes.Clone(k), at: int64(binary.BigEndian.Uint64(k[:8])), tenant: string(rest[:i]), member: string(rest[i+1:])}, true
}

// ProcessDue does the due work of up to limit books (DefaultDueBatch when limit <= 0) whose
// due-index keys come after after (nil: from the start) and whose due time is at or before now,
// in one write transaction: it settles each book as of now (releasing timed-out holds,
// maturing pending points and expiring due lots, through ledger.Settle) and records the
// points_expiring_soon events of lots expiring within the tenant's notice window. Settling is
// idempotent and the book, its transactions and its new due time commit together, so running
// the job again, or after a crash, posts nothing twice. It returns what it did, the last
// index key it looked at (pass it as after to go on) and whether more due books may follow.
// Errors: storage errors; a book whose own work fails is logged, counted in Failed and
// postponed by an hour instead.
func (s *Store) ProcessDue(ctx context.Context, now time.Time, after []byte, limit int) (loyalty.DueReport, []byte, bool, error) {
	if limit <= 0 {
		limit = DefaultDueBatch
	}
	now = now.UTC()
	bound := nanos(now)
	var entries []dueEntry
	more := false
	err := s.db.View(ctx, func(tx *bolt.Tx) error {
		entries, more = entries[:0], false
		c := tx.Bucket(bucketDue).Cursor()
		k, _ := c.First()
		if after != nil {
			if k, _ = c.Seek(after); bytes.Equal(k, after) {
				k, _ = c.Next()
			}
		}
		for ; k != nil; k, _ = c.Next() {
			e, ok := parseDueKey(k)
			if !ok {
				continue
			}
			if e.at > bound {
				return nil
			}
			if len(entries) == limit {
				more = true
				return nil
			}
			entries = append(entries, e)
		}
		return nil
	})
	if err != nil || len(entries) == 0 {
		return loyalty.DueReport{}, after, false, err
	}
	var rep loyalty.DueReport
	err = s.w.Update(ctx, func(tx *bolt.Tx) error {
		rep = loyalty.DueReport{}
		for _, e := range entries {
			if err := s.processBook(tx, e, now, &rep); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return loyalty.DueReport{}, after, false, err
	}
	return rep, entries[len(entries)-1].key, more, nil
}

// processBook does one book's due work in tx. Only storage errors are returned: a book whose
// work fails is postponed by retryAfter, so it cannot stall the job.
func (s *Store) processBook(tx *bolt.Tx, e dueEntry, now time.Time, rep *loyalty.DueReport) error {
	set, setErr := s.tenantSettings(tx, e.tenant)
	w := s.begin(tx, e.tenant, set, now)
	b, due, err := w.book(e.member)
	if err != nil {
		return err
	}
	if due != e.at {
		// A stale entry (the book moved on since the scan): drop it; the book's own entry is
		// processed when it is due.
		return tx.Bucket(bucketDue).Delete(e.key)
	}
	rep.Books++
	var txns []ledger.Txn
	if err = setErr; err == nil {
		txns, err = set.Ledger.Settle(b, now)
	}
	if err != nil {
		rep.Failed++
		tx.OnCommit(func() {
			s.logger.Error("loyalty due work failed; postponed", "tenant", e.tenant, "member", e.member,
				"retry_at", now.Add(retryAfter), "err", err)
		})
		// The ledger left b as it was: store it unchanged under a later due time.
		return w.putBook(b, due, now.Add(retryAfter))
	}
	posted, err := w.post(b, txns)
	if err != nil {
		return err
	}
	rep.Transactions += len(posted)
	if set.NoticeWithin > 0 {
		n, err := w.notify(b, set.NoticeWithin)
		if err != nil {
			return err
		}
		rep.Notices += n
	}
	return w.saveBook(b, due)
}

// notify records one points_expiring_soon event per expiry time for b's available lots that
// expire within notice and were not announced yet, and marks them announced.
func (w *wtx) notify(b *ledger.Book, notice time.Duration) (int, error) {
	lots := b.ExpiringSoon(w.now, notice)
	if len(lots) == 0 {
		return 0, nil
	}
	events := 0
	ids := make([]string, 0, len(lots))
	for i := 0; i < len(lots); {
		at, points := lots[i].ExpiresAt, int64(0)
		for ; i < len(lots) && lots[i].ExpiresAt.Equal(at); i++ {
			points += lots[i].Remaining
			ids = append(ids, lots[i].ID)
		}
		if err := w.emit("points_expiring_soon", &loyaltyv1.PointsExpiringSoonEvent{
			MemberId: b.MemberID, Points: points, ExpireTime: tsOf(at)}, w.now); err != nil {
			return 0, err
		}
		events++
	}
	b.MarkNotified(ids...)
	return events, nil
}

// PruneRequests deletes up to limit idempotency records older than idempotency.Retention and
// returns how many it deleted. Errors: storage errors.
func (s *Store) PruneRequests(ctx context.Context, now time.Time, limit int) (int, error) {
	var n int
	err := s.w.Update(ctx, func(tx *bolt.Tx) (err error) {
		n, err = idempotency.Prune(tx, now.Add(-idempotency.Retention), limit)
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("prune request ids: %w", err)
	}
	return n, nil
}
