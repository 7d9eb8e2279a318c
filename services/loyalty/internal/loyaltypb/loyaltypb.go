// Package loyaltypb converts the loyalty service's domain values to and from their
// huiyuan.loyalty.v1 messages, for the gRPC API (grpcapi) and the events (boltstore) alike, so
// both speak the same shapes.
package loyaltypb

import (
	"encoding/hex"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/huiyuan-dev/huiyuan/services/loyalty/internal/ledger"
	"github.com/huiyuan-dev/huiyuan/services/loyalty/internal/loyalty"

	loyaltyv1 "github.com/huiyuan-dev/huiyuan/gen/huiyuan/loyalty/v1"
)

func ts(t time.Time) *timestamppb.Timestamp {
	if t.IsZero() {
		return nil
	}
	return timestamppb.New(t)
}

// Order returns o as a message.
func Order(o *loyalty.Order) *loyaltyv1.Order {
	p := &loyaltyv1.Order{
		Id: o.ID, MemberId: o.MemberID, AmountMinor: o.AmountMinor, Currency: o.Currency, StoreId: o.StoreID,
		CreateTime: ts(o.CreateTime), PointsEarned: o.PointsEarned, RefundedMinor: o.RefundedMinor,
		PointsReversed: o.PointsReversed,
	}
	if len(o.Items) > 0 {
		p.Items = make([]*loyaltyv1.OrderItem, len(o.Items))
		for i, it := range o.Items {
			p.Items[i] = &loyaltyv1.OrderItem{Sku: it.SKU, Category: it.Category, Quantity: it.Quantity, UnitPriceMinor: it.UnitPriceMinor}
		}
	}
	return p
}

// OrderFrom returns the order a RecordOrder request carries; output-only fields are ignored.
// An absent create_time stays zero (the order takes the time it is recorded).
func OrderFrom(p *loyaltyv1.Order) loyalty.Order {
	o := loyalty.Order{
		ID: p.GetId(), MemberID: p.GetMemberId(), AmountMinor: p.GetAmountMinor(), Currency: p.GetCurrency(),
		StoreID: p.GetStoreId(),
	}
	if p.GetCreateTime() != nil {
		o.CreateTime = p.GetCreateTime().AsTime()
	}
	if its := p.GetItems(); len(its) > 0 {
		o.Items = make([]ledger.Item, len(its))
		for i, it := range its {
			o.Items[i] = ledger.Item{SKU: it.GetSku(), Category: it.GetCategory(), Quantity: it.GetQuantity(), UnitPriceMinor: it.GetUnitPriceMinor()}
		}
	}
	return o
}

// Kind returns the message's kind of k; both transfer sides are TRANSFER.
func Kind(k ledger.Kind) loyaltyv1.PointsTransaction_Kind {
	switch k {
	case ledger.KindEarn:
		return loyaltyv1.PointsTransaction_EARN
	case ledger.KindRedeem:
		return loyaltyv1.PointsTransaction_REDEEM
	case ledger.KindExpire:
		return loyaltyv1.PointsTransaction_EXPIRE
	case ledger.KindAdjust:
		return loyaltyv1.PointsTransaction_ADJUST
	case ledger.KindHold:
		return loyaltyv1.PointsTransaction_HOLD
	case ledger.KindCapture:
		return loyaltyv1.PointsTransaction_CAPTURE
	case ledger.KindRelease:
		return loyaltyv1.PointsTransaction_RELEASE
	case ledger.KindReverse:
		return loyaltyv1.PointsTransaction_REVERSE
	case ledger.KindTransferIn, ledger.KindTransferOut:
		return loyaltyv1.PointsTransaction_TRANSFER
	case ledger.KindMature:
		return loyaltyv1.PointsTransaction_MATURE
	}
	return loyaltyv1.PointsTransaction_KIND_UNSPECIFIED
}

// CauseType returns the message's type of cause type c; TYPE_UNSPECIFIED for a type the
// ledger does not define.
func CauseType(c ledger.CauseType) loyaltyv1.Cause_Type {
	switch c {
	case ledger.CauseOrder:
		return loyaltyv1.Cause_ORDER
	case ledger.CauseRefund:
		return loyaltyv1.Cause_REFUND
	case ledger.CauseRedemption:
		return loyaltyv1.Cause_REDEMPTION
	case ledger.CauseCampaign:
		return loyaltyv1.Cause_CAMPAIGN
	case ledger.CauseAdmin:
		return loyaltyv1.Cause_ADMIN
	case ledger.CauseTransfer:
		return loyaltyv1.Cause_TRANSFER
	case ledger.CauseCheckIn:
		return loyaltyv1.Cause_CHECK_IN
	case ledger.CauseReward:
		return loyaltyv1.Cause_REWARD
	case ledger.CauseExpiry:
		return loyaltyv1.Cause_EXPIRY
	case ledger.CauseHold:
		return loyaltyv1.Cause_HOLD
	case ledger.CauseMaturity:
		return loyaltyv1.Cause_MATURITY
	}
	return loyaltyv1.Cause_TYPE_UNSPECIFIED
}

