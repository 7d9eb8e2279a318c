// Package loyaltyd assembles the loyalty service for the processes that run it (the suite, or a
// loyaltyd binary): the bbolt store with its use cases, the event log, the gRPC
// LoyaltyService, the due-work scheduler (expiry, maturity, hold timeouts, expiring-soon
// notices) and ledger verification, from dependencies the process owns.
package loyaltyd

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"time"
	_ "time/tzdata" // tenants' time zones must load on hosts without a zoneinfo database

	"google.golang.org/grpc"

	"github.com/huiyuan-dev/huiyuan/pkg/auth"
	"github.com/huiyuan-dev/huiyuan/pkg/boltx"
	"github.com/huiyuan-dev/huiyuan/pkg/clock"
	"github.com/huiyuan-dev/huiyuan/pkg/eventlog"
	"github.com/huiyuan-dev/huiyuan/pkg/idempotency"
	"github.com/huiyuan-dev/huiyuan/services/loyalty/internal/boltstore"
	"github.com/huiyuan-dev/huiyuan/services/loyalty/internal/grpcapi"
	"github.com/huiyuan-dev/huiyuan/services/loyalty/internal/loyalty"
	"github.com/huiyuan-dev/huiyuan/services/loyalty/internal/policy"

	loyaltyv1 "github.com/huiyuan-dev/huiyuan/gen/huiyuan/loyalty/v1"
)

// Name is the service name: the event-log stream is "LOYALTY", subjects
// "huiyuan.<tenant>.loyalty.v1.<event>".
const Name = "loyalty"

// Domain is the google.rpc.ErrorInfo domain of the service's errors, for grpcx.Config.
const Domain = "loyalty.huiyuan.dev"

// DefaultJobInterval is how often the scheduler looks for due work.
const DefaultJobInterval = time.Minute

// Deps are what a process gives the loyalty service.
type Deps struct {
	// DB is the service's bbolt file, opened with Buckets(). Required.
	DB *boltx.DB
	// Writer takes every write: the group-commit *boltx.Writer in production. nil means DB
	// (one commit per write).
	Writer boltx.Updater
	// Clock tells the time; nil means clock.System.
	Clock clock.Clock
	// Logger is the service's log; nil discards.
	Logger *slog.Logger
	// Policy is the points policy of tenants that have not set their own, and every tenant's
	// hold timeouts; the zero value is the default (see TenantPolicy).
	Policy TenantPolicy
	// JobInterval is how often Scheduler.Run looks for due work; 0 means DefaultJobInterval.
	JobInterval time.Duration
	// JobBatch is how many books one due-work transaction processes; 0 means 64.
	JobBatch int
	// Log is the service's event log; nil makes one (kit.Run passes the one its relay
	// publishes).
	Log *eventlog.Log
}

// Service is an assembled loyalty service.
type Service struct {
	log    *eventlog.Log
	store  *boltstore.Store
	api    *grpcapi.Server
	progs  *grpcapi.ProgramServer
	sched  *Scheduler
	clock  clock.Clock
	db     *boltx.DB
	w      boltx.Updater
	logger *slog.Logger
}

// New assembles the service. It fails when DB is missing or Policy is invalid.
func New(d Deps) (*Service, error) {
	if d.DB == nil {
		return nil, errors.New("loyaltyd.New: DB is required")
	}
	if d.Writer == nil {
		d.Writer = d.DB
	}
	if d.Clock == nil {
		d.Clock = clock.System{}
	}
	if d.Logger == nil {
		d.Logger = slog.New(slog.DiscardHandler)
	}
	def, holds, err := d.Policy.defaults()
	if err != nil {
		return nil, fmt.Errorf("loyaltyd.New: policy: %w", err)
	}
	// The defaults are built like a stored policy, so Get shows exactly what tenants without
	// one run on.
	build := func(p *loyaltyv1.LoyaltyPolicy) (*loyalty.Settings, error) { return policy.Settings(p, holds) }
	set, err := build(def)
	if err != nil {
		return nil, fmt.Errorf("loyaltyd.New: policy: %w", err)
	}
	log := d.Log
	if log == nil {
		log = eventlog.New(Name)
	}
	store, err := boltstore.New(boltstore.Config{DB: d.DB, Writer: d.Writer, Log: log, Clock: d.Clock, Logger: d.Logger,
		Settings: func(string) (*loyalty.Settings, error) { return set, nil },
		Policies: boltstore.Policies{Default: def, Build: build}})
	if err != nil {
		return nil, err
	}
	api, err := grpcapi.New(store, d.Clock)
	if err != nil {
		return nil, err
	}
	progs, err := grpcapi.NewProgramServer(store)
	if err != nil {
		return nil, err
	}
	interval := d.JobInterval
	if interval <= 0 {
		interval = DefaultJobInterval
	}
	return &Service{log: log, store: store, api: api, progs: progs, clock: d.Clock, db: d.DB, w: d.Writer, logger: d.Logger,
		sched: &Scheduler{store: store, clock: d.Clock, log: d.Logger, interval: interval, batch: d.JobBatch}}, nil
}

// Register registers LoyaltyService and LoyaltyProgramService on r (a *grpc.Server or a
// grpcx.Channel), whose interceptors must include grpcx's chain with Policy().
func (s *Service) Register(r grpc.ServiceRegistrar) {
	loyaltyv1.RegisterLoyaltyServiceServer(r, s.api)
	loyaltyv1.RegisterLoyaltyProgramServiceServer(r, s.progs)
}

// EventLog returns the service's event log, for its relay to JetStream and ListEvents.
func (s *Service) EventLog() *eventlog.Log { return s.log }

// Scheduler returns the due-work job; run it with Scheduler().Run(ctx) in one process per
// database file.
func (s *Service) Scheduler() *Scheduler { return s.sched }

// VerifyReport is the outcome of Verify.
type VerifyReport struct {
	OK           bool
	Transactions int64    // transactions whose hash-chain link was checked
	Members      int64    // member books checked against their postings
	Problems     []string // one line each; empty when OK
	At           time.Time
}

// Verify checks tenant's books, for the VerifyLedger RPC's CLI twin: the hash chain of its
// transactions (gap-free sequence, each hash recomputed) and every member's balances
// recomputed from the postings against the stored book. Inconsistencies are Problems, not
// errors. Errors: an invalid tenant id; storage errors.
func (s *Service) Verify(ctx context.Context, tenant string) (VerifyReport, error) {
	if !auth.ValidTenant(tenant) {
		return VerifyReport{}, fmt.Errorf("loyaltyd: invalid tenant %q", tenant)
	}
	r, err := s.store.Verify(ctx, tenant)
	if err != nil {
		return VerifyReport{}, err
	}
	return VerifyReport{OK: r.OK, Transactions: r.Transactions, Members: r.Members, Problems: r.Problems, At: r.At}, nil
}

// Policy returns the roles allowed on each LoyaltyService and LoyaltyProgramService method.
func Policy() auth.Policy { return auth.Merge(grpcapi.Policy(), grpcapi.ProgramPolicy()) }

// Buckets returns every bucket the loyalty service uses, its event log's, idempotency's and
// its event consumers' included, for boltx.Open.
func Buckets() [][]byte {
	return slices.Concat(ownBuckets(), eventlog.New(Name).Buckets(), idempotency.Buckets(), eventlog.ConsumerBuckets())
}

// ownBuckets are the store's buckets without the platform's.
func ownBuckets() [][]byte { return boltstore.Buckets() }
