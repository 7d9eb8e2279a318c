package memberd

import (
	"fmt"

	bolt "go.etcd.io/bbolt"
	"google.golang.org/protobuf/proto"

	"github.com/huiyuan-dev/huiyuan/pkg/eventlog"
	"github.com/huiyuan-dev/huiyuan/pkg/ids"
	"github.com/huiyuan-dev/huiyuan/services/member/internal/membership"

	loyaltyv1 "github.com/huiyuan-dev/huiyuan/gen/huiyuan/loyalty/v1"
)

// LoyaltyConsumerName is the durable JetStream consumer (and the applied-position key) through
// which the member service follows loyalty's orders.
const LoyaltyConsumerName = Name // a service's durable consumers are named after it (kit.Grant)

// LoyaltyService is the producing service whose events LoyaltyEvents applies.
const LoyaltyService = "loyalty"

// The loyalty event types tier evaluation feeds on.
const (
	EventOrderRecorded = "order_recorded"
	EventOrderRefunded = "order_refunded"
)

// LoyaltyEventTypes are the loyalty event types LoyaltyEvents acts on.
func LoyaltyEventTypes() []string { return []string{EventOrderRecorded, EventOrderRefunded} }

// LoyaltyEvents returns the handler that evaluates tiers from loyalty's orders and refunds. It
// runs in the consumer's transaction, which records the applied position with the effect, so
// each event is applied exactly once; an order's contribution is kept too, so applying one
// twice would change nothing. A payload that does not decode is an error (redelivered until the
// producer is fixed); orders of non-members, or of members this service does not know, are
// skipped.
func (s *Service) LoyaltyEvents() eventlog.Handler {
	return func(tx *bolt.Tx, d eventlog.Delivery) error {
		if d.Service != LoyaltyService {
			return nil
		}
		now := s.clock.Now().UTC()
		switch d.Type {
		case EventOrderRecorded:
			var e loyaltyv1.OrderRecordedEvent
			if err := proto.Unmarshal(d.Payload, &e); err != nil {
				return fmt.Errorf("decode %s: %w", d.Type, err)
			}
			o := e.GetOrder()
			fact := membership.OrderFact{OrderID: o.GetId(), MemberID: ids.Canonical(o.GetMemberId()), Amount: o.GetAmountMinor(),
				Currency: o.GetCurrency()}
			if o.GetCreateTime() != nil {
				fact.Time = o.GetCreateTime().AsTime()
			}
			return s.store.ApplyOrder(tx, d.Tenant, fact.MemberID, fact.OrderID,
				func(a *membership.Account, c *membership.Catalog, prev *membership.Contribution) (*membership.Contribution, []membership.Event) {
					return membership.ApplyOrder(a, c, prev, fact, now)
				})
		case EventOrderRefunded:
			var e loyaltyv1.OrderRefundedEvent
			if err := proto.Unmarshal(d.Payload, &e); err != nil {
				return fmt.Errorf("decode %s: %w", d.Type, err)
			}
			fact := membership.RefundFact{OrderID: e.GetOrderId(), MemberID: ids.Canonical(e.GetMemberId()), Amount: e.GetAmountMinor(),
				RefundedTotal: e.GetRefundedTotalMinor(), Currency: e.GetCurrency()}
			return s.store.ApplyOrder(tx, d.Tenant, fact.MemberID, fact.OrderID,
				func(a *membership.Account, c *membership.Catalog, prev *membership.Contribution) (*membership.Contribution, []membership.Event) {
					return membership.ApplyRefund(a, c, prev, fact, now)
				})
		}
		return nil
	}
}
