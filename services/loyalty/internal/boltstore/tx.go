package boltstore

import (
	"bytes"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"
	"google.golang.org/protobuf/proto"

	"github.com/huiyuan-dev/huiyuan/pkg/boltx"
	"github.com/huiyuan-dev/huiyuan/services/loyalty/internal/loyalty"

	storagev1 "github.com/huiyuan-dev/huiyuan/gen/huiyuan/loyalty/storage/v1"
)

// tx implements loyalty.Tx (and loyalty.View) over one bbolt transaction for one tenant. It
// lives for one run of a transaction function: accounts load once and are written when the
// update flushes, however many times the domain saved them.
type tx struct {
	s      *Store
	btx    *bolt.Tx
	tenant string
	now    time.Time
	write  bool  // an update's: accounts load with some lots hidden (lots.go)
	err    error // a read the domain could not be told of failed (lotSource): flush fails

	accounts map[string]*accountState
	saved    []*accountState // in the order first saved, so writes are deterministic
	head     *loyalty.Head   // nil until loaded
	headSet  bool            // the head moved and is written at flush
	wrote    bool            // something was put: a failure must roll back

	scratch []byte // encoding buffer, reused
	arena   []byte // values handed to bbolt, which keeps them until the commit
}

// fail records the first error of a read that could not return one; flush returns it.
func (t *tx) fail(err error) {
	if t.err == nil {
		t.err = err
	}
}

// arenaChunk bounds the chunks values are carved from: a lone order takes one small chunk, a
// batch a few large ones.
const (
	arenaFirst = 1 << 10
	arenaMax   = 64 << 10
)

// keep copies v into the transaction's arena and returns the copy. bbolt keeps a reference to
// every value until the commit, so values must not share the reused scratch buffer; carving
// them from chunks costs one allocation per chunk instead of one per value.
func (t *tx) keep(v []byte) []byte {
	if cap(t.arena)-len(t.arena) < len(v) {
		size := min(max(2*cap(t.arena), arenaFirst), arenaMax)
		t.arena = make([]byte, 0, max(size, len(v)))
	}
	n := len(t.arena)
	t.arena = append(t.arena, v...)
	return t.arena[n:len(t.arena):len(t.arena)]
}

// putRaw writes an encoded value.
func (t *tx) putRaw(b *bolt.Bucket, key, v []byte) error {
	t.wrote = true
	return b.Put(key, t.keep(v))
}

// accountState is an account loaded by a tx, with the due time it is indexed under.
type accountState struct {
	a       *loyalty.Account
	indexed int64 // due nanos in the index; 0: none
	dirty   bool
	lots    lotsState
}

var _ loyalty.Tx = (*tx)(nil)

func (s *Store) begin(btx *bolt.Tx, tenant string) *tx {
	return &tx{s: s, btx: btx, tenant: tenant, now: s.clock.Now().UTC()}
}

func (t *tx) bucket(name []byte) *bolt.Bucket { return t.btx.Bucket(name) }

// put writes a value and remembers that the transaction is no longer clean.
func (t *tx) put(b *bolt.Bucket, key []byte, m proto.Message) error {
	t.wrote = true
	return boltx.PutProto(b, key, m)
}

// cachedSettings are the settings compiled from one stored encoding of a tenant's policy.
type cachedSettings struct {
	raw []byte
	set *loyalty.Settings
}

// Settings implements loyalty.View. Compiled settings are cached per tenant and reused while
// the stored bytes are unchanged, so an update pays one lookup and one comparison, and a policy
// update (or a rolled-back one) can never leave a stale entry in use.
func (t *tx) Settings() (*loyalty.Settings, bool, error) {
	raw := t.bucket(bucketPolicies).Get([]byte(t.tenant))
	if raw == nil {
		return nil, false, nil
	}
	if c, ok := t.s.cache.Load(t.tenant); ok {
		if c := c.(*cachedSettings); bytes.Equal(c.raw, raw) {
			return c.set, true, nil
		}
	}
	var rec storagev1.PolicyRecord
	if err := proto.Unmarshal(raw, &rec); err != nil {
		return nil, false, fmt.Errorf("decode the policy of tenant %s: %w", t.tenant, err)
	}
	set, err := fromPolicyRecord(&rec).Compile()
	if err != nil {
		return nil, false, fmt.Errorf("the stored policy of tenant %s: %w", t.tenant, err)
	}
	t.s.cache.Store(t.tenant, &cachedSettings{raw: bytes.Clone(raw), set: set})
	return set, true, nil
}

// TierMultiplier implements loyalty.View.
func (t *tx) TierMultiplier(tier string) (int64, bool, error) {
	v := t.bucket(bucketTierMultipliers).Get(boltx.Key(t.tenant, tier))
	if len(v) != 8 {
		return 0, false, nil
	}
	return int64(boltx.ParseU64(v)), true, nil
}

// SaveTierMultiplier implements loyalty.Tx.
func (t *tx) SaveTierMultiplier(tier string, percent int64) error {
	return t.bucket(bucketTierMultipliers).Put(boltx.Key(t.tenant, tier), boltx.U64(uint64(percent)))
}

