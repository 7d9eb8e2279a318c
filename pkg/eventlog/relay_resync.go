package eventlog

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	bolt "go.etcd.io/bbolt"
	"google.golang.org/protobuf/proto"

	platformv1 "github.com/huiyuan-dev/huiyuan/gen/huiyuan/platform/v1"
	"github.com/huiyuan-dev/huiyuan/pkg/natsx"
)

// maxConfirmScan bounds the broker messages read to find where the broker's history leaves the
// log's. The scan starts after the relay's own last publish, normally no more than a saved
// position's staleness (a second) back.
const maxConfirmScan = 10_000

// resync sets tenant's position to what the broker holds, judged by the tenant's last message
// there:
//   - the log's own event (same epoch, id and digest): continue after it. A position that moves
//     back means the broker lost events, and they are republished; one that moves forward is a
//     relay restarting with a stale saved position.
//   - anything else: the relay reads the broker's messages after its own last publish (if the
//     broker still holds it) up to that last one, confirming the log's events among them.
//     Messages of an older epoch than the log's current one are history, and it continues
//     after them. If another message claims a sequence of the current epoch or a newer one (a
//     forged message, the lost future of a store restored without a new epoch, a message beyond
//     the log's head), the log cannot continue that history: a new epoch starts at the first
//     sequence the relay cannot confirm, and publishing goes on from there, after the broker's
//     last message. Nothing of the log is skipped, and consumers move to the new epoch.
func (r *Relay) resync(ctx context.Context, tenant string, st *tenantState) error {
	last, err := r.lastOnBroker(ctx, tenant)
	if errors.Is(err, jetstream.ErrStreamNotFound) {
		r.log.Warn("event stream missing; declaring it again and republishing")
		if _, err := r.ensureStream(ctx, true); err != nil {
			return err
		}
		r.auditAll() // every tenant's events were lost with the stream
		last, err = r.lastOnBroker(ctx, tenant)
	}
	if err != nil {
		return err
	}
	view, err := r.view(ctx, tenant, last.seq)
	if err != nil {
		return err
	}
	published, streamSeq := st.published, last.streamSeq
	switch {
	case !last.found:
		if published == 0 {
			break
		}
		aged, err := r.agedOut(ctx, tenant, published)
		if err != nil {
			return err
		}
		if !aged {
			r.log.Warn("broker lost all events of a tenant; republishing", "tenant", tenant, "published", published)
			published = 0
		}
	case !last.hasSeq:
		r.log.Warn("last message on the tenant's subjects has no sequence header; keeping the log's position",
			"tenant", tenant, "stream_sequence", last.streamSeq)
	case r.isLogEvent(tenant, last, view):
		if last.seq < published {
			r.log.Warn("broker lost events; republishing", "tenant", tenant, "broker_has", last.seq, "published", published)
		}
		published = last.seq
	default:
		cur := view.segs[len(view.segs)-1]
		confirmed, diverged, err := r.confirm(ctx, tenant, st, cur, last)
		if err != nil {
			return err
		}
		if confirmed < published {
			r.log.Warn("broker lost events; republishing", "tenant", tenant, "broker_has", confirmed, "published", published)
		}
		published = confirmed
		if !diverged {
			break
		}
		// Events before the current epoch keep their labels: consumers may have applied them.
		e, err := r.startEpoch(ctx, tenant, max(confirmed+1, cur.Start), max(last.epoch, cur.Epoch)+1)
		if err != nil {
			return err
		}
		r.log.Error("the broker holds an event that is not this log's (a forged message, or a store restored without a new epoch); publishing from a new epoch",
			"tenant", tenant, "broker_sequence", last.seq, "broker_epoch", last.epoch, "broker_id", last.id,
			"log_head", view.head, "epoch", e.Epoch, "from", e.Start)
	}
	if published != st.published || streamSeq != st.streamSeq {
		r.setPosition(st, published, streamSeq)
	}
	return nil
}

