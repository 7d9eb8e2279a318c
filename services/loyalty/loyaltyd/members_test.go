package loyaltyd_test

import (
	"context"
	"flag"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"github.com/huiyuan-dev/huiyuan/pkg/kit"
	"github.com/huiyuan-dev/huiyuan/pkg/kittest"
	"github.com/huiyuan-dev/huiyuan/services/loyalty/loyaltyd"

	iamv1 "github.com/huiyuan-dev/huiyuan/gen/huiyuan/iam/v1"
	loyaltyv1 "github.com/huiyuan-dev/huiyuan/gen/huiyuan/loyalty/v1"
	memberv1 "github.com/huiyuan-dev/huiyuan/gen/huiyuan/member/v1"
)

// producer stands in for the member service on the kit: a service named "member" with an
// event log (which the kit relays and serves through ListEvents) and nothing else, so a test
// can append the member events that carry tiers, which the member API cannot set yet.
type producer struct {
	mu  sync.Mutex
	env kit.Env
}

func (p *producer) Describe() kit.Description {
	return kit.Description{Name: loyaltyd.MemberService, Domain: "member.huiyuan.dev", Events: true}
}
func (p *producer) Flags(*flag.FlagSet) {}
func (p *producer) Start(_ context.Context, env kit.Env) (*kit.Running, error) {
	p.mu.Lock()
	p.env = env
	p.mu.Unlock()
	return &kit.Running{}, nil
}

// emit appends a member event of type typ (a memberv1.EventType value) for member with tier.
func (p *producer) emit(tb testing.TB, typ memberv1.EventType, member, tier string) {
	tb.Helper()
	p.mu.Lock()
	env := p.env
	p.mu.Unlock()
	var m proto.Message = &memberv1.MemberRegisteredEvent{MemberId: member, Tier: tier}
	if typ == memberv1.EventType_MEMBER_UPDATED {
		m = &memberv1.MemberUpdatedEvent{MemberId: member, Tier: tier, ChangedFields: []string{"tier"}}
	}
	err := env.Writer.Update(context.Background(), func(tx *bolt.Tx) error {
		_, err := env.Log.Append(tx, kittest.Tenant, strings.ToLower(typ.String()), m, env.Clock.Now())
		return err
	})
	if err != nil {
		tb.Fatal(err)
	}
}

// earnsAt records orders for member until one earns want (the consumer applies the event
// after the relay published it), fails after a while, and returns that order's id.
func (h *lh) earnsAt(tb testing.TB, member string, want int64, seq *int) string {
	tb.Helper()
	var got int64
	var id string
	kittest.Eventually(tb, 10*time.Second, func() bool {
		*seq++
		id = fmt.Sprintf("%s-%d", member, *seq)
		resp, err := h.points().RecordOrder(h.As(iamv1.Role_SERVICE), &loyaltyv1.RecordOrderRequest{
			Order: &loyaltyv1.Order{Id: id, MemberId: member, AmountMinor: 10_000, Currency: "CNY"}})
		if status.Code(err) == codes.Unavailable {
			return false // the registration is not applied yet, and the stand-in has no GetMember to ask
		}
		if err != nil {
			tb.Fatalf("RecordOrder %s: %v", id, err)
		}
		got = resp.GetPointsEarned()
		return got == want
	}, "member %s earns %d, want %d", member, got, want)
	return id
}

// TestMemberTiers: member events go from the member service's log through its relay and the
// broker to loyalty's consumer, which records each member's tier; later orders earn at the
// tier's multiplier and earlier ones keep what they earned. (That an event delivered twice
// applies once is the consumer's, tested in pkg/eventlog; that applying a tier twice changes
// nothing is loyalty.SetTier's, tested with the use cases.)
func TestMemberTiers(t *testing.T) {
	member := &producer{}
	h := &lh{kittest.Start(t, func() []kit.Service { return []kit.Service{member, loyaltyd.Module()} }, kittest.Options{Events: true})}
	h.setPolicy(t, &loyaltyv1.LoyaltyPolicy{TierMultiplierPercent: map[string]int32{"gold": 150}}, "tierMultiplierPercent")
	seq := 0
	member.emit(t, memberv1.EventType_MEMBER_REGISTERED, "m-gold", "gold")
	gold := h.earnsAt(t, "m-gold", 150, &seq)
	// A member loyalty never heard of, whom the member service cannot vouch for, earns nothing.
	_, err := h.points().RecordOrder(h.As(iamv1.Role_SERVICE), &loyaltyv1.RecordOrderRequest{
		Order: &loyaltyv1.Order{Id: "o-unknown", MemberId: "m-unknown", AmountMinor: 10_000, Currency: "CNY"}})
	kittest.WantErr(t, err, codes.Unavailable, "UNAVAILABLE")
	member.emit(t, memberv1.EventType_MEMBER_REGISTERED, "m-plain", "bronze")
	member.emit(t, memberv1.EventType_MEMBER_UPDATED, "m-gold", "silver")
	h.earnsAt(t, "m-gold", 100, &seq)
	h.earnsAt(t, "m-plain", 100, &seq) // an unlisted tier
	first, err := h.points().GetOrder(h.As(iamv1.Role_OPERATOR), &loyaltyv1.GetOrderRequest{Id: gold})
	if err != nil || first.GetOrder().GetPointsEarned() != 150 {
		t.Fatalf("the order earned as gold changed: %v %v", first, err)
	}
	h.verify(t)
}