// DeleteTierMultiplier implements loyalty.Tx.
func (t *tx) DeleteTierMultiplier(tier string) error {
	return t.bucket(bucketTierMultipliers).Delete(boltx.Key(t.tenant, tier))
}

// SavePolicy implements loyalty.Tx.
func (t *tx) SavePolicy(p loyalty.Policy) error {
	return t.put(t.bucket(bucketPolicies), []byte(t.tenant), toPolicyRecord(&p))
}

// Account implements loyalty.View.
func (t *tx) Account(member string) (*loyalty.Account, error) {
	if st, ok := t.accounts[member]; ok {
		return st.a, nil
	}
	st, err := t.loadAccount(member, !t.write)
	if err != nil {
		return nil, err
	}
	if t.accounts == nil {
		t.accounts = make(map[string]*accountState, 4)
	}
	t.accounts[member] = st
	return st.a, nil
}

// loadAccount reads member's account with all its lots when whole, else with those an
// update may touch (lots.go).
func (t *tx) loadAccount(member string, whole bool) (*accountState, error) {
	raw := t.bucket(bucketAccounts).Get(boltx.Key(t.tenant, member))
	st := &accountState{a: loyalty.NewAccount(member)}
	precede := false
	if raw != nil {
		a, p, err := t.s.codec.decodeAccount(member, raw)
		if err != nil {
			return nil, err
		}
		st.a, st.indexed, precede = a, nanos(a.Due), p
	}
	if err := t.loadLots(st, whole || t.s.lotWindow < 0, precede, t.s.lotWindow); err != nil {
		return nil, fmt.Errorf("the account of member %s: %w", member, err)
	}
	return st, nil
}

// SaveAccount implements loyalty.Tx.
func (t *tx) SaveAccount(a *loyalty.Account) {
	st := t.accounts[a.MemberID]
	if st == nil || st.a != a {
		// Not loaded through this tx: take it as given, indexed nowhere yet, its lots
		// replacing any stored.
		st = &accountState{a: a, lots: lotsState{unknown: true}}
		if t.accounts == nil {
			t.accounts = make(map[string]*accountState, 4)
		}
		t.accounts[a.MemberID] = st
	}
	if !st.dirty {
		st.dirty = true
		t.saved = append(t.saved, st)
	}
}

// Head implements loyalty.View.
func (t *tx) Head() (loyalty.Head, error) {
	if t.head == nil {
		var rec storagev1.ChainHeadRecord
		if _, err := boltx.GetProto(t.bucket(bucketJournal), headKey(t.tenant), &rec); err != nil {
			return loyalty.Head{}, fmt.Errorf("load the chain head: %w", err)
		}
		h := loyalty.Head{Sequence: rec.GetSequence()}
		copy(h.Hash[:], rec.GetHash())
		t.head = &h
	}
	return *t.head, nil
}

// Append implements loyalty.Tx.
func (t *tx) Append(e *loyalty.Entry) error {
	if e.Txn != nil && e.MemberID != "" {
		if _, err := t.Account(e.MemberID); err != nil {
			return err
		}
		st := t.accounts[e.MemberID]
		e.MemberPrevious, st.a.LastSequence = st.a.LastSequence, e.Sequence
		t.SaveAccount(st.a)
	}
	journal := t.bucket(bucketJournal)
	journal.FillPercent = appendFill
	t.scratch = t.s.codec.appendEntry(t.scratch[:0], e)
	if err := t.putRaw(journal, entryKey(t.tenant, e.Sequence), t.scratch); err != nil {
		return fmt.Errorf("append entry %d: %w", e.Sequence, err)
	}
	if e.Order != nil {
		if err := t.put(t.bucket(bucketOrders), boltx.Key(t.tenant, e.Order.ID), &storagev1.OrderIndexRecord{Sequence: e.Sequence}); err != nil {
			return fmt.Errorf("index order %s: %w", e.Order.ID, err)
		}
	}
	t.head, t.headSet = &loyalty.Head{Sequence: e.Sequence, Hash: e.Hash}, true
	return nil
}

// Entry implements loyalty.View.
func (t *tx) Entry(seq uint64) (*loyalty.Entry, error) {
	raw := t.bucket(bucketJournal).Get(entryKey(t.tenant, seq))
	if raw == nil {
		return nil, nil
	}
	return t.decodeEntry(seq, raw)
}

func (t *tx) decodeEntry(seq uint64, raw []byte) (*loyalty.Entry, error) {
	var rec storagev1.EntryRecord
	if err := proto.Unmarshal(raw, &rec); err != nil {
		return nil, fmt.Errorf("decode journal entry %d: %w", seq, err)
	}
	e, err := t.s.codec.fromEntryRecord(seq, &rec)
	if err != nil {
		return nil, fmt.Errorf("decode journal entry %d: %w", seq, err)
	}
	return e, nil
}

