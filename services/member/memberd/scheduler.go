package memberd

import (
	"context"
	"log/slog"
	"time"

	"github.com/huiyuan-dev/huiyuan/pkg/clock"
	"github.com/huiyuan-dev/huiyuan/pkg/kit"
	"github.com/huiyuan-dev/huiyuan/services/member/internal/boltstore"
	"github.com/huiyuan-dev/huiyuan/services/member/internal/membership"
)

// DefaultJobInterval is how often the due-work job looks for work.
const DefaultJobInterval = 30 * time.Second

// pruneBatch bounds the records one housekeeping transaction deletes.
const pruneBatch = 1000

// Scheduler is the due-work job: tier reviews and drop notices, override expiries, tenure
// qualifications, subscription reminders, expiries, grace and lapses, for every tenant. Due work
// is found through an index every account write maintains, and each account's work commits
// with the account, so it is done exactly once however often (and across however many
// restarts) the job runs. It also prunes request_id records past their retention, order
// contributions past their window, token revocations past their tokens' expiry and contact
// verifications past theirs.
type Scheduler struct {
	store    *boltstore.Store
	clock    clock.Clock
	log      *slog.Logger
	interval time.Duration
}

// JobReport counts what one run of the job did.
type JobReport struct {
	Accounts            int // accounts whose due work was done
	PrunedContributions int
	PrunedRevocations   int // single-token revocations whose tokens have expired
	PrunedVerifications int // contact verifications a day past their expiry
	PrunedRequests      int
}

// expiredVerificationKeep is how long an expired contact verification is kept before pruning,
// so a code typed in late is refused as VERIFICATION_EXPIRED rather than not found.
const expiredVerificationKeep = 24 * time.Hour

// Scheduler returns the service's due-work job, running every interval.
func (s *Service) Scheduler(interval time.Duration) *Scheduler {
	return &Scheduler{store: s.store, clock: s.clock, log: s.logger, interval: interval}
}

// Run does the due work now and then every interval until ctx ends; it returns nil then.
func (s *Scheduler) Run(ctx context.Context) error {
	return kit.Every(ctx, s.interval, s.log, "member due work", func(ctx context.Context) error {
		rep, err := s.RunOnce(ctx, s.clock.Now())
		if rep.Accounts > 0 {
			s.log.InfoContext(ctx, "member due work done", "accounts", rep.Accounts,
				"pruned_contributions", rep.PrunedContributions, "pruned_requests", rep.PrunedRequests)
		}
		return err
	})
}

// RunOnce does all work due at or before now, one batch per transaction, and the pruning. It
// returns what it did and the first storage error (work committed before it stays done).
func (s *Scheduler) RunOnce(ctx context.Context, now time.Time) (JobReport, error) {
	var out JobReport
	var after []byte
	evaluate := func(a *membership.Account, c *membership.Catalog) []membership.Event {
		return membership.Evaluate(a, c, now)
	}
	for {
		n, last, more, err := s.store.ProcessDue(ctx, now, after, boltstore.DefaultDueBatch, evaluate)
		if err != nil {
			return out, err
		}
		out.Accounts += n
		if !more {
			break
		}
		after = last
	}
	for {
		n, err := s.store.PruneContributions(ctx, now, pruneBatch)
		if err != nil {
			return out, err
		}
		out.PrunedContributions += n
		if n < pruneBatch {
			break
		}
	}
	for {
		n, err := s.store.PruneVerifications(ctx, now.Add(-expiredVerificationKeep), pruneBatch)
		if err != nil {
			return out, err
		}
		out.PrunedVerifications += n
		if n < pruneBatch {
			break
		}
	}
	for {
		n, err := s.store.PruneTokenRevocations(ctx, now, pruneBatch)
		if err != nil {
			return out, err
		}
		out.PrunedRevocations += n
		if n < pruneBatch {
			break
		}
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
