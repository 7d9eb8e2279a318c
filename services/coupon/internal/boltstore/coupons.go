package boltstore

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"
	"google.golang.org/protobuf/proto"

	"github.com/huiyuan-dev/huiyuan/pkg/apperr"
	"github.com/huiyuan-dev/huiyuan/pkg/boltx"
	"github.com/huiyuan-dev/huiyuan/pkg/idempotency"
	"github.com/huiyuan-dev/huiyuan/services/coupon/internal/coupon"

	storagev1 "github.com/huiyuan-dev/huiyuan/gen/huiyuan/coupon/storage/v1"
)

// errCodeTaken is a generated code that already exists: with 74 random bits it does not happen,
// and when it does the issue fails rather than overwrite another coupon's index.
var errCodeTaken = errors.New("boltstore: generated coupon code already exists")

// dueKey is the due index key of coupon id of tenant at t.
func dueKey(t time.Time, tenant, id string) []byte {
	k := boltx.U64(uint64(max(t.UnixNano(), 0)))
	k = append(k, tenant...)
	k = append(k, 0)
	return append(k, id...)
}

// putCoupon stores c and keeps its indexes: code, template and batch for a new coupon (old ==
// nil), member when it gains one, due time when it moves. It returns the record's bytes.
func (w *wtx) putCoupon(c, old *coupon.Coupon) ([]byte, error) {
	raw, err := w.put(bucketCoupons, boltx.Key(w.tenant, c.ID), couponRecord(c))
	if err != nil {
		return nil, err
	}
	if old == nil {
		codes, ck := w.tx.Bucket(bucketCodes), boltx.Key(w.tenant, c.Code)
		if codes.Get(ck) != nil {
			return nil, errCodeTaken
		}
		if err := codes.Put(ck, []byte(c.ID)); err != nil {
			return nil, err
		}
		if err := w.tx.Bucket(bucketByTemplate).Put(boltx.Key(w.tenant, c.TemplateID, c.ID), nil); err != nil {
			return nil, err
		}
		if c.BatchID != "" {
			if err := w.tx.Bucket(bucketBatchCoupons).Put(boltx.Key(w.tenant, c.BatchID, c.ID), nil); err != nil {
				return nil, err
			}
		}
	}
	if c.MemberID != "" && (old == nil || old.MemberID != c.MemberID) {
		if err := w.tx.Bucket(bucketByMember).Put(boltx.Key(w.tenant, c.MemberID, c.ID), nil); err != nil {
			return nil, err
		}
	}
	var before time.Time
	if old != nil {
		before = old.DueTime()
	}
	if after := c.DueTime(); !after.Equal(before) {
		due := w.tx.Bucket(bucketDue)
		if !before.IsZero() {
			if err := due.Delete(dueKey(before, w.tenant, c.ID)); err != nil {
				return nil, err
			}
		}
		if !after.IsZero() {
			if err := due.Put(dueKey(after, w.tenant, c.ID), nil); err != nil {
				return nil, err
			}
		}
	}
	return raw, nil
}

// couponByID reads coupon id in tx; nil when absent.
func couponByID(tx *bolt.Tx, tenant, id string) (*coupon.Coupon, error) {
	var rec storagev1.CouponRecord
	found, err := boltx.GetProto(tx.Bucket(bucketCoupons), boltx.Key(tenant, id), &rec)
	if err != nil || !found {
		return nil, err
	}
	return fromCouponRecord(&rec), nil
}

// couponByCode reads the coupon with code in tx; nil when absent.
func couponByCode(tx *bolt.Tx, tenant, code string) (*coupon.Coupon, error) {
	id := tx.Bucket(bucketCodes).Get(boltx.Key(tenant, code))
	if id == nil {
		return nil, nil
	}
	return couponByID(tx, tenant, string(id))
}

// couponAnswer decodes a stored CouponRecord answer.
func couponAnswer(tx *bolt.Tx, prev []byte) (*coupon.Coupon, error) {
	return answerOf(fromCouponRecord)(tx, prev)
}

// decodeCoupon reads a stored CouponRecord snapshot.
func decodeCoupon(raw []byte) (*coupon.Coupon, error) { return couponAnswer(nil, raw) }

