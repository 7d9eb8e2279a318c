package boltstore

import (
	"context"
	"encoding/json"
	"fmt"

	bolt "go.etcd.io/bbolt"
	"google.golang.org/protobuf/proto"

	"github.com/huiyuan-dev/huiyuan/pkg/boltx"
	"github.com/huiyuan-dev/huiyuan/pkg/idempotency"
	"github.com/huiyuan-dev/huiyuan/pkg/ids"
	"github.com/huiyuan-dev/huiyuan/services/loyalty/internal/ledger"
	"github.com/huiyuan-dev/huiyuan/services/loyalty/internal/loyaltypb"

	loyaltyv1 "github.com/huiyuan-dev/huiyuan/gen/huiyuan/loyalty/v1"
)

// The programme use cases answer with the API's messages: they are what a retried request_id
// replays, and the storage protos have no records for them.

// runIdem runs fn in one write transaction unless the request_id in ctx already has an
// answer, which is decoded into out instead; fn's answer (out, filled by fn) is stored with
// the request_id.
func (s *Store) runIdem(ctx context.Context, out proto.Message, fn func(tx *bolt.Tx) error) error {
	now := s.clock.Now().UTC()
	return s.w.Update(ctx, func(tx *bolt.Tx) error {
		proto.Reset(out)
		prev, ok, err := idempotency.Lookup(tx, ctx)
		if err != nil {
			return err
		}
		if ok {
			if err := proto.Unmarshal(prev, out); err != nil {
				return fmt.Errorf("decode idempotent result: %w", err)
			}
			return nil
		}
		if err := fn(tx); err != nil {
			return err
		}
		if _, ok := idempotency.FromContext(ctx); !ok {
			return nil
		}
		raw, err := marshal.Marshal(out)
		if err != nil {
			return fmt.Errorf("marshal result: %w", err)
		}
		return idempotency.Save(tx, ctx, raw, now)
	})
}

// Transfer moves points from member from to member to (积分转赠) under the tenant's transfer
// rules, both books changing in one write transaction; each side's transaction is announced
// as points_transferred. Errors: the ledger's (Invalid TRANSFER_TO_SELF; FailedPrecondition
// TRANSFER_DISABLED, TRANSFER_LIMIT_REACHED, INSUFFICIENT_POINTS, POINTS_LIMIT_EXCEEDED);
// Invalid REQUEST_ID_REUSED; storage errors.
func (s *Store) Transfer(ctx context.Context, tenant, from, to string, points int64, reason, actor string) (*loyaltyv1.TransferPointsResponse, error) {
	now := s.clock.Now().UTC()
	id := ids.New()
	out := &loyaltyv1.TransferPointsResponse{}
	err := s.runIdem(ctx, out, func(tx *bolt.Tx) error {
		set, err := s.tenantSettings(tx, tenant)
		if err != nil {
			return err
		}
		w := s.begin(tx, tenant, set, now)
		fb, fdue, err := w.book(from)
		if err != nil {
			return err
		}
		tb, tdue, err := w.book(to)
		if err != nil {
			return err
		}
		res, err := set.Ledger.Transfer(fb, tb, ledger.TransferRequest{TransferID: id, Points: points, Reason: reason, Actor: actor, At: now})
		if err != nil {
			return err
		}
		sent, err := w.post(fb, res.Out)
		if err != nil {
			return err
		}
		got, err := w.post(tb, res.In)
		if err != nil {
			return err
		}
		if err := w.saveBook(fb, fdue); err != nil {
			return err
		}
		if err := w.saveBook(tb, tdue); err != nil {
			return err
		}
		st, rt := last(sent), last(got)
		out.SenderTransaction, out.ReceiverTransaction = loyaltypb.Txn(&st), loyaltypb.Txn(&rt)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// checkInRecord is a member's stored check-in state. JSON keeps it readable and lets fields
// be added without a storage proto.
type checkInRecord struct {
	LastDate string `json:"last_date"`
	Streak   int    `json:"streak"`
	Days     int64  `json:"days"`
}

// CheckIn checks member in for today in the tenant's time zone and credits the day's points
// (base plus streak bonus) as an EARN with cause checkin, the state and the earn in one write
// transaction; it records checked_in (a PointsChangedEvent) and the points events.
// Errors: FailedPrecondition ALREADY_CHECKED_IN, POINTS_LIMIT_EXCEEDED; Invalid
// REQUEST_ID_REUSED; storage errors.
func (s *Store) CheckIn(ctx context.Context, tenant, member, actor string) (*loyaltyv1.CheckInResponse, error) {
	now := s.clock.Now().UTC()
	out := &loyaltyv1.CheckInResponse{}
	err := s.runIdem(ctx, out, func(tx *bolt.Tx) error {
		set, err := s.tenantSettings(tx, tenant)
		if err != nil {
			return err
		}
		key := boltx.Key(tenant, member)
		var rec checkInRecord
		if raw := tx.Bucket(bucketCheckIns).Get(key); raw != nil {
			if err := json.Unmarshal(raw, &rec); err != nil {
				return fmt.Errorf("decode check-in state of member %s: %w", member, err)
			}
		}
		res, state, err := ledger.CheckIn(ledger.CheckInState{LastDate: rec.LastDate, Streak: rec.Streak, Days: rec.Days},
			now, set.Ledger.Location(), set.CheckIn)
		if err != nil {
			return err
		}
		w := s.begin(tx, tenant, set, now)
		event := &loyaltyv1.PointsChangedEvent{}
		if res.Points > 0 {
			b, due, err := w.book(member)
			if err != nil {
				return err
			}
			txns, err := set.Ledger.Earn(b, ledger.EarnRequest{Points: res.Points, At: now,
				Cause: ledger.Cause{Type: ledger.CauseCheckIn, Ref: res.Date, Actor: actor}})
			if err != nil {
				return err
			}
			posted, err := w.post(b, txns)
			if err != nil {
				return err
			}
			if err := w.saveBook(b, due); err != nil {
				return err
			}
			t := last(posted)
			out.Transaction = loyaltypb.Txn(&t)
			event.Transaction, event.AvailableAfter = out.Transaction, t.AvailableAfter
		}
		raw, err := json.Marshal(checkInRecord{LastDate: state.LastDate, Streak: state.Streak, Days: state.Days})
		if err != nil {
			return fmt.Errorf("encode check-in state: %w", err)
		}
		if err := tx.Bucket(bucketCheckIns).Put(key, raw); err != nil {
			return err
		}
		out.PointsAwarded, out.Streak = res.Points, int32(min(state.Streak, 1<<31-1))
		return w.emit("checked_in", event, now)
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}
