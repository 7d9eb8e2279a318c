package boltstore

import (
	"bytes"
	"context"

	bolt "go.etcd.io/bbolt"
	"google.golang.org/protobuf/proto"

	"github.com/huiyuan-dev/huiyuan/pkg/apperr"
	"github.com/huiyuan-dev/huiyuan/pkg/boltx"
	"github.com/huiyuan-dev/huiyuan/services/member/internal/membership"

	storagev1 "github.com/huiyuan-dev/huiyuan/gen/huiyuan/member/storage/v1"
)

// complaintScanLimit bounds the complaints one list call reads, as the member list does.
const complaintScanLimit = 5000

func openKey(tenant, benefit string) []byte { return boltx.Key(tenant, benefit) }

// openCount returns benefit's open complaints as tx sees them.
func openCount(tx *bolt.Tx, tenant, benefit string) int64 {
	return int64(boltx.ParseU64(tx.Bucket(bucketOpen).Get(openKey(tenant, benefit))))
}

// CreateComplaint implements membership.Store.
func (s *Store) CreateComplaint(ctx context.Context, tenant, member string,
	fn func(c *membership.Catalog, open func(string) int64) (*membership.Complaint, []membership.Event, error)) (*membership.Complaint, error) {
	var out *membership.Complaint
	err := s.w.Update(ctx, func(tx *bolt.Tx) error {
		out = nil
		if prev, ok, err := s.replayMembership(ctx, tx); err != nil || ok {
			out, _ = prev.(*membership.Complaint)
			return err
		}
		if tx.Bucket(bucketMembers).Get(boltx.Key(tenant, member)) == nil {
			return boltx.Unwritten(membership.MemberNotFound(member))
		}
		c, err := s.cachedCatalog(tx, tenant)
		if err != nil {
			return err
		}
		cmp, evs, err := fn(c, func(b string) int64 { return openCount(tx, tenant, b) })
		if err != nil {
			return boltx.Unwritten(err)
		}
		if err := boltx.PutProto(tx.Bucket(bucketComplaints), boltx.Key(tenant, cmp.ID), toComplaintRecord(cmp)); err != nil {
			return err
		}
		if cmp.State == membership.ComplaintOpen {
			if err := addCount(tx.Bucket(bucketOpen), openKey(tenant, cmp.BenefitID), 1); err != nil {
				return err
			}
		}
		if err := s.appendMembership(tx, tenant, evs); err != nil {
			return err
		}
		out = cmp
		return s.saveMembershipResult(ctx, tx, member, cmp)
	})
	return out, err
}

// UpdateComplaint implements membership.Store.
func (s *Store) UpdateComplaint(ctx context.Context, tenant, id string,
	fn func(cmp *membership.Complaint, open int64) ([]membership.Event, error)) (*membership.Complaint, error) {
	var out *membership.Complaint
	err := s.w.Update(ctx, func(tx *bolt.Tx) error {
		out = nil
		if prev, ok, err := s.replayMembership(ctx, tx); err != nil || ok {
			out, _ = prev.(*membership.Complaint)
			return err
		}
		key := boltx.Key(tenant, id)
		var rec storagev1.ComplaintRecord
		found, err := boltx.GetProto(tx.Bucket(bucketComplaints), key, &rec)
		if err != nil {
			return err
		}
		if !found {
			return boltx.Unwritten(membership.ComplaintNotFound(id))
		}
		cmp := fromComplaintRecord(&rec)
		wasOpen := cmp.State == membership.ComplaintOpen
		evs, err := fn(cmp, openCount(tx, tenant, cmp.BenefitID))
		if err != nil {
			return boltx.Unwritten(err)
		}
		if err := boltx.PutProto(tx.Bucket(bucketComplaints), key, toComplaintRecord(cmp)); err != nil {
			return err
		}
		if isOpen := cmp.State == membership.ComplaintOpen; isOpen != wasOpen {
			d := int64(1)
			if wasOpen {
				d = -1
			}
			if err := addCount(tx.Bucket(bucketOpen), openKey(tenant, cmp.BenefitID), d); err != nil {
				return err
			}
		}
		if err := s.appendMembership(tx, tenant, evs); err != nil {
			return err
		}
		out = cmp
		return s.saveMembershipResult(ctx, tx, cmp.MemberID, cmp)
	})
	return out, err
}

// Complaint implements membership.Store.
func (s *Store) Complaint(ctx context.Context, tenant, id string) (*membership.Complaint, error) {
	var rec storagev1.ComplaintRecord
	var found bool
	err := s.db.View(ctx, func(tx *bolt.Tx) (err error) {
		found, err = boltx.GetProto(tx.Bucket(bucketComplaints), boltx.Key(tenant, id), &rec)
		return err
	})
	if err != nil {
		return nil, err
	}
	if !found {
		return nil, membership.ComplaintNotFound(id)
	}
	return fromComplaintRecord(&rec), nil
}

// Complaints implements membership.Store: newest first (ids are time-ordered), filtered on the
// stored fields, reading at most complaintScanLimit records per page.
func (s *Store) Complaints(ctx context.Context, tenant string, q membership.ComplaintQuery) ([]*membership.Complaint, string, error) {
	prefix := boltx.TenantPrefix(tenant)
	before, err := boltx.DecodePageToken(q.PageToken)
	if err != nil {
		return nil, "", err
	}
	if before != nil && !bytes.HasPrefix(before, prefix) {
		return nil, "", &apperr.Error{Code: apperr.Invalid, Reason: boltx.ReasonInvalidPageToken,
			Message:    "page_token is not a token this service issued",
			Violations: []apperr.FieldViolation{{Field: "page_token", Description: "not a valid page token"}}}
	}
	var out []*membership.Complaint
	var next string
	err = s.db.View(ctx, func(tx *bolt.Tx) error {
		out, next = nil, ""
		c := tx.Bucket(bucketComplaints).Cursor()
		var k, v []byte
		if before != nil {
			k, v = c.Seek(before)
			if k == nil {
				k, v = c.Last()
			}
			for k != nil && bytes.Compare(k, before) >= 0 {
				k, v = c.Prev()
			}
		} else {
			// The last key of the tenant: seek past its prefix, then step back.
			end := append(bytes.Clone(prefix[:len(prefix)-1]), 1)
			if k, _ = c.Seek(end); k == nil {
				k, v = c.Last()
			} else {
				k, v = c.Prev()
			}
		}
		var last []byte
		for scanned := 0; k != nil && bytes.HasPrefix(k, prefix); k, v = c.Prev() {
			if len(out) == q.PageSize || scanned == complaintScanLimit {
				next = boltx.EncodePageToken(last)
				return nil
			}
			scanned++
			last = k
			var r storagev1.ComplaintRecord
			if err := proto.Unmarshal(v, &r); err != nil {
				return err
			}
			cmp := fromComplaintRecord(&r)
			if (q.BenefitID == "" || cmp.BenefitID == q.BenefitID) && (q.MemberID == "" || cmp.MemberID == q.MemberID) &&
				(q.State == membership.ComplaintUnspecified || cmp.State == q.State) {
				out = append(out, cmp)
			}
		}
		return nil
	})
	return out, next, err
}
