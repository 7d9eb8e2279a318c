package boltstore

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"time"

	"google.golang.org/protobuf/encoding/protowire"

	bolt "go.etcd.io/bbolt"

	"github.com/huiyuan-dev/huiyuan/pkg/apperr"
	"github.com/huiyuan-dev/huiyuan/pkg/boltx"
	"github.com/huiyuan-dev/huiyuan/pkg/idempotency"
	"github.com/huiyuan-dev/huiyuan/pkg/ids"
	"github.com/huiyuan-dev/huiyuan/services/loyalty/internal/ledger"
	"github.com/huiyuan-dev/huiyuan/services/loyalty/internal/loyalty"
	"github.com/huiyuan-dev/huiyuan/services/loyalty/internal/loyaltypb"

	storagev1 "github.com/huiyuan-dev/huiyuan/gen/huiyuan/loyalty/storage/v1"
	loyaltyv1 "github.com/huiyuan-dev/huiyuan/gen/huiyuan/loyalty/v1"
)

// fingerprint is the SHA-256 of an order as submitted (before defaults), over a canonical
// encoding, so a retry of the same order is told from a different order under the same id.
func fingerprint(o *loyalty.Order) []byte {
	b := make([]byte, 0, 128)
	b = appendString(b, o.ID)
	b = appendString(b, o.MemberID)
	b = binary.AppendVarint(b, o.AmountMinor)
	b = appendString(b, o.Currency)
	b = appendString(b, o.StoreID)
	b = binary.AppendUvarint(b, uint64(len(o.Items)))
	for _, it := range o.Items {
		b = appendString(b, it.SKU)
		b = appendString(b, it.Category)
		b = binary.AppendVarint(b, it.Quantity)
		b = binary.AppendVarint(b, it.UnitPriceMinor)
	}
	if o.CreateTime.IsZero() {
		b = append(b, 0)
	} else {
		b = append(b, 1)
		b = binary.AppendVarint(b, o.CreateTime.Unix())
		b = binary.AppendVarint(b, int64(o.CreateTime.Nanosecond()))
	}
	sum := sha256.Sum256(b)
	return sum[:]
}

// replayed decodes the answer idempotency.Lookup found.
func replayed(prev []byte) (*storagev1.ResultRecord, error) {
	var r storagev1.ResultRecord
	if err := protoUnmarshal(prev, &r); err != nil {
		return nil, fmt.Errorf("decode idempotent result: %w", err)
	}
	return &r, nil
}

// saveResult records r as the answer to the request_id in ctx, if any.
func (w *wtx) saveResult(ctx context.Context, r *storagev1.ResultRecord) error {
	if _, ok := idempotency.FromContext(ctx); !ok {
		return nil
	}
	raw, err := marshal.Marshal(r)
	if err != nil {
		return fmt.Errorf("marshal result: %w", err)
	}
	return idempotency.Save(w.tx, ctx, raw, w.now)
}

// orderResult returns the encoding of ResultRecord{order: the order encoded as raw}, built
// from raw without marshalling the order again.
func orderResult(raw []byte) []byte {
	b := protowire.AppendTag(make([]byte, 0, len(raw)+4), 1, protowire.BytesType)
	return protowire.AppendBytes(b, raw)
}

