package loyaltyd

import (
	"github.com/nats-io/nats.go/jetstream"
	bolt "go.etcd.io/bbolt"

	"github.com/huiyuan-dev/huiyuan/pkg/eventlog"
	"github.com/huiyuan-dev/huiyuan/services/loyalty/internal/boltstore"
)

// MemberConsumerName is the durable JetStream consumer (and the applied-position key) through
// which loyalty follows the member service's events.
const MemberConsumerName = "loyalty"

// MemberService is the producing service whose events MemberEvents applies.
const MemberService = "member"

// MemberEventTypes are the member event types MemberEvents acts on: the ones that carry a
// member's tier (member_registered, member_updated, tier_changed) or a tier's multiplier
// (tier_defined, tier_deleted).
func MemberEventTypes() []string { return boltstore.MemberTierEvents() }

// MemberEvents returns the handler that applies the member service's events: it records each
// member's tier and each tier's multiplier, which later orders earn by (a tier the member
// service did not define earns the tenant policy's tier_multiplier_percent).
// It runs in the consumer's transaction, so each event is applied exactly once; applying one
// again changes nothing. The handler's error (a payload that does not decode, storage) makes
// the consumer redeliver the event.
func (s *Service) MemberEvents() eventlog.Handler {
	return func(tx *bolt.Tx, d eventlog.Delivery) error {
		if d.Service != MemberService {
			return nil
		}
		return boltstore.ApplyMemberEvent(tx, d.Tenant, d.Type, d.Payload)
	}
}

// MemberConsumer returns the consumer that applies the member service's events (the MEMBER
// stream on js) with MemberEvents, through the service's database and writer; fetcher fills
// gaps from the member service's log (eventlog.LogFetcher in the same process, nil to rely on
// the broker). Run it with Run(ctx) in one process per database file; Run returns an error
// only for an invalid construction.
func (s *Service) MemberConsumer(js jetstream.JetStream, fetcher eventlog.Fetcher) *eventlog.Consumer {
	cfg := eventlog.ConsumerConfig{Name: MemberConsumerName, Service: MemberService, Types: MemberEventTypes(), Fetcher: fetcher}
	return eventlog.NewConsumer(js, s.db, s.w, cfg, s.MemberEvents(), s.logger)
}
