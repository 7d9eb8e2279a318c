package eventlog

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	"github.com/nats-io/nats.go/jetstream"
	bolt "go.etcd.io/bbolt"
	"golang.org/x/mod/semver"
	"google.golang.org/protobuf/proto"

	platformv1 "github.com/huiyuan-dev/huiyuan/gen/huiyuan/platform/v1"
	"github.com/huiyuan-dev/huiyuan/pkg/natsx"
)

// publishTenant publishes tenant's events after its acknowledged position until the log has no
// more, checking the broker's position first when verify is set.
func (r *Relay) publishTenant(ctx context.Context, tenant string, st *tenantState, verify bool) error {
	if verify {
		if err := r.resync(ctx, tenant, st); err != nil {
			return err
		}
	}
	filter := TenantFilter(tenant, r.l.service)
	for {
		recs, err := r.read(ctx, tenant, st.published)
		if err != nil {
			return err
		}
		if len(recs) == 0 {
			return nil
		}
		checked := r.tenantCheck()
		for _, rec := range recs {
			ack, err := r.publish(ctx, rec, filter, st.streamSeq, "", checked)
			if err == nil && ack.Duplicate && checked {
				// The expected-sequence check passed, so the tenant's last message is the
				// predecessor: the broker lost this event but remembers its id. Republish it
				// under an id unique to this attempt.
				ack, err = r.publish(ctx, rec, filter, st.streamSeq, rec.GetId()+"~"+strconv.FormatUint(st.streamSeq, 10), true)
				if err == nil && ack.Duplicate {
					err = errors.New("broker still reports a duplicate")
				}
			}
			if isWrongLastSequence(err) {
				// The broker's last event of this tenant is not the one we published last.
				before, beforeStream := st.published, st.streamSeq
				if err := r.resync(ctx, tenant, st); err != nil {
					return err
				}
				if st.published == before && st.streamSeq == beforeStream {
					// Someone else keeps moving the broker (another relay of this log?): back off.
					return fmt.Errorf("publish %s: %w", rec.GetId(), err)
				}
				break // read again from the corrected position
			}
			if err != nil {
				return fmt.Errorf("publish %s: %w", rec.GetId(), err)
			}
			r.setPosition(st, rec.GetSequence(), ack.Sequence)
		}
	}
}

// read returns up to BatchSize of tenant's records after sequence after.
func (r *Relay) read(ctx context.Context, tenant string, after uint64) ([]*platformv1.EventRecord, error) {
	var recs []*platformv1.EventRecord
	err := r.db.View(ctx, func(tx *bolt.Tx) error {
		b, heads := tx.Bucket(r.l.events), tx.Bucket(r.l.heads)
		if b == nil || heads == nil {
			return ErrMissingBuckets
		}
		var err error
		recs, err = r.l.scan(b, tenant, after, readU64(heads.Get([]byte(tenant))), r.opts.BatchSize, nil)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("read the event log: %w", err)
	}
	return recs, nil
}

// publish sends one record; with checked, the broker must find its last message over filter at
// stream sequence expect (0: none). msgID, when set, replaces the event id as Nats-Msg-Id.
func (r *Relay) publish(ctx context.Context, rec *platformv1.EventRecord, filter string, expect uint64, msgID string, checked bool) (*jetstream.PubAck, error) {
	m := newMsg(r.l.service, rec)
	if msgID != "" {
		m.Header.Set(HeaderMsgID, msgID)
	}
	if checked {
		m.Header.Set(jetstream.ExpectedLastSubjSeqHeader, strconv.FormatUint(expect, 10))
		m.Header.Set(jetstream.ExpectedLastSubjSeqSubjHeader, filter)
	}
	pctx, cancel := context.WithTimeout(ctx, r.opts.PublishTimeout)
	defer cancel()
	return r.js.PublishMsg(pctx, m)
}

func isWrongLastSequence(err error) bool {
	var apiErr *jetstream.APIError
	return errors.As(err, &apiErr) &&
		(apiErr.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequence ||
			apiErr.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequenceConstant)
}

// resync sets tenant's position to what the broker holds: the Huiyuan-Sequence and stream
// sequence of the last message over the tenant's subjects. A position that moves back means the
// broker lost events; publishTenant then republishes them from the log.
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
	published, streamSeq := st.published, last.streamSeq
	switch {
	case !last.found && published > 0:
		aged, err := r.agedOut(ctx, tenant, published)
		if err != nil {
			return err
		}
		if !aged {
			r.log.Warn("broker lost all events of a tenant; republishing", "tenant", tenant, "published", published)
			published = 0
		}
	case last.found && !last.hasSeq:
		r.log.Warn("last message on the tenant's subjects has no sequence header; keeping the log's position",
			"tenant", tenant, "stream_sequence", last.streamSeq)
	case last.found && last.seq < published:
		r.log.Warn("broker lost events; republishing", "tenant", tenant, "broker_has", last.seq, "published", published)
		published = last.seq
	case last.found && last.seq > published:
		if head, err := r.head(ctx, tenant); err == nil && last.seq > head {
			r.log.Error("broker holds events beyond the log (restored from a backup?); continuing after them",
				"tenant", tenant, "broker_has", last.seq, "log_head", head)
		}
		published = last.seq
	}
	if published != st.published || streamSeq != st.streamSeq {
		r.setPosition(st, published, streamSeq)
	}
	return nil
}

