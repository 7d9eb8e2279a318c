package memberd_test

import (
	"slices"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"

	"github.com/huiyuan-dev/huiyuan/pkg/kit"
	"github.com/huiyuan-dev/huiyuan/pkg/kittest"
	"github.com/huiyuan-dev/huiyuan/services/loyalty/loyaltyd"
	"github.com/huiyuan-dev/huiyuan/services/member/memberd"

	iamv1 "github.com/huiyuan-dev/huiyuan/gen/huiyuan/iam/v1"
	loyaltyv1 "github.com/huiyuan-dev/huiyuan/gen/huiyuan/loyalty/v1"
	memberv1 "github.com/huiyuan-dev/huiyuan/gen/huiyuan/member/v1"
)

// clients are the member service's APIs and loyalty's over one connection.
type clients struct {
	members  memberv1.MemberServiceClient
	tiers    memberv1.TierServiceClient
	benefits memberv1.BenefitServiceClient
	plans    memberv1.PlanServiceClient
	orders   loyaltyv1.LoyaltyServiceClient
}

func clientsOf(cc grpc.ClientConnInterface) clients {
	return clients{memberv1.NewMemberServiceClient(cc), memberv1.NewTierServiceClient(cc), memberv1.NewBenefitServiceClient(cc),
		memberv1.NewPlanServiceClient(cc), loyaltyv1.NewLoyaltyServiceClient(cc)}
}

// startKit runs the member and loyalty services through kit.Run with events on, on a fake clock.
func startKit(t *testing.T, args ...string) (*kittest.Harness, clients) {
	t.Helper()
	h := kittest.Start(t, func() []kit.Service { return []kit.Service{memberd.Module(), loyaltyd.Module()} },
		kittest.Options{Events: true, Args: append([]string{"--member-job-interval=20ms"}, args...)})
	return h, clientsOf(h.Conn)
}

// defineTiers creates bronze (entry), silver (1,000 CNY, ×1.5) and gold (5,000 CNY, ×2).
func defineTiers(t *testing.T, h *kittest.Harness, c clients) {
	t.Helper()
	admin := h.As(iamv1.Role_ADMIN)
	pct := func(n int32) *int32 { return &n }
	for _, tier := range []*memberv1.Tier{
		{Id: "bronze", DisplayName: "Bronze"},
		{Id: "silver", DisplayName: "Silver", Rank: 1, MinSpendMinor: 100_000, PointsMultiplierPercent: pct(150)},
		{Id: "gold", DisplayName: "Gold", Rank: 2, MinSpendMinor: 500_000, PointsMultiplierPercent: pct(200)},
	} {
		if _, err := c.tiers.CreateTier(admin, &memberv1.CreateTierRequest{RequestId: "tier-" + tier.GetId(), Tier: tier}); err != nil {
			t.Fatal(err)
		}
	}
}

func register(t *testing.T, h *kittest.Harness, c clients, phone string) string {
	t.Helper()
	resp, err := c.members.CreateMember(h.As(iamv1.Role_OPERATOR), &memberv1.CreateMemberRequest{
		Member: &memberv1.Member{DisplayName: "Tier " + phone, Phone: phone}})
	if err != nil {
		t.Fatal(err)
	}
	return resp.GetMember().GetId()
}

func order(t *testing.T, h *kittest.Harness, c clients, id, member string, amount int64) int64 {
	t.Helper()
	resp, err := c.orders.RecordOrder(h.As(iamv1.Role_SERVICE), &loyaltyv1.RecordOrderRequest{RequestId: "r-" + id,
		Order: &loyaltyv1.Order{Id: id, MemberId: member, AmountMinor: amount, Currency: "CNY"}})
	if err != nil {
		t.Fatal(err)
	}
	return resp.GetPointsEarned()
}

func tierOf(t *testing.T, h *kittest.Harness, c clients, member string) string {
	t.Helper()
	resp, err := c.members.GetMember(h.As(iamv1.Role_SERVICE), &memberv1.GetMemberRequest{MemberId: member})
	if err != nil {
		t.Fatal(err)
	}
	return resp.GetMember().GetTier()
}