// RecordOrder records order o (validated; CreateTime zero means now) and credits the points
// it earns to its member, if it has one, as an EARN with cause (order, o.ID, actor). An order
// id is unique per tenant: recording the same order again returns the stored order without
// acting again. It records order_recorded and the points events.
// Errors: AlreadyExists ORDER_EXISTS when the id holds a different order; the ledger's errors
// (FailedPrecondition POINTS_LIMIT_EXCEEDED); Invalid REQUEST_ID_REUSED.
func (s *Store) RecordOrder(ctx context.Context, tenant string, o loyalty.Order, actor string) (loyalty.Order, error) {
	guess, err := s.guessSettings(tenant)
	if err != nil {
		return loyalty.Order{}, err
	}
	now := s.clock.Now().UTC()
	fp := fingerprint(&o)
	key := boltx.Key(tenant, o.ID)
	if o.CreateTime.IsZero() {
		o.CreateTime = now
	}
	// Everything that does not depend on the book is encoded before the write transaction,
	// which runs on the single writer, under the settings the tenant most likely has; the
	// transaction encodes again only if its settings differ.
	// Most members earn ×1: the guess, corrected in the transaction when the member's tier
	// says otherwise.
	guessPct := int64(loyalty.DefaultTierPercent)
	enc, err := encodeOrder(&o, guess, guessPct, fp, now)
	if err != nil {
		return loyalty.Order{}, err
	}
	_, hasRequestID := idempotency.FromContext(ctx)
	var out *storagev1.OrderRecord
	err = s.w.Update(ctx, func(tx *bolt.Tx) error {
		out = nil
		if prev, ok, err := idempotency.Lookup(tx, ctx); err != nil || ok {
			if err == nil {
				var r *storagev1.ResultRecord
				if r, err = replayed(prev); err == nil {
					out = r.GetOrder()
				}
			}
			return err
		}
		set, err := s.tenantSettings(tx, tenant)
		if err != nil {
			return err
		}
		pct := int64(loyalty.DefaultTierPercent)
		if o.MemberID != "" {
			pct = tierMultiplier(tx, tenant, set, o.MemberID)
		}
		if set != guess || pct != guessPct {
			if enc, err = encodeOrder(&o, set, pct, fp, now); err != nil {
				return err
			}
			guess, guessPct = set, pct
		}
		w := s.begin(tx, tenant, set, now)
		orders := tx.Bucket(bucketOrders)
		var existing storagev1.OrderRecord
		found, err := boltx.GetProto(orders, key, &existing)
		if err != nil {
			return err
		}
		if found {
			if !bytes.Equal(existing.GetFingerprint(), fp) {
				return loyalty.OrderExists(o.ID)
			}
			out = &existing
			return w.saveResult(ctx, &storagev1.ResultRecord{Result: &storagev1.ResultRecord_Order{Order: out}})
		}
		var b *ledger.Book
		var due int64
		var txns []ledger.Txn
		if o.PointsEarned > 0 {
			if b, due, err = w.book(o.MemberID); err != nil {
				return err
			}
			txns, err = set.Ledger.Earn(b, ledger.EarnRequest{Points: o.PointsEarned, At: now,
				Cause: ledger.Cause{Type: ledger.CauseOrder, Ref: o.ID, Actor: actor}, PendingUntil: set.PendingUntil(now)})
			if err != nil {
				return err
			}
		}
		if err := w.emit("order_recorded", enc.recorded, now); err != nil {
			return err
		}
		if b != nil {
			if _, err := w.post(b, txns); err != nil {
				return err
			}
			if err := w.saveBook(b, due); err != nil {
				return err
			}
		}
		if err := orders.Put(key, enc.raw); err != nil {
			return err
		}
		out = enc.rec
		if !hasRequestID {
			return nil
		}
		return idempotency.Save(tx, ctx, orderResult(enc.raw), now)
	})
	if err != nil {
		return loyalty.Order{}, err
	}
	return fromOrderRecord(out), nil
}

// encodedOrder is an order to record, encoded.
type encodedOrder struct {
	rec      *storagev1.OrderRecord
	raw      []byte
	recorded *loyaltyv1.OrderRecordedEvent
}

// encodeOrder sets what o earns under set, its member earning tierPct percent, and encodes it
// as recorded at now.
func encodeOrder(o *loyalty.Order, set *loyalty.Settings, tierPct int64, fp []byte, now time.Time) (encodedOrder, error) {
	o.PointsEarned, o.RefundedMinor, o.PointsReversed, o.PointsToDebt = set.Earned(o, tierPct), 0, 0, 0
	rec := toOrderRecord(o)
	rec.Fingerprint, rec.RecordTimeUnixNano = fp, nanos(now)
	raw, err := marshal.Marshal(rec)
	if err != nil {
		return encodedOrder{}, fmt.Errorf("marshal order: %w", err)
	}
	return encodedOrder{rec: rec, raw: raw, recorded: &loyaltyv1.OrderRecordedEvent{Order: loyaltypb.Order(o)}}, nil
}

// GetOrder returns order id. Errors: NotFound ORDER_NOT_FOUND.
func (s *Store) GetOrder(ctx context.Context, tenant, id string) (loyalty.Order, error) {
	var rec storagev1.OrderRecord
	var found bool
	err := s.db.View(ctx, func(tx *bolt.Tx) (err error) {
		found, err = boltx.GetProto(tx.Bucket(bucketOrders), boltx.Key(tenant, id), &rec)
		return err
	})
	if err != nil {
		return loyalty.Order{}, err
	}
	if !found {
		return loyalty.Order{}, loyalty.NotFoundOrder(id)
	}
	return fromOrderRecord(&rec), nil
}

