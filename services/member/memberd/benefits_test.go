package memberd_test

import (
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/huiyuan-dev/huiyuan/pkg/kittest"

	iamv1 "github.com/huiyuan-dev/huiyuan/gen/huiyuan/iam/v1"
	memberv1 "github.com/huiyuan-dev/huiyuan/gen/huiyuan/member/v1"
)

// TestBenefitLimitUnderConcurrency: a limit of 1 per month used by 20 concurrent requests
// succeeds once; the others get BENEFIT_LIMIT_REACHED, and the next month allows one again.
func TestBenefitLimitUnderConcurrency(t *testing.T) {
	h, c := startKit(t)
	defineTiers(t, h, c)
	admin := h.As(iamv1.Role_ADMIN)
	if _, err := c.benefits.CreateBenefit(admin, &memberv1.CreateBenefitRequest{Benefit: &memberv1.Benefit{Id: "lounge", DisplayName: "Lounge",
		Kind: memberv1.Benefit_FACILITY_ACCESS, LimitPerPeriod: 1, Period: memberv1.Benefit_MONTH, Tiers: []string{"bronze"}}}); err != nil {
		t.Fatal(err)
	}
	m := register(t, h, c, "13800138201")
	var ok, limited atomic.Int32
	var wg sync.WaitGroup
	for i := range 20 {
		wg.Go(func() {
			ctx := h.As(iamv1.Role_SERVICE)
			if i%2 == 0 {
				ctx = h.AsMember(m) // the member's app, on its own
			}
			_, err := c.benefits.UseBenefit(ctx, &memberv1.UseBenefitRequest{RequestId: fmt.Sprintf("use-%d", i), MemberId: m,
				BenefitId: "lounge", StoreId: "sh-001"})
			switch {
			case err == nil:
				ok.Add(1)
			case status.Code(err) == codes.FailedPrecondition:
				limited.Add(1)
			default:
				t.Errorf("use: %v", err)
			}
		})
	}
	wg.Wait()
	if ok.Load() != 1 || limited.Load() != 19 {
		t.Fatalf("%d uses succeeded, %d limited; want 1 and 19", ok.Load(), limited.Load())
	}
	_, err := c.benefits.UseBenefit(h.As(iamv1.Role_SERVICE), &memberv1.UseBenefitRequest{RequestId: "use-again", MemberId: m, BenefitId: "lounge"})
	kittest.WantErr(t, err, codes.FailedPrecondition, "BENEFIT_LIMIT_REACHED")
	ents, err := c.benefits.ListMemberBenefits(h.AsMember(m), &memberv1.ListMemberBenefitsRequest{MemberId: m})
	if err != nil || len(ents.GetBenefits()) != 1 || ents.GetBenefits()[0].GetUsed() != 1 || ents.GetBenefits()[0].GetRemaining() != 0 ||
		ents.GetBenefits()[0].GetGrantedBy()[0] != "tiers/bronze" {
		t.Fatalf("entitlements %v %v", ents, err)
	}
	// A retried use is answered as the first, not counted again.
	first, err := c.benefits.UseBenefit(h.As(iamv1.Role_SERVICE), &memberv1.UseBenefitRequest{RequestId: "use-0", MemberId: m, BenefitId: "lounge", StoreId: "sh-001"})
	if err == nil && first.GetUse().GetUsed() != 1 {
		t.Fatalf("replay %v", first)
	}
	h.Clock.Advance(32 * 24 * time.Hour)
	if _, err := c.benefits.UseBenefit(h.As(iamv1.Role_SERVICE), &memberv1.UseBenefitRequest{RequestId: "next-month", MemberId: m, BenefitId: "lounge"}); err != nil {
		t.Fatalf("next month: %v", err)
	}
	other := register(t, h, c, "13800138202")
	_, err = c.benefits.UseBenefit(h.AsMember(m), &memberv1.UseBenefitRequest{MemberId: other, BenefitId: "lounge"})
	kittest.WantErr(t, err, codes.PermissionDenied, "")
	if n := count(h.Events("member", kittest.Tenant), "benefit_used"); n != 2 {
		t.Fatalf("%d benefit_used events, want 2", n)
	}
}