// brokerEvent is what the relay reads of a message on the broker.
type brokerEvent struct {
	found, hasSeq  bool
	seq, streamSeq uint64
	epoch          uint64
	id, digest     string
	hasDigest      bool
}

func readBrokerEvent(m *jetstream.RawStreamMsg) brokerEvent {
	b := brokerEvent{found: true, streamSeq: m.Sequence}
	h := m.Header
	seq, err := strconv.ParseUint(h.Get(HeaderSequence), 10, 64)
	if err != nil || seq == 0 {
		return b
	}
	epoch, _, err := parseEpoch(h, seq)
	if err != nil {
		return b
	}
	b.hasSeq, b.seq, b.epoch = true, seq, epoch
	b.id = h.Get(HeaderID)
	b.digest = h.Get(HeaderDigest)
	b.hasDigest = len(h.Values(HeaderDigest)) > 0
	return b
}

func (r *Relay) lastOnBroker(ctx context.Context, tenant string) (brokerEvent, error) {
	s, err := r.ensureStream(ctx, false)
	if err != nil {
		return brokerEvent{}, err
	}
	gctx, cancel := context.WithTimeout(ctx, r.opts.PublishTimeout)
	defer cancel()
	m, err := s.GetLastMsgForSubject(gctx, TenantFilter(tenant, r.l.service))
	if errors.Is(err, jetstream.ErrMsgNotFound) {
		return brokerEvent{}, nil
	}
	if err != nil {
		return brokerEvent{}, fmt.Errorf("last event of %s on the broker: %w", tenant, err)
	}
	return readBrokerEvent(m), nil
}

// logView is what the relay reads of a tenant's log to judge a broker message.
type logView struct {
	head uint64
	segs []Epoch
	rec  *platformv1.EventRecord // the event at the message's sequence; nil when pruned or absent
}

func (r *Relay) view(ctx context.Context, tenant string, seq uint64) (logView, error) {
	var v logView
	err := r.db.View(ctx, func(tx *bolt.Tx) error {
		if !r.l.hasBuckets(tx) {
			return ErrMissingBuckets
		}
		v.head = readU64(tx.Bucket(r.l.heads).Get([]byte(tenant)))
		v.segs = tenantEpochs(tx.Bucket(r.l.epochs), tenant)
		if seq == 0 || seq > v.head {
			return nil
		}
		recs, err := r.l.scan(tx, tenant, seq-1, seq, 1, nil)
		if len(recs) == 1 && recs[0].GetSequence() == seq {
			v.rec = recs[0]
		}
		return err
	})
	if err != nil {
		return logView{}, fmt.Errorf("read the event log: %w", err)
	}
	return v, nil
}

// isLogEvent reports whether the broker's message is the log's event at its sequence: the same
// epoch, id and digest. A message from before epochs carries no digest; it matches by its old
// id alone. An event the log has pruned cannot be compared: a message of its epoch is taken as
// it.
func (r *Relay) isLogEvent(tenant string, b brokerEvent, v logView) bool {
	if !b.hasSeq || b.seq == 0 || b.seq > v.head {
		return false
	}
	if v.rec == nil {
		return epochAt(v.segs, b.seq).Epoch == b.epoch
	}
	if b.epoch != v.rec.GetEpoch() {
		return false
	}
	if !b.hasDigest {
		return b.epoch == 0 && b.id == legacyEventID(r.l.service, tenant, b.seq)
	}
	rec := v.rec
	return b.id == rec.GetId() && b.digest == Digest(rec.GetType(), rec.GetTime().AsTime(), rec.GetPayloadType(), rec.GetPayload())
}

