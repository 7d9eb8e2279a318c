// Package boltstore keeps the loyalty service's books on bbolt (through pkg/boltx) and runs its
// use cases: every request is one write transaction that loads the member's ledger.Book, applies
// one ledger operation, and saves the book together with the transactions it posted (appended
// to the tenant's hash chain and the member's history index), the order, the events
// (pkg/eventlog) and the request_id's answer (pkg/idempotency).
//
// Serialisation: every write goes through the one boltx.Updater (the group-commit Writer in
// production), and bbolt runs one read-write transaction at a time, so operations on a member's
// book never interleave: each one sees the book exactly as the previous one committed it. That
// is what keeps a balance from going below zero under any number of concurrent callers; no
// per-member lock is needed.
package boltstore

import (
	"errors"
	"log/slog"
	"sync"

	"google.golang.org/protobuf/proto"

	"github.com/huiyuan-dev/huiyuan/pkg/boltx"
	"github.com/huiyuan-dev/huiyuan/pkg/clock"
	"github.com/huiyuan-dev/huiyuan/pkg/eventlog"
	"github.com/huiyuan-dev/huiyuan/services/loyalty/internal/loyalty"
)

// Buckets. Keys start with boltx.TenantPrefix(tenant), except the due index's, which start
// with the due time so the job finds due work of every tenant in one ordered scan.
var (
	// Key(tenant, member) -> BookRecord, followed by the member's history:
	// Key(tenant, member) + 0x00 + U64(^sequence) -> empty, newest first. A new history entry
	// lands next to the book it was posted with, so a request dirties one page for both.
	bucketBooks = []byte("loyalty_books")
	// Key(tenant, order) -> OrderRecord.
	bucketOrders = []byte("loyalty_orders")
	// TenantPrefix(tenant) + U64(sequence) -> TransactionRecord, then the chain head
	// TenantPrefix(tenant) + 9 × 0xff -> ChainHeadRecord, on the page the log appends to.
	bucketTxns = []byte("loyalty_txns")
	// U64(due unix nanos) + tenant + 0x00 + member -> empty.
	bucketDue = []byte("loyalty_due")
	// Key(tenant, member) -> check-in state (checkInRecord, JSON).
	bucketCheckIns = []byte("loyalty_checkins")
	// Key(tenant, reward) -> loyaltyv1.Reward.
	bucketRewards = []byte("loyalty_rewards")
	// Key(tenant, redemption) -> loyaltyv1.RewardRedemption.
	bucketRedemptions = []byte("loyalty_redemptions")
	// Key(tenant, member) + 0x00 + redemption id (UUIDv7, time-ordered) -> empty.
	bucketMemberRedemptions = []byte("loyalty_member_redemptions")
	// tenant -> loyaltyv1.LoyaltyPolicy, for tenants that set their own.
	bucketPolicies = []byte("loyalty_policies")
	// Key(tenant, member) -> tier id, as the member service's events last said; members
	// without a tier have no entry.
	bucketMemberTiers = []byte("loyalty_member_tiers")
	// Key(tenant, tier) -> U64 points multiplier in percent, as the member service's
	// tier_defined events last said; tiers it deleted have no entry.
	bucketTierMultipliers = []byte("loyalty_tier_multipliers")
)

// Buckets returns the buckets the store itself uses (not the event log's nor idempotency's),
// for boltx.Open.
func Buckets() [][]byte {
	return [][]byte{bucketBooks, bucketOrders, bucketTxns, bucketDue, bucketCheckIns, bucketRewards, bucketRedemptions, bucketMemberRedemptions, bucketPolicies,
		bucketMemberTiers, bucketTierMultipliers}
}

// SettingsFunc returns the settings of a tenant that stored no policy of its own. It must be
// cheap and safe for concurrent use: it is called once per request.
type SettingsFunc func(tenant string) (*loyalty.Settings, error)

// Config holds a Store's dependencies; all but Logger are required.
type Config struct {
	DB       *boltx.DB     // reads
	Writer   boltx.Updater // writes: the group-commit Writer in production
	Log      *eventlog.Log // the service's event log
	Clock    clock.Clock
	Settings SettingsFunc // the defaults
	Policies Policies     // tenants' own policies
	Logger   *slog.Logger // nil discards
}

// Store runs the loyalty use cases on bbolt. It is safe for concurrent use.
type Store struct {
	db       *boltx.DB
	w        boltx.Updater
	log      *eventlog.Log
	clock    clock.Clock
	settings SettingsFunc
	policies Policies
	cache    sync.Map // tenant -> *cachedSettings
	logger   *slog.Logger

	noEvents bool // benchmarks only: measure what the event log costs
}

// New returns a Store. It fails when a required dependency is missing.
func New(cfg Config) (*Store, error) {
	if cfg.DB == nil || cfg.Writer == nil || cfg.Log == nil || cfg.Clock == nil || cfg.Settings == nil ||
		cfg.Policies.Default == nil || cfg.Policies.Build == nil {
		return nil, errors.New("boltstore.New: missing dependency")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return &Store{db: cfg.DB, w: cfg.Writer, log: cfg.Log, clock: cfg.Clock, settings: cfg.Settings,
		policies: cfg.Policies, logger: cfg.Logger}, nil
}

var marshal = proto.MarshalOptions{Deterministic: true}