// loadIssue reads what an issue of template for member decides on.
func loadIssue(tx *bolt.Tx, tenant, templateID, member string) (*coupon.IssueState, error) {
	t, issued, err := loadTemplate(tx, tenant, templateID)
	if err != nil {
		return nil, err
	}
	st := &coupon.IssueState{Template: t, Member: member, Issued: issued, Zone: zoneOf(tx, tenant)}
	if member != "" {
		st.MemberStatus = memberStatusOf(tx, tenant, member)
		var u storagev1.UsageRecord
		if _, err := boltx.GetProto(tx.Bucket(bucketUsage), boltx.Key(tenant, templateID, member), &u); err != nil {
			return nil, err
		}
		st.Usage = coupon.Usage{Total: u.GetTotal(), PeriodKey: u.GetPeriodKey(), PeriodCount: u.GetPeriodCount()}
	}
	return st, nil
}

// putIssue stores an issue state's counters.
func (w *wtx) putIssue(st *coupon.IssueState) error {
	key := boltx.Key(w.tenant, st.Template.ID)
	if err := w.tx.Bucket(bucketStock).Put(key, boltx.U64(uint64(max(st.Issued, 0)))); err != nil {
		return err
	}
	if st.Member == "" {
		return nil
	}
	u := &storagev1.UsageRecord{Total: st.Usage.Total, PeriodKey: st.Usage.PeriodKey, PeriodCount: st.Usage.PeriodCount}
	_, err := w.put(bucketUsage, boltx.Key(w.tenant, st.Template.ID, st.Member), u)
	return err
}

// issue runs one issue decision in w and stores its outcome. refused is the decision's refusal,
// for which nothing was written; err a failure to write.
func (w *wtx) issue(templateID, member string, fn coupon.IssueFunc) (c *coupon.Coupon, raw []byte, refused, err error) {
	st, err := loadIssue(w.tx, w.tenant, templateID, member)
	if err != nil {
		return nil, nil, err, nil
	}
	c, evs, refused := fn(st)
	if refused != nil {
		return nil, nil, refused, nil
	}
	if err := w.putIssue(st); err != nil {
		return nil, nil, nil, err
	}
	if raw, err = w.putCoupon(c, nil); err != nil {
		return nil, nil, nil, err
	}
	return c, raw, nil, w.emit(evs)
}

// Issue implements coupon.Store.
func (s *Store) Issue(ctx context.Context, tenant, templateID, member string, fn coupon.IssueFunc) (*coupon.Coupon, error) {
	var out *coupon.Coupon
	err := s.w.Update(ctx, func(tx *bolt.Tx) error {
		w := s.begin(ctx, tx, tenant)
		if done, err := replayed(w, &out, couponAnswer); done {
			return err
		}
		c, raw, refused, err := w.issue(templateID, member, fn)
		switch {
		case refused != nil:
			return boltx.Unwritten(refused)
		case err != nil:
			return err
		}
		out = c
		return w.answer(raw)
	})
	return out, err
}

// ReplayIssue implements coupon.Store: a read transaction, and none at all without a
// request_id.
func (s *Store) ReplayIssue(ctx context.Context, tenant string) (*coupon.Coupon, bool, error) {
	if _, has := idempotency.FromContext(ctx); !has {
		return nil, false, nil
	}
	var out *coupon.Coupon
	var ok bool
	err := s.db.View(ctx, func(tx *bolt.Tx) error {
		prev, hit, err := idempotency.Lookup(tx, ctx)
		if err != nil || !hit {
			return err
		}
		ok = true
		out, err = decodeCoupon(prev)
		return err
	})
	return out, ok, err
}

// IssueEach implements coupon.Store. Each member's issue sees the counts the earlier ones left.
func (s *Store) IssueEach(ctx context.Context, tenant, templateID string, members []string, fn coupon.IssueFunc) ([]coupon.IssueOutcome, error) {
	var out []coupon.IssueOutcome
	err := s.w.Update(ctx, func(tx *bolt.Tx) error {
		out = nil
		w := s.begin(ctx, tx, tenant)
		if done, err := replayed(w, &out, grantReplay); done {
			return err
		}
		if _, _, err := loadTemplate(tx, tenant, templateID); err != nil {
			return boltx.Unwritten(err)
		}
		replay := &storagev1.GrantReplay{}
		for _, m := range members {
			c, raw, refused, err := w.issue(templateID, m, fn)
			if err != nil {
				return err
			}
			o := coupon.IssueOutcome{Member: m, Coupon: c, Err: refused}
			e := &storagev1.GrantReplayEntry{MemberId: m}
			if refused != nil {
				e.ErrorCode, e.ErrorReason, e.ErrorMessage = errorParts(refused)
			} else if e.Coupon, err = recordOf(raw); err != nil {
				return err
			}
			replay.Entries = append(replay.Entries, e)
			out = append(out, o)
		}
		raw, err := marshal.Marshal(replay)
		if err != nil {
			return err
		}
		return w.answer(raw)
	})
	return out, err
}