// confirm reads tenant's messages on the broker in stream order, from after the relay's own
// last publish when the broker still holds it (else from the first), up to the tenant's last
// message last, and returns the highest sequence of the log it confirms there. Messages that are
// not events, repeats of confirmed sequences and messages of epochs older than the log's
// current one cur are history and skipped. diverged reports a message that claims a sequence
// of the current epoch or a newer one but is not the log's event: the scan stops there, and the
// log must start a new epoch after confirmed.
func (r *Relay) confirm(ctx context.Context, tenant string, st *tenantState, cur Epoch, last brokerEvent) (confirmed uint64, diverged bool, err error) {
	s, err := r.ensureStream(ctx, false)
	if err != nil {
		return 0, false, err
	}
	get := func(seq uint64, opts ...jetstream.GetMsgOpt) (brokerEvent, logView, error) {
		gctx, cancel := context.WithTimeout(ctx, r.opts.PublishTimeout)
		defer cancel()
		m, err := s.GetMsg(gctx, seq, opts...)
		if errors.Is(err, jetstream.ErrMsgNotFound) {
			return brokerEvent{}, logView{}, nil
		}
		if err != nil {
			return brokerEvent{}, logView{}, fmt.Errorf("read the broker's events of %s: %w", tenant, err)
		}
		b := readBrokerEvent(m)
		v, err := r.view(ctx, tenant, b.seq)
		return b, v, err
	}

	next := uint64(1)
	if st.published > 0 && st.streamSeq > 0 {
		b, v, err := get(st.streamSeq)
		if err != nil {
			return 0, false, err
		}
		if b.found && b.seq == st.published && r.isLogEvent(tenant, b, v) {
			confirmed, next = st.published, st.streamSeq+1
		}
	}
	filter := TenantFilter(tenant, r.l.service)
	for range maxConfirmScan {
		b, v, err := get(next, jetstream.WithGetMsgSubject(filter))
		if err != nil {
			return 0, false, err
		}
		if !b.found || b.streamSeq > last.streamSeq {
			break
		}
		next = b.streamSeq + 1
		switch {
		case !b.hasSeq || b.seq <= confirmed:
		case r.isLogEvent(tenant, b, v):
			confirmed = b.seq
		case b.epoch < cur.Epoch:
		default:
			return confirmed, true, nil
		}
	}
	return confirmed, false, nil
}

// startEpoch starts a new epoch of tenant at sequence from, numbered at least atLeast.
func (r *Relay) startEpoch(ctx context.Context, tenant string, from, atLeast uint64) (Epoch, error) {
	var e Epoch
	err := r.db.Update(ctx, func(tx *bolt.Tx) error {
		b := tx.Bucket(r.l.epochs)
		if b == nil {
			return ErrMissingBuckets
		}
		var err error
		e, err = startEpoch(b, tenant, from, atLeast, time.Now())
		return err
	})
	if err != nil {
		return Epoch{}, fmt.Errorf("eventlog: start a new epoch of %s: %w", tenant, err)
	}
	return e, nil
}

// agedOut reports whether the broker may have dropped the tenant's last published event by age
// (the stream's MaxAge) rather than lost it: the event is pruned from the log or older than
// MaxAge. Age drops the oldest events first, so only "none left" is ambiguous.
func (r *Relay) agedOut(ctx context.Context, tenant string, published uint64) (bool, error) {
	maxAge := natsx.StreamConfig(r.l.service, r.opts.StreamOptions...).MaxAge
	aged := true
	err := r.db.View(ctx, func(tx *bolt.Tx) error {
		b := tx.Bucket(r.l.events)
		if b == nil {
			return ErrMissingBuckets
		}
		v := b.Get(eventKey(tenant, published))
		if v == nil {
			return nil // pruned: older than the retention
		}
		rec := &platformv1.EventRecord{}
		if err := proto.Unmarshal(v, rec); err != nil {
			return err
		}
		aged = r.opts.Clock.Now().Sub(rec.GetTime().AsTime()) >= maxAge
		return nil
	})
	return aged, err
}

// auditAll has every known tenant checked against the broker.
func (r *Relay) auditAll() {
	r.mu.Lock()
	for t, st := range r.tenants {
		st.verify = true
		r.enqueue(t, st)
	}
	r.mu.Unlock()
	r.signal()
}