// TestBenefitEntitlementAndComplaints: a benefit granted by a higher tier is not owed at the
// entry tier; a complaint that it was not honoured counts open until staff resolve it.
func TestBenefitEntitlementAndComplaints(t *testing.T) {
	h, c := startKit(t)
	defineTiers(t, h, c)
	admin := h.As(iamv1.Role_ADMIN)
	_, err := c.benefits.CreateBenefit(admin, &memberv1.CreateBenefitRequest{Benefit: &memberv1.Benefit{Id: "ten-off", DisplayName: "10% off",
		Kind: memberv1.Benefit_DISCOUNT_PERCENT, LimitPerPeriod: 5, Tiers: []string{"silver", "nope"}}})
	kittest.WantErr(t, err, codes.InvalidArgument, "BENEFIT_INVALID", "benefit.discount_percent", "benefit.period", "benefit.tiers[1]")
	_, err = c.benefits.CreateBenefit(admin, &memberv1.CreateBenefitRequest{Benefit: &memberv1.Benefit{Id: "ten-off", DisplayName: "10% off",
		Kind: memberv1.Benefit_Kind(42)}})
	kittest.WantErr(t, err, codes.InvalidArgument, "BENEFIT_INVALID", "benefit.kind")
	if _, err := c.benefits.CreateBenefit(admin, &memberv1.CreateBenefitRequest{Benefit: &memberv1.Benefit{Id: "ten-off", DisplayName: "10% off",
		Kind: memberv1.Benefit_DISCOUNT_PERCENT, DiscountPercent: 10, LimitPerPeriod: 5, Period: memberv1.Benefit_DAY, Tiers: []string{"silver"}}}); err != nil {
		t.Fatal(err)
	}
	tier, err := c.tiers.GetTier(admin, &memberv1.GetTierRequest{TierId: "silver"})
	if err != nil || len(tier.GetTier().GetBenefits()) != 1 {
		t.Fatalf("silver's benefits %v %v", tier, err)
	}
	m := register(t, h, c, "13800138203")
	_, err = c.benefits.UseBenefit(h.As(iamv1.Role_OPERATOR), &memberv1.UseBenefitRequest{MemberId: m, BenefitId: "ten-off"})
	kittest.WantErr(t, err, codes.FailedPrecondition, "BENEFIT_NOT_ENTITLED")
	order(t, h, c, "b1", m, 100_000)
	kittest.Eventually(t, 5*time.Second, func() bool { return tierOf(t, h, c, m) == "silver" }, "not silver")
	use, err := c.benefits.UseBenefit(h.As(iamv1.Role_OPERATOR), &memberv1.UseBenefitRequest{MemberId: m, BenefitId: "ten-off", StoreId: "sh-002"})
	if err != nil || use.GetUse().GetRemaining() != 4 {
		t.Fatalf("use %v %v", use, err)
	}

	cmp, err := c.benefits.CreateBenefitComplaint(h.AsMember(m), &memberv1.CreateBenefitComplaintRequest{RequestId: "c1", MemberId: m,
		Complaint: &memberv1.BenefitComplaint{BenefitId: "ten-off", StoreId: "sh-002", Description: "the till refused the discount"}})
	if err != nil || cmp.GetComplaint().GetReporter() != "member" || cmp.GetComplaint().GetState() != memberv1.BenefitComplaint_OPEN {
		t.Fatalf("complaint %v %v", cmp, err)
	}
	if _, err := c.benefits.CreateBenefitComplaint(h.As(iamv1.Role_OPERATOR), &memberv1.CreateBenefitComplaintRequest{MemberId: m,
		Complaint: &memberv1.BenefitComplaint{BenefitId: "ten-off", Description: "again"}}); err != nil {
		t.Fatal(err)
	}
	_, err = c.benefits.CreateBenefitComplaint(h.As(iamv1.Role_OPERATOR), &memberv1.CreateBenefitComplaintRequest{MemberId: m,
		Complaint: &memberv1.BenefitComplaint{BenefitId: "ten-off"}})
	kittest.WantErr(t, err, codes.InvalidArgument, "BENEFIT_COMPLAINT_INVALID", "complaint.description")
	open := func() int64 {
		b, err := c.benefits.GetBenefit(admin, &memberv1.GetBenefitRequest{BenefitId: "ten-off"})
		if err != nil {
			t.Fatal(err)
		}
		return b.GetBenefit().GetOpenComplaints()
	}
	if n := open(); n != 2 {
		t.Fatalf("%d open complaints, want 2", n)
	}
	res, err := c.benefits.ResolveBenefitComplaint(h.As(iamv1.Role_OPERATOR), &memberv1.ResolveBenefitComplaintRequest{
		ComplaintId: cmp.GetComplaint().GetId(), Note: "refunded the difference"})
	if err != nil || res.GetComplaint().GetState() != memberv1.BenefitComplaint_RESOLVED || res.GetComplaint().GetResolver() == "" {
		t.Fatalf("resolve %v %v", res, err)
	}
	_, err = c.benefits.ResolveBenefitComplaint(h.As(iamv1.Role_OPERATOR), &memberv1.ResolveBenefitComplaintRequest{
		ComplaintId: cmp.GetComplaint().GetId(), Note: "twice"})
	kittest.WantErr(t, err, codes.FailedPrecondition, "BENEFIT_COMPLAINT_RESOLVED")
	if n := open(); n != 1 {
		t.Fatalf("%d open complaints, want 1", n)
	}
	page, err := c.benefits.ListBenefitComplaints(h.As(iamv1.Role_ANALYST), &memberv1.ListBenefitComplaintsRequest{
		BenefitId: "ten-off", State: memberv1.BenefitComplaint_OPEN})
	if err != nil || len(page.GetComplaints()) != 1 || page.GetComplaints()[0].GetDescription() != "again" {
		t.Fatalf("open complaints %v %v", page, err)
	}
	all, err := c.benefits.ListBenefitComplaints(h.As(iamv1.Role_ANALYST), &memberv1.ListBenefitComplaintsRequest{PageSize: 1})
	if err != nil || len(all.GetComplaints()) != 1 || all.GetNextPageToken() == "" {
		t.Fatalf("first page %v %v", all, err)
	}
	rest, err := c.benefits.ListBenefitComplaints(h.As(iamv1.Role_ANALYST), &memberv1.ListBenefitComplaintsRequest{PageSize: 5,
		PageToken: all.GetNextPageToken()})
	if err != nil || len(rest.GetComplaints()) != 1 || rest.GetComplaints()[0].GetId() != cmp.GetComplaint().GetId() || rest.GetNextPageToken() != "" {
		t.Fatalf("second page %v %v", rest, err)
	}
	_, err = c.benefits.ListBenefitComplaints(h.As(iamv1.Role_ANALYST), &memberv1.ListBenefitComplaintsRequest{State: 7})
	kittest.WantErr(t, err, codes.InvalidArgument, "", "state")
}
