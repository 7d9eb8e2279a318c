// Package eventlog is a service's transactional outbox and the exactly-once consumer of other
// services' events.
//
// # Log
//
// Log.Append writes an event in the caller's bbolt transaction, next to the state change it
// describes, with the tenant's next sequence number. bbolt has one writer at a time, so the
// sequences of a (service, tenant) log have no gaps and commit in order; a rolled-back
// transaction uses none up. The log is the source of truth; Log.List serves it (ListEvents).
//
// # Epochs
//
// A sequence number alone does not name an event for good: a store restored from a backup
// appends new events under the numbers of those it lost, which the broker and consumers may
// hold, and anyone who can publish to the stream can put a message there under the next
// number. So each tenant's log is a list of epoch segments (Epoch: an epoch number that only
// grows, milliseconds << 16 | 16 random bits, and the first sequence it covers), kept in the
// log's buckets; an event belongs to the epoch of the segment holding its sequence, so nothing
// written needs rewriting when an epoch starts. A tenant's first event starts its first epoch;
// a log from before epochs is in epoch 0 from sequence 1. A new epoch E from sequence K says:
// the events before K are shared history, and from K on E's events replace whatever an older
// epoch held. One starts when a store is restored (StartNewEpochs, called by huiyuan restore, at
// every tenant's head+1), and when the relay finds a message on the broker that its log cannot
// continue (below). The event id, also Nats-Msg-Id, is "<service>:<tenant>:<epoch>:<sequence>";
// messages carry Huiyuan-Epoch, Huiyuan-Epoch-Start and Huiyuan-Digest (SHA-256 of the type,
// time, payload type and payload).
//
// # Relay
//
// Relay publishes each tenant's log in order, many tenants at once. Each publish carries
// Nats-Expected-Last-Subject-Sequence with the stream sequence of the tenant's previous event,
// checked over the tenant's subjects (Nats-Expected-Last-Subject-Sequence-Subject:
// huiyuan.<tenant>.<service>.v1.>). A backlog goes out in atomic batches (nats-server 2.12, the
// stream declared with AllowAtomicPublish) whose first message carries the check, so a whole
// window of events commits right after its predecessor or not at all; a few events go one at a
// time. The broker therefore stores an event only right after its predecessor, and a broker
// that lost messages (a crash before its periodic fsync, a wiped store) rejects the next
// window. The relay then reads the tenant's last message on the broker and compares it, by
// epoch, id and digest, with its log: after its own event it republishes what the broker lost;
// after a message of an older epoch it continues (history); after any other message claiming a
// sequence it starts a new epoch at the first sequence it cannot confirm on the broker and
// publishes from there, so no event of its log is skipped. Audits, periodic and after a
// reconnect, do the same while no event flows, and declare the stream again if it vanished.
// Servers before 2.11 cannot check a tenant's subjects: there the relay pipelines asynchronous
// publishes and relies on the audit. The position acknowledged for each tenant is saved
// (RelayCursor) every second; after a restart, a stale position only costs one check. Retention
// prunes events older than RelayOptions.Retention that the broker acknowledged.
//
// # Consumer
//
// Consumer is a durable JetStream pull consumer. For each event it runs the Handler and
// advances its ConsumerCursor for (consumer, producer, tenant), an epoch and a sequence, in one
// write transaction, so an effect and the record that it happened commit together. An event of
// the cursor's epoch at or below the cursor is acknowledged without effect, and one after a gap
// waits (or is preceded by the missing events from a Fetcher, once the Fetcher confirms the
// producer holds the event after the gap). An event of a newer epoch E starting at K moves the
// cursor into E at min(applied, K-1): E's events from K on are applied, even where an older
// epoch had others. Events of older epochs than the cursor's are acknowledged without effect.
// So nothing is applied twice, and nothing of the producer's current history is skipped.
// Several transactions' worth of waiting events share one transaction, and writes can go
// through the group-commit boltx.Writer.
//
// # Sparse consumers
//
// A consumer of types that are rare among its producer's events (the coupon service follows
// loyalty's policy updates, among two events per order) can be Sparse: the broker then delivers
// only its types, one at a time (MaxAckPending 1), so the other types cost it nothing, where
// they would cost a delivery, an ack and a share of a commit each. Its applied position jumps
// over the other types' events. That misses nothing because the broker is 2.11 or later (older
// ones get the full delivery): the relay's per-tenant check stores each tenant's log on the
// stream in order and without holes, so an event of the consumer's types arrives after every
// earlier one of them; and with one event in flight, a redelivery (after a Handler error or a
// lost ack) comes before any later event. Only before the first event it applies of a tenant
// does it fill from the Fetcher as any consumer does. One event per round trip and commit suits
// rare types only.
//
// # Admission
//
// The log lets a service go on writing while the broker is away. When the broker is up but
// slower than the writers, Log.Admit (called by a store before it queues a write) holds a
// writer while its tenant has more than RelayOptions.MaxBacklog committed events the broker has
// not acknowledged, at most AdmitWait, and only while the relay is acknowledging events: the
// writers are paced by the broker and its lag stays bounded. With the broker down nothing waits.
//
// Epochs protect the log's own history, not consumers from a forger: a consumer applies a
// well-formed message with the next sequence, forged or not, before the producer's relay
// replaces it. Broker credentials (each service publishes only its own subjects) keep forgers
// out.
//
// # Storage
//
// The package takes small interfaces: reads go through a Viewer, the relay's writes through a
// DB, a consumer's through a boltx.Updater. *boltx.DB satisfies all three and *boltx.Writer the
// last. Open the database with Log.Buckets() and ConsumerBuckets().
package eventlog
