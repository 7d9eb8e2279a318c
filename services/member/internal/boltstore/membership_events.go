package boltstore

import (
	"fmt"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"
	"google.golang.org/protobuf/proto"

	"github.com/huiyuan-dev/huiyuan/pkg/eventlog"
	"github.com/huiyuan-dev/huiyuan/services/member/internal/membership"

	memberv1 "github.com/huiyuan-dev/huiyuan/gen/huiyuan/member/v1"
)

// membershipEvent returns the payload of a membership event: ids and figures only.
func membershipEvent(ev membership.Event) (proto.Message, time.Time, error) {
	switch e := ev.(type) {
	case membership.TierDefined:
		return &memberv1.TierDefinedEvent{TierId: e.Tier.ID, Rank: int32(e.Tier.Rank),
			PointsMultiplierPercent: int32(e.Tier.MultiplierPercent), UpdateTime: ts(e.At)}, e.At, nil
	case membership.TierDeleted:
		return &memberv1.TierDeletedEvent{TierId: e.TierID, DeleteTime: ts(e.At)}, e.At, nil
	case membership.SettingsUpdated:
		s := e.Settings
		return &memberv1.TierSettingsUpdatedEvent{WindowMonths: int32(s.WindowMonths), DropRule: memberv1.TierSettings_DropRule(s.DropRule),
			NoticeDays: int32(s.NoticeDays), Currency: s.Currency, TimeZone: s.TimeZone, UpdateTime: ts(e.At)}, e.At, nil
	case membership.TierChanged:
		return &memberv1.TierChangedEvent{MemberId: e.MemberID, OldTier: e.Old, NewTier: e.New, Cause: memberv1.TierChangedEvent_Cause(e.Cause),
			ChangeTime: ts(e.At), OrderId: e.OrderID, SubscriptionId: e.SubscriptionID}, e.At, nil
	case membership.DropNotice:
		return &memberv1.TierDropNoticeEvent{MemberId: e.MemberID, TierId: e.Tier, DropToTierId: e.DropTo, ReviewTime: ts(e.ReviewAt),
			MissingSpendMinor: e.MissingSpend, Currency: e.Currency, MissingOrders: int32(e.MissingOrders), NoticeTime: ts(e.At)}, e.At, nil
	case membership.BenefitDefined:
		b := e.Benefit
		return &memberv1.BenefitDefinedEvent{BenefitId: b.ID, Kind: memberv1.Benefit_Kind(b.Kind), LimitPerPeriod: int32(b.Limit),
			Period: memberv1.Benefit_Period(b.Period), Tiers: b.Tiers, Plans: b.Plans, UpdateTime: ts(e.At)}, e.At, nil
	case membership.BenefitDeleted:
		return &memberv1.BenefitDeletedEvent{BenefitId: e.BenefitID, DeleteTime: ts(e.At)}, e.At, nil
	case membership.BenefitUsed:
		u := e.Use
		return &memberv1.BenefitUsedEvent{UseId: u.ID, MemberId: u.MemberID, BenefitId: u.BenefitID, StoreId: u.StoreID,
			Used: int32(u.Used), LimitPerPeriod: int32(e.Limit), UseTime: ts(u.Time)}, u.Time, nil
	case membership.ComplaintChanged:
		c := e.Complaint
		return &memberv1.BenefitComplaintEvent{ComplaintId: c.ID, MemberId: c.MemberID, BenefitId: c.BenefitID, StoreId: c.StoreID,
			State: memberv1.BenefitComplaint_State(c.State), OpenComplaints: e.Open, UpdateTime: ts(e.At)}, e.At, nil
	case membership.PlanDefined:
		p := e.Plan
		return &memberv1.PlanDefinedEvent{PlanId: p.ID, PriceMinor: p.PriceMinor, Currency: p.Currency, TierId: p.TierID, UpdateTime: ts(e.At)}, e.At, nil
	case membership.PlanDeleted:
		return &memberv1.PlanDeletedEvent{PlanId: e.PlanID, DeleteTime: ts(e.At)}, e.At, nil
	case membership.SubscriptionChanged:
		s := e.Subscription
		return &memberv1.SubscriptionEvent{SubscriptionId: s.ID, MemberId: e.MemberID, PlanId: s.PlanID,
			State: memberv1.Subscription_State(s.State), TermEndTime: ts(s.TermEnd), GraceEndTime: ts(s.GraceEnd),
			AmountMinor: e.Amount, Currency: e.Currency, PaymentReference: e.Reference, DaysLeft: int32(e.DaysLeft),
			AutoRenew: s.AutoRenew, EventTime: ts(e.At)}, e.At, nil
	}
	return nil, time.Time{}, fmt.Errorf("boltstore: unknown membership event %T", ev)
}

// declared returns the event log's name of a domain event: the name of its value in
// huiyuan.member.v1.EventType, where every event of the service is declared once for the producer
// and every consumer. A domain event without its value there is a programming error.
func declared(ev interface{ Type() string }) (string, error) {
	t, ok := memberv1.EventType_value[strings.ToUpper(ev.Type())]
	if !ok {
		return "", fmt.Errorf("boltstore: event %q is not declared in huiyuan.member.v1.EventType", ev.Type())
	}
	return eventlog.TypeName(memberv1.EventType(t)), nil
}

// appendMembership records evs in tenant's event log within tx.
func (s *Store) appendMembership(tx *bolt.Tx, tenant string, evs []membership.Event) error {
	for _, ev := range evs {
		name, err := declared(ev)
		if err != nil {
			return err
		}
		payload, at, err := membershipEvent(ev)
		if err != nil {
			return err
		}
		if _, err := s.log.Append(tx, tenant, name, payload, at); err != nil {
			return fmt.Errorf("append %s: %w", name, err)
		}
	}
	return nil
}
