package eventlog

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	bolt "go.etcd.io/bbolt"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	platformv1 "github.com/huiyuan-dev/huiyuan/gen/huiyuan/platform/v1"
	"github.com/huiyuan-dev/huiyuan/pkg/boltx"
	"github.com/huiyuan-dev/huiyuan/pkg/natsx"
)

// Viewer runs fn in a read-only transaction; *boltx.DB satisfies it.
type Viewer interface {
	View(ctx context.Context, fn func(tx *bolt.Tx) error) error
}

// DB reads and writes one bbolt file; *boltx.DB satisfies it.
type DB interface {
	Viewer
	Update(ctx context.Context, fn func(tx *bolt.Tx) error) error
}

// *boltx.DB is what services pass; *boltx.Writer also serves as the consumer's Updater.
var (
	_ DB            = (*boltx.DB)(nil)
	_ boltx.Updater = (*boltx.Writer)(nil)
)

// ErrMissingBuckets is returned when the database was opened without Log.Buckets() (or
// ConsumerBuckets()).
var ErrMissingBuckets = errors.New("eventlog: buckets missing; open the database with them")

// Log is one service's event log. It is safe for concurrent use.
type Log struct {
	service string
	err     error // set by New for an invalid service; returned by every method

	events, heads, cursors, epochs []byte // bucket names

	relay atomic.Pointer[Relay] // woken when a transaction that appended commits
}

// New returns the event log of service (such as "loyalty"): stream StreamName(service), subjects
// huiyuan.*.<service>.v1.>. An invalid service name (see natsx.ValidateService) does not panic:
// every method of the Log then returns that error.
func New(service string) *Log {
	prefix := "eventlog." + service + "."
	return &Log{
		service: service,
		err:     natsx.ValidateService(service),
		events:  []byte(prefix + "events"),
		heads:   []byte(prefix + "heads"),
		cursors: []byte(prefix + "relay"),
		epochs:  []byte(prefix + "epochs"),
	}
}

// Service is the producing service's name.
func (l *Log) Service() string { return l.service }

// Buckets names the bbolt buckets the log needs; pass them when opening the database.
func (l *Log) Buckets() [][]byte { return [][]byte{l.events, l.heads, l.cursors, l.epochs} }

// Append adds an event to tenant's log inside tx, the caller's read-write transaction that also
// holds the state change the event describes, and returns the record. The event's sequence is
// the tenant's previous one plus one; since bbolt has one writer at a time, sequences have no
// gaps and commit in order. When tx commits, the relay (if any) is woken to publish it. A
// tenant's first event starts its first epoch. The record's epoch and id are the current
// epoch's; a relay that later finds the broker holding other events at these sequences starts
// a new epoch there, which relabels the event (List and the published message then say so).
//
// It returns an error wrapping ErrInvalidTenant or ErrInvalidEventType for bad names,
// ErrMissingBuckets when the buckets do not exist, and an error for a nil payload or a
// read-only tx. Any error leaves tx unchanged, and the caller should roll back.
func (l *Log) Append(tx *bolt.Tx, tenant, eventType string, payload proto.Message, at time.Time) (*platformv1.EventRecord, error) {
	if l.err != nil {
		return nil, l.err
	}
	if err := ValidateTenant(tenant); err != nil {
		return nil, err
	}
	if err := ValidateEventType(eventType); err != nil {
		return nil, err
	}
	if payload == nil {
		return nil, errors.New("eventlog: append: nil payload")
	}
	if tx == nil || !tx.Writable() {
		return nil, errors.New("eventlog: append needs a read-write transaction")
	}
	events, heads, epochs := tx.Bucket(l.events), tx.Bucket(l.heads), tx.Bucket(l.epochs)
	if events == nil || heads == nil || epochs == nil {
		return nil, ErrMissingBuckets
	}
	data, err := proto.MarshalOptions{Deterministic: true}.Marshal(payload)
	if err != nil {
		return nil, fmt.Errorf("eventlog: marshal %s payload: %w", eventType, err)
	}
	tk := []byte(tenant)
	seq := readU64(heads.Get(tk)) + 1
	// Id and epoch are not stored: they follow the segment table (see EventRecord.epoch).
	rec := &platformv1.EventRecord{
		Sequence:    seq,
		Type:        eventType,
		Tenant:      tenant,
		Subject:     Subject(tenant, l.service, eventType),
		Time:        timestamppb.New(at),
		Payload:     data,
		PayloadType: string(payload.ProtoReflect().Descriptor().FullName()),
	}
	buf, err := proto.MarshalOptions{Deterministic: true}.Marshal(rec)
	if err != nil {
		return nil, fmt.Errorf("eventlog: marshal record: %w", err)
	}
	if err := events.Put(eventKey(tenant, seq), buf); err != nil {
		return nil, fmt.Errorf("eventlog: put event: %w", err)
	}
	if err := heads.Put(tk, u64(seq)); err != nil {
		return nil, fmt.Errorf("eventlog: put head: %w", err)
	}
	epoch := currentEpoch(epochs, tenant)
	if seq == 1 && epoch == legacyEpoch {
		// A new tenant gets its own epoch, so a store recreated from nothing does not continue
		// the history a lost one left on the broker.
		if epoch, err = startEpoch(epochs, tenant, 1, 0, time.Now()); err != nil {
			return nil, fmt.Errorf("eventlog: start the first epoch: %w", err)
		}
	}
	l.label(rec, epoch)
	if r := l.relay.Load(); r != nil {
		tx.OnCommit(func() { r.markDirty(tenant, seq) })
	}
	return rec, nil
}

