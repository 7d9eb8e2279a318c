package boltstore

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"slices"

	bolt "go.etcd.io/bbolt"
	"google.golang.org/protobuf/proto"

	"github.com/huiyuan-dev/huiyuan/pkg/boltx"
	"github.com/huiyuan-dev/huiyuan/services/member/internal/member"
	"github.com/huiyuan-dev/huiyuan/services/member/internal/membership"

	storagev1 "github.com/huiyuan-dev/huiyuan/gen/huiyuan/member/storage/v1"
)

// loaded is an account as read in a write transaction, with what its indexes and the member
// record need to be kept right when it is saved.
type loaded struct {
	a      *membership.Account
	member *storagev1.MemberRecord
	tiers  []string // held and earned tiers as loaded, for the holder counts
	due    int64    // due time as indexed
}

func heldTiers(a *membership.Account) []string {
	var out []string
	for _, t := range []string{a.Tier, a.Earned.Tier} {
		if t != "" && !slices.Contains(out, t) {
			out = append(out, t)
		}
	}
	return out
}

func memberState(st storagev1.MemberRecord_StoredStatus) membership.MemberState {
	switch st {
	case storagev1.MemberRecord_ACTIVE:
		return membership.MemberActive
	case storagev1.MemberRecord_FROZEN:
		return membership.MemberFrozen
	}
	return membership.MemberGone
}

// loadAccount reads member's account in tx (a new one for a member without) and the member
// record. Errors: NotFound (MEMBER_NOT_FOUND); storage errors.
func loadAccount(tx *bolt.Tx, tenant, member string) (*loaded, error) {
	key := boltx.Key(tenant, member)
	mrec := &storagev1.MemberRecord{}
	found, err := boltx.GetProto(tx.Bucket(bucketMembers), key, mrec)
	if err != nil {
		return nil, err
	}
	if !found {
		return nil, membership.MemberNotFound(member)
	}
	var a *membership.Account
	var arec storagev1.AccountRecord
	if found, err := boltx.GetProto(tx.Bucket(bucketAccounts), key, &arec); err != nil {
		return nil, err
	} else if found {
		a = fromAccountRecord(&arec)
	} else {
		a = &membership.Account{MemberID: member}
	}
	a.State, a.Joined = memberState(mrec.GetStatus()), mrec.GetCreateTime().AsTime()
	return &loaded{a: a, member: mrec, tiers: heldTiers(a), due: arec.GetDue()}, nil
}

// dueKey is the due-index key of member's account due at n (Unix nanoseconds); the
// contribution-expiry index uses the same shape with an order id.
func dueKey(n int64, tenant, id string) []byte {
	k := make([]byte, 0, 8+len(tenant)+1+len(id))
	k = binary.BigEndian.AppendUint64(k, uint64(max(n, 1)))
	k = append(k, tenant...)
	k = append(k, 0)
	return append(k, id...)
}

// parseDueKey splits a due-index key into its time, tenant and id.
func parseDueKey(k []byte) (int64, string, string, bool) {
	if len(k) < 10 {
		return 0, "", "", false
	}
	rest := k[8:]
	i := bytes.IndexByte(rest, 0)
	if i <= 0 || i == len(rest)-1 {
		return 0, "", "", false
	}
	return int64(binary.BigEndian.Uint64(k[:8])), string(rest[:i]), string(rest[i+1:]), true
}

// addCount adds d to the counter under key in b, deleting it at zero.
func addCount(b *bolt.Bucket, key []byte, d int64) error {
	n := int64(boltx.ParseU64(b.Get(key))) + d
	if n <= 0 {
		return b.Delete(key)
	}
	return b.Put(key, boltx.U64(uint64(n)))
}

