package loyalty

import (
	"context"
	"log/slog"
	"time"

	"github.com/huiyuan-dev/huiyuan/services/loyalty/internal/ledger"
)

// DefaultDueBatch is how many accounts one due-work update processes at most, so the job never
// holds the single writer long enough to delay requests noticeably.
const DefaultDueBatch = 64

// retryAfter postpones an account whose due work failed, so one bad account cannot stall the
// job.
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
	// Hidden lots are available and expire, the first soonest.
	if first, _, ok := b.HiddenRange(); ok {
		consider(first)
		if t := b.HiddenUnannounced(); notice > 0 && !t.IsZero() {
			consider(t.Add(-notice))
		}
	}
	return due
}

// ProcessDue does the due work of up to limit accounts (DefaultDueBatch when limit <= 0) that
// come after the cursor after (nil: from the start) and are due at or before now: it settles
// each book as of now (releasing timed-out holds, maturing pending points and expiring due
// lots, through ledger.Settle) and records the expiring-soon events of lots expiring within
// the tenant's notice window. Settling is idempotent and each account's work commits with the
// account and its new due time, so running the job again, or after a crash, posts nothing
// twice. It returns what it did, the cursor to go on from, and whether more may follow.
// An account whose own work fails is logged on log (nil: nowhere), counted in Failed and
// postponed by an hour.
// Errors: storage errors.
func (s *Service) ProcessDue(ctx context.Context, log *slog.Logger, now time.Time, after []byte, limit int) (DueReport, []byte, bool, error) {
	if limit <= 0 {
		limit = DefaultDueBatch
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	now = now.UTC()
	due, more, err := s.store.Due(ctx, now, after, limit)
	if err != nil || len(due) == 0 {
		return DueReport{}, after, false, err
	}
	var rep DueReport
	// One update per tenant of the batch: an update is one tenant's.
	for i := 0; i < len(due); {
		j := i
		for j < len(due) && due[j].Tenant == due[i].Tenant {
			j++
		}
		group := due[i:j]
		res, err := s.store.Update(ctx, group[0].Tenant, func(tx Tx) (Result, []Event, error) {
			r := &dueResult{}
			p := newPoster(tx)
			for _, d := range group {
				if err := s.processAccount(tx, p, log, d, now, &r.DueReport); err != nil {
					return nil, nil, err
				}
			}
			return r, p.events, nil
		})
		if err != nil {
			return rep, after, false, err
		}
		r := res.(*dueResult)
		rep.Books += r.Books
		rep.Transactions += r.Transactions
		rep.Notices += r.Notices
		rep.Failed += r.Failed
		i = j
	}
	return rep, due[len(due)-1].Cursor, more, nil
}

// dueResult is the answer of a due-work update (never stored: the job has no request_id).
type dueResult struct{ DueReport }

func (*dueResult) result() {}

// processAccount does one account's due work. Only storage errors are returned.
func (s *Service) processAccount(tx Tx, p *poster, log *slog.Logger, d DueAccount, now time.Time, rep *DueReport) error {
	a, err := tx.Account(d.Member)
	if err != nil {
		return err
	}
	if !a.Due.Equal(d.At) {
		return nil // the account moved on since the index was read; its new entry comes when due
	}
	rep.Books++
	set, err := s.settings(tx)
	var txns []ledger.Txn
	if err == nil {
		txns, err = set.Ledger.Settle(a.Book, now)
	}
	if err != nil {
		rep.Failed++
		log.Error("loyalty due work failed; postponed", "tenant", d.Tenant, "member", d.Member, "retry_at", now.Add(retryAfter), "err", err)
		a.Due = now.Add(retryAfter) // the ledger left the book as it was
		tx.SaveAccount(a)
		return nil
	}
	if _, err := p.postTxns(a, txns, nil); err != nil {
		return err
	}
	rep.Transactions += len(txns)
	if set.NoticeWithin > 0 {
		rep.Notices += notify(p, a, now, set.NoticeWithin)
	}
	s.saveAccount(tx, set, a, now)
	return nil
}

// notify records one expiring-soon event per expiry time for a's available lots that expire
// within notice and were not announced yet, marks them announced, and returns how many events
// it recorded.
func notify(p *poster, a *Account, now time.Time, notice time.Duration) int {
	lots := a.Book.ExpiringSoon(now, notice)
	events := 0
	ids := make([]string, 0, len(lots))
	for i := 0; i < len(lots); {
		at, points := lots[i].ExpiresAt, int64(0)
		for ; i < len(lots) && lots[i].ExpiresAt.Equal(at); i++ {
			points += lots[i].Remaining
			ids = append(ids, lots[i].ID)
		}
		p.events = append(p.events, PointsExpiringSoon{MemberID: a.MemberID, Points: points, ExpiresAt: at, At: now})
		events++
	}
	a.Book.MarkNotified(ids...)
	return events
}
