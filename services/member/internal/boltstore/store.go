// Package boltstore implements member.Store on bbolt (through pkg/boltx). Personal fields are
// sealed under a per-member data key (pkg/pii) kept wrapped in its own bucket, so deleting that
// key erases them (crypto-shredding); phone, email and identifiers are reserved and found through
// keyed blind indexes, never plaintext; each mutation checks and records its request_id
// (pkg/idempotency) and appends its event (pkg/eventlog) in its own transaction.
package boltstore

import (
	"errors"
	"fmt"
	"slices"

	bolt "go.etcd.io/bbolt"
	"google.golang.org/protobuf/proto"

	"github.com/huiyuan-dev/huiyuan/pkg/boltx"
	"github.com/huiyuan-dev/huiyuan/pkg/clock"
	"github.com/huiyuan-dev/huiyuan/pkg/eventlog"
	"github.com/huiyuan-dev/huiyuan/pkg/pii"
	"github.com/huiyuan-dev/huiyuan/services/member/internal/member"
	"github.com/huiyuan-dev/huiyuan/services/member/internal/membership"

	storagev1 "github.com/huiyuan-dev/huiyuan/gen/huiyuan/member/storage/v1"
)

// Buckets. Every key starts with boltx.TenantPrefix(tenant).
var (
	bucketMembers = []byte("members")                 // Key(tenant, id) -> MemberRecord
	bucketKeys    = []byte("member_data_keys")        // Key(tenant, id) -> wrapped data key
	bucketPhone   = []byte("member_phone_index")      // prefix + HMAC(phone) -> id
	bucketEmail   = []byte("member_email_index")      // prefix + HMAC(email) -> id
	bucketIdent   = []byte("member_identifier_index") // prefix + HMAC(type 0x00 value) -> id
)

// Blind-index kinds, part of the HMAC input so equal strings of different kinds never collide.
const (
	kindPhone      = "phone"
	kindEmail      = "email"
	kindIdentifier = "identifier"
)

// defaultScanLimit bounds the records one List call reads, so a filter that matches little never
// holds a read transaction for long; the caller gets a short page and a token to go on.
const defaultScanLimit = 5000

// Buckets returns the buckets the store itself uses (not the event log's nor idempotency's),
// for boltx.Open.
func Buckets() [][]byte {
	return slices.Concat([][]byte{bucketMembers, bucketKeys, bucketPhone, bucketEmail, bucketIdent}, tokenBuckets(), verificationBuckets(), membershipBuckets())
}

// Config holds a Store's dependencies; all are required.
type Config struct {
	DB      *boltx.DB     // reads
	Writer  boltx.Updater // writes: the group-commit Writer in production
	Keyring *pii.Keyring  // data keys and blind indexes
	Log     *eventlog.Log // the service's event log
	Clock   clock.Clock   // idempotency record times
}

// Store implements member.Store and membership.Store. It is safe for concurrent use.
type Store struct {
	db    *boltx.DB
	w     boltx.Updater
	keys  *pii.Keyring
	log   *eventlog.Log
	clock clock.Clock

	scanLimit int
	catalogs  catalogCache
}

var (
	_ member.Store     = (*Store)(nil)
	_ membership.Store = (*Store)(nil)
)

// New returns a Store. It fails when a dependency is missing.
func New(cfg Config) (*Store, error) {
	if cfg.DB == nil || cfg.Writer == nil || cfg.Keyring == nil || cfg.Log == nil || cfg.Clock == nil {
		return nil, errors.New("boltstore.New: missing dependency")
	}
	return &Store{db: cfg.DB, w: cfg.Writer, keys: cfg.Keyring, log: cfg.Log, clock: cfg.Clock, scanLimit: defaultScanLimit}, nil
}

var marshal = proto.MarshalOptions{Deterministic: true}

