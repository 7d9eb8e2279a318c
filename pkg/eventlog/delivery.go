package eventlog

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	opsv1 "github.com/huiyuan-dev/huiyuan/gen/huiyuan/ops/v1"
	platformv1 "github.com/huiyuan-dev/huiyuan/gen/huiyuan/platform/v1"
)

// The headers of a published event, in the manner of the CloudEvents NATS binding.
const (
	HeaderMsgID       = "Nats-Msg-Id"
	HeaderSpecVersion = "ce-specversion"
	HeaderID          = "ce-id"
	HeaderType        = "ce-type"
	HeaderSource      = "ce-source"
	HeaderTime        = "ce-time"
	HeaderTenant      = "ce-tenant"
	HeaderSequence    = "Huiyuan-Sequence"
	HeaderEpoch       = "Huiyuan-Epoch"       // absent: 0, an event from before epochs
	HeaderEpochStart  = "Huiyuan-Epoch-Start" // first sequence of the epoch (absent: 1)
	HeaderDigest      = "Huiyuan-Digest"      // see Digest
	HeaderPayloadType = "Huiyuan-Payload-Type"
	HeaderContentType = "Content-Type"

	contentTypeProtobuf = "application/protobuf"
)

// Delivery is one event as a consumer sees it.
type Delivery struct {
	Tenant      string
	Service     string // producing service
	Sequence    uint64 // gap-free within (Service, Tenant)
	Epoch       uint64 // the producer's history the event belongs to (0 before epochs)
	EpochStart  uint64 // first sequence of Epoch: the events before it are shared with older epochs
	Type        string // such as "points_earned"
	Subject     string
	ID          string
	Time        time.Time
	Payload     []byte // protobuf encoding of a message named PayloadType
	PayloadType string
}

// Fetcher reads a producer's event log, so a consumer can fill a gap the broker cannot (for
// example the gRPC ListEvents of the producing service, or LogFetcher in the same process).
type Fetcher interface {
	// ListEvents returns tenant's events of service with a sequence greater than after, in
	// order, at most limit, each with its Epoch and EpochStart (DeliveryFromRecord and
	// DeliveryFromEvent carry them): a consumer fills a gap only when the Fetcher's event after
	// it is the one the broker delivered. Events the producer has pruned are missing: the
	// first returned sequence may exceed after+1.
	ListEvents(ctx context.Context, service, tenant string, after uint64, limit int) ([]Delivery, error)
}

// DeliveryFromRecord converts a log record of service into a Delivery.
func DeliveryFromRecord(service string, rec *platformv1.EventRecord) Delivery {
	return Delivery{
		Tenant:      rec.GetTenant(),
		Service:     service,
		Sequence:    rec.GetSequence(),
		Epoch:       rec.GetEpoch(),
		EpochStart:  max(rec.GetEpochStart(), 1),
		Type:        rec.GetType(),
		Subject:     rec.GetSubject(),
		ID:          rec.GetId(),
		Time:        rec.GetTime().AsTime(),
		Payload:     rec.GetPayload(),
		PayloadType: rec.GetPayloadType(),
	}
}

// DeliveryFromEvent converts an event of service and tenant, as OperationsService.ListEvents
// returns it, into a Delivery: what a Fetcher over that RPC returns.
func DeliveryFromEvent(service, tenant string, e *opsv1.Event) Delivery {
	return Delivery{
		Tenant:      tenant,
		Service:     service,
		Sequence:    e.GetSequence(),
		Epoch:       e.GetEpoch(),
		EpochStart:  max(e.GetEpochStart(), 1),
		Type:        e.GetType(),
		Subject:     e.GetSubject(),
		ID:          e.GetId(),
		Time:        e.GetTime().AsTime(),
		Payload:     e.GetPayload(),
		PayloadType: e.GetPayloadType(),
	}
}

// LogFetcher is a Fetcher over a Log in this process's own database (the all-in-one binary).
type LogFetcher struct {
	Log *Log
	DB  Viewer
}

// ListEvents implements Fetcher. It returns an error when service is not the Log's, for an
// invalid tenant, or the storage's error.
func (f LogFetcher) ListEvents(ctx context.Context, service, tenant string, after uint64, limit int) ([]Delivery, error) {
	if service != f.Log.Service() {
		return nil, fmt.Errorf("eventlog: fetcher holds %q events, not %q", f.Log.Service(), service)
	}
	recs, _, err := f.Log.List(ctx, f.DB, tenant, after, limit)
	if err != nil {
		return nil, err
	}
	out := make([]Delivery, len(recs))
	for i, r := range recs {
		out[i] = DeliveryFromRecord(service, r)
	}
	return out, nil
}

