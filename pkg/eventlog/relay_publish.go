package eventlog

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	bolt "go.etcd.io/bbolt"
	"golang.org/x/mod/semver"

	platformv1 "github.com/huiyuan-dev/huiyuan/gen/huiyuan/platform/v1"
)

// publishMode is how a relay publishes, by what the connected server supports.
type publishMode uint8

const (
	// modeUnchecked (servers before 2.11): pipelined asynchronous publishes without the
	// per-tenant check; the audit finds what the broker lost.
	modeUnchecked publishMode = iota
	// modeChecked (2.11): one checked publish in flight per tenant.
	modeChecked
	// modeAtomic (2.12 and later, on a stream that allows it): atomic batches whose first
	// message carries the check, so a whole window commits right after its predecessor or not
	// at all.
	modeAtomic
)

// The bounds of an atomic batch. An atomic batch costs the server a fixed price (on a file
// stream it stages the batch in a store of its own: about 5 ms here) and then less per event
// than a single publish, so it pays only for a backlog: smaller windows go one event at a time.
// maxBatchEvents is the server's default limit (JetStream MaxBatchSize); a server configured
// lower refuses the batch, and the relay halves its batches down to minBatchEvents.
const (
	minBatchEvents = 128
	maxBatchEvents = 1000
	maxBatchBytes  = 1 << 20
)

// The headers of atomic batch publishing (ADR-50), which nats.go has no API for yet.
const (
	headerBatchID     = "Nats-Batch-Id"
	headerBatchSeq    = "Nats-Batch-Sequence"
	headerBatchCommit = "Nats-Batch-Commit"
)

// The JetStream error codes the relay reacts to, besides a wrong last sequence.
const (
	errCodeBatchTooLarge  jetstream.ErrorCode = 10199 // atomic batch larger than the server's MaxBatchSize
	errCodeBatchDuplicate jetstream.ErrorCode = 10201 // atomic batch contains a duplicate message id
)

// publishTenant publishes tenant's events after its acknowledged position until the log has no
// more, checking the broker's position first when verify is set.
func (r *Relay) publishTenant(ctx context.Context, tenant string, st *tenantState, verify bool) error {
	if verify {
		if err := r.resync(ctx, tenant, st); err != nil {
			return err
		}
	}
	p := &tenantPublisher{r: r, tenant: tenant, st: st, filter: TenantFilter(tenant, r.l.service)}
	for {
		recs, err := r.read(ctx, tenant, st.published)
		if err != nil {
			return err
		}
		if len(recs) == 0 {
			return nil
		}
		switch r.mode() {
		case modeAtomic:
			err = p.batches(ctx, recs)
		case modeChecked:
			err = p.oneByOne(ctx, recs)
		default:
			err = p.pipelined(ctx, recs)
		}
		if err != nil {
			return err
		}
	}
}

// tenantPublisher publishes one tenant's records; only the tenant's worker uses it.
type tenantPublisher struct {
	r      *Relay
	tenant string
	st     *tenantState
	filter string
	// uniqueIDs republishes under ids unique to the attempt: the broker lost events whose ids
	// it still remembers, and would drop them as duplicates.
	uniqueIDs bool
}

// msgID is rec's Nats-Msg-Id for a publish expecting the predecessor at stream sequence expect.
func (p *tenantPublisher) msgID(rec *platformv1.EventRecord, expect uint64) string {
	if p.uniqueIDs {
		return rec.GetId() + "~" + strconv.FormatUint(expect, 10)
	}
	return rec.GetId()
}

// oneByOne publishes recs one at a time, each checked against its predecessor.
func (p *tenantPublisher) oneByOne(ctx context.Context, recs []*platformv1.EventRecord) error {
	for _, rec := range recs {
		if err := p.one(ctx, rec); err != nil {
			if errors.Is(err, errReread) {
				return nil
			}
			return err
		}
	}
	return nil
}

// errReread says the position moved (the broker held something else): read the log again.
var errReread = errors.New("eventlog: read again from the corrected position")

// one publishes rec checked against its predecessor, handling a broker that remembers a lost
// event's id. It returns errReread after a conflict that moved the position.
func (p *tenantPublisher) one(ctx context.Context, rec *platformv1.EventRecord) error {
	expect := p.st.streamSeq
	ack, err := p.r.publish(ctx, rec, p.filter, expect, p.msgID(rec, expect), true)
	if err == nil && ack.Duplicate && !p.uniqueIDs {
		// The check runs before the de-duplication on a single publish, so the tenant's last
		// message is the predecessor: the broker lost this event but remembers its id.
		p.uniqueIDs = true
		ack, err = p.r.publish(ctx, rec, p.filter, expect, p.msgID(rec, expect), true)
	}
	if err == nil && ack.Duplicate {
		err = errors.New("broker still reports a duplicate")
	}
	if err != nil {
		return p.conflict(ctx, rec, err)
	}
	p.uniqueIDs = false
	p.r.setPosition(p.st, rec.GetSequence(), ack.Sequence)
	return nil
}

