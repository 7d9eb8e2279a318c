// Package boltstore implements coupon.Store on bbolt (through pkg/boltx): templates with their
// issued counters kept apart, coupons with their indexes (code, member, template, due time),
// per-member usage, exchanges, code batches and shared codes. Each mutation checks and records
// its request_id (pkg/idempotency) and appends its events (pkg/eventlog) in its own transaction,
// which goes through the group-commit writer; a mutation the domain refuses fails before writing
// (boltx.Unwritten), so a batch of refused claims never rolls back the batch around it. No
// business rules live here.
package boltstore

import (
	"context"
	"errors"
	"fmt"

	bolt "go.etcd.io/bbolt"
	"google.golang.org/protobuf/proto"

	"github.com/huiyuan-dev/huiyuan/pkg/boltx"
	"github.com/huiyuan-dev/huiyuan/pkg/clock"
	"github.com/huiyuan-dev/huiyuan/pkg/eventlog"
	"github.com/huiyuan-dev/huiyuan/pkg/idempotency"
	"github.com/huiyuan-dev/huiyuan/services/coupon/internal/coupon"
	"github.com/huiyuan-dev/huiyuan/services/coupon/internal/couponpb"
)

// Buckets. Every key starts with boltx.TenantPrefix(tenant), except the due index's, which
// starts with the due time (then tenant 0x00 coupon id) so one cursor finds due work of every
// tenant in time order.
var (
	bucketTemplates     = []byte("coupon_templates")        // Key(tenant, template) -> TemplateRecord
	bucketStock         = []byte("coupon_stock")            // Key(tenant, template) -> U64 issued
	bucketUsage         = []byte("coupon_usage")            // Key(tenant, template, member) -> UsageRecord
	bucketCoupons       = []byte("coupons")                 // Key(tenant, coupon) -> CouponRecord
	bucketCodes         = []byte("coupon_codes")            // Key(tenant, code) -> coupon id
	bucketByMember      = []byte("coupon_member_index")     // Key(tenant, member, coupon) -> nothing
	bucketByTemplate    = []byte("coupon_template_index")   // Key(tenant, template, coupon) -> nothing
	bucketDue           = []byte("coupon_due")              // U64(due ns) tenant 0x00 coupon -> nothing
	bucketExchanges     = []byte("coupon_exchanges")        // Key(tenant, exchange) -> ExchangeRecord
	bucketOpenExchanges = []byte("coupon_exchanges_open")   // Key(tenant, exchange) -> U64(last change ns)
	bucketBatches       = []byte("coupon_batches")          // Key(tenant, batch) -> CodeBatchRecord
	bucketBatchesByTmpl = []byte("coupon_template_batches") // Key(tenant, template, batch) -> nothing
	bucketRunning       = []byte("coupon_batches_running")  // Key(tenant, batch) -> nothing
	bucketBatchCoupons  = []byte("coupon_batch_index")      // Key(tenant, batch, coupon) -> nothing
	bucketShared        = []byte("coupon_shared_codes")     // Key(tenant, code) -> SharedCodeRecord
	bucketSharedUses    = []byte("coupon_shared_uses")      // Key(tenant, code, member) -> coupon id
	bucketZones         = []byte("coupon_tenant_zones")     // Key(tenant) -> IANA zone name
	bucketMembers       = []byte("coupon_member_status")    // Key(tenant, member) -> coupon.MemberStatus (one byte)
)

// scanLimit bounds the records one list call reads, so a filter matching little never holds a
// read transaction long; the caller gets a short page and a token to go on.
const scanLimit = 5000

// Buckets returns the buckets the store itself uses (not the event log's nor idempotency's),
// for boltx.Open.
func Buckets() [][]byte {
	return [][]byte{bucketTemplates, bucketStock, bucketUsage, bucketCoupons, bucketCodes, bucketByMember,
		bucketByTemplate, bucketDue, bucketExchanges, bucketOpenExchanges, bucketBatches, bucketBatchesByTmpl,
		bucketRunning, bucketBatchCoupons, bucketShared, bucketSharedUses, bucketZones, bucketMembers}
}

// Config holds a Store's dependencies; all are required.
type Config struct {
	DB     *boltx.DB     // reads
	Writer boltx.Updater // writes: the group-commit Writer in production
	Log    *eventlog.Log // the service's event log
	Clock  clock.Clock   // idempotency record times
}

// Store implements coupon.Store. It is safe for concurrent use.
type Store struct {
	db    *boltx.DB
	w     boltx.Updater
	log   *eventlog.Log
	clock clock.Clock
}