// newMsg builds the NATS message for a log record of service.
func newMsg(service string, rec *platformv1.EventRecord) *nats.Msg {
	h := make(nats.Header, 18) // room for the relay's expectation and batch headers
	h.Set(HeaderMsgID, rec.GetId())
	h.Set(HeaderSpecVersion, "1.0")
	h.Set(HeaderID, rec.GetId())
	h.Set(HeaderType, "huiyuan."+service+".v1."+rec.GetType())
	h.Set(HeaderSource, "huiyuan/"+service)
	h.Set(HeaderTime, rec.GetTime().AsTime().UTC().Format(time.RFC3339Nano))
	h.Set(HeaderTenant, rec.GetTenant())
	h.Set(HeaderSequence, strconv.FormatUint(rec.GetSequence(), 10))
	h.Set(HeaderEpoch, strconv.FormatUint(rec.GetEpoch(), 10))
	h.Set(HeaderEpochStart, strconv.FormatUint(max(rec.GetEpochStart(), 1), 10))
	h.Set(HeaderDigest, Digest(rec.GetType(), rec.GetTime().AsTime(), rec.GetPayloadType(), rec.GetPayload()))
	h.Set(HeaderPayloadType, rec.GetPayloadType())
	h.Set(HeaderContentType, contentTypeProtobuf)
	return &nats.Msg{Subject: rec.GetSubject(), Header: h, Data: rec.GetPayload()}
}

// errBadMessage marks a message that can never be applied: it is terminated, not retried.
var errBadMessage = errors.New("eventlog: malformed event message")

// parseDelivery reads an event message published by a Relay. It returns an error wrapping
// errBadMessage when the subject or a header is missing or inconsistent. A message from before
// epochs (no Huiyuan-Epoch) is in epoch 0 from sequence 1.
func parseDelivery(subject string, h nats.Header, data []byte) (Delivery, error) {
	// A stream rewired to republish or source (headers the broker adds then) would carry
	// messages no relay published into it: never apply those.
	if h.Get(jetstream.StreamHeader) != "" || h.Get("Nats-Stream-Source") != "" {
		return Delivery{}, fmt.Errorf("%w: republished or sourced from another stream", errBadMessage)
	}
	tenant, service, eventType, err := ParseSubject(subject)
	if err != nil {
		return Delivery{}, fmt.Errorf("%w: %w", errBadMessage, err)
	}
	seq, err := strconv.ParseUint(h.Get(HeaderSequence), 10, 64)
	if err != nil || seq == 0 {
		return Delivery{}, fmt.Errorf("%w: %s: bad %s %q", errBadMessage, subject, HeaderSequence, h.Get(HeaderSequence))
	}
	epoch, start, err := parseEpoch(h, seq)
	if err != nil {
		return Delivery{}, fmt.Errorf("%w: %s: %w", errBadMessage, subject, err)
	}
	if t := h.Get(HeaderTenant); t != tenant {
		return Delivery{}, fmt.Errorf("%w: %s: %s %q differs from the subject's", errBadMessage, subject, HeaderTenant, t)
	}
	at, err := time.Parse(time.RFC3339Nano, h.Get(HeaderTime))
	if err != nil {
		return Delivery{}, fmt.Errorf("%w: %s: bad %s: %w", errBadMessage, subject, HeaderTime, err)
	}
	id := h.Get(HeaderID)
	if id == "" {
		id = EventID(service, tenant, epoch, seq)
	}
	return Delivery{
		Tenant:      tenant,
		Service:     service,
		Sequence:    seq,
		Epoch:       epoch,
		EpochStart:  start,
		Type:        eventType,
		Subject:     subject,
		ID:          id,
		Time:        at,
		Payload:     data,
		PayloadType: h.Get(HeaderPayloadType),
	}, nil
}

// parseEpoch reads a message's epoch and the epoch's first sequence, which cannot follow seq.
// Without Huiyuan-Epoch the message is from before epochs: epoch 0 from sequence 1. With it,
// Huiyuan-Epoch-Start is required: a consumer moving into the epoch trusts it.
func parseEpoch(h nats.Header, seq uint64) (epoch, start uint64, err error) {
	e := h.Get(HeaderEpoch)
	if e == "" {
		return 0, 1, nil
	}
	if epoch, err = strconv.ParseUint(e, 10, 64); err != nil {
		return 0, 0, fmt.Errorf("bad %s %q", HeaderEpoch, e)
	}
	s := h.Get(HeaderEpochStart)
	if start, err = strconv.ParseUint(s, 10, 64); err != nil || start == 0 || start > seq {
		return 0, 0, fmt.Errorf("bad %s %q for sequence %d", HeaderEpochStart, s, seq)
	}
	return epoch, start, nil
}

// Digest is the Huiyuan-Digest of an event: the unpadded base64 of SHA-256 over its type, time,
// payload type and payload. A relay compares it, with the event id, to tell its log's events from
// other messages at the same sequence (a forged message, a restored store's lost future). It is
// a consistency check, not a signature: anyone who can publish can compute it.
func Digest(eventType string, at time.Time, payloadType string, payload []byte) string {
	h := sha256.New()
	var buf [8]byte
	h.Write([]byte(eventType))
	h.Write([]byte{0})
	binary.BigEndian.PutUint64(buf[:], uint64(at.UnixNano()))
	h.Write(buf[:])
	h.Write([]byte(payloadType))
	h.Write([]byte{0})
	h.Write(payload)
	return base64.RawStdEncoding.EncodeToString(h.Sum(nil))
}

// digestOf is d's Digest.
func digestOf(d Delivery) string { return Digest(d.Type, d.Time, d.PayloadType, d.Payload) }