// conflict handles a failed publish of rec (or of a batch starting with it): after a wrong last
// sequence it resyncs and returns errReread, or an error when the position did not move.
func (p *tenantPublisher) conflict(ctx context.Context, rec *platformv1.EventRecord, err error) error {
	if !isWrongLastSequence(err) {
		return fmt.Errorf("publish %s: %w", rec.GetId(), err)
	}
	before, beforeStream := p.st.published, p.st.streamSeq
	if err := p.r.resync(ctx, p.tenant, p.st); err != nil {
		return err
	}
	if p.st.published == before && p.st.streamSeq == beforeStream {
		// Someone else keeps moving the broker (another relay of this log?): back off.
		return fmt.Errorf("publish %s: %w", rec.GetId(), err)
	}
	p.uniqueIDs = false
	return errReread
}

// batches publishes recs in atomic batches of at most the relay's batch limit and
// maxBatchBytes, each checked against its predecessor; fewer than minBatchEvents go one by one.
func (p *tenantPublisher) batches(ctx context.Context, recs []*platformv1.EventRecord) error {
	for len(recs) > 0 {
		limit := int(p.r.batchLimit.Load())
		if len(recs) < minBatchEvents || limit < minBatchEvents {
			return p.oneByOne(ctx, recs)
		}
		n, size := 0, 0
		for n < len(recs) && n < limit {
			size += len(recs[n].GetPayload()) + 512 // headers and subject, roughly
			if n > 0 && size > maxBatchBytes {
				break
			}
			n++
		}
		err := p.batch(ctx, recs[:n])
		var apiErr *jetstream.APIError
		if errors.As(err, &apiErr) && apiErr.ErrorCode == errCodeBatchTooLarge {
			p.r.batchLimit.CompareAndSwap(int64(limit), int64(limit/2))
			p.r.log.Warn("the server refuses atomic batches this large; halving them", "events", n, "err", err)
			continue
		}
		if errors.Is(err, errReread) {
			return nil
		}
		if err != nil {
			return err
		}
		recs = recs[n:]
	}
	return nil
}

// batch publishes recs as one atomic batch whose first message expects the tenant's last
// message at the acknowledged stream sequence: the broker stores all of them right after it, or
// none. It returns errReread after a conflict that moved the position.
func (p *tenantPublisher) batch(ctx context.Context, recs []*platformv1.EventRecord) error {
	expect := p.st.streamSeq
	ack, err := p.r.publishBatch(ctx, recs, p.filter, expect, p.msgID)
	var apiErr *jetstream.APIError
	if errors.As(err, &apiErr) && apiErr.ErrorCode == errCodeBatchDuplicate && !p.uniqueIDs {
		// The batch holds an id the broker remembers. In a batch the de-duplication runs
		// before the check, so ask the broker where the tenant stands: if it still ends at
		// the predecessor, the remembered events were lost and go out under new ids.
		before, beforeStream := p.st.published, p.st.streamSeq
		if err := p.r.resync(ctx, p.tenant, p.st); err != nil {
			return err
		}
		if p.st.published != before || p.st.streamSeq != beforeStream {
			return errReread
		}
		p.uniqueIDs = true
		ack, err = p.r.publishBatch(ctx, recs, p.filter, expect, p.msgID)
	}
	if err != nil {
		return p.conflict(ctx, recs[0], err)
	}
	p.uniqueIDs = false
	p.r.setPosition(p.st, recs[len(recs)-1].GetSequence(), ack.Sequence)
	return nil
}