func count(evs []string, typ string) int {
	n := 0
	for _, e := range evs {
		if e == typ {
			n++
		}
	}
	return n
}

// TestTiersFromOrders runs the loop through kit.Run: a member registers at the entry tier, an
// order that qualifies lifts them at once through the consumer of loyalty's events, a refund
// that undoes the qualification does not drop them, the review does, and a restart neither
// loses nor repeats anything.
func TestTiersFromOrders(t *testing.T) {
	h, c := startKit(t)
	defineTiers(t, h, c)
	m := register(t, h, c, "13800138101")
	if got := tierOf(t, h, c, m); got != "bronze" {
		t.Fatalf("registered at %q, want the entry tier", got)
	}
	order(t, h, c, "o1", m, 60_000)
	order(t, h, c, "o2", m, 50_000)
	kittest.Eventually(t, 5*time.Second, func() bool { return tierOf(t, h, c, m) == "silver" }, "member not lifted to silver")
	st, err := c.tiers.GetMemberTier(h.As(iamv1.Role_OPERATOR), &memberv1.GetMemberTierRequest{MemberId: m})
	if err != nil {
		t.Fatal(err)
	}
	v := st.GetMemberTier().GetValue()
	if v.GetLifetimeSpendMinor() != 110_000 || v.GetLifetimeOrders() != 2 || v.GetWindowSpendMinor() != 110_000 ||
		st.GetMemberTier().GetReviewTime().AsTime() != h.Clock.Now().AddDate(1, 0, 0).UTC() {
		t.Fatalf("standing %v", st)
	}
	if _, err := c.orders.RefundOrder(h.As(iamv1.Role_SERVICE), &loyaltyv1.RefundOrderRequest{RequestId: "f1", Id: "o1", AmountMinor: 60_000}); err != nil {
		t.Fatal(err)
	}
	kittest.Eventually(t, 5*time.Second, func() bool {
		resp, err := c.members.GetMember(h.As(iamv1.Role_SERVICE), &memberv1.GetMemberRequest{MemberId: m})
		return err == nil && resp.GetMember().GetValue().GetLifetimeSpendMinor() == 50_000
	}, "refund not applied")
	if got := tierOf(t, h, c, m); got != "silver" {
		t.Fatalf("a refund dropped the member to %q", got)
	}

	h.Restart()
	c = clientsOf(h.Conn)
	order(t, h, c, "o3", m, 10_000)
	kittest.Eventually(t, 5*time.Second, func() bool {
		resp, err := c.members.GetMember(h.As(iamv1.Role_SERVICE), &memberv1.GetMemberRequest{MemberId: m})
		return err == nil && resp.GetMember().GetValue().GetLifetimeOrders() == 2 // o1 refunded in full
	}, "order after restart not applied")

	// 20 days before the review the job sends the notice (600 CNY since silver: 400 missing), and
	// at the review it drops the member.
	h.Clock.Advance(345 * 24 * time.Hour)
	kittest.Eventually(t, 5*time.Second, func() bool { return slices.Contains(h.Events("member", kittest.Tenant), "tier_drop_notice") },
		"no drop notice")
	if got := tierOf(t, h, c, m); got != "silver" {
		t.Fatalf("dropped before the review, to %q", got)
	}
	h.Clock.Advance(21 * 24 * time.Hour)
	kittest.Eventually(t, 5*time.Second, func() bool { return tierOf(t, h, c, m) == "bronze" }, "review did not drop the member")
	evs := h.Events("member", kittest.Tenant)
	if n := count(evs, "tier_changed"); n != 2 {
		t.Fatalf("%d tier_changed events, want 2 (rise, review): %v", n, evs)
	}
	if n := count(evs, "tier_drop_notice"); n != 1 {
		t.Fatalf("%d drop notices, want 1: %v", n, evs)
	}
}

