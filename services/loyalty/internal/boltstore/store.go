// Package boltstore implements loyalty.Store on bbolt (through pkg/boltx): storage, the replay
// of retried request_ids (pkg/idempotency) and the outbox (pkg/eventlog). It holds no rules:
// the domain decides, the store loads, saves and records.
//
// Layout. An order writes each fact once. The journal (one entry per fact, hash-chained per
// tenant) holds the order, the transaction that earned its points and the balance after it;
// a member's history is the chain of its entries (each names the member's previous one); the
// order index maps an order id to its entry; the event is built from the entry. Besides the
// entry, an order rewrites its member's account record (small: lots of one expiry are one
// lot, and the record holds only the last two to four; the others have keys of their own, read only
// as an operation needs them, see lots.go) and adds its order id to the index; the due index
// moves only when the account's next due time does.
//
// Serialisation: every write goes through the one boltx.Updater (the group-commit Writer in
// production), and bbolt runs one read-write transaction at a time, so operations on an
// account never interleave and no per-member lock is needed.
package boltstore

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/huiyuan-dev/huiyuan/pkg/boltx"
	"github.com/huiyuan-dev/huiyuan/pkg/clock"
	"github.com/huiyuan-dev/huiyuan/pkg/eventlog"
	"github.com/huiyuan-dev/huiyuan/pkg/idempotency"
	"github.com/huiyuan-dev/huiyuan/services/loyalty/internal/loyalty"

	storagev1 "github.com/huiyuan-dev/huiyuan/gen/huiyuan/loyalty/storage/v1"
)

// Buckets. Keys start with boltx.TenantPrefix(tenant), except the due index's, which start
// with the due time so the job finds due work of every tenant in one ordered scan.
var (
	bucketAccounts          = []byte("loyalty_accounts")           // Key(tenant, member) -> AccountRecord
	bucketLots              = []byte("loyalty_lots")               // Key(tenant, member) + 0x00 + expiry + earn time + id -> LotRecord
	bucketJournal           = []byte("loyalty_journal")            // TenantPrefix + U64(seq) -> EntryRecord; head after them
	bucketOrders            = []byte("loyalty_orders")             // Key(tenant, order) -> OrderIndexRecord
	bucketDue               = []byte("loyalty_due")                // U64(due nanos) + tenant + 0x00 + member -> empty
	bucketRewards           = []byte("loyalty_rewards")            // Key(tenant, reward) -> RewardRecord
	bucketRedemptions       = []byte("loyalty_redemptions")        // Key(tenant, redemption) -> RedemptionRecord
	bucketMemberRedemptions = []byte("loyalty_member_redemptions") // Key(tenant, member) + 0x00 + redemption -> empty
	bucketPolicies          = []byte("loyalty_policies")           // tenant -> PolicyRecord
	bucketTierMultipliers   = []byte("loyalty_tier_multipliers")   // Key(tenant, tier) -> U64(percent), as the member service defines its tiers
)

// Buckets returns the buckets the store itself uses (not the event log's nor idempotency's),
// for boltx.Open.
func Buckets() [][]byte {
	return [][]byte{bucketAccounts, bucketLots, bucketJournal, bucketOrders, bucketDue, bucketRewards, bucketRedemptions,
		bucketMemberRedemptions, bucketPolicies, bucketTierMultipliers}
}

// appendFill is the fill percent of buckets written at their end (the journal, the event log):
// full pages, where bbolt's default leaves every page it splits half empty.
const appendFill = 0.95

// Config holds a Store's dependencies; all but Logger are required.
type Config struct {
	DB     *boltx.DB     // reads
	Writer boltx.Updater // writes: the group-commit Writer in production
	Log    *eventlog.Log // the service's event log
	Clock  clock.Clock
	Logger *slog.Logger // nil discards
	// LotWindow is how many lots an update loads at least from each end of an account's
	// lots (lots.go): 0 means DefaultLotWindow; a negative number loads every lot, which
	// tests compare against.
	LotWindow int
}

// Store implements loyalty.Store. It is safe for concurrent use.
type Store struct {
	db     *boltx.DB
	w      boltx.Updater
	log    *eventlog.Log
	clock  clock.Clock
	logger *slog.Logger
	codec  *codec
	events []byte   // the event log's bucket of events, filled like the journal
	cache  sync.Map // tenant -> *cachedSettings
	// lotWindow is Config.LotWindow, its default applied.
	lotWindow int

	noEvents bool // benchmarks only: measure what the event log costs
}

