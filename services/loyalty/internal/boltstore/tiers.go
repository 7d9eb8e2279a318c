package boltstore

import (
	"fmt"

	"google.golang.org/protobuf/proto"

	bolt "go.etcd.io/bbolt"

	"github.com/huiyuan-dev/huiyuan/pkg/boltx"
	"github.com/huiyuan-dev/huiyuan/services/loyalty/internal/loyalty"

	memberv1 "github.com/huiyuan-dev/huiyuan/gen/huiyuan/member/v1"
)

// The member service's event types that carry a member's tier or a tier's multiplier.
const (
	MemberRegistered = "member_registered"
	MemberUpdated    = "member_updated"
	TierChanged      = "tier_changed"
	TierDefined      = "tier_defined"
	TierDeleted      = "tier_deleted"
)

// MemberTierEvents are the member event types ApplyMemberEvent acts on.
func MemberTierEvents() []string {
	return []string{MemberRegistered, MemberUpdated, TierChanged, TierDefined, TierDeleted}
}

// ApplyMemberEvent records, in tx, what a member service event of eventType says: the tier a
// member has in tenant (member_registered, member_updated, tier_changed), or a tier's points
// multiplier (tier_defined; tier_deleted forgets it). Later orders of the member earn at that
// tier's multiplier. An empty tier forgets the member's tier (×1). Events of other types are
// ignored. Applying the same event twice leaves what applying it once left, so a redelivery
// changes nothing; the caller applies each tenant's events in order (eventlog.Consumer does).
// An event naming a member id no order can carry is skipped rather than retried forever.
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
	case TierChanged:
		var e memberv1.TierChangedEvent
		if err := proto.Unmarshal(payload, &e); err != nil {
			return fmt.Errorf("decode %s: %w", eventType, err)
		}
		member, tier = e.GetMemberId(), e.GetNewTier()
	case TierDefined:
		var e memberv1.TierDefinedEvent
		if err := proto.Unmarshal(payload, &e); err != nil {
			return fmt.Errorf("decode %s: %w", eventType, err)
		}
		return tx.Bucket(bucketTierMultipliers).Put(boltx.Key(tenant, e.GetTierId()), boltx.U64(uint64(max(0, e.GetPointsMultiplierPercent()))))
	case TierDeleted:
		var e memberv1.TierDeletedEvent
		if err := proto.Unmarshal(payload, &e); err != nil {
			return fmt.Errorf("decode %s: %w", eventType, err)
		}
		return tx.Bucket(bucketTierMultipliers).Delete(boltx.Key(tenant, e.GetTierId()))
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

// tierMultiplier returns the earning multiplier, in percent, of member in tenant: the one the
// member service defined for the member's tier (tier_defined), else the tenant policy's
// tier_multiplier_percent for it, else ×1.
func tierMultiplier(tx *bolt.Tx, tenant string, set *loyalty.Settings, member string) int64 {
	tier := memberTier(tx, tenant, member)
	if tier != "" {
		if v := tx.Bucket(bucketTierMultipliers).Get(boltx.Key(tenant, tier)); v != nil {
			return int64(boltx.ParseU64(v))
		}
	}
	return set.TierMultiplier(tier)
}
