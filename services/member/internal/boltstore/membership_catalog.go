package boltstore

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"sync"

	bolt "go.etcd.io/bbolt"
	"google.golang.org/protobuf/proto"

	"github.com/huiyuan-dev/huiyuan/pkg/boltx"
	"github.com/huiyuan-dev/huiyuan/pkg/idempotency"
	"github.com/huiyuan-dev/huiyuan/pkg/ids"
	"github.com/huiyuan-dev/huiyuan/services/member/internal/membership"

	storagev1 "github.com/huiyuan-dev/huiyuan/gen/huiyuan/member/storage/v1"
)

// The membership buckets. Every key starts with boltx.TenantPrefix(tenant), but the time
// indexes', which start with the time.
var (
	bucketTiers         = []byte("tier_defs")               // Key(tenant, id) -> TierRecord
	bucketBenefits      = []byte("benefit_defs")            // Key(tenant, id) -> BenefitRecord
	bucketPlans         = []byte("plan_defs")               // Key(tenant, id) -> PlanRecord
	bucketSettings      = []byte("tier_settings")           // TenantPrefix(tenant) -> TierSettingsRecord
	bucketVersions      = []byte("catalog_versions")        // TenantPrefix(tenant) -> a token new with every catalogue change
	bucketHolders       = []byte("tier_holders")            // Key(tenant, tier) -> U64 accounts holding or earning it
	bucketAccounts      = []byte("member_accounts")         // Key(tenant, member) -> AccountRecord
	bucketAccountDue    = []byte("member_accounts_due")     // U64(due nanos) tenant 0x00 member -> empty
	bucketContributions = []byte("order_contributions")     // Key(tenant, order) -> ContributionRecord
	bucketContribKeep   = []byte("order_contrib_expiry")    // U64(keep-until nanos) tenant 0x00 order -> empty
	bucketEnded         = []byte("subscriptions_ended")     // Key(tenant, member, subscription) -> SubscriptionRecord
	bucketPaymentRefs   = []byte("payment_references")      // Key(tenant, reference) -> member 0x00 subscription
	bucketPlanStats     = []byte("plan_stats")              // Key(tenant, plan, currency) -> PlanStatsRecord
	bucketUses          = []byte("benefit_uses")            // Key(tenant, member, use) -> BenefitUseRecord
	bucketComplaints    = []byte("benefit_complaints")      // Key(tenant, complaint) -> ComplaintRecord
	bucketOpen          = []byte("benefit_open_complaints") // Key(tenant, benefit) -> U64
)

func membershipBuckets() [][]byte {
	return [][]byte{bucketTiers, bucketBenefits, bucketPlans, bucketSettings, bucketVersions, bucketHolders, bucketAccounts,
		bucketAccountDue, bucketContributions, bucketContribKeep, bucketEnded, bucketPaymentRefs, bucketPlanStats, bucketUses,
		bucketComplaints, bucketOpen}
}

// catalogCache keeps each tenant's catalogue decoded for account changes (an order event reads
// it for every order), keyed by the token of the last change: a token is never reused, so an
// entry read in a transaction that was rolled back can never be mistaken for a committed one.
type catalogCache struct {
	mu sync.Mutex
	m  map[string]cachedCatalog
}

type cachedCatalog struct {
	version string
	c       *membership.Catalog
}

// cachedCatalog returns tenant's catalogue as tx sees it, without counts. Callers must not
// change it.
func (s *Store) cachedCatalog(tx *bolt.Tx, tenant string) (*membership.Catalog, error) {
	v := string(tx.Bucket(bucketVersions).Get(boltx.TenantPrefix(tenant)))
	s.catalogs.mu.Lock()
	e, ok := s.catalogs.m[tenant]
	s.catalogs.mu.Unlock()
	if ok && e.version == v {
		return e.c, nil
	}
	c, _, err := loadCatalog(tx, tenant, false)
	if err != nil {
		return nil, err
	}
	s.catalogs.mu.Lock()
	if s.catalogs.m == nil {
		s.catalogs.m = map[string]cachedCatalog{}
	}
	s.catalogs.m[tenant] = cachedCatalog{version: v, c: c}
	s.catalogs.mu.Unlock()
	return c, nil
}

// rawCatalog holds the stored encodings of a catalogue, to write back only what changed.
type rawCatalog struct {
	settings               []byte
	tiers, benefits, plans map[string][]byte
}