var _ loyalty.Store = (*Store)(nil)

// New returns a Store. It fails when a required dependency is missing.
func New(cfg Config) (*Store, error) {
	if cfg.DB == nil || cfg.Writer == nil || cfg.Log == nil || cfg.Clock == nil {
		return nil, errors.New("boltstore.New: missing dependency")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	s := &Store{db: cfg.DB, w: cfg.Writer, log: cfg.Log, clock: cfg.Clock, logger: cfg.Logger, codec: newCodec(),
		events: cfg.Log.Buckets()[0]}
	if s.lotWindow = cfg.LotWindow; s.lotWindow == 0 {
		s.lotWindow = DefaultLotWindow
	}
	return s, nil
}

// Update implements loyalty.Store.
func (s *Store) Update(ctx context.Context, tenant string, fn loyalty.UpdateFunc) (loyalty.Result, error) {
	// Writers that outrun a working broker wait for it here, outside the writer, so the
	// broker's lag stays bounded (eventlog's admission).
	if err := s.log.Admit(ctx, tenant); err != nil {
		return nil, err
	}
	key, _ := idempotency.FromContext(ctx)
	var out loyalty.Result
	err := s.w.Update(ctx, func(btx *bolt.Tx) error {
		out = nil
		t := s.begin(btx, tenant)
		t.write = true
		rebuild := false
		if key.RequestID != "" {
			var rec storagev1.ResultRecord
			hit, err := idempotency.Replay(btx, key, &rec)
			if err != nil {
				return boltx.Unwritten(err)
			}
			if hit && !rec.GetRebuilt() {
				out, err = t.decodeResult(&rec)
				return err
			}
			rebuild = hit
		}
		res, events, err := fn(t)
		if err != nil {
			if !t.wrote {
				// Nothing is written yet: the rest of the writer's batch commits without a
				// rollback (many refusals in one batch would otherwise re-run it).
				return boltx.Unwritten(err)
			}
			return err
		}
		if err := t.flush(events); err != nil {
			return err
		}
		if key.RequestID != "" && !rebuild {
			rec, err := s.codec.encodeResult(res)
			if err != nil {
				return err
			}
			if err := idempotency.SaveProto(btx, key, rec, t.now); err != nil {
				return err
			}
		}
		out = res
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// View implements loyalty.Store.
func (s *Store) View(ctx context.Context, tenant string, fn func(v loyalty.View) error) error {
	return s.db.View(ctx, func(btx *bolt.Tx) error { return fn(s.begin(btx, tenant)) })
}

// Apply runs fn on tenant's state in btx, a write transaction someone else owns (an event
// consumer's, which records in it what it applied), and saves what fn changed in btx.
func (s *Store) Apply(btx *bolt.Tx, tenant string, fn func(tx loyalty.Tx) error) error {
	t := s.begin(btx, tenant)
	t.write = true
	if err := fn(t); err != nil {
		return err
	}
	return t.flush(nil)
}

// Due implements loyalty.Store.
func (s *Store) Due(ctx context.Context, now time.Time, after []byte, limit int) ([]loyalty.DueAccount, bool, error) {
	bound := nanos(now)
	var out []loyalty.DueAccount
	more := false
	err := s.db.View(ctx, func(tx *bolt.Tx) error {
		out, more = out[:0], false
		c := tx.Bucket(bucketDue).Cursor()
		k, _ := c.First()
		if after != nil {
			if k, _ = c.Seek(after); k != nil && string(k) == string(after) {
				k, _ = c.Next()
			}
		}
		for ; k != nil; k, _ = c.Next() {
			at, tenant, member, ok := parseDueKey(k)
			if !ok {
				continue
			}
			if at > bound {
				return nil
			}
			if len(out) == limit {
				more = true
				return nil
			}
			out = append(out, loyalty.DueAccount{Tenant: tenant, Member: member, At: fromNanos(at), Cursor: append([]byte(nil), k...)})
		}
		return nil
	})
	if err != nil {
		return nil, false, fmt.Errorf("read the due index: %w", err)
	}
	return out, more, nil
}

// PruneRequests deletes up to limit idempotency records written before before and returns how
// many it deleted. Errors: storage errors.
func (s *Store) PruneRequests(ctx context.Context, before time.Time, limit int) (int, error) {
	var n int
	err := s.w.Update(ctx, func(tx *bolt.Tx) (err error) {
		n, err = idempotency.Prune(tx, before, limit)
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("prune request ids: %w", err)
	}
	return n, nil
}