// UpdateCoupon implements coupon.Store.
func (s *Store) UpdateCoupon(ctx context.Context, tenant, code string, fn coupon.CouponFunc) (*coupon.Coupon, *coupon.Template, error) {
	return s.UseCoupon(ctx, tenant, code, "", func(c *coupon.Coupon, t *coupon.Template, _ coupon.MemberStatus) ([]coupon.Event, error) {
		return fn(c, t)
	})
}

// UseCoupon implements coupon.Store; member "" reads no standing (UpdateCoupon).
func (s *Store) UseCoupon(ctx context.Context, tenant, code, member string, fn coupon.UseFunc) (*coupon.Coupon, *coupon.Template, error) {
	var out *coupon.Coupon
	var tmpl *coupon.Template
	err := s.w.Update(ctx, func(tx *bolt.Tx) error {
		w := s.begin(ctx, tx, tenant)
		if done, err := replayed(w, &out, couponAnswer); done {
			if err == nil {
				tmpl, _, err = loadTemplate(tx, tenant, out.TemplateID)
			}
			return err
		}
		c, err := couponByCode(tx, tenant, code)
		if err != nil {
			return err
		}
		if c == nil {
			return boltx.Unwritten(coupon.CouponNotFound())
		}
		t, _, err := loadTemplate(tx, tenant, c.TemplateID)
		if err != nil {
			return err
		}
		standing := coupon.MemberUnheard
		if member != "" {
			standing = memberStatusOf(tx, tenant, member)
		}
		old := c.Clone()
		evs, err := fn(c, t, standing)
		if err != nil {
			return boltx.Unwritten(err)
		}
		out, tmpl = c, t
		if evs == nil {
			return w.answer(bytes.Clone(tx.Bucket(bucketCoupons).Get(boltx.Key(tenant, c.ID))))
		}
		raw, err := w.putCoupon(c, old)
		if err != nil {
			return err
		}
		if err := w.emit(evs); err != nil {
			return err
		}
		return w.answer(raw)
	})
	return out, tmpl, err
}

// GetCoupon implements coupon.Store.
func (s *Store) GetCoupon(ctx context.Context, tenant, code string) (*coupon.Coupon, *coupon.Template, error) {
	var c *coupon.Coupon
	var t *coupon.Template
	err := s.db.View(ctx, func(tx *bolt.Tx) (err error) {
		if c, err = couponByCode(tx, tenant, code); err != nil {
			return err
		}
		if c == nil {
			return coupon.CouponNotFound()
		}
		t, _, err = loadTemplate(tx, tenant, c.TemplateID)
		return err
	})
	return c, t, err
}

// recordOf decodes a coupon record's bytes.
func recordOf(raw []byte) (*storagev1.CouponRecord, error) {
	var rec storagev1.CouponRecord
	if err := proto.Unmarshal(raw, &rec); err != nil {
		return nil, fmt.Errorf("decode coupon: %w", err)
	}
	return &rec, nil
}

// errorParts splits a refusal for storage; errors that are not apperr's keep no message.
func errorParts(err error) (code, reason, message string) {
	var ae *apperr.Error
	if errors.As(err, &ae) {
		return string(ae.Code), ae.Reason, ae.Message
	}
	return string(apperr.Internal), "", "internal error"
}

// grantReplay rebuilds the outcomes of a GrantCoupons answer.
func grantReplay(_ *bolt.Tx, prev []byte) ([]coupon.IssueOutcome, error) {
	var r storagev1.GrantReplay
	if err := proto.Unmarshal(prev, &r); err != nil {
		return nil, fmt.Errorf("decode idempotent result: %w", err)
	}
	out := make([]coupon.IssueOutcome, len(r.GetEntries()))
	for i, e := range r.GetEntries() {
		out[i].Member = e.GetMemberId()
		if e.GetCoupon() != nil {
			out[i].Coupon = fromCouponRecord(e.GetCoupon())
			continue
		}
		out[i].Err = &apperr.Error{Code: apperr.Code(e.GetErrorCode()), Reason: e.GetErrorReason(), Message: e.GetErrorMessage()}
	}
	return out, nil
}