// scan decodes every record of tenant in b into a new T, keeping the raw bytes by id.
func scan[T proto.Message](b *bolt.Bucket, what, tenant string, raw map[string][]byte, mk func() T) ([]T, error) {
	prefix := boltx.TenantPrefix(tenant)
	var out []T
	c := b.Cursor()
	for k, v := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
		m := mk()
		if err := proto.Unmarshal(v, m); err != nil {
			return nil, fmt.Errorf("decode %s %q: %w", what, k[len(prefix):], err)
		}
		out = append(out, m)
		raw[string(k[len(prefix):])] = bytes.Clone(v)
	}
	return out, nil
}

// loadCatalog reads tenant's catalogue in tx; with counts it fills Holders, Live and Open.
func loadCatalog(tx *bolt.Tx, tenant string, counts bool) (*membership.Catalog, *rawCatalog, error) {
	raw := &rawCatalog{tiers: map[string][]byte{}, benefits: map[string][]byte{}, plans: map[string][]byte{}}
	c := &membership.Catalog{Settings: membership.DefaultSettings()}
	if v := tx.Bucket(bucketSettings).Get(boltx.TenantPrefix(tenant)); v != nil {
		var r storagev1.TierSettingsRecord
		if err := proto.Unmarshal(v, &r); err != nil {
			return nil, nil, fmt.Errorf("decode tier settings: %w", err)
		}
		c.Settings, raw.settings = fromSettingsRecord(&r), bytes.Clone(v)
	}
	tiers, err := scan(tx.Bucket(bucketTiers), "tier", tenant, raw.tiers, func() *storagev1.TierRecord { return &storagev1.TierRecord{} })
	if err != nil {
		return nil, nil, err
	}
	for _, r := range tiers {
		c.Tiers = append(c.Tiers, fromTierRecord(r))
	}
	benefits, err := scan(tx.Bucket(bucketBenefits), "benefit", tenant, raw.benefits, func() *storagev1.BenefitRecord { return &storagev1.BenefitRecord{} })
	if err != nil {
		return nil, nil, err
	}
	for _, r := range benefits {
		c.Benefits = append(c.Benefits, fromBenefitRecord(r))
	}
	plans, err := scan(tx.Bucket(bucketPlans), "plan", tenant, raw.plans, func() *storagev1.PlanRecord { return &storagev1.PlanRecord{} })
	if err != nil {
		return nil, nil, err
	}
	for _, r := range plans {
		c.Plans = append(c.Plans, fromPlanRecord(r))
	}
	c.Sort()
	if counts {
		if err := loadCounts(tx, tenant, c); err != nil {
			return nil, nil, err
		}
	}
	return c, raw, nil
}

// loadCounts fills c's Holders, Live and Open from their counters.
func loadCounts(tx *bolt.Tx, tenant string, c *membership.Catalog) error {
	prefix := boltx.TenantPrefix(tenant)
	c.Holders, c.Live, c.Open = map[string]int64{}, map[string]int64{}, map[string]int64{}
	counters := func(b *bolt.Bucket, into map[string]int64) {
		cur := b.Cursor()
		for k, v := cur.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, v = cur.Next() {
			into[string(k[len(prefix):])] = int64(boltx.ParseU64(v))
		}
	}
	counters(tx.Bucket(bucketHolders), c.Holders)
	counters(tx.Bucket(bucketOpen), c.Open)
	cur := tx.Bucket(bucketPlanStats).Cursor()
	for k, v := cur.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, v = cur.Next() {
		plan, _, _ := strings.Cut(string(k[len(prefix):]), "\x00")
		var r storagev1.PlanStatsRecord
		if err := proto.Unmarshal(v, &r); err != nil {
			return fmt.Errorf("decode plan stats: %w", err)
		}
		st := fromStatsRecord(&r)
		c.Live[plan] += st.Current()
	}
	return nil
}

// Catalog implements membership.Store.
func (s *Store) Catalog(ctx context.Context, tenant string) (*membership.Catalog, error) {
	var c *membership.Catalog
	err := s.db.View(ctx, func(tx *bolt.Tx) (err error) {
		c, _, err = loadCatalog(tx, tenant, true)
		return err
	})
	return c, err
}