// EventType returns the event type announcing a transaction of kind k on its own (see
// loyaltyv1.EventType); both transfer sides are POINTS_TRANSFERRED.
func EventType(k ledger.Kind) loyaltyv1.EventType {
	switch k {
	case ledger.KindEarn:
		return loyaltyv1.EventType_POINTS_EARNED
	case ledger.KindRedeem:
		return loyaltyv1.EventType_POINTS_REDEEMED
	case ledger.KindExpire:
		return loyaltyv1.EventType_POINTS_EXPIRED
	case ledger.KindAdjust:
		return loyaltyv1.EventType_POINTS_ADJUSTED
	case ledger.KindHold:
		return loyaltyv1.EventType_POINTS_HELD
	case ledger.KindCapture:
		return loyaltyv1.EventType_POINTS_CAPTURED
	case ledger.KindRelease:
		return loyaltyv1.EventType_POINTS_RELEASED
	case ledger.KindReverse:
		return loyaltyv1.EventType_POINTS_REVERSED
	case ledger.KindTransferIn, ledger.KindTransferOut:
		return loyaltyv1.EventType_POINTS_TRANSFERRED
	case ledger.KindMature:
		return loyaltyv1.EventType_POINTS_MATURED
	}
	return loyaltyv1.EventType_EVENT_TYPE_UNSPECIFIED
}

// AccountName returns the name callers see for account a of member: "member/<id>/available"
// for a member's own accounts, "system/issued" (or "system/campaign/<id>/budget") otherwise.
func AccountName(member string, a ledger.Account) string {
	if a.IsMember() {
		return "member/" + member + "/" + string(a)
	}
	return "system/" + string(a)
}

// Txn returns t as a message.
func Txn(t *loyalty.Txn) *loyaltyv1.PointsTransaction {
	p := &loyaltyv1.PointsTransaction{
		Id: t.ID, MemberId: t.MemberID, Kind: Kind(t.Kind), Points: t.Delta(ledger.Available),
		Cause:      &loyaltyv1.Cause{Type: CauseType(t.Cause.Type), Ref: t.Cause.Ref, Reason: t.Cause.Reason, Actor: t.Cause.Actor},
		Postings:   make([]*loyaltyv1.Posting, len(t.Postings)),
		CreateTime: ts(t.Time), Sequence: t.Sequence, Hash: hex.EncodeToString(t.Hash[:]),
	}
	for i, x := range t.Postings {
		p.Postings[i] = &loyaltyv1.Posting{Account: AccountName(t.MemberID, x.Account), Points: x.Points}
	}
	return p
}

// HoldState returns the message's state of s.
func HoldState(s ledger.HoldStatus) loyaltyv1.Hold_State {
	switch s {
	case ledger.HoldOpen:
		return loyaltyv1.Hold_OPEN
	case ledger.HoldCaptured:
		return loyaltyv1.Hold_CAPTURED
	case ledger.HoldReleased:
		return loyaltyv1.Hold_RELEASED
	case ledger.HoldExpired:
		return loyaltyv1.Hold_EXPIRED
	}
	return loyaltyv1.Hold_STATE_UNSPECIFIED
}

// Hold returns h as a message. Points is what the hold reserved (its amount), so a closed
// hold still shows what it held; Captured is what was spent.
func Hold(h *loyalty.Hold) *loyaltyv1.Hold {
	return &loyaltyv1.Hold{
		Id: h.ID, MemberId: h.MemberID, Points: h.Amount, Captured: h.Captured, State: HoldState(h.Status),
		ExpireTime: ts(h.ExpiresAt), Reference: h.Cause.Ref,
	}
}

// Balance returns b as a message; debt is zero or negative.
func Balance(b *loyalty.Balance) *loyaltyv1.PointsBalance {
	p := &loyaltyv1.PointsBalance{
		MemberId: b.MemberID, Available: b.Available, Held: b.Held, Pending: b.Pending,
		LifetimeEarned: b.LifetimeEarned, Debt: -b.Owed,
	}
	if len(b.Expiring) > 0 {
		p.Expiring = make([]*loyaltyv1.ExpiringPoints, len(b.Expiring))
		for i, e := range b.Expiring {
			p.Expiring[i] = &loyaltyv1.ExpiringPoints{Points: e.Points, ExpireTime: ts(e.ExpiresAt)}
		}
	}
	return p
}
