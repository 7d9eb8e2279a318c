package memberd_test

import (
	"context"
	"testing"

	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/huiyuan-dev/huiyuan/pkg/auth"
	"github.com/huiyuan-dev/huiyuan/pkg/clock"
	"github.com/huiyuan-dev/huiyuan/pkg/kit"
	"github.com/huiyuan-dev/huiyuan/pkg/kittest"
	"github.com/huiyuan-dev/huiyuan/services/loyalty/loyaltyd"
	"github.com/huiyuan-dev/huiyuan/services/member/memberd"

	iamv1 "github.com/huiyuan-dev/huiyuan/gen/huiyuan/iam/v1"
	memberv1 "github.com/huiyuan-dev/huiyuan/gen/huiyuan/member/v1"
)

const tenant = kittest.Tenant

// harness is the member service (with the loyalty service whose orders it consumes) started
// through kit.Run by pkg/kittest, with its clients.
type harness struct {
	*kittest.Harness
	client        memberv1.MemberServiceClient
	memberTokens  memberv1.MemberTokenServiceClient
	notifications memberv1.NotificationServiceClient
	tiers         memberv1.TierServiceClient
	benefits      memberv1.BenefitServiceClient
	plans         memberv1.PlanServiceClient
	health        healthpb.HealthClient
}

type harnessOpts struct {
	sync  bool     // fsync every commit (benchmarks)
	args  []string // the service's settings
	clock bool     // a fake clock (kittest's) instead of the system clock
}

func newHarness(tb testing.TB, o harnessOpts) *harness {
	tb.Helper()
	ko := kittest.Options{Sync: o.sync, Args: o.args,
		// The benchmarks' no-op goes through authentication like every other call.
		Policy: auth.Policy{healthpb.Health_Check_FullMethodName: {iamv1.Role_ADMIN, iamv1.Role_OPERATOR, iamv1.Role_SERVICE, iamv1.Role_ANALYST}}}
	if !o.clock {
		ko.Clock = clock.System{} // registration validates birthdays against today
	}
	kh := kittest.Start(tb, func() []kit.Service { return []kit.Service{memberd.Module(), loyaltyd.Module()} }, ko)
	c := kh.Conn
	return &harness{Harness: kh, client: memberv1.NewMemberServiceClient(c), memberTokens: memberv1.NewMemberTokenServiceClient(c),
		notifications: memberv1.NewNotificationServiceClient(c), tiers: memberv1.NewTierServiceClient(c),
		benefits: memberv1.NewBenefitServiceClient(c), plans: memberv1.NewPlanServiceClient(c), health: healthpb.NewHealthClient(c)}
}

// as returns a context that calls as role of the tenant "acme".
func (h *harness) as(r iamv1.Role) context.Context { return h.As(r) }

// other is an admin of another tenant.
func (h *harness) other() context.Context { return h.AsTenant(kittest.Other, iamv1.Role_ADMIN) }

// asMember returns a context carrying a member JWT for member id.
func (h *harness) asMember(_ testing.TB, id string) context.Context { return h.AsMember(id) }
