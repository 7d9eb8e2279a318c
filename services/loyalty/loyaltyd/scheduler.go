package loyaltyd

import (
	"context"
	"log/slog"
	"time"

	"github.com/huiyuan-dev/huiyuan/pkg/clock"
	"github.com/huiyuan-dev/huiyuan/services/loyalty/internal/boltstore"
)

// pruneBatch bounds the idempotency records one housekeeping transaction deletes.
const pruneBatch = 1000

// Scheduler is the due-work job: it expires lots, matures pending points, releases holds
// whose timeout passed and sends points_expiring_soon notices, for every tenant. Due work is
// found through an index in the database that every book write maintains, so nothing is
// missed across restarts, and each book's work commits with the book itself, so it is done
// exactly once however often (or however concurrently with requests) the job runs. It also
// prunes request_id records past their retention.
type Scheduler struct {
	store    *boltstore.Store
	clock    clock.Clock
	log      *slog.Logger
	interval time.Duration
	batch    int
}

// JobReport counts what one run of the job did.
type JobReport struct {
	Books          int // books processed
	Transactions   int // expiry, maturity and hold-timeout transactions posted
	Notices        int // points_expiring_soon events recorded
	Failed         int // books whose work failed (logged, retried an hour later)
	PrunedRequests int // idempotency records deleted
}

// Run does the due work now and then every interval until ctx ends; it returns nil then.
// Failures are logged and retried at the next tick.
func (s *Scheduler) Run(ctx context.Context) error {
	t := time.NewTicker(s.interval)
	defer t.Stop()
	for {
		rep, err := s.RunOnce(ctx, s.clock.Now())
		switch {
		case ctx.Err() != nil:
			return nil
		case err != nil:
			s.log.ErrorContext(ctx, "loyalty due work failed", "err", err)
		case rep.Books > 0 || rep.PrunedRequests > 0:
			s.log.InfoContext(ctx, "loyalty due work done", "books", rep.Books, "transactions", rep.Transactions,
				"notices", rep.Notices, "failed", rep.Failed, "pruned_requests", rep.PrunedRequests)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// RunOnce does all work due at or before now, in batches of one transaction each, and prunes
// expired request_id records. It returns what it did, and the first storage error (work
// committed before it stays done).
func (s *Scheduler) RunOnce(ctx context.Context, now time.Time) (JobReport, error) {
	var out JobReport
	var after []byte
	for {
		rep, last, more, err := s.store.ProcessDue(ctx, now, after, s.batch)
		if err != nil {
			return out, err
		}
		out.Books += rep.Books
		out.Transactions += rep.Transactions
		out.Notices += rep.Notices
		out.Failed += rep.Failed
		if !more {
			break
		}
		after = last
	}
	for {
		n, err := s.store.PruneRequests(ctx, now, pruneBatch)
		if err != nil {
			return out, err
		}
		out.PrunedRequests += n
		if n < pruneBatch {
			return out, nil
		}
	}
}