// saveAccount stores l's account after a change with its events: the holder counts, the due
// index, the ended subscriptions, the plan statistics, the payment references, the held tier on
// the member record, and the events.
// Errors: AlreadyExists (PAYMENT_REFERENCE_USED); storage errors.
func (s *Store) saveAccount(tx *bolt.Tx, tenant string, l *loaded, evs []membership.Event) error {
	a := l.a
	holders := tx.Bucket(bucketHolders)
	now := heldTiers(a)
	for _, t := range l.tiers {
		if !slices.Contains(now, t) {
			if err := addCount(holders, boltx.Key(tenant, t), -1); err != nil {
				return err
			}
		}
	}
	for _, t := range now {
		if !slices.Contains(l.tiers, t) {
			if err := addCount(holders, boltx.Key(tenant, t), 1); err != nil {
				return err
			}
		}
	}
	if due := nanos(a.Due); due != l.due {
		b := tx.Bucket(bucketAccountDue)
		if l.due != 0 {
			if err := b.Delete(dueKey(l.due, tenant, a.MemberID)); err != nil {
				return err
			}
		}
		if due != 0 {
			if err := b.Put(dueKey(due, tenant, a.MemberID), nil); err != nil {
				return err
			}
		}
	}
	for _, sub := range a.Ended {
		if err := boltx.PutProto(tx.Bucket(bucketEnded), boltx.Key(tenant, a.MemberID, sub.ID), toSubscriptionRecord(a.MemberID, sub)); err != nil {
			return err
		}
	}
	if err := s.addStats(tx, tenant, a.Stats); err != nil {
		return err
	}
	refs := tx.Bucket(bucketPaymentRefs)
	for _, ref := range a.NewPayments {
		k := boltx.Key(tenant, ref)
		if refs.Get(k) != nil {
			return membership.PaymentReferenceUsed()
		}
		if err := refs.Put(k, []byte(a.MemberID)); err != nil {
			return err
		}
	}
	if err := boltx.PutProto(tx.Bucket(bucketAccounts), boltx.Key(tenant, a.MemberID), toAccountRecord(a)); err != nil {
		return err
	}
	if l.member.GetTier() != a.Tier {
		l.member.Tier = a.Tier
		if err := boltx.PutProto(tx.Bucket(bucketMembers), boltx.Key(tenant, a.MemberID), l.member); err != nil {
			return err
		}
	}
	return s.appendMembership(tx, tenant, evs)
}

// addStats adds the plan statistics' deltas.
func (s *Store) addStats(tx *bolt.Tx, tenant string, deltas map[string]*membership.PlanStats) error {
	b := tx.Bucket(bucketPlanStats)
	for k, d := range deltas {
		if *d == (membership.PlanStats{}) {
			continue
		}
		plan, cur, _ := bytes.Cut([]byte(k), []byte("/"))
		key := boltx.Key(tenant, string(plan), string(cur))
		var r storagev1.PlanStatsRecord
		if _, err := boltx.GetProto(b, key, &r); err != nil {
			return err
		}
		st := fromStatsRecord(&r)
		st.Add(*d)
		if err := boltx.PutProto(b, key, toStatsRecord(st)); err != nil {
			return err
		}
	}
	return nil
}

// Account implements membership.Store.
func (s *Store) Account(ctx context.Context, tenant, member string) (*membership.Account, *membership.Catalog, error) {
	var a *membership.Account
	var c *membership.Catalog
	err := s.db.View(ctx, func(tx *bolt.Tx) error {
		l, err := loadAccount(tx, tenant, member)
		if err != nil {
			return err
		}
		a = l.a
		c, err = s.cachedCatalog(tx, tenant)
		return err
	})
	if err != nil {
		return nil, nil, err
	}
	return a, c, nil
}

// UpdateAccount implements membership.Store.
func (s *Store) UpdateAccount(ctx context.Context, tenant, member string, fn membership.AccountFunc) (membership.Result, error) {
	var out membership.Result
	err := s.w.Update(ctx, func(tx *bolt.Tx) error {
		out = nil
		if prev, ok, err := s.replayMembership(ctx, tx); err != nil || ok {
			out = prev
			return err
		}
		l, err := loadAccount(tx, tenant, member)
		if err != nil {
			return boltx.Unwritten(err)
		}
		c, err := s.cachedCatalog(tx, tenant)
		if err != nil {
			return err
		}
		res, evs, err := fn(l.a, c)
		if err != nil {
			return boltx.Unwritten(err) // fn only read
		}
		if use, ok := res.(*membership.BenefitUse); ok {
			if err := boltx.PutProto(tx.Bucket(bucketUses), boltx.Key(tenant, member, use.ID), toUseRecord(use)); err != nil {
				return err
			}
		}
		if err := s.saveAccount(tx, tenant, l, evs); err != nil {
			return err
		}
		out = res
		return s.saveMembershipResult(ctx, tx, member, res)
	})
	return out, err
}

