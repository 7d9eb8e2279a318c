package boltstore

import (
	"fmt"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/huiyuan-dev/huiyuan/pkg/eventlog"
	"github.com/huiyuan-dev/huiyuan/services/loyalty/internal/loyalty"
	"github.com/huiyuan-dev/huiyuan/services/loyalty/internal/loyaltypb"

	loyaltyv1 "github.com/huiyuan-dev/huiyuan/gen/huiyuan/loyalty/v1"
)

// emit appends events to the tenant's event log in the transaction, each built from what the
// domain recorded (an order's event from its journal entry).
func (t *tx) emit(events []loyalty.Event) error {
	if len(events) == 0 || t.s.noEvents {
		return nil
	}
	t.bucket(t.s.events).FillPercent = appendFill
	for _, ev := range events {
		typ, payload, at, err := t.eventMessage(ev)
		if err != nil {
			return err
		}
		name := eventlog.TypeName(typ)
		t.wrote = true
		if _, err := t.s.log.Append(t.btx, t.tenant, name, payload, at); err != nil {
			return fmt.Errorf("append %s event: %w", name, err)
		}
	}
	return nil
}

// eventMessage returns the type, payload and time of a domain event. The payloads of the hot
// path (an order's, a transaction's) are encoded by wire.go and handed to the event log as the
// unknown fields of an empty message of their type, which marshals them unchanged: the log
// stores the same bytes and names the same type as for a built message.
func (t *tx) eventMessage(ev loyalty.Event) (loyaltyv1.EventType, proto.Message, time.Time, error) {
	switch e := ev.(type) {
	case loyalty.OrderRecorded:
		m := &loyaltyv1.OrderRecordedEvent{}
		t.scratch = appendOrderRecorded(t.scratch[:0], e.Entry)
		m.ProtoReflect().SetUnknown(t.scratch)
		return loyaltyv1.EventType_ORDER_RECORDED, m, e.Entry.Time, nil
	case loyalty.OrderRefunded:
		r, o := e.Entry.Refund, e.Order
		m := &loyaltyv1.OrderRefundedEvent{OrderId: r.OrderID, MemberId: o.MemberID, AmountMinor: r.AmountMinor,
			Currency: o.Currency, RefundedTotalMinor: r.RefundedTotal, PointsReversed: r.PointsReversed,
			PointsToDebt: r.PointsToDebt, StoreId: o.StoreID, RefundTime: loyaltypb.Timestamp(e.Entry.Time)}
		if e.Entry.Txn != nil {
			m.Transaction, m.AvailableAfter = loyaltypb.Txn(e.Entry.Posted()), e.Entry.AvailableAfter
		}
		return loyaltyv1.EventType_ORDER_REFUNDED, m, e.Entry.Time, nil
	case loyalty.PointsChanged:
		m := &loyaltyv1.PointsChangedEvent{}
		t.scratch = appendPointsChanged(t.scratch[:0], e.Entry)
		m.ProtoReflect().SetUnknown(t.scratch)
		return loyaltypb.EventType(e.Entry.Txn.Kind), m, e.Entry.Time, nil
	case loyalty.CheckedIn:
		m := &loyaltyv1.PointsChangedEvent{}
		if e.Entry != nil {
			m.Transaction, m.AvailableAfter = loyaltypb.Txn(e.Entry.Posted()), e.Entry.AvailableAfter
		}
		return loyaltyv1.EventType_CHECKED_IN, m, e.At, nil
	case loyalty.PointsExpiringSoon:
		m := &loyaltyv1.PointsExpiringSoonEvent{MemberId: e.MemberID, Points: e.Points, ExpireTime: loyaltypb.Timestamp(e.ExpiresAt)}
		return loyaltyv1.EventType_POINTS_EXPIRING_SOON, m, e.At, nil
	case loyalty.RewardRedeemed:
		return loyaltyv1.EventType_REWARD_REDEEMED, loyaltypb.Redemption(e.Redemption), e.Redemption.UpdateTime, nil
	case loyalty.RedemptionUpdated:
		return loyaltyv1.EventType_REWARD_REDEMPTION_UPDATED, loyaltypb.Redemption(e.Redemption), e.Redemption.UpdateTime, nil
	case loyalty.PolicyUpdated:
		return loyaltyv1.EventType_LOYALTY_POLICY_UPDATED, loyaltypb.Policy(&e.Policy), e.At, nil
	}
	return 0, nil, time.Time{}, fmt.Errorf("boltstore: unknown event %T", ev)
}