type brokerLast struct {
	found, hasSeq  bool
	seq, streamSeq uint64
}

func (r *Relay) lastOnBroker(ctx context.Context, tenant string) (brokerLast, error) {
	s, err := r.ensureStream(ctx, false)
	if err != nil {
		return brokerLast{}, err
	}
	gctx, cancel := context.WithTimeout(ctx, r.opts.PublishTimeout)
	defer cancel()
	m, err := s.GetLastMsgForSubject(gctx, TenantFilter(tenant, r.l.service))
	if errors.Is(err, jetstream.ErrMsgNotFound) {
		return brokerLast{}, nil
	}
	if err != nil {
		return brokerLast{}, fmt.Errorf("last event of %s on the broker: %w", tenant, err)
	}
	seq, perr := strconv.ParseUint(m.Header.Get(HeaderSequence), 10, 64)
	return brokerLast{found: true, hasSeq: perr == nil, seq: seq, streamSeq: m.Sequence}, nil
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

func (r *Relay) head(ctx context.Context, tenant string) (uint64, error) {
	var head uint64
	err := r.db.View(ctx, func(tx *bolt.Tx) error {
		b := tx.Bucket(r.l.heads)
		if b == nil {
			return ErrMissingBuckets
		}
		head = readU64(b.Get([]byte(tenant)))
		return nil
	})
	return head, err
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

// minTenantCheckVersion is the first nats-server that checks an expected last sequence over a
// wildcard (Nats-Expected-Last-Subject-Sequence-Subject).
const minTenantCheckVersion = "v2.11.0"

// tenantCheck reports whether the connected server checks the expected last sequence over a
// tenant's subjects. An older server ignores the filter header and applies the check to each
// literal subject, so it would refuse a tenant's second event type: against it the relay
// publishes unchecked and finds what the broker lost through its audit alone (on reconnect and
// every AuditInterval). Asked per batch, since a reconnect may land on another server.
func (r *Relay) tenantCheck() bool {
	v := r.js.Conn().ConnectedServerVersion()
	if v == "" {
		return true // not connected: the publish fails anyway, and the check is the safe default
	}
	ok := semver.Compare("v"+v, minTenantCheckVersion) >= 0
	if !ok && r.warnedOldServer.CompareAndSwap(false, true) {
		r.log.Warn("nats-server is older than 2.11: publishing without the per-tenant sequence check; lost messages are found by the periodic audit",
			"server_version", v)
	}
	return ok
}
