package loyaltyd

import (
	"context"
	"flag"
	"time"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"google.golang.org/grpc"

	"github.com/huiyuan-dev/huiyuan/pkg/config"
	"github.com/huiyuan-dev/huiyuan/pkg/kit"
	"github.com/huiyuan-dev/huiyuan/services/loyalty/internal/boltstore"
	"github.com/huiyuan-dev/huiyuan/services/loyalty/internal/grpcapi"
	"github.com/huiyuan-dev/huiyuan/services/loyalty/internal/loyalty"

	loyaltyv1 "github.com/huiyuan-dev/huiyuan/gen/huiyuan/loyalty/v1"
)

// Module returns the loyalty service for kit.Run: the points ledger, its due-work job, and the
// consumer through which it follows the member service's events.
func Module() kit.Service { return &service{} }

type service struct {
	jobInterval time.Duration
}

// Describe implements kit.Service.
func (s *service) Describe() kit.Description {
	return kit.Description{
		Name:   Name,
		Domain: Domain,
		APIs: []string{loyaltyv1.LoyaltyService_ServiceDesc.ServiceName,
			loyaltyv1.LoyaltyProgramService_ServiceDesc.ServiceName},
		Buckets:  Buckets(),
		Policy:   Policy(),
		Events:   true,
		Consumes: []string{MemberService},
		Calls:    []string{MemberService},
		Gateway: []kit.GatewayRoutes{
			func(ctx context.Context, mux *runtime.ServeMux, cc grpc.ClientConnInterface) error {
				return loyaltyv1.RegisterLoyaltyServiceHandlerClient(ctx, mux, loyaltyv1.NewLoyaltyServiceClient(cc))
			},
			func(ctx context.Context, mux *runtime.ServeMux, cc grpc.ClientConnInterface) error {
				return loyaltyv1.RegisterLoyaltyProgramServiceHandlerClient(ctx, mux, loyaltyv1.NewLoyaltyProgramServiceClient(cc))
			},
		},
	}
}

// Flags implements kit.Service.
func (s *service) Flags(fs *flag.FlagSet) {
	fs.DurationVar(&s.jobInterval, "loyalty-job-interval", DefaultJobInterval, "how often the loyalty service looks for due work (expiry, maturity, hold timeouts, notices)")
}

var _ kit.FlagChecker = (*service)(nil)

// CheckFlags implements kit.FlagChecker.
func (s *service) CheckFlags(p *config.Problems) {
	if s.jobInterval < time.Second {
		p.Addf("HUIYUAN_LOYALTY_JOB_INTERVAL=%s: want at least 1s", s.jobInterval)
	}
}

// Start implements kit.Service.
func (s *service) Start(_ context.Context, env kit.Env) (*kit.Running, error) {
	store, err := boltstore.New(boltstore.Config{DB: env.DB, Writer: env.Writer, Log: env.Log, Clock: env.Clock, Logger: env.Logger})
	if err != nil {
		return nil, err
	}
	svc, err := loyalty.NewService(store, env.Clock, newMemberDirectory(env.Dial(MemberService)))
	if err != nil {
		return nil, err
	}
	api, err := grpcapi.New(svc, Domain)
	if err != nil {
		return nil, err
	}
	progs, err := grpcapi.NewProgramServer(svc)
	if err != nil {
		return nil, err
	}
	job := &scheduler{svc: svc, store: store, clock: env.Clock, log: env.Logger, interval: s.jobInterval}
	return &kit.Running{
		Register: func(r grpc.ServiceRegistrar) {
			loyaltyv1.RegisterLoyaltyServiceServer(r, api)
			loyaltyv1.RegisterLoyaltyProgramServiceServer(r, progs)
		},
		Jobs: []kit.Job{{Name: "due work", Run: job.run}},
		Consumers: []kit.Consumer{{Name: MemberConsumerName, Producer: MemberService,
			Types: memberEventTypes(), Handler: memberEvents(store)}},
	}, nil
}
