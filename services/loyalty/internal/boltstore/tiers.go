package boltstore

import (
	"fmt"

	"google.golang.org/protobuf/proto"

	bolt "go.etcd.io/bbolt"

	"github.com/huiyuan-dev/huiyuan/pkg/boltx"
	"github.com/huiyuan-dev/huiyuan/services/loyalty/internal/loyalty"

	memberv1 "github.com/huiyuan-dev/huiyuan/gen/huiyuan/member/v1"
)

// The member service's event types that carry a member's tier.
const (
	MemberRegistered = "member_registered"
	MemberUpdated    = "member_updated"
)

// MemberTierEvents are the member event types ApplyMemberEvent acts on.
func MemberTierEvents() []string { return []string{MemberRegistered, MemberUpdated} }

// ApplyMemberEvent records, in tx, the tier a member service event of eventType says member
// has in tenant: later orders of the member earn at that tier's multiplier. An empty tier
// forgets the member's tier (×1). Events of other types are ignored. Applying the same event
// twice leaves what applying it once left, so a redelivery changes nothing; the caller
// applies each tenant's events in order (eventlog.Consumer does).
// An event naming a member id no order can carry is skipped rather than retried forever; a
// tier no policy can list is kept and simply earns ×1.
// Errors: a payload that does not decode (retried until the producer is fixed), storage errors.
func ApplyMemberEvent(tx *bolt.Tx, tenant, eventType string, payload []byte) error {
	var member, tier string
	switch eventType {
	case MemberRegistered:
		var e memberv1.MemberRegisteredEvent
		if err := proto.Unmarshal(payload, &e); err != nil {
			return fmt.Errorf("decode %s: %w", eventType, err)
		}
		member, tier = e.GetMemberId(), e.GetTier()
	case MemberUpdated:
		var e memberv1.MemberUpdatedEvent
		if err := proto.Unmarshal(payload, &e); err != nil {
			return fmt.Errorf("decode %s: %w", eventType, err)
		}
		member, tier = e.GetMemberId(), e.GetTier()
	default:
		return nil
	}
	if !loyalty.ValidToken(member) {
		return nil
	}
	b := tx.Bucket(bucketMemberTiers)
	key := boltx.Key(tenant, member)
	if tier == "" {
		return b.Delete(key)
	}
	if string(b.Get(key)) == tier { // unchanged: leave the page clean
		return nil
	}
	return b.Put(key, []byte(tier))
}

// memberTier returns member's tier in tenant as tx sees it: "" when none is known.
func memberTier(tx *bolt.Tx, tenant, member string) string {
	return string(tx.Bucket(bucketMemberTiers).Get(boltx.Key(tenant, member)))
}
