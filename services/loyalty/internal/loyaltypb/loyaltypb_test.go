package loyaltypb_test

import (
	"reflect"
	"testing"
	"time"

	"github.com/huiyuan-dev/huiyuan/pkg/eventlog"
	"github.com/huiyuan-dev/huiyuan/services/loyalty/internal/ledger"
	"github.com/huiyuan-dev/huiyuan/services/loyalty/internal/loyalty"
	"github.com/huiyuan-dev/huiyuan/services/loyalty/internal/loyaltypb"

	loyaltyv1 "github.com/huiyuan-dev/huiyuan/gen/huiyuan/loyalty/v1"
)

func TestKindsAndEventTypes(t *testing.T) {
	kinds := []ledger.Kind{ledger.KindEarn, ledger.KindRedeem, ledger.KindAdjust, ledger.KindHold, ledger.KindCapture,
		ledger.KindRelease, ledger.KindMature, ledger.KindExpire, ledger.KindReverse, ledger.KindTransferOut, ledger.KindTransferIn}
	seen := map[string]bool{}
	for _, k := range kinds {
		if loyaltypb.Kind(k) == loyaltyv1.PointsTransaction_KIND_UNSPECIFIED {
			t.Errorf("kind %s has no message kind", k)
		}
		typ := eventlog.TypeName(loyaltypb.EventType(k))
		if err := eventlog.ValidateEventType(typ); err != nil || typ == "event_type_unspecified" {
			t.Errorf("kind %s: event type %q (%v)", k, typ, err)
		}
		seen[typ] = true
	}
	if len(seen) != 10 { // both transfer sides share points_transferred
		t.Fatalf("event types %v", seen)
	}
	if loyaltypb.Kind("NOPE") != loyaltyv1.PointsTransaction_KIND_UNSPECIFIED {
		t.Fatal("unknown kind mapped")
	}
	// Every declared event type is a valid event log type, named as the enum says.
	values := loyaltyv1.EventType_EVENT_TYPE_UNSPECIFIED.Descriptor().Values()
	for i := 1; i < values.Len(); i++ {
		name := eventlog.TypeName(loyaltyv1.EventType(values.Get(i).Number()))
		if err := eventlog.ValidateEventType(name); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
	if got := eventlog.TypeName(loyaltyv1.EventType_POINTS_EARNED); got != "points_earned" {
		t.Fatalf("POINTS_EARNED is %q", got)
	}
}

// TestCauseTypes checks that every cause type the ledger posts has its own enum value, that
// every enum value is one of them, and that unknown types are TYPE_UNSPECIFIED.
func TestCauseTypes(t *testing.T) {
	want := map[ledger.CauseType]loyaltyv1.Cause_Type{
		ledger.CauseOrder: loyaltyv1.Cause_ORDER, ledger.CauseRefund: loyaltyv1.Cause_REFUND,
		ledger.CauseRedemption: loyaltyv1.Cause_REDEMPTION, ledger.CauseCampaign: loyaltyv1.Cause_CAMPAIGN,
		ledger.CauseAdmin: loyaltyv1.Cause_ADMIN, ledger.CauseTransfer: loyaltyv1.Cause_TRANSFER,
		ledger.CauseCheckIn: loyaltyv1.Cause_CHECK_IN, ledger.CauseReward: loyaltyv1.Cause_REWARD,
		ledger.CauseExpiry: loyaltyv1.Cause_EXPIRY, ledger.CauseHold: loyaltyv1.Cause_HOLD,
		ledger.CauseMaturity: loyaltyv1.Cause_MATURITY,
	}
	produced := map[loyaltyv1.Cause_Type]bool{}
	for c, w := range want {
		got := loyaltypb.CauseType(c)
		if got != w {
			t.Errorf("CauseType(%q) = %v, want %v", c, got, w)
		}
		produced[got] = true
	}
	values := loyaltyv1.Cause_TYPE_UNSPECIFIED.Descriptor().Values()
	for i := range values.Len() {
		if n := loyaltyv1.Cause_Type(values.Get(i).Number()); n != 0 && !produced[n] {
			t.Errorf("enum value %v is produced by no ledger cause type", n)
		}
	}
	if got := loyaltypb.CauseType("nope"); got != loyaltyv1.Cause_TYPE_UNSPECIFIED {
		t.Errorf("unknown cause type mapped to %v", got)
	}
}

func TestTxn(t *testing.T) {
	at := time.Date(2026, 3, 1, 2, 0, 0, 0, time.UTC)
	tx := loyalty.Txn{Txn: ledger.Txn{ID: "t", MemberID: "m1", Kind: ledger.KindCapture, Time: at,
		Cause:    ledger.Cause{Type: ledger.CauseRedemption, Ref: "c1", Actor: "k"},
		Postings: []ledger.Posting{{Account: ledger.Held, Points: -10}, {Account: ledger.Redeemed, Points: 6}, {Account: ledger.Available, Points: 4}}},
		Sequence: 7, Hash: [32]byte{0xab}}
	p := loyaltypb.Txn(&tx)
	if p.GetPoints() != 4 || p.GetSequence() != 7 || p.GetHash()[:2] != "ab" || len(p.GetHash()) != 64 ||
		p.GetPostings()[0].GetAccount() != "member/m1/held" || p.GetPostings()[1].GetAccount() != "system/redeemed" ||
		!p.GetCreateTime().AsTime().Equal(at) || p.GetCause().GetRef() != "c1" ||
		p.GetCause().GetType() != loyaltyv1.Cause_REDEMPTION {
		t.Fatalf("%v", p)
	}
	if got := loyaltypb.AccountName("m1", ledger.CampaignBudget("spring")); got != "system/campaign/spring/budget" {
		t.Fatal(got)
	}
}

func TestOrderRoundTrip(t *testing.T) {
	at := time.Date(2026, 3, 1, 2, 0, 0, 0, time.UTC)
	o := loyalty.Order{ID: "o", MemberID: "m", AmountMinor: 100, Currency: "CNY", StoreID: "s", CreateTime: at,
		Items: []ledger.Item{{SKU: "a", Category: "c", Quantity: 2, UnitPriceMinor: 50}}}
	back := loyaltypb.OrderFrom(loyaltypb.Order(&o))
	if back.ID != o.ID || back.MemberID != o.MemberID || !back.CreateTime.Equal(at) || len(back.Items) != 1 || back.Items[0] != o.Items[0] {
		t.Fatalf("%+v", back)
	}
	if got := loyaltypb.OrderFrom(&loyaltyv1.Order{Id: "x"}); !got.CreateTime.IsZero() {
		t.Fatal("absent create_time must stay zero")
	}
}

func TestHoldAndBalance(t *testing.T) {
	at := time.Date(2026, 3, 1, 2, 0, 0, 0, time.UTC)
	h := loyalty.Hold{MemberID: "m", Hold: ledger.Hold{ID: "h", Amount: 10, Captured: 6, Status: ledger.HoldCaptured,
		ExpiresAt: at, Cause: ledger.Cause{Ref: "checkout"}}}
	p := loyaltypb.Hold(&h)
	if p.GetPoints() != 10 || p.GetCaptured() != 6 || p.GetState() != loyaltyv1.Hold_CAPTURED || p.GetReference() != "checkout" {
		t.Fatalf("%v", p)
	}
	for s, want := range map[ledger.HoldStatus]loyaltyv1.Hold_State{ledger.HoldOpen: loyaltyv1.Hold_OPEN,
		ledger.HoldReleased: loyaltyv1.Hold_RELEASED, ledger.HoldExpired: loyaltyv1.Hold_EXPIRED, "X": 0} {
		if got := loyaltypb.HoldState(s); got != want {
			t.Errorf("%s: %v", s, got)
		}
	}
	b := loyalty.Balance{MemberID: "m", BalanceView: ledger.BalanceView{Available: 5, Owed: 3,
		Expiring: []ledger.ExpiringBucket{{ExpiresAt: at, Points: 5}}}}
	pb := loyaltypb.Balance(&b)
	if pb.GetDebt() != -3 || pb.GetAvailable() != 5 || len(pb.GetExpiring()) != 1 || !pb.GetExpiring()[0].GetExpireTime().AsTime().Equal(at) {
		t.Fatalf("%v", pb)
	}
}

// TestPolicyRoundTrip: every field of the domain's policy survives the message, so none is
// unsettable through the API, and the enums map both ways with the zero value refused.
func TestPolicyRoundTrip(t *testing.T) {
	p := loyalty.DefaultPolicy()
	p.CurrencyRatePercent, p.AcceptedCurrencies, p.MaxOrderAgeDays = map[string]int64{"USD": 700}, []string{"CNY", "USD"}, 30
	p.ExcludedCategories, p.ExcludedSKUs = []string{"tobacco"}, []string{"gift-card"}
	p.CategoryRatePercent, p.SKURatePercent = map[string]int64{"wine": 50}, map[string]int64{"wine-special": 200}
	p.TierMultiplierPercent = map[string]int64{"gold": 150}
	p.MinOrderMinor, p.PendingDays, p.CheckInCycleDays, p.TransferResetsExpiry = 100, 7, 7, true
	p.HoldTimeoutMinutes, p.MaxHoldTimeoutMinutes, p.ClosedHoldRetentionDays = 30, 60, 2
	back := loyaltypb.PolicyFrom(loyaltypb.Policy(&p))
	if !reflect.DeepEqual(back, p) {
		t.Fatalf("round trip\n got %+v\nwant %+v", back, p)
	}
	if err := back.Validate(); err != nil {
		t.Fatal(err)
	}
	// The message has no field the domain's policy lacks: set every one, and the round trip
	// through the domain keeps them all.
	m := loyaltypb.Policy(&p)
	fields := m.ProtoReflect().Descriptor().Fields()
	for i := range fields.Len() {
		if fd := fields.Get(i); !m.ProtoReflect().Has(fd) {
			t.Errorf("field %s is not set by the domain's policy", fd.Name())
		}
	}
	for _, e := range []loyaltyv1.LoyaltyPolicy_ExpiryKind{loyaltyv1.LoyaltyPolicy_EXPIRY_KIND_UNSPECIFIED, 42} {
		q := loyaltypb.PolicyFrom(&loyaltyv1.LoyaltyPolicy{ExpiryKind: e})
		if q.Expiry.Kind == ledger.ExpireNever || q.Expiry.Kind == "" {
			t.Errorf("%v maps to %q, a valid kind", e, q.Expiry.Kind)
		}
	}
	if r := loyaltypb.RefundPolicyFrom(loyaltyv1.LoyaltyPolicy_REFUND_POLICY_UNSPECIFIED); r.Valid() {
		t.Errorf("REFUND_POLICY_UNSPECIFIED maps to valid %q", r)
	}
}

func TestRedemptionStatuses(t *testing.T) {
	for s := loyalty.RedemptionPending; s <= loyalty.RedemptionFailed; s++ {
		m := loyaltypb.RedemptionStatus(s)
		if m == loyaltyv1.RewardRedemption_STATUS_UNSPECIFIED || m.String() != s.String() || loyaltypb.RedemptionStatusFrom(m) != s {
			t.Errorf("%v maps to %v", s, m)
		}
	}
	if loyaltypb.RedemptionStatusFrom(loyaltyv1.RewardRedemption_STATUS_UNSPECIFIED) != 0 {
		t.Error("STATUS_UNSPECIFIED maps to a status")
	}
}
