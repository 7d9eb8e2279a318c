package coupond

import (
	"context"
	"flag"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/huiyuan-dev/huiyuan/pkg/config"
	"github.com/huiyuan-dev/huiyuan/pkg/eventlog"
	"github.com/huiyuan-dev/huiyuan/pkg/kit"
	"github.com/huiyuan-dev/huiyuan/services/coupon/internal/boltstore"
	"github.com/huiyuan-dev/huiyuan/services/coupon/internal/loyaltyclient"

	couponv1 "github.com/huiyuan-dev/huiyuan/gen/huiyuan/coupon/v1"
)

// Loyalty is the service the coupon service calls (points exchanges) and follows (the
// tenant's time zone, from its loyalty policy). It also follows Member (members' standing).
const Loyalty = "loyalty"

// PolicyUpdated is the loyalty event the coupon service consumes.
const PolicyUpdated = "loyalty_policy_updated"

// DefaultJobInterval is how often the background work looks for due coupons, unsettled
// exchanges and code batches.
const DefaultJobInterval = time.Second

// Module returns the coupon service for kit.Run.
func Module() kit.Service { return &service{} }

type service struct {
	interval, grace time.Duration
}

// Describe implements kit.Service.
func (s *service) Describe() kit.Description {
	return kit.Description{
		Name:     Name,
		Domain:   Domain,
		APIs:     []string{couponv1.CouponService_ServiceDesc.ServiceName},
		Buckets:  boltstore.Buckets(),
		Policy:   Policy(),
		Events:   true,
		Consumes: []string{Loyalty, Member},
		Calls:    []string{Loyalty},
		Gateway:  []kit.GatewayRoutes{gatewayRoutes},
	}
}

// Flags implements kit.Service.
func (s *service) Flags(fs *flag.FlagSet) {
	fs.DurationVar(&s.interval, "coupon-job-interval", DefaultJobInterval, "how often the coupon service settles due coupons (lapsed locks, ended validity), recovers unsettled points exchanges and looks for code batches")
	fs.DurationVar(&s.grace, "coupon-exchange-grace", 30*time.Second, "how long an unsettled points exchange is left to its request before recovery settles it")
}

var _ kit.FlagChecker = (*service)(nil)

// CheckFlags implements kit.FlagChecker.
func (s *service) CheckFlags(p *config.Problems) {
	if s.interval < 10*time.Millisecond {
		p.Addf("HUIYUAN_COUPON_JOB_INTERVAL=%s: want at least 10ms", s.interval)
	}
	if s.grace < time.Second {
		p.Addf("HUIYUAN_COUPON_EXCHANGE_GRACE=%s: want at least 1s", s.grace)
	}
}

// Start implements kit.Service.
func (s *service) Start(_ context.Context, env kit.Env) (*kit.Running, error) {
	svc, err := New(Deps{DB: env.DB, Writer: env.Writer, Points: loyaltyclient.New(env.Dial(Loyalty)), Clock: env.Clock,
		Logger: env.Logger, Log: env.Log, ExchangeGrace: s.grace})
	if err != nil {
		return nil, err
	}
	zones := boltstore.ZoneEvents()
	return &kit.Running{
		Register: svc.Register,
		Jobs:     svc.Jobs(s.interval),
		Consumers: []kit.Consumer{
			// Policy updates are rare among loyalty's events (two an order): the broker sends
			// this consumer those alone.
			{Name: Name, Producer: Loyalty, Types: []string{PolicyUpdated}, Sparse: true,
				Handler: func(tx *bolt.Tx, d eventlog.Delivery) error { return zones(tx, d.Tenant, d.Payload) }},
			{Name: Name, Producer: Member, Types: memberEventTypes(), Handler: memberEvents},
		},
	}, nil
}