// TestTierDefinitions: validation with TIER_RULE_INVALID and the request's field names, ranks
// and ids unique, updates effective from the next evaluation, deletion only when unused.
func TestTierDefinitions(t *testing.T) {
	h, c := startKit(t)
	admin := h.As(iamv1.Role_ADMIN)
	_, err := c.tiers.CreateTier(admin, &memberv1.CreateTierRequest{Tier: &memberv1.Tier{Id: "Gold!", Rank: 1, Basis: 9}})
	kittest.WantErr(t, err, codes.InvalidArgument, "TIER_RULE_INVALID", "tier.id", "tier.display_name", "tier.basis")
	_, err = c.tiers.CreateTier(admin, &memberv1.CreateTierRequest{Tier: &memberv1.Tier{Id: "silver", DisplayName: "S", Rank: 1,
		Basis: memberv1.Tier_SPEND, MinOrders: 3}})
	kittest.WantErr(t, err, codes.InvalidArgument, "TIER_RULE_INVALID", "tier.min_spend_minor", "tier.min_orders")
	_, err = c.tiers.CreateTier(admin, &memberv1.CreateTierRequest{Tier: &memberv1.Tier{Id: "entry", DisplayName: "E", MinOrders: 1}})
	kittest.WantErr(t, err, codes.InvalidArgument, "TIER_RULE_INVALID", "tier.rank")
	defineTiers(t, h, c)
	_, err = c.tiers.CreateTier(admin, &memberv1.CreateTierRequest{Tier: &memberv1.Tier{Id: "platinum", DisplayName: "P", Rank: 2, MinOrders: 50}})
	kittest.WantErr(t, err, codes.AlreadyExists, "TIER_RANK_TAKEN", "tier.rank")
	_, err = c.tiers.CreateTier(h.As(iamv1.Role_OPERATOR), &memberv1.CreateTierRequest{Tier: &memberv1.Tier{Id: "x", DisplayName: "X", Rank: 9, MinOrders: 1}})
	kittest.WantErr(t, err, codes.PermissionDenied, "")

	list, err := c.tiers.ListTiers(h.As(iamv1.Role_ANALYST), &memberv1.ListTiersRequest{})
	if err != nil || len(list.GetTiers()) != 3 || list.GetTiers()[1].GetBasis() != memberv1.Tier_SPEND ||
		list.GetTiers()[0].GetPointsMultiplierPercent() != 100 {
		t.Fatalf("tiers %v %v", list, err)
	}
	m := register(t, h, c, "13800138102")
	// Lowering silver's bar moves nobody now: the member rises at their next order.
	if _, err := c.tiers.UpdateTier(admin, &memberv1.UpdateTierRequest{Tier: &memberv1.Tier{Id: "silver", MinSpendMinor: 1_000}}); err != nil {
		t.Fatal(err)
	}
	if got := tierOf(t, h, c, m); got != "bronze" {
		t.Fatalf("an update moved the member to %q", got)
	}
	order(t, h, c, "d1", m, 1_000)
	kittest.Eventually(t, 5*time.Second, func() bool { return tierOf(t, h, c, m) == "silver" }, "member not lifted by the new rule")
	_, err = c.tiers.DeleteTier(admin, &memberv1.DeleteTierRequest{TierId: "silver"})
	kittest.WantErr(t, err, codes.FailedPrecondition, "TIER_IN_USE")
	if _, err := c.tiers.DeleteTier(admin, &memberv1.DeleteTierRequest{TierId: "gold"}); err != nil {
		t.Fatal(err)
	}
	_, err = c.tiers.GetTier(admin, &memberv1.GetTierRequest{TierId: "gold"})
	kittest.WantErr(t, err, codes.NotFound, "TIER_NOT_FOUND")
	evs := h.Events("member", kittest.Tenant)
	if !slices.Contains(evs, "tier_deleted") || count(evs, "tier_defined") != 4 {
		t.Fatalf("events %v", evs)
	}
}