// Entries implements loyalty.View.
func (t *tx) Entries(after uint64, limit int) ([]loyalty.StoredEntry, error) {
	prefix := boltx.TenantPrefix(t.tenant)
	var out []loyalty.StoredEntry
	c := t.bucket(bucketJournal).Cursor()
	for k, v := c.Seek(entryKey(t.tenant, after+1)); k != nil && bytes.HasPrefix(k, prefix) && len(out) < limit; k, v = c.Next() {
		seq, ok := entrySeq(k, len(prefix))
		if !ok {
			break // the head, after every entry
		}
		e, err := t.decodeEntry(seq, v)
		if err != nil {
			e = nil // the domain reports an entry that does not decode
		}
		out = append(out, loyalty.StoredEntry{Sequence: seq, Entry: e})
	}
	return out, nil
}

// Order implements loyalty.View: the order as its entry recorded it, with the index's refunds.
func (t *tx) Order(id string) (*loyalty.Order, error) {
	var idx storagev1.OrderIndexRecord
	found, err := boltx.GetProto(t.bucket(bucketOrders), boltx.Key(t.tenant, id), &idx)
	if err != nil || !found {
		return nil, err
	}
	e, err := t.Entry(idx.GetSequence())
	if err != nil {
		return nil, err
	}
	if e == nil || e.Order == nil || e.Order.ID != id {
		return nil, fmt.Errorf("order %s: its entry %d is missing or records another order", id, idx.GetSequence())
	}
	o := e.Order
	o.RefundedMinor, o.PointsReversed, o.PointsToDebt, o.RefundCount =
		idx.GetRefundedMinor(), idx.GetPointsReversed(), idx.GetPointsToDebt(), idx.GetRefundCount()
	return o, nil
}

// SaveRefunds implements loyalty.Tx.
func (t *tx) SaveRefunds(o *loyalty.Order) error {
	return t.put(t.bucket(bucketOrders), boltx.Key(t.tenant, o.ID), &storagev1.OrderIndexRecord{Sequence: o.Sequence,
		RefundedMinor: o.RefundedMinor, PointsReversed: o.PointsReversed, PointsToDebt: o.PointsToDebt, RefundCount: o.RefundCount})
}

// Accounts implements loyalty.View.
func (t *tx) Accounts(after string, limit int) ([]loyalty.StoredAccount, error) {
	prefix := boltx.TenantPrefix(t.tenant)
	var out []loyalty.StoredAccount
	c := t.bucket(bucketAccounts).Cursor()
	k, _ := c.Seek(prefix)
	if after != "" {
		start := boltx.Key(t.tenant, after)
		if k, _ = c.Seek(start); k != nil && bytes.Equal(k, start) {
			k, _ = c.Next()
		}
	}
	for ; k != nil && bytes.HasPrefix(k, prefix) && len(out) < limit; k, _ = c.Next() {
		member := string(k[len(prefix):])
		st, err := t.loadAccount(member, true)
		sa := loyalty.StoredAccount{MemberID: member}
		if err == nil {
			sa.Account = st.a
		}
		out = append(out, sa)
	}
	return out, nil
}

// saveAccount writes st's account record and the lots that changed.
func (t *tx) saveAccount(accounts *bolt.Bucket, st *accountState) error {
	tail := st.lots.recordTail(st.a.Book)
	if err := t.saveLots(st, len(tail)); err != nil {
		return err
	}
	st.lots.recordFrom = nil
	if len(tail) > 0 {
		st.lots.recordFrom = lotKey(nil, &tail[0])
	}
	t.scratch = t.s.codec.appendAccount(t.scratch[:0], st.a, tail)
	return t.putRaw(accounts, boltx.Key(t.tenant, st.a.MemberID), t.scratch)
}

// flush writes the saved accounts (moving their due-index entries) and the chain head, and
// appends the events.
func (t *tx) flush(events []loyalty.Event) error {
	if t.err != nil {
		return t.err
	}
	accounts, due := t.bucket(bucketAccounts), t.bucket(bucketDue)
	for _, st := range t.saved {
		a := st.a
		if err := t.saveAccount(accounts, st); err != nil {
			return fmt.Errorf("save the account of member %s: %w", a.MemberID, err)
		}
		if n := nanos(a.Due); n != st.indexed {
			if st.indexed != 0 {
				if err := due.Delete(dueKey(st.indexed, t.tenant, a.MemberID)); err != nil {
					return err
				}
			}
			if n != 0 {
				if err := due.Put(dueKey(n, t.tenant, a.MemberID), nil); err != nil {
					return err
				}
			}
			st.indexed = n
		}
		st.dirty = false
	}
	t.saved = t.saved[:0]
	if t.headSet {
		h := t.head
		if err := t.put(t.bucket(bucketJournal), headKey(t.tenant), &storagev1.ChainHeadRecord{Sequence: h.Sequence, Hash: h.Hash[:]}); err != nil {
			return fmt.Errorf("save the chain head: %w", err)
		}
		t.headSet = false
	}
	return t.emit(events)
}
