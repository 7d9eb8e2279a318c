package coupond

import (
	"fmt"

	bolt "go.etcd.io/bbolt"
	"google.golang.org/protobuf/proto"

	memberv1 "github.com/huiyuan-dev/huiyuan/gen/huiyuan/member/v1"
	"github.com/huiyuan-dev/huiyuan/pkg/eventlog"
	"github.com/huiyuan-dev/huiyuan/services/coupon/internal/boltstore"
	"github.com/huiyuan-dev/huiyuan/services/coupon/internal/coupon"
)

// Member is the service whose events tell the coupon service which members may get coupons.
const Member = "member"

// memberEventTypes are the member events the coupon service follows: registration and status
// changes (freeze, thaw, close, erasure).
func memberEventTypes() []string {
	return []string{eventlog.TypeName(memberv1.EventType_MEMBER_REGISTERED), eventlog.TypeName(memberv1.EventType_MEMBER_STATUS_CHANGED)}
}

// memberEvents records each member's standing, which decides whether it gets coupons (claims,
// grants, codes, exchanges) and uses them (locks, redemptions). It runs in the consumer's transaction, so each event
// applies once; a payload that does not decode is an error, and the consumer retries.
func memberEvents(tx *bolt.Tx, d eventlog.Delivery) error {
	var member string
	var status memberv1.Member_Status
	switch d.Type {
	case eventlog.TypeName(memberv1.EventType_MEMBER_REGISTERED):
		var e memberv1.MemberRegisteredEvent
		if err := proto.Unmarshal(d.Payload, &e); err != nil {
			return fmt.Errorf("decode %s: %w", d.Type, err)
		}
		member, status = e.GetMemberId(), memberv1.Member_ACTIVE
	case eventlog.TypeName(memberv1.EventType_MEMBER_STATUS_CHANGED):
		var e memberv1.MemberStatusChangedEvent
		if err := proto.Unmarshal(d.Payload, &e); err != nil {
			return fmt.Errorf("decode %s: %w", d.Type, err)
		}
		member, status = e.GetMemberId(), e.GetNewStatus()
	default:
		return nil
	}
	st, ok := memberStatus(status)
	if !ok || member == "" {
		return nil
	}
	return boltstore.SetMemberStatus(tx, d.Tenant, member, st)
}

// memberStatus is the coupon service's standing for a status of the member API; ok is false for
// a status it does not know.
func memberStatus(s memberv1.Member_Status) (st coupon.MemberStatus, ok bool) {
	switch s {
	case memberv1.Member_ACTIVE:
		return coupon.MemberActive, true
	case memberv1.Member_FROZEN, memberv1.Member_CLOSED, memberv1.Member_ERASED:
		return coupon.MemberInactive, true
	}
	return coupon.MemberUnheard, false
}