// DefaultListLimit and MaxListLimit bound List's page size.
const (
	DefaultListLimit = 100
	MaxListLimit     = 1000
)

// List returns tenant's events with a sequence greater than after, in sequence order, at most
// limit of them (limit <= 0 means DefaultListLimit; it is capped at MaxListLimit), and the
// sequence of the tenant's newest event (0 for none). Events older than the relay's retention
// may have been pruned, so the first returned sequence can exceed after+1. It returns an error
// wrapping ErrInvalidTenant for a bad tenant, ErrMissingBuckets, or the storage's error.
func (l *Log) List(ctx context.Context, db Viewer, tenant string, after uint64, limit int) (events []*platformv1.EventRecord, last uint64, err error) {
	if l.err != nil {
		return nil, 0, l.err
	}
	if err := ValidateTenant(tenant); err != nil {
		return nil, 0, err
	}
	switch {
	case limit <= 0:
		limit = DefaultListLimit
	case limit > MaxListLimit:
		limit = MaxListLimit
	}
	if err := ctx.Err(); err != nil {
		return nil, 0, err
	}
	err = db.View(ctx, func(tx *bolt.Tx) error {
		if !l.hasBuckets(tx) {
			return ErrMissingBuckets
		}
		events = events[:0]
		last = readU64(tx.Bucket(l.heads).Get([]byte(tenant)))
		var err error
		events, err = l.scan(tx, tenant, after, last, limit, events)
		return err
	})
	if err != nil {
		return nil, 0, fmt.Errorf("eventlog: list %s events of %s: %w", l.service, tenant, err)
	}
	return events, last, nil
}

// hasBuckets reports whether tx holds the log's buckets.
func (l *Log) hasBuckets(tx *bolt.Tx) bool {
	for _, name := range l.Buckets() {
		if tx.Bucket(name) == nil {
			return false
		}
	}
	return true
}

// label sets rec's epoch and the id that goes with it.
func (l *Log) label(rec *platformv1.EventRecord, e Epoch) {
	rec.Epoch, rec.EpochStart = e.Epoch, e.Start
	rec.Id = EventID(l.service, rec.GetTenant(), e.Epoch, rec.GetSequence())
}

// scan appends to out up to limit records of tenant with after < sequence <= upTo, labelled
// with their epochs. tx must hold the log's buckets.
func (l *Log) scan(tx *bolt.Tx, tenant string, after, upTo uint64, limit int, out []*platformv1.EventRecord) ([]*platformv1.EventRecord, error) {
	if after >= upTo {
		return out, nil
	}
	segs := tenantEpochs(tx.Bucket(l.epochs), tenant)
	prefix := tenantPrefix(tenant)
	c := tx.Bucket(l.events).Cursor()
	for k, v := c.Seek(eventKey(tenant, after+1)); k != nil && len(out) < limit; k, v = c.Next() {
		seq, ok := seqOf(k, prefix)
		if !ok || seq > upTo {
			break
		}
		rec := &platformv1.EventRecord{}
		if err := proto.Unmarshal(v, rec); err != nil {
			return out, fmt.Errorf("decode event %d: %w", seq, err)
		}
		l.label(rec, epochAt(segs, seq))
		out = append(out, rec)
	}
	return out, nil
}

// eventKey is tenant 0x00 big-endian(seq): a tenant's events sort by sequence.
func eventKey(tenant string, seq uint64) []byte {
	k := make([]byte, len(tenant)+9)
	copy(k, tenant)
	binary.BigEndian.PutUint64(k[len(tenant)+1:], seq)
	return k
}

func tenantPrefix(tenant string) []byte {
	p := make([]byte, len(tenant)+1)
	copy(p, tenant)
	return p
}

// seqOf returns the sequence of an event key when it belongs to prefix's tenant.
func seqOf(k, prefix []byte) (uint64, bool) {
	if len(k) != len(prefix)+8 || string(k[:len(prefix)]) != string(prefix) {
		return 0, false
	}
	return binary.BigEndian.Uint64(k[len(prefix):]), true
}

func u64(v uint64) []byte { return binary.BigEndian.AppendUint64(make([]byte, 0, 8), v) }

func readU64(b []byte) uint64 {
	if len(b) != 8 {
		return 0
	}
	return binary.BigEndian.Uint64(b)
}
