// Package coupond assembles the coupon service for the processes that run it: the domain use
// cases over the bbolt store, the event log, the gRPC CouponService, the loyalty client the
// points exchange uses, and the background work (due locks and expiries, unsettled exchanges,
// code batches).
package coupond

import (
	"context"
	"errors"
	"log/slog"
	"slices"
	"time"

	"google.golang.org/grpc"

	"github.com/huiyuan-dev/huiyuan/pkg/auth"
	"github.com/huiyuan-dev/huiyuan/pkg/boltx"
	"github.com/huiyuan-dev/huiyuan/pkg/clock"
	"github.com/huiyuan-dev/huiyuan/pkg/eventlog"
	"github.com/huiyuan-dev/huiyuan/pkg/idempotency"
	"github.com/huiyuan-dev/huiyuan/pkg/kit"
	"github.com/huiyuan-dev/huiyuan/services/coupon/internal/boltstore"
	"github.com/huiyuan-dev/huiyuan/services/coupon/internal/coupon"
	"github.com/huiyuan-dev/huiyuan/services/coupon/internal/grpcapi"

	couponv1 "github.com/huiyuan-dev/huiyuan/gen/huiyuan/coupon/v1"
)

// Name is the service name: stream "COUPON", subjects "huiyuan.<tenant>.coupon.v1.<event>".
const Name = "coupon"

// Domain is the google.rpc.ErrorInfo domain of the service's errors.
const Domain = "coupon.huiyuan.dev"

// Deps are what a process gives the coupon service.
type Deps struct {
	// DB is the service's bbolt file, opened with Buckets(). Required.
	DB *boltx.DB
	// Writer takes every write: the group-commit *boltx.Writer in production; nil means DB.
	Writer boltx.Updater
	// Points holds and captures loyalty points for exchanges; nil refuses exchanges.
	Points coupon.Points
	// Clock tells the time; nil means clock.System.
	Clock clock.Clock
	// Logger is the service's log; nil discards.
	Logger *slog.Logger
	// Log is the service's event log; nil makes one.
	Log *eventlog.Log
	// ExchangeGrace is how long recovery leaves an unsettled exchange to its request (0: 30 s).
	ExchangeGrace time.Duration
}

// Service is an assembled coupon service.
type Service struct {
	svc   *coupon.Service
	store *boltstore.Store
	api   *grpcapi.Server
	log   *slog.Logger
	clock clock.Clock
}

// New assembles the service. It fails when DB is missing.
func New(d Deps) (*Service, error) {
	if d.DB == nil {
		return nil, errors.New("coupond.New: DB is required")
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
	if d.Log == nil {
		d.Log = eventlog.New(Name)
	}
	store, err := boltstore.New(boltstore.Config{DB: d.DB, Writer: d.Writer, Log: d.Log, Clock: d.Clock})
	if err != nil {
		return nil, err
	}
	svc, err := coupon.NewService(store, d.Clock, d.Points, coupon.Options{ExchangeGrace: d.ExchangeGrace, Logger: d.Logger})
	if err != nil {
		return nil, err
	}
	api, err := grpcapi.New(svc, Domain)
	if err != nil {
		return nil, err
	}
	return &Service{svc: svc, store: store, api: api, log: d.Logger, clock: d.Clock}, nil
}

// Register registers CouponService on r, whose interceptors must include grpcx's chain with
// Policy().
func (s *Service) Register(r grpc.ServiceRegistrar) { couponv1.RegisterCouponServiceServer(r, s.api) }

// Jobs returns the background work, each round every interval: settling due coupons (lapsed
// locks, ended validity), recovering unsettled exchanges, and generating code batches (also
// woken at once by a new batch); and every hour, forgetting request_ids past their retention.
func (s *Service) Jobs(interval time.Duration) []kit.Job {
	return []kit.Job{
		{Name: "due coupons", Run: func(ctx context.Context) error {
			return kit.Every(ctx, interval, s.log, "due coupons", func(ctx context.Context) error {
				_, err := s.svc.SweepDue(ctx)
				return err
			})
		}},
		{Name: "request_id retention", Run: func(ctx context.Context) error {
			return kit.Every(ctx, time.Hour, s.log, "request_id retention", func(ctx context.Context) error {
				_, err := s.store.PruneRequests(ctx, s.clock.Now())
				return err
			})
		}},
		{Name: "exchange recovery", Run: func(ctx context.Context) error {
			return kit.Every(ctx, interval, s.log, "exchange recovery", func(ctx context.Context) error {
				_, err := s.svc.RecoverExchanges(ctx)
				return err
			})
		}},
		{Name: "code batches", Run: s.runBatches(interval)},
	}
}

func (s *Service) runBatches(interval time.Duration) func(ctx context.Context) error {
	return func(ctx context.Context) error {
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			if err := s.svc.RunBatches(ctx); err != nil && ctx.Err() == nil {
				s.log.ErrorContext(ctx, "periodic work failed", "work", "code batches", "err", err)
			}
			select {
			case <-ctx.Done():
				return nil
			case <-t.C:
			case <-s.svc.BatchWake():
			}
		}
	}
}

// Service returns the domain service, for tests and benchmarks in this module.
func (s *Service) Service() *coupon.Service { return s.svc }

// Policy returns the roles allowed on each CouponService method.
func Policy() auth.Policy { return grpcapi.Policy() }

// Buckets returns every bucket the coupon service uses, its event log's and idempotency's
// included, for boltx.Open.
func Buckets() [][]byte {
	return slices.Concat(boltstore.Buckets(), eventlog.New(Name).Buckets(), idempotency.Buckets(), eventlog.ConsumerBuckets())
}