// scope names a member's data key; pii binds it into the wrapping, and it is the AAD of the
// sealed fields, so neither can be moved to another member.
func scope(tenant, id string) string { return tenant + "/members/" + id }

// indexKey is the key of blind index h in an index bucket.
func indexKey(tenant string, h []byte) []byte {
	return append(boltx.TenantPrefix(tenant), h...)
}

func (s *Store) index(tenant, kind, normalized string) []byte {
	return indexKey(tenant, s.keys.BlindIndex(tenant, kind, normalized))
}

func (s *Store) identIndex(tenant string, id member.Identifier) []byte {
	return indexKey(tenant, s.identHash(tenant, id))
}

// identHash is the blind index of an identifier, as its record keeps it.
func (s *Store) identHash(tenant string, id member.Identifier) []byte {
	return s.keys.BlindIndex(tenant, kindIdentifier, id.Type+"\x00"+id.Value)
}

// seal builds the record of m with its personal fields sealed under dk and its blind indexes.
func (s *Store) seal(tenant string, m *member.Member, dk *pii.DataKey) (*storagev1.MemberRecord, error) {
	rec := toRecord(m)
	plain, err := marshal.Marshal(toPersonal(m))
	if err != nil {
		return nil, fmt.Errorf("marshal personal data: %w", err)
	}
	if rec.SealedPersonal, err = dk.Seal(plain, []byte(scope(tenant, m.ID))); err != nil {
		return nil, fmt.Errorf("seal personal data: %w", err)
	}
	if m.Phone != "" {
		rec.PhoneIndex = s.keys.BlindIndex(tenant, kindPhone, m.Phone)
	}
	if m.Email != "" {
		rec.EmailIndex = s.keys.BlindIndex(tenant, kindEmail, m.Email)
	}
	for i, id := range m.Identifiers {
		rec.Identifiers[i].Index = s.identHash(tenant, id)
	}
	return rec, nil
}

// open decrypts the personal fields of rec into m with the wrapped data key. A missing key
// means the member was erased: m keeps no personal data.
func (s *Store) open(tenant string, rec *storagev1.MemberRecord, wrapped []byte, m *member.Member) (*pii.DataKey, error) {
	if wrapped == nil || len(rec.GetSealedPersonal()) == 0 {
		return nil, nil
	}
	sc := scope(tenant, rec.GetId())
	dk, err := s.keys.OpenDataKey(sc, wrapped)
	if err != nil {
		return nil, fmt.Errorf("open data key of member %s: %w", rec.GetId(), err)
	}
	plain, err := dk.Open(rec.GetSealedPersonal(), []byte(sc))
	if err != nil {
		return nil, fmt.Errorf("open personal data of member %s: %w", rec.GetId(), err)
	}
	var p storagev1.PersonalData
	if err := proto.Unmarshal(plain, &p); err != nil {
		return nil, fmt.Errorf("decode personal data of member %s: %w", rec.GetId(), err)
	}
	if err := applyPersonal(m, &p); err != nil {
		return nil, err
	}
	return dk, nil
}

// claim points idx at id, or fails with ExistsError when another member holds it.
func claim(b *bolt.Bucket, idx []byte, id, kind, field, idType string) error {
	if cur := b.Get(idx); cur != nil && string(cur) != id {
		return member.ExistsError(kind, field, idType)
	}
	return b.Put(idx, []byte(id))
}

// release drops idx when it points at id.
func release(b *bolt.Bucket, idx []byte, id string) error {
	if len(idx) == 0 {
		return nil
	}
	if cur := b.Get(idx); cur != nil && string(cur) == id {
		return b.Delete(idx)
	}
	return nil
}

// answerAAD binds a sealed answer to its member and purpose, so it cannot pass for the member's
// personal data or another member's answer.
func answerAAD(tenant, id string) []byte { return []byte(scope(tenant, id) + "/answer") }