// putChanged writes the records of m whose encoding differs from raw, and deletes those of raw
// that m no longer has; it reports whether anything changed.
func putChanged(b *bolt.Bucket, tenant string, raw map[string][]byte, m map[string]proto.Message) (bool, error) {
	changed := false
	for id, rec := range m {
		v, err := marshal.Marshal(rec)
		if err != nil {
			return false, err
		}
		if !bytes.Equal(v, raw[id]) {
			if err := b.Put(boltx.Key(tenant, id), v); err != nil {
				return false, err
			}
			changed = true
		}
	}
	for id := range raw {
		if _, ok := m[id]; !ok {
			if err := b.Delete(boltx.Key(tenant, id)); err != nil {
				return false, err
			}
			changed = true
		}
	}
	return changed, nil
}

// UpdateCatalog implements membership.Store.
func (s *Store) UpdateCatalog(ctx context.Context, tenant string, fn membership.CatalogFunc) (membership.Result, error) {
	var out membership.Result
	err := s.w.Update(ctx, func(tx *bolt.Tx) error {
		out = nil
		if prev, ok, err := s.replayMembership(ctx, tx); err != nil || ok {
			out = prev
			return err
		}
		c, raw, err := loadCatalog(tx, tenant, true)
		if err != nil {
			return err
		}
		res, evs, err := fn(c)
		if err != nil {
			return boltx.Unwritten(err) // fn only read
		}
		if err := s.saveCatalog(tx, tenant, c, raw); err != nil {
			return err
		}
		if err := s.appendMembership(tx, tenant, evs); err != nil {
			return err
		}
		out = res
		return s.saveMembershipResult(ctx, tx, "", res)
	})
	return out, err
}

func (s *Store) saveCatalog(tx *bolt.Tx, tenant string, c *membership.Catalog, raw *rawCatalog) error {
	tiers := map[string]proto.Message{}
	for _, t := range c.Tiers {
		tiers[t.ID] = toTierRecord(t)
	}
	benefits := map[string]proto.Message{}
	for _, b := range c.Benefits {
		benefits[b.ID] = toBenefitRecord(b)
	}
	plans := map[string]proto.Message{}
	for _, p := range c.Plans {
		plans[p.ID] = toPlanRecord(p)
	}
	changed := false
	for _, x := range []struct {
		b   []byte
		raw map[string][]byte
		m   map[string]proto.Message
	}{{bucketTiers, raw.tiers, tiers}, {bucketBenefits, raw.benefits, benefits}, {bucketPlans, raw.plans, plans}} {
		ch, err := putChanged(tx.Bucket(x.b), tenant, x.raw, x.m)
		if err != nil {
			return err
		}
		changed = changed || ch
	}
	if v, err := marshal.Marshal(toSettingsRecord(&c.Settings)); err != nil {
		return err
	} else if raw.settings != nil || !c.Settings.UpdateTime.IsZero() {
		if !bytes.Equal(v, raw.settings) {
			if err := tx.Bucket(bucketSettings).Put(boltx.TenantPrefix(tenant), v); err != nil {
				return err
			}
			changed = true
		}
	}
	if !changed {
		return nil
	}
	return tx.Bucket(bucketVersions).Put(boltx.TenantPrefix(tenant), []byte(ids.New()))
}

// replayMembership answers a retried request_id from the answer its first run stored.
func (s *Store) replayMembership(ctx context.Context, tx *bolt.Tx) (membership.Result, bool, error) {
	prev, ok, err := idempotency.Lookup(tx, ctx)
	if err != nil || !ok {
		return nil, ok, err
	}
	var r storagev1.MembershipResult
	if err := proto.Unmarshal(prev, &r); err != nil {
		return nil, true, fmt.Errorf("decode idempotent result: %w", err)
	}
	res, err := decodeResult(&r)
	return res, true, err
}

// saveMembershipResult records res as the answer to the request in ctx.
func (s *Store) saveMembershipResult(ctx context.Context, tx *bolt.Tx, member string, res membership.Result) error {
	if _, ok := idempotency.FromContext(ctx); !ok {
		return nil
	}
	r, err := encodeResult(member, res)
	if err != nil {
		return err
	}
	v, err := marshal.Marshal(r)
	if err != nil {
		return err
	}
	return idempotency.Save(tx, ctx, v, s.clock.Now())
}
