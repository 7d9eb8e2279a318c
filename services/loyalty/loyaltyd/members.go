package loyaltyd

import (
	"context"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"github.com/huiyuan-dev/huiyuan/pkg/apperr"
	"github.com/huiyuan-dev/huiyuan/pkg/auth"
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

// memberEventTypes are the member event types loyalty acts on: a member's existence and status
// (registration, status changes, erasure included), its tier (registration, updates, tier
// changes) and the tiers' multipliers (their definitions).
func memberEventTypes() []string {
	return []string{eventlog.TypeName(memberv1.EventType_MEMBER_REGISTERED), eventlog.TypeName(memberv1.EventType_MEMBER_UPDATED),
		eventlog.TypeName(memberv1.EventType_MEMBER_STATUS_CHANGED),
		eventlog.TypeName(memberv1.EventType_TIER_CHANGED), eventlog.TypeName(memberv1.EventType_TIER_DEFINED),
		eventlog.TypeName(memberv1.EventType_TIER_DELETED)}
}

// memberEvents returns the handler that applies the member service's events: it records each
// member's status (loyalty.SetMemberStatus), which decides whether it may earn and spend, and
// its tier (loyalty.SetTier), which later orders earn by. It runs in the consumer's
// transaction, which records the event as applied, so each event applies once; applying one
// again changes nothing. A payload that does not decode is an error, and the consumer retries.
func memberEvents(store *boltstore.Store) eventlog.Handler {
	registered, updated := eventlog.TypeName(memberv1.EventType_MEMBER_REGISTERED), eventlog.TypeName(memberv1.EventType_MEMBER_UPDATED)
	statusChanged := eventlog.TypeName(memberv1.EventType_MEMBER_STATUS_CHANGED)
	changed, defined, deleted := eventlog.TypeName(memberv1.EventType_TIER_CHANGED), eventlog.TypeName(memberv1.EventType_TIER_DEFINED),
		eventlog.TypeName(memberv1.EventType_TIER_DELETED)
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
			return store.Apply(tx, d.Tenant, func(t loyalty.Tx) error {
				if err := loyalty.SetMemberStatus(t, e.GetMemberId(), loyalty.MemberActive); err != nil {
					return err
				}
				return loyalty.SetTier(t, e.GetMemberId(), e.GetTier())
			})
		case statusChanged:
			var e memberv1.MemberStatusChangedEvent
			if err := proto.Unmarshal(d.Payload, &e); err != nil {
				return fmt.Errorf("decode %s: %w", d.Type, err)
			}
			return store.Apply(tx, d.Tenant, func(t loyalty.Tx) error {
				return loyalty.SetMemberStatus(t, e.GetMemberId(), memberStatus(e.GetNewStatus()))
			})
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

// memberStatus is loyalty's name for a status of the member API (MemberUnknown for one it does
// not know, which SetMemberStatus ignores).
func memberStatus(st memberv1.Member_Status) loyalty.MemberStatus {
	switch st {
	case memberv1.Member_ACTIVE:
		return loyalty.MemberActive
	case memberv1.Member_FROZEN:
		return loyalty.MemberFrozen
	case memberv1.Member_CLOSED:
		return loyalty.MemberClosed
	case memberv1.Member_ERASED:
		return loyalty.MemberErased
	}
	return loyalty.MemberUnknown
}

// lookupTimeout bounds one GetMember call.
const lookupTimeout = 5 * time.Second

// memberDirectory is loyalty.Members over the member service's gRPC API (kit's Env.Dial),
// calling as the loyalty service for the tenant of each lookup.
type memberDirectory struct {
	client memberv1.MemberServiceClient
}

func newMemberDirectory(cc grpc.ClientConnInterface) *memberDirectory {
	return &memberDirectory{client: memberv1.NewMemberServiceClient(cc)}
}

// Status implements loyalty.Members: NotFound is MemberMissing, and so is InvalidArgument (the
// member service refuses an id it could never have issued, such as one longer than its limit,
// which loyalty's own looser check lets through); any other failure is Unavailable, so the
// caller retries rather than being refused on a guess.
func (d *memberDirectory) Status(ctx context.Context, tenant, member string) (loyalty.MemberStatus, error) {
	ctx, cancel := context.WithTimeout(auth.ServiceContext(ctx, tenant), lookupTimeout)
	defer cancel()
	resp, err := d.client.GetMember(ctx, &memberv1.GetMemberRequest{MemberId: member})
	switch code := status.Code(err); {
	case code == codes.OK:
	case code == codes.NotFound || code == codes.InvalidArgument:
		return loyalty.MemberMissing, nil
	case code == codes.Canceled && ctx.Err() != nil:
		return 0, ctx.Err() // the caller names the member
	default: // a CANCELLED of the member service's (or a proxy's) own is no answer either
		return 0, apperr.E(apperr.Unavailable, "", "the member service cannot say whether member %q exists: %s", member,
			status.Convert(err).Message())
	}
	st := memberStatus(resp.GetMember().GetStatus())
	if st == loyalty.MemberUnknown {
		return 0, apperr.E(apperr.Unavailable, "", "the member service gave member %q status %s", member, resp.GetMember().GetStatus())
	}
	return st, nil
}
