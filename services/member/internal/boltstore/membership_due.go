package boltstore

import (
	"bytes"
	"context"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/huiyuan-dev/huiyuan/pkg/boltx"
	"github.com/huiyuan-dev/huiyuan/pkg/idempotency"
	"github.com/huiyuan-dev/huiyuan/services/member/internal/membership"
)

// DefaultDueBatch is how many accounts one due-work transaction processes at most, so the job
// never holds the single writer long enough to delay requests noticeably.
const DefaultDueBatch = 64

// dueEntry is a parsed due-index key.
type dueEntry struct {
	key        []byte
	at         int64
	tenant, id string
}

// dueEntries reads up to limit entries of an index (keys U64(nanos) tenant 0x00 id) due at or
// before now, after the key after (nil: from the start); more says whether more may follow.
func (s *Store) dueEntries(ctx context.Context, bucket []byte, now time.Time, after []byte, limit int) ([]dueEntry, bool, error) {
	bound := now.UnixNano()
	var entries []dueEntry
	more := false
	err := s.db.View(ctx, func(tx *bolt.Tx) error {
		entries, more = entries[:0], false
		c := tx.Bucket(bucket).Cursor()
		k, _ := c.First()
		if after != nil {
			if k, _ = c.Seek(after); bytes.Equal(k, after) {
				k, _ = c.Next()
			}
		}
		for ; k != nil; k, _ = c.Next() {
			at, tenant, id, ok := parseDueKey(k)
			if !ok {
				continue
			}
			if at > bound {
				return nil
			}
			if len(entries) == limit {
				more = true
				return nil
			}
			entries = append(entries, dueEntry{key: bytes.Clone(k), at: at, tenant: tenant, id: id})
		}
		return nil
	})
	return entries, more, err
}

// ProcessDue does the due work of up to limit accounts (DefaultDueBatch when limit <= 0) due at
// or before now, after the index key after (nil: from the start), in one write transaction: fn
// (membership.Evaluate) changes each account, which is saved with its events and its next due
// time. An account and its index entry commit together, so running the job again, or after a
// crash, does nothing twice. It returns how many accounts it processed, the last index key it
// looked at (pass it as after to go on) and whether more may follow. Errors: storage errors.
func (s *Store) ProcessDue(ctx context.Context, now time.Time, after []byte, limit int,
	fn func(a *membership.Account, c *membership.Catalog) []membership.Event) (int, []byte, bool, error) {
	if limit <= 0 {
		limit = DefaultDueBatch
	}
	entries, more, err := s.dueEntries(ctx, bucketAccountDue, now, after, limit)
	if err != nil || len(entries) == 0 {
		return 0, after, false, err
	}
	n := 0
	err = s.w.Update(ctx, func(tx *bolt.Tx) error {
		n = 0
		for _, e := range entries {
			l, err := loadAccount(tx, e.tenant, e.id)
			if membership.IsMemberNotFound(err) || err == nil && l.due != e.at {
				// Stale: the account moved on since the scan (its own entry is processed when
				// due), or the member is gone.
				if err := tx.Bucket(bucketAccountDue).Delete(e.key); err != nil {
					return err
				}
				continue
			}
			if err != nil {
				return err
			}
			c, err := s.cachedCatalog(tx, e.tenant)
			if err != nil {
				return err
			}
			if err := s.saveAccount(tx, e.tenant, l, fn(l.a, c)); err != nil {
				return fmt.Errorf("due work of member %s: %w", e.id, err)
			}
			n++
		}
		return nil
	})
	if err != nil {
		return 0, after, false, err
	}
	return n, entries[len(entries)-1].key, more, nil
}

// PruneContributions deletes up to limit order contributions whose keep time is past: a
// refund of such an old order changes only the member's lifetime value. It returns how many
// it deleted. Errors: storage errors.
func (s *Store) PruneContributions(ctx context.Context, now time.Time, limit int) (int, error) {
	entries, _, err := s.dueEntries(ctx, bucketContribKeep, now, nil, limit)
	if err != nil || len(entries) == 0 {
		return 0, err
	}
	err = s.w.Update(ctx, func(tx *bolt.Tx) error {
		for _, e := range entries {
			if err := tx.Bucket(bucketContributions).Delete(boltx.Key(e.tenant, e.id)); err != nil {
				return err
			}
			if err := tx.Bucket(bucketContribKeep).Delete(e.key); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("prune order contributions: %w", err)
	}
	return len(entries), nil
}

// PruneRequests deletes up to limit request_id records older than idempotency.Retention and
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
