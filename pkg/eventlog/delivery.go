package eventlog

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/nats-io/nats.go"

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
	HeaderPayloadType = "Huiyuan-Payload-Type"
	HeaderContentType = "Content-Type"

	contentTypeProtobuf = "application/protobuf"
)

// Delivery is one event as a consumer sees it.
type Delivery struct {
	Tenant      string
	Service     string // producing service
	Sequence    uint64 // gap-free within (Service, Tenant)
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
	// order, at most limit. Events the producer has pruned are missing: the first returned
	// sequence may exceed after+1.
	ListEvents(ctx context.Context, service, tenant string, after uint64, limit int) ([]Delivery, error)
}

// DeliveryFromRecord converts a log record of service into a Delivery.
func DeliveryFromRecord(service string, rec *platformv1.EventRecord) Delivery {
	return Delivery{
		Tenant:      rec.GetTenant(),
		Service:     service,
		Sequence:    rec.GetSequence(),
		Type:        rec.GetType(),
		Subject:     rec.GetSubject(),
		ID:          rec.GetId(),
		Time:        rec.GetTime().AsTime(),
		Payload:     rec.GetPayload(),
		PayloadType: rec.GetPayloadType(),
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
	h := make(nats.Header, 12) // room for the relay's two expectation headers
	h.Set(HeaderMsgID, rec.GetId())
	h.Set(HeaderSpecVersion, "1.0")
	h.Set(HeaderID, rec.GetId())
	h.Set(HeaderType, "huiyuan."+service+".v1."+rec.GetType())
	h.Set(HeaderSource, "huiyuan/"+service)
	h.Set(HeaderTime, rec.GetTime().AsTime().UTC().Format(time.RFC3339Nano))
	h.Set(HeaderTenant, rec.GetTenant())
	h.Set(HeaderSequence, strconv.FormatUint(rec.GetSequence(), 10))
	h.Set(HeaderPayloadType, rec.GetPayloadType())
	h.Set(HeaderContentType, contentTypeProtobuf)
	return &nats.Msg{Subject: rec.GetSubject(), Header: h, Data: rec.GetPayload()}
}

// errBadMessage marks a message that can never be applied: it is terminated, not retried.
var errBadMessage = errors.New("eventlog: malformed event message")

// parseDelivery reads an event message published by a Relay. It returns an error wrapping
// errBadMessage when the subject or a header is missing or inconsistent.
func parseDelivery(subject string, h nats.Header, data []byte) (Delivery, error) {
	tenant, service, eventType, err := ParseSubject(subject)
	if err != nil {
		return Delivery{}, fmt.Errorf("%w: %w", errBadMessage, err)
	}
	seq, err := strconv.ParseUint(h.Get(HeaderSequence), 10, 64)
	if err != nil || seq == 0 {
		return Delivery{}, fmt.Errorf("%w: %s: bad %s %q", errBadMessage, subject, HeaderSequence, h.Get(HeaderSequence))
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
		id = EventID(service, tenant, seq)
	}
	return Delivery{
		Tenant:      tenant,
		Service:     service,
		Sequence:    seq,
		Type:        eventType,
		Subject:     subject,
		ID:          id,
		Time:        at,
		Payload:     data,
		PayloadType: h.Get(HeaderPayloadType),
	}, nil
}
