package loyaltyd

import (
	"fmt"

	bolt "go.etcd.io/bbolt"
	"google.golang.org/protobuf/proto"

	"github.com/huiyuan-dev/huiyuan/pkg/eventlog"
	"github.com/huiyuan-dev/huiyuan/services/loyalty/internal/boltstore"
	"github.com/huiyuan-dev/huiyuan/services/loyalty/internal/loyalty"

	memberv1 "github.com/huiyuan-dev/huiyuan/gen/huiyuan/member/v1"
)

// MemberConsumerName is the durable JetStream consumer (and the applied-position key) through
// which loyalty follows the member service's events.
const MemberConsumerName = "loyalty"

// MemberService is the producing service whose events the consumer applies.
const MemberService = "member"

// memberEventName is the event log's name of a member event type: its value's name in lower
// case, as the member service declares it.
func memberEventName(t memberv1.EventType) string { return eventName(t.String()) }

// memberEventTypes are the member event types loyalty acts on: a member's tier (registration,
// updates, tier changes) and the tiers' multipliers (their definitions).
func memberEventTypes() []string {
	return []string{memberEventName(memberv1.EventType_MEMBER_REGISTERED), memberEventName(memberv1.EventType_MEMBER_UPDATED),
		memberEventName(memberv1.EventType_TIER_CHANGED), memberEventName(memberv1.EventType_TIER_DEFINED),
		memberEventName(memberv1.EventType_TIER_DELETED)}
}

// memberEvents returns the handler that applies the member service's events: it records each
// member's tier (loyalty.SetTier), which later orders earn by. It runs in the consumer's
// transaction, which records the event as applied, so each event applies once; applying one
// again changes nothing. A payload that does not decode is an error, and the consumer retries.
func memberEvents(store *boltstore.Store) eventlog.Handler {
	registered, updated := memberEventName(memberv1.EventType_MEMBER_REGISTERED), memberEventName(memberv1.EventType_MEMBER_UPDATED)
	changed, defined, deleted := memberEventName(memberv1.EventType_TIER_CHANGED), memberEventName(memberv1.EventType_TIER_DEFINED),
		memberEventName(memberv1.EventType_TIER_DELETED)
	return func(tx *bolt.Tx, d eventlog.Delivery) error {
		if d.Service != MemberService {
			return nil
		}
		var member, tier string
		switch d.Type {
		case changed:
			var e memberv1.TierChangedEvent
			if err := proto.Unmarshal(d.Payload, &e); err != nil {
				return fmt.Errorf("decode %s: %w", d.Type, err)
			}
			member, tier = e.GetMemberId(), e.GetNewTier()
		case defined:
			var e memberv1.TierDefinedEvent
			if err := proto.Unmarshal(d.Payload, &e); err != nil {
				return fmt.Errorf("decode %s: %w", d.Type, err)
			}
			return store.Apply(tx, d.Tenant, func(t loyalty.Tx) error {
				return loyalty.DefineTier(t, e.GetTierId(), int64(e.GetPointsMultiplierPercent()))
			})
		case deleted:
			var e memberv1.TierDeletedEvent
			if err := proto.Unmarshal(d.Payload, &e); err != nil {
				return fmt.Errorf("decode %s: %w", d.Type, err)
			}
			return store.Apply(tx, d.Tenant, func(t loyalty.Tx) error { return loyalty.DeleteTier(t, e.GetTierId()) })
		case registered:
			var e memberv1.MemberRegisteredEvent
			if err := proto.Unmarshal(d.Payload, &e); err != nil {
				return fmt.Errorf("decode %s: %w", d.Type, err)
			}
			member, tier = e.GetMemberId(), e.GetTier()
		case updated:
			var e memberv1.MemberUpdatedEvent
			if err := proto.Unmarshal(d.Payload, &e); err != nil {
				return fmt.Errorf("decode %s: %w", d.Type, err)
			}
			member, tier = e.GetMemberId(), e.GetTier()
		default:
			return nil
		}
		return store.Apply(tx, d.Tenant, func(t loyalty.Tx) error { return loyalty.SetTier(t, member, tier) })
	}
}