// pipelined publishes recs asynchronously, in order, all of them in flight at once (a read is
// at most BatchSize events), without the check the server cannot do. The position advances
// with each acknowledgement in order. After a failure it stays at the last event acknowledged
// with every earlier one, and the retry republishes from there under the same ids (the broker
// drops those it already has): it must not adopt the broker's last message, which may lie
// beyond a hole.
func (p *tenantPublisher) pipelined(ctx context.Context, recs []*platformv1.EventRecord) error {
	futs := make([]jetstream.PubAckFuture, 0, len(recs))
	var pubErr error
	for _, rec := range recs {
		f, err := p.r.js.PublishMsgAsync(newMsg(p.r.l.service, rec), jetstream.WithStallWait(p.r.opts.PublishTimeout))
		if err != nil {
			pubErr = fmt.Errorf("publish %s: %w", rec.GetId(), err)
			break
		}
		futs = append(futs, f)
	}
	timeout := time.NewTimer(p.r.opts.PublishTimeout)
	defer timeout.Stop()
	for i, f := range futs {
		select {
		case ack := <-f.Ok():
			p.r.setPosition(p.st, recs[i].GetSequence(), ack.Sequence)
		case err := <-f.Err():
			return noAudit{fmt.Errorf("publish %s: %w", recs[i].GetId(), err)}
		case <-timeout.C:
			return noAudit{fmt.Errorf("publish %s: no acknowledgement within %s", recs[i].GetId(), p.r.opts.PublishTimeout)}
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	if pubErr != nil {
		return noAudit{pubErr}
	}
	return nil
}

// noAudit marks a failure after which the retry must not first adopt the broker's position.
type noAudit struct{ err error }

func (e noAudit) Error() string { return e.err.Error() }
func (e noAudit) Unwrap() error { return e.err }

// read returns up to BatchSize of tenant's records after sequence after.
func (r *Relay) read(ctx context.Context, tenant string, after uint64) ([]*platformv1.EventRecord, error) {
	var recs []*platformv1.EventRecord
	err := r.db.View(ctx, func(tx *bolt.Tx) error {
		if !r.l.hasBuckets(tx) {
			return ErrMissingBuckets
		}
		var err error
		recs, err = r.l.scan(tx, tenant, after, readU64(tx.Bucket(r.l.heads).Get([]byte(tenant))), r.opts.BatchSize, nil)
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

// batchAck is the broker's answer to a batch commit: a PubAck with the batch's id and size.
type batchAck struct {
	Error    *jetstream.APIError `json:"error,omitempty"`
	Sequence uint64              `json:"seq"`
	Batch    string              `json:"batch"`
	Count    int                 `json:"count"`
}

// publishBatch sends recs as one atomic batch; the first message expects the tenant's last
// message over filter at stream sequence expect. The messages before the commit go without a
// reply: the broker answers the commit, and an incomplete batch is refused there.
func (r *Relay) publishBatch(ctx context.Context, recs []*platformv1.EventRecord, filter string, expect uint64, msgID func(*platformv1.EventRecord, uint64) string) (*batchAck, error) {
	nc := r.js.Conn()
	id := rand.Text()
	for i, rec := range recs {
		m := newMsg(r.l.service, rec)
		m.Header.Set(HeaderMsgID, msgID(rec, expect))
		m.Header.Set(headerBatchID, id)
		m.Header.Set(headerBatchSeq, strconv.Itoa(i+1))
		if i == 0 {
			m.Header.Set(jetstream.ExpectedLastSubjSeqHeader, strconv.FormatUint(expect, 10))
			m.Header.Set(jetstream.ExpectedLastSubjSeqSubjHeader, filter)
		}
		if i < len(recs)-1 {
			if err := nc.PublishMsg(m); err != nil {
				return nil, err
			}
			continue
		}
		m.Header.Set(headerBatchCommit, "1")
		pctx, cancel := context.WithTimeout(ctx, r.opts.PublishTimeout)
		resp, err := nc.RequestMsgWithContext(pctx, m)
		cancel()
		if errors.Is(err, nats.ErrNoResponders) {
			return nil, jetstream.ErrNoStreamResponse
		}
		if err != nil {
			return nil, err
		}
		var ack batchAck
		if err := json.Unmarshal(resp.Data, &ack); err != nil {
			return nil, fmt.Errorf("batch commit answer: %w", err)
		}
		if ack.Error != nil {
			return nil, ack.Error
		}
		if ack.Batch != id || ack.Count != len(recs) {
			return nil, fmt.Errorf("batch commit acknowledged %d messages of batch %q, want %d of %q", ack.Count, ack.Batch, len(recs), id)
		}
		return &ack, nil
	}
	return nil, errors.New("eventlog: empty batch")
}

func isWrongLastSequence(err error) bool {
	var apiErr *jetstream.APIError
	return errors.As(err, &apiErr) &&
		(apiErr.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequence ||
			apiErr.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequenceConstant)
}

// minTenantCheckVersion is the first nats-server that checks an expected last sequence over a
// wildcard (Nats-Expected-Last-Subject-Sequence-Subject); minAtomicVersion the first with
// atomic batch publishing.
const (
	minTenantCheckVersion = "v2.11.0"
	minAtomicVersion      = "v2.12.0"
)

// mode tells how to publish to the connected server. An older server than 2.11 ignores the
// filter header and applies the check to each literal subject, so it would refuse a tenant's
// second event type: against it the relay publishes unchecked and finds what the broker lost
// through its audit alone (on reconnect and every AuditInterval). Atomic batches need 2.12 and a
// stream declared with AllowAtomicPublish (a server that does not know the setting drops it).
// Asked per read, since a reconnect may land on another server.
func (r *Relay) mode() publishMode {
	v := r.js.Conn().ConnectedServerVersion()
	if v == "" {
		return modeChecked // not connected: the publish fails anyway, and the check is the safe default
	}
	v = "v" + v
	if semver.Compare(v, minTenantCheckVersion) < 0 {
		if r.warnedOldServer.CompareAndSwap(false, true) {
			r.log.Warn("nats-server is older than 2.11: publishing without the per-tenant sequence check; lost messages are found by the periodic audit",
				"server_version", v)
		}
		return modeUnchecked
	}
	if semver.Compare(v, minAtomicVersion) >= 0 && r.atomicStream() {
		return modeAtomic
	}
	return modeChecked
}

// atomicStream reports whether the declared stream allows atomic batches.
func (r *Relay) atomicStream() bool {
	r.streamMu.Lock()
	defer r.streamMu.Unlock()
	if r.stream == nil {
		return false
	}
	info := r.stream.CachedInfo()
	return info != nil && info.Config.AllowAtomicPublish
}
