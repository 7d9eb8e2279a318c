// Package loyaltyd assembles the loyalty service for kit.Run (Module): the bbolt store, the use
// cases, the gRPC LoyaltyService and LoyaltyProgramService, the due-work job and the consumer
// through which it follows the member service's tiers.
package loyaltyd

import (
	"context"
	"log/slog"
	"time"
	_ "time/tzdata" // tenants' time zones must load on hosts without a zoneinfo database

	"github.com/huiyuan-dev/huiyuan/pkg/auth"
	"github.com/huiyuan-dev/huiyuan/pkg/clock"
	"github.com/huiyuan-dev/huiyuan/pkg/idempotency"
	"github.com/huiyuan-dev/huiyuan/services/loyalty/internal/boltstore"
	"github.com/huiyuan-dev/huiyuan/services/loyalty/internal/grpcapi"
	"github.com/huiyuan-dev/huiyuan/services/loyalty/internal/loyalty"
)

// Name is the service name: the event-log stream is "LOYALTY", subjects
// "huiyuan.<tenant>.loyalty.v1.<event>".
const Name = "loyalty"

// Domain is the google.rpc.ErrorInfo domain of the service's errors.
const Domain = "loyalty.huiyuan.dev"

// DefaultJobInterval is how often the due-work job looks for due work.
const DefaultJobInterval = time.Minute

// pruneBatch bounds the idempotency records one housekeeping transaction deletes.
const pruneBatch = 1000

// Policy returns the roles allowed on each LoyaltyService and LoyaltyProgramService method.
func Policy() auth.Policy { return auth.Merge(grpcapi.Policy(), grpcapi.ProgramPolicy()) }

// Buckets returns the store's own buckets (the kit adds the event log's, idempotency's and the
// consumers').
func Buckets() [][]byte { return boltstore.Buckets() }

// scheduler is the due-work job: it expires lots, matures pending points, releases holds whose
// timeout passed and sends expiring-soon notices, for every tenant, and prunes request_id
// records past their retention. Due work is found through an index every account write keeps,
// so nothing is missed across restarts, and each account's work commits with the account, so
// it is done exactly once however often the job runs.
type scheduler struct {
	svc      *loyalty.Service
	store    *boltstore.Store
	clock    clock.Clock
	log      *slog.Logger
	interval time.Duration
}

// run does the due work at once and then every interval until ctx ends; failures are logged and
// retried at the next tick.
func (s *scheduler) run(ctx context.Context) error {
	t := time.NewTicker(s.interval)
	defer t.Stop()
	for {
		rep, pruned, err := s.once(ctx, s.clock.Now())
		switch {
		case ctx.Err() != nil:
			return nil
		case err != nil:
			s.log.ErrorContext(ctx, "loyalty due work failed", "err", err)
		case rep.Books > 0 || pruned > 0:
			s.log.InfoContext(ctx, "loyalty due work done", "books", rep.Books, "transactions", rep.Transactions,
				"notices", rep.Notices, "failed", rep.Failed, "pruned_requests", pruned)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// once does all work due at or before now, in batches of one transaction each, and prunes
// expired request_id records. Work committed before an error stays done.
func (s *scheduler) once(ctx context.Context, now time.Time) (loyalty.DueReport, int, error) {
	var out loyalty.DueReport
	var after []byte
	for {
		rep, last, more, err := s.svc.ProcessDue(ctx, s.log, now, after, 0)
		if err != nil {
			return out, 0, err
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
	pruned := 0
	for {
		n, err := s.store.PruneRequests(ctx, now.Add(-idempotency.Retention), pruneBatch)
		pruned += n
		if err != nil || n < pruneBatch {
			return out, pruned, err
		}
	}
}