// ApplyOrder changes member's account in tx, the transaction of a consumer that applies
// loyalty's order events: fn gets the account, the catalogue and the contribution of order
// (nil when it has none) and returns the contribution to keep and the events. A member that does
// not exist (a non-member's order, or one this service never registered) is skipped.
// Errors: storage errors.
func (s *Store) ApplyOrder(tx *bolt.Tx, tenant, member, order string,
	fn func(a *membership.Account, c *membership.Catalog, prev *membership.Contribution) (*membership.Contribution, []membership.Event)) error {
	if member == "" || order == "" {
		return nil
	}
	l, err := loadAccount(tx, tenant, member)
	if membership.IsMemberNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	c, err := s.cachedCatalog(tx, tenant)
	if err != nil {
		return err
	}
	key := boltx.Key(tenant, order)
	var prev *membership.Contribution
	var rec storagev1.ContributionRecord
	if found, err := boltx.GetProto(tx.Bucket(bucketContributions), key, &rec); err != nil {
		return err
	} else if found && rec.GetMemberId() == member {
		prev = fromContributionRecord(&rec)
	}
	next, evs := fn(l.a, c, prev)
	if next != nil {
		nrec := toContributionRecord(next)
		if !proto.Equal(nrec, &rec) {
			if err := boltx.PutProto(tx.Bucket(bucketContributions), key, nrec); err != nil {
				return err
			}
		}
		if prev == nil && next.KeepUntil.After(next.Time) {
			if err := tx.Bucket(bucketContribKeep).Put(dueKey(nanos(next.KeepUntil), tenant, order), nil); err != nil {
				return err
			}
		}
	}
	return s.saveAccount(tx, tenant, l, evs)
}

// EndedSubscriptions implements membership.Store.
func (s *Store) EndedSubscriptions(ctx context.Context, tenant, member string) ([]*membership.Subscription, error) {
	var out []*membership.Subscription
	err := s.db.View(ctx, func(tx *bolt.Tx) error {
		out = nil
		prefix := append(boltx.Key(tenant, member), 0)
		c := tx.Bucket(bucketEnded).Cursor()
		for k, v := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
			var r storagev1.SubscriptionRecord
			if err := proto.Unmarshal(v, &r); err != nil {
				return fmt.Errorf("decode subscription: %w", err)
			}
			out = append(out, fromSubscriptionRecord(&r))
		}
		return nil
	})
	slices.Reverse(out) // ids are time-ordered: newest first
	return out, err
}

// PlanReports implements membership.Store.
func (s *Store) PlanReports(ctx context.Context, tenant string) ([]membership.PlanReport, error) {
	var out []membership.PlanReport
	err := s.db.View(ctx, func(tx *bolt.Tx) error {
		out = nil
		prefix := boltx.TenantPrefix(tenant)
		c := tx.Bucket(bucketPlanStats).Cursor()
		for k, v := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
			plan, cur, _ := bytes.Cut(k[len(prefix):], []byte{0})
			var r storagev1.PlanStatsRecord
			if err := proto.Unmarshal(v, &r); err != nil {
				return fmt.Errorf("decode plan stats: %w", err)
			}
			out = append(out, membership.PlanReport{PlanID: string(plan), Currency: string(cur), Stats: fromStatsRecord(&r)})
		}
		return nil
	})
	return out, err
}

// enroll starts new member m's account in tx at the tenant's entry tier (membership.Enroll),
// setting the tier on rec, m's record about to be stored, and credits the member m's referral
// code names. Errors: storage errors.
func (s *Store) enroll(tx *bolt.Tx, tenant string, m *member.Member, rec *storagev1.MemberRecord) error {
	c, err := s.cachedCatalog(tx, tenant)
	if err != nil {
		return err
	}
	a := &membership.Account{MemberID: m.ID, Joined: m.CreateTime, State: membership.MemberActive}
	membership.Enroll(a, c, m.CreateTime)
	m.Tier, rec.Tier = a.Tier, a.Tier
	if err := s.saveAccount(tx, tenant, &loaded{a: a, member: rec}, nil); err != nil {
		return err
	}
	ref, ok := membership.Referrer(m.ReferralCode)
	if !ok || ref == m.ID {
		return nil
	}
	l, err := loadAccount(tx, tenant, ref)
	if membership.IsMemberNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	if !membership.Referred(l.a) {
		return nil
	}
	return s.saveAccount(tx, tenant, l, nil)
}