// answer is the stored answer of a mutation that left member id's record as raw: sealed under
// dk when there is one, so that erasure shreds it; in the clear otherwise (an erasure's answer,
// which holds nothing personal).
func (s *Store) answer(tenant, id string, raw []byte, dk *pii.DataKey) ([]byte, error) {
	a := &storagev1.MemberAnswer{MemberId: id}
	if dk == nil {
		a.Record = &storagev1.MemberRecord{}
		if err := proto.Unmarshal(raw, a.Record); err != nil {
			return nil, fmt.Errorf("decode member %s: %w", id, err)
		}
	} else {
		sealed, err := dk.Seal(raw, answerAAD(tenant, id))
		if err != nil {
			return nil, fmt.Errorf("seal answer: %w", err)
		}
		a.SealedRecord = sealed
	}
	b, err := marshal.Marshal(a)
	if err != nil {
		return nil, fmt.Errorf("marshal answer: %w", err)
	}
	return b, nil
}

// replay answers a retried request from the answer stored with its request_id. When the
// member was erased since, the answer is unreadable and the retry gets the erased member as it
// is now: nothing personal, and nothing done twice.
func (s *Store) replay(tx *bolt.Tx, tenant string, stored []byte) (*member.Member, error) {
	var a storagev1.MemberAnswer
	if err := proto.Unmarshal(stored, &a); err != nil {
		return nil, fmt.Errorf("decode idempotent result: %w", err)
	}
	id := a.GetMemberId()
	key := boltx.Key(tenant, id)
	if a.GetRecord() != nil {
		return fromRecord(a.GetRecord()), nil
	}
	wrapped := tx.Bucket(bucketKeys).Get(key)
	if wrapped == nil {
		_, m, _, err := s.load(tx, tenant, id, false)
		return m, err
	}
	dk, err := s.keys.OpenDataKey(scope(tenant, id), wrapped)
	if err != nil {
		return nil, fmt.Errorf("open data key of member %s: %w", id, err)
	}
	raw, err := dk.Open(a.GetSealedRecord(), answerAAD(tenant, id))
	if err != nil {
		return nil, fmt.Errorf("open stored answer of member %s: %w", id, err)
	}
	var rec storagev1.MemberRecord
	if err := proto.Unmarshal(raw, &rec); err != nil {
		return nil, fmt.Errorf("decode stored answer of member %s: %w", id, err)
	}
	m := fromRecord(&rec)
	if _, err := s.open(tenant, &rec, wrapped, m); err != nil {
		return nil, err
	}
	return m, nil
}

// appendEvent records ev in the event log within tx.
func (s *Store) appendEvent(tx *bolt.Tx, tenant string, ev member.Event, m *member.Member) error {
	typ, payload, err := toEvent(ev, m)
	if err != nil {
		return err
	}
	if _, err := s.log.Append(tx, tenant, typ, payload, m.UpdateTime); err != nil {
		return fmt.Errorf("append %s: %w", typ, err)
	}
	if sc, ok := ev.(member.StatusChanged); ok && sc.Revoked != nil {
		return s.revoke(tx, tenant, *sc.Revoked)
	}
	return nil
}

// load reads member id in tx; with personal it also opens its data key and personal fields.
func (s *Store) load(tx *bolt.Tx, tenant, id string, personal bool) (*storagev1.MemberRecord, *member.Member, *pii.DataKey, error) {
	key := boltx.Key(tenant, id)
	var rec storagev1.MemberRecord
	found, err := boltx.GetProto(tx.Bucket(bucketMembers), key, &rec)
	if err != nil {
		return nil, nil, nil, err
	}
	if !found {
		return nil, nil, nil, member.NotFoundError(id)
	}
	m := fromRecord(&rec)
	if !personal {
		return &rec, m, nil, nil
	}
	dk, err := s.open(tenant, &rec, tx.Bucket(bucketKeys).Get(key), m)
	if err != nil {
		return nil, nil, nil, err
	}
	return &rec, m, dk, nil
}
