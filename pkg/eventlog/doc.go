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
// # Relay
//
// Relay publishes each tenant's log in order, one event in flight per tenant and many tenants
// at once. Every publish carries Nats-Expected-Last-Subject-Sequence with the stream sequence of
// the tenant's previous event, checked over the tenant's subjects
// (Nats-Expected-Last-Subject-Sequence-Subject: huiyuan.<tenant>.<service>.v1.>). The broker
// therefore stores an event only right after its predecessor, and a broker that lost messages
// (a crash before its periodic fsync, a wiped store) rejects the next one. The relay then reads
// the tenant's last message on the broker (its Huiyuan-Sequence header) and republishes from
// its log after it. Audits, periodic and after a reconnect, find losses while no event flows,
// and declare the stream again if it vanished. The position acknowledged for each tenant is
// saved (RelayCursor) every second; after a restart, a stale position only costs one check.
// Retention prunes events older than RelayOptions.Retention that the broker acknowledged.
//
// # Consumer
//
// Consumer is a durable JetStream pull consumer. For each event it runs the Handler and
// advances its ConsumerCursor for (consumer, producer, tenant) in one write transaction, so an
// effect and the record that it happened commit together: a redelivered or duplicated event at
// or below the cursor is acknowledged without effect, and an event after a gap waits (or is
// preceded by the missing events from a Fetcher). Several transactions' worth of waiting events
// share one transaction, and writes can go through the group-commit boltx.Writer.
//
// # Storage
//
// The package takes small interfaces: reads go through a Viewer, the relay's writes through a
// DB, a consumer's through a boltx.Updater. *boltx.DB satisfies all three and *boltx.Writer the
// last. Open the database with Log.Buckets() and ConsumerBuckets().
package eventlog
