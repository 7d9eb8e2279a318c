package boltstore

import (
	"bytes"
	"fmt"

	"google.golang.org/protobuf/proto"

	"github.com/huiyuan-dev/huiyuan/pkg/boltx"
	"github.com/huiyuan-dev/huiyuan/services/loyalty/internal/loyalty"

	storagev1 "github.com/huiyuan-dev/huiyuan/gen/huiyuan/loyalty/storage/v1"
)

// Reward implements loyalty.View.
func (t *tx) Reward(id string) (*loyalty.Reward, error) {
	var rec storagev1.RewardRecord
	found, err := boltx.GetProto(t.bucket(bucketRewards), boltx.Key(t.tenant, id), &rec)
	if err != nil || !found {
		return nil, err
	}
	return fromRewardRecord(id, &rec), nil
}

// Rewards implements loyalty.View: reward ids are time-ordered, so key order is creation order.
func (t *tx) Rewards(limit int) ([]*loyalty.Reward, error) {
	prefix := boltx.TenantPrefix(t.tenant)
	var out []*loyalty.Reward
	c := t.bucket(bucketRewards).Cursor()
	for k, v := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix) && len(out) < limit; k, v = c.Next() {
		var rec storagev1.RewardRecord
		if err := proto.Unmarshal(v, &rec); err != nil {
			return nil, fmt.Errorf("decode reward %q: %w", k[len(prefix):], err)
		}
		out = append(out, fromRewardRecord(string(k[len(prefix):]), &rec))
	}
	return out, nil
}

// SaveReward implements loyalty.Tx.
func (t *tx) SaveReward(r *loyalty.Reward) error {
	return t.put(t.bucket(bucketRewards), boltx.Key(t.tenant, r.ID), toRewardRecord(r))
}

// Redemption implements loyalty.View.
func (t *tx) Redemption(id string) (*loyalty.Redemption, error) {
	var rec storagev1.RedemptionRecord
	found, err := boltx.GetProto(t.bucket(bucketRedemptions), boltx.Key(t.tenant, id), &rec)
	if err != nil || !found {
		return nil, err
	}
	return fromRedemptionRecord(id, &rec), nil
}

// Redemptions implements loyalty.View: newest first, through the member index, whose
// redemption ids are time-ordered.
func (t *tx) Redemptions(member string, limit int) ([]*loyalty.Redemption, error) {
	prefix := append(boltx.Key(t.tenant, member), 0)
	var out []*loyalty.Redemption
	c := t.bucket(bucketMemberRedemptions).Cursor()
	k, _ := c.Seek(append(bytes.Clone(prefix), 0xff))
	if k == nil {
		k, _ = c.Last()
	} else {
		k, _ = c.Prev()
	}
	for ; k != nil && bytes.HasPrefix(k, prefix) && len(out) < limit; k, _ = c.Prev() {
		r, err := t.Redemption(string(k[len(prefix):]))
		if err != nil {
			return nil, err
		}
		if r != nil {
			out = append(out, r)
		}
	}
	return out, nil
}

// SaveRedemption implements loyalty.Tx.
func (t *tx) SaveRedemption(r *loyalty.Redemption) error {
	if err := t.put(t.bucket(bucketRedemptions), boltx.Key(t.tenant, r.ID), toRedemptionRecord(r)); err != nil {
		return fmt.Errorf("save redemption %s: %w", r.ID, err)
	}
	return t.bucket(bucketMemberRedemptions).Put(memberRedemptionKey(t.tenant, r.MemberID, r.ID), nil)
}