var _ coupon.Store = (*Store)(nil)

// New returns a Store. It fails when a dependency is missing.
func New(cfg Config) (*Store, error) {
	if cfg.DB == nil || cfg.Writer == nil || cfg.Log == nil || cfg.Clock == nil {
		return nil, errors.New("boltstore.New: missing dependency")
	}
	return &Store{db: cfg.DB, w: cfg.Writer, log: cfg.Log, clock: cfg.Clock}, nil
}

var marshal = proto.MarshalOptions{Deterministic: true}

// wtx is one write transaction of a mutation: what it writes, its events and its answer.
type wtx struct {
	s      *Store
	ctx    context.Context
	tx     *bolt.Tx
	tenant string
}

func (s *Store) begin(ctx context.Context, tx *bolt.Tx, tenant string) *wtx {
	return &wtx{s: s, ctx: ctx, tx: tx, tenant: tenant}
}

// replay looks the request up; ok means a retry, answered from prev, with nothing else to do.
// A request_id reused for another request is refused before any write.
func (w *wtx) replay() (prev []byte, ok bool, err error) {
	prev, ok, err = idempotency.Lookup(w.tx, w.ctx)
	if err != nil {
		return nil, false, boltx.Unwritten(err)
	}
	return prev, ok, nil
}

// replayed answers a retried request: when its request_id has an answer, decode turns it into
// *out and done is true, and the mutation writes nothing more. A request_id reused for another
// request is done too, with its error.
func replayed[T any](w *wtx, out *T, decode func(tx *bolt.Tx, prev []byte) (T, error)) (done bool, err error) {
	prev, ok, err := w.replay()
	if err != nil || !ok {
		return err != nil, err
	}
	*out, err = decode(w.tx, prev)
	return true, err
}

// answerOf decodes a stored answer that is a record of type R, converted by conv.
func answerOf[R any, P interface {
	*R
	proto.Message
}, T any](conv func(P) T) func(*bolt.Tx, []byte) (T, error) {
	return func(_ *bolt.Tx, prev []byte) (T, error) {
		var rec R
		if err := proto.Unmarshal(prev, P(&rec)); err != nil {
			var zero T
			return zero, fmt.Errorf("decode idempotent result: %w", err)
		}
		return conv(P(&rec)), nil
	}
}

// emit appends evs to the event log.
func (w *wtx) emit(evs []coupon.Event) error {
	for _, ev := range evs {
		typ, payload, at, err := couponpb.Event(ev)
		if err != nil {
			return err
		}
		if _, err := w.s.log.Append(w.tx, w.tenant, typ, payload, at); err != nil {
			return fmt.Errorf("append %s: %w", typ, err)
		}
	}
	return nil
}

// answer records result as the request's answer.
func (w *wtx) answer(result []byte) error {
	return idempotency.Save(w.tx, w.ctx, result, w.s.clock.Now())
}

// put writes raw bytes of m at key in bucket b.
func (w *wtx) put(b []byte, key []byte, m proto.Message) ([]byte, error) {
	raw, err := marshal.Marshal(m)
	if err != nil {
		return nil, fmt.Errorf("marshal %T: %w", m, err)
	}
	return raw, w.tx.Bucket(b).Put(key, raw)
}

// memberStatusOf reads what the member service's events said of member.
func memberStatusOf(tx *bolt.Tx, tenant, member string) coupon.MemberStatus {
	if v := tx.Bucket(bucketMembers).Get(boltx.Key(tenant, member)); len(v) == 1 {
		return coupon.MemberStatus(v[0])
	}
	return coupon.MemberUnheard
}

// SetMemberStatus records a member's standing from the member service's events, in the
// consumer's transaction tx.
func SetMemberStatus(tx *bolt.Tx, tenant, member string, st coupon.MemberStatus) error {
	return tx.Bucket(bucketMembers).Put(boltx.Key(tenant, member), []byte{byte(st)})
}

// zone reads the tenant's time zone name.
func zoneOf(tx *bolt.Tx, tenant string) string {
	return string(tx.Bucket(bucketZones).Get(boltx.Key(tenant)))
}

// TenantZone implements coupon.Store.
func (s *Store) TenantZone(ctx context.Context, tenant string) (string, error) {
	var z string
	err := s.db.View(ctx, func(tx *bolt.Tx) error {
		z = zoneOf(tx, tenant)
		return nil
	})
	return z, err
}
