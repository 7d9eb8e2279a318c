// Package memberd assembles the member service for the processes that run it (the suite, or a
// memberd binary): the member and membership (tiers, benefits, plans) use cases over the bbolt
// store, the event log, the gRPC APIs, the consumer of loyalty's order events and the due-work
// job, from dependencies the process owns (database, writer, keyring, clock, logs).
package memberd

import (
	"errors"
	"io"
	"log/slog"
	"slices"

	"google.golang.org/grpc"

	"github.com/huiyuan-dev/huiyuan/pkg/auditlog"
	"github.com/huiyuan-dev/huiyuan/pkg/auth"
	"github.com/huiyuan-dev/huiyuan/pkg/boltx"
	"github.com/huiyuan-dev/huiyuan/pkg/clock"
	"github.com/huiyuan-dev/huiyuan/pkg/eventlog"
	"github.com/huiyuan-dev/huiyuan/pkg/idempotency"
	"github.com/huiyuan-dev/huiyuan/pkg/pii"
	"github.com/huiyuan-dev/huiyuan/services/member/internal/boltstore"
	"github.com/huiyuan-dev/huiyuan/services/member/internal/grpcapi"
	"github.com/huiyuan-dev/huiyuan/services/member/internal/member"
	"github.com/huiyuan-dev/huiyuan/services/member/internal/membership"

	memberv1 "github.com/huiyuan-dev/huiyuan/gen/huiyuan/member/v1"
)

// Name is the service name: the event-log stream is "MEMBER", subjects
// "huiyuan.<tenant>.member.v1.<event>".
const Name = "member"

// Domain is the google.rpc.ErrorInfo domain of the service's errors, for grpcx.Config.
const Domain = "member.huiyuan.dev"

// Deps are what a process gives the member service.
type Deps struct {
	// DB is the service's bbolt file, opened with Buckets(). Required.
	DB *boltx.DB
	// Writer takes every write: the group-commit *boltx.Writer in production. nil means DB
	// (one commit per write).
	Writer boltx.Updater
	// Keyring seals personal data and computes blind indexes. Required.
	Keyring *pii.Keyring
	// Clock tells the time; nil means clock.System.
	Clock clock.Clock
	// Logger is the service's log; nil discards.
	Logger *slog.Logger
	// Audit receives one record per read of personal data; nil discards them.
	Audit *auditlog.Logger
	// DefaultRegion is the ISO 3166 region of phone numbers without a country code; "" means
	// "CN".
	DefaultRegion string
	// Log is the service's event log; nil makes one (kit.Run passes the one its relay
	// publishes).
	Log *eventlog.Log
	// Tokens signs the member tokens IssueMemberToken issues; nil makes that call fail.
	Tokens *auth.MemberTokens
}

// Service is an assembled member service.
type Service struct {
	log      *eventlog.Log
	store    *boltstore.Store
	clock    clock.Clock
	logger   *slog.Logger
	members  *member.Service
	api      *grpcapi.Server
	tokens   *grpcapi.TokenServer
	notices  *grpcapi.NotificationServer
	tiers    *grpcapi.TierServer
	benefits *grpcapi.BenefitServer
	plans    *grpcapi.PlanServer
}

// New assembles the service. It fails when DB or Keyring is missing or DefaultRegion is unknown.
func New(d Deps) (*Service, error) {
	if d.DB == nil || d.Keyring == nil {
		return nil, errors.New("memberd.New: DB and Keyring are required")
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
	if d.Audit == nil {
		d.Audit = auditlog.NewLogger(io.Discard)
	}
	log := d.Log
	if log == nil {
		log = eventlog.New(Name)
	}
	store, err := boltstore.New(boltstore.Config{DB: d.DB, Writer: d.Writer, Keyring: d.Keyring, Log: log, Clock: d.Clock})
	if err != nil {
		return nil, err
	}
	opts := member.Options{DefaultRegion: d.DefaultRegion}
	if d.Tokens != nil {
		opts.Tokens = signer{d.Tokens}
	}
	svc, err := member.NewService(store, d.Clock, auditor{log: d.Audit, clk: d.Clock, errs: d.Logger}, opts)
	if err != nil {
		return nil, err
	}
	ms, err := membership.NewService(store, d.Clock)
	if err != nil {
		return nil, err
	}
	out := &Service{log: log, store: store, clock: d.Clock, logger: d.Logger, members: svc}
	if out.api, err = grpcapi.New(svc, ms); err != nil {
		return nil, err
	}
	if out.tokens, err = grpcapi.NewTokenServer(svc); err != nil {
		return nil, err
	}
	if out.notices, err = grpcapi.NewNotificationServer(svc); err != nil {
		return nil, err
	}
	if out.tiers, err = grpcapi.NewTierServer(ms); err != nil {
		return nil, err
	}
	if out.benefits, err = grpcapi.NewBenefitServer(ms); err != nil {
		return nil, err
	}
	if out.plans, err = grpcapi.NewPlanServer(ms); err != nil {
		return nil, err
	}
	return out, nil
}

// Register registers MemberService, MemberTokenService, NotificationService, TierService,
// BenefitService and PlanService on r (a
// *grpc.Server or a grpcx.Channel), whose interceptors must include grpcx's chain with Policy().
func (s *Service) Register(r grpc.ServiceRegistrar) {
	memberv1.RegisterMemberServiceServer(r, s.api)
	memberv1.RegisterMemberTokenServiceServer(r, s.tokens)
	memberv1.RegisterNotificationServiceServer(r, s.notices)
	memberv1.RegisterTierServiceServer(r, s.tiers)
	memberv1.RegisterBenefitServiceServer(r, s.benefits)
	memberv1.RegisterPlanServiceServer(r, s.plans)
}

// APIs are the full names of the gRPC services Register registers.
func APIs() []string {
	return []string{memberv1.MemberService_ServiceDesc.ServiceName, memberv1.MemberTokenService_ServiceDesc.ServiceName,
		memberv1.NotificationService_ServiceDesc.ServiceName, memberv1.TierService_ServiceDesc.ServiceName,
		memberv1.BenefitService_ServiceDesc.ServiceName, memberv1.PlanService_ServiceDesc.ServiceName}
}

// EventLog returns the service's event log, for its relay to JetStream and ListEvents.
func (s *Service) EventLog() *eventlog.Log { return s.log }

// Policy returns the roles allowed on each MemberService method.
func Policy() auth.Policy { return grpcapi.Policy() }

// Buckets returns every bucket the member service uses, its event log's and idempotency's
// included, for boltx.Open.
func Buckets() [][]byte {
	return slices.Concat(ownBuckets(), eventlog.New(Name).Buckets(), idempotency.Buckets())
}

// ownBuckets are the store's buckets without the platform's.
func ownBuckets() [][]byte { return boltstore.Buckets() }