// RefundOrder refunds amount (> 0, validated) of order id and takes back the points due under
// the tenant's return policy (ledger.Reverse), recording order_refunded and the points events.
// Errors: NotFound ORDER_NOT_FOUND; Invalid REFUND_EXCEEDS_ORDER when refunds would total more
// than the order; the ledger's errors; Invalid REQUEST_ID_REUSED.
func (s *Store) RefundOrder(ctx context.Context, tenant, id string, amount int64, actor string) (loyalty.RefundResult, error) {
	now := s.clock.Now().UTC()
	key := boltx.Key(tenant, id)
	refundID := ids.New()
	var out *storagev1.RefundResultRecord
	err := s.w.Update(ctx, func(tx *bolt.Tx) error {
		out = nil
		if prev, ok, err := idempotency.Lookup(tx, ctx); err != nil || ok {
			if err == nil {
				var r *storagev1.ResultRecord
				if r, err = replayed(prev); err == nil {
					out = r.GetRefund()
				}
			}
			return err
		}
		set, err := s.tenantSettings(tx, tenant)
		if err != nil {
			return err
		}
		w := s.begin(tx, tenant, set, now)
		orders := tx.Bucket(bucketOrders)
		rec := &storagev1.OrderRecord{}
		found, err := boltx.GetProto(orders, key, rec)
		if err != nil {
			return err
		}
		if !found {
			return loyalty.NotFoundOrder(id)
		}
		if amount > rec.GetAmountMinor()-rec.GetRefundedMinor() {
			e := apperr.E(apperr.Invalid, ledger.ReasonRefundExceedsOrder,
				"refund of %d exceeds the %d left of order %q", amount, rec.GetAmountMinor()-rec.GetRefundedMinor(), id)
			e.Violations = []apperr.FieldViolation{{Field: "amount_minor", Description: "exceeds what is left of the order"}}
			return e
		}
		var rev ledger.Reversal
		var b *ledger.Book
		var due int64
		if rec.GetMemberId() != "" && rec.GetPointsEarned() > 0 {
			if b, due, err = w.book(rec.GetMemberId()); err != nil {
				return err
			}
			rev, err = set.Ledger.Reverse(b, ledger.ReverseRequest{Order: id, RefundID: refundID, Earned: rec.GetPointsEarned(),
				OrderAmount: rec.GetAmountMinor(), RefundedBefore: rec.GetRefundedMinor(), RefundAmount: amount,
				Policy: set.Refund, At: now})
			if err != nil {
				return err
			}
			for i := range rev.Txns {
				if rev.Txns[i].Kind == ledger.KindReverse {
					rev.Txns[i].Cause.Actor = actor // the ledger leaves the actor to the caller
				}
			}
		}
		rec.RefundedMinor += amount
		rec.PointsReversed += rev.Reversed
		rec.PointsToDebt += rev.Debt
		rec.RefundCount++
		if err := boltx.PutProto(orders, key, rec); err != nil {
			return err
		}
		if err := w.emit("order_refunded", &loyaltyv1.OrderRefundedEvent{
			OrderId: id, MemberId: rec.GetMemberId(), AmountMinor: amount, Currency: rec.GetCurrency(),
			RefundedTotalMinor: rec.GetRefundedMinor(), PointsReversed: rev.Reversed, PointsToDebt: rev.Debt,
			StoreId: rec.GetStoreId(), RefundTime: tsOf(now)}, now); err != nil {
			return err
		}
		if len(rev.Txns) > 0 {
			if _, err := w.post(b, rev.Txns); err != nil {
				return err
			}
			if err := w.saveBook(b, due); err != nil {
				return err
			}
		}
		out = &storagev1.RefundResultRecord{Order: rec, PointsReversed: rev.Reversed, PointsToDebt: rev.Debt}
		return w.saveResult(ctx, &storagev1.ResultRecord{Result: &storagev1.ResultRecord_Refund{Refund: out}})
	})
	if err != nil {
		return loyalty.RefundResult{}, err
	}
	return loyalty.RefundResult{Order: fromOrderRecord(out.GetOrder()), PointsReversed: out.GetPointsReversed(),
		PointsToDebt: out.GetPointsToDebt()}, nil
}
