package boltstore

import (
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"
	"google.golang.org/protobuf/proto"

	"github.com/huiyuan-dev/huiyuan/pkg/boltx"
	"github.com/huiyuan-dev/huiyuan/services/loyalty/internal/ledger"
	"github.com/huiyuan-dev/huiyuan/services/loyalty/internal/loyalty"
	"github.com/huiyuan-dev/huiyuan/services/loyalty/internal/loyaltypb"

	storagev1 "github.com/huiyuan-dev/huiyuan/gen/huiyuan/loyalty/storage/v1"
	loyaltyv1 "github.com/huiyuan-dev/huiyuan/gen/huiyuan/loyalty/v1"
)

// wtx is the work of one request inside one write transaction for one tenant: it loads and
// saves books, posts transactions to the tenant's chain (caching the chain head between
// posts) and appends events. It lives for one run of a transaction function.
type wtx struct {
	s      *Store
	tx     *bolt.Tx
	tenant string
	set    *loyalty.Settings
	now    time.Time

	head *storagev1.ChainHeadRecord // nil until the first post loads it
	buf  []byte                     // scratch for hashing
}

func (s *Store) begin(tx *bolt.Tx, tenant string, set *loyalty.Settings, now time.Time) *wtx {
	return &wtx{s: s, tx: tx, tenant: tenant, set: set, now: now}
}

// book loads member's book, or a new empty one, and the due time (Unix nanoseconds, 0 for
// none) it is indexed under.
func (w *wtx) book(member string) (*ledger.Book, int64, error) {
	var rec storagev1.BookRecord
	found, err := boltx.GetProto(w.tx.Bucket(bucketBooks), boltx.Key(w.tenant, member), &rec)
	if err != nil {
		return nil, 0, fmt.Errorf("load book of member %s: %w", member, err)
	}
	if !found {
		return ledger.NewBook(member), 0, nil
	}
	return fromBookRecord(&rec), rec.GetDueTimeUnixNano(), nil
}

// saveBook forgets b's long-closed holds, stores it and moves its due-index entry from oldDue
// to its next due time.
func (w *wtx) saveBook(b *ledger.Book, oldDue int64) error {
	if w.set.KeepClosedHolds > 0 {
		b.ForgetClosedHolds(w.now.Add(-w.set.KeepClosedHolds))
	}
	return w.putBook(b, oldDue, nextDue(b, w.set.NoticeWithin))
}

// putBook stores b indexed as due at due (zero: nothing due), replacing the entry at oldDue.
func (w *wtx) putBook(b *ledger.Book, oldDue int64, due time.Time) error {
	raw, err := marshal.Marshal(toBookRecord(b, due))
	if err != nil {
		return fmt.Errorf("marshal book of member %s: %w", b.MemberID, err)
	}
	if err := w.tx.Bucket(bucketBooks).Put(boltx.Key(w.tenant, b.MemberID), raw); err != nil {
		return err
	}
	if n := nanos(due); n != oldDue {
		idx := w.tx.Bucket(bucketDue)
		if oldDue != 0 {
			if err := idx.Delete(dueKey(oldDue, w.tenant, b.MemberID)); err != nil {
				return err
			}
		}
		if n != 0 {
			if err := idx.Put(dueKey(n, w.tenant, b.MemberID), nil); err != nil {
				return err
			}
		}
	}
	return nil
}

// post records txns, which the last ledger operation posted to b (so b's balances are those
// after the last of them): each gets the tenant's next sequence and its chain hash, goes into
// the transaction log and the member's history, and is announced by an event. It returns
// them as posted.
func (w *wtx) post(b *ledger.Book, txns []ledger.Txn) ([]loyalty.Txn, error) {
	if len(txns) == 0 {
		return nil, nil
	}
	if w.head == nil {
		w.head = &storagev1.ChainHeadRecord{}
		if _, err := boltx.GetProto(w.tx.Bucket(bucketTxns), headKey(w.tenant), w.head); err != nil {
			return nil, fmt.Errorf("load chain head: %w", err)
		}
	}
	out := make([]loyalty.Txn, len(txns))
	// Available after each transaction, worked back from the book's final balance.
	avail := b.Balances[ledger.Available]
	for i := len(txns) - 1; i >= 0; i-- {
		out[i] = loyalty.Txn{Txn: txns[i], AvailableAfter: avail}
		avail -= txns[i].Delta(ledger.Available)
	}
	var prev [32]byte
	copy(prev[:], w.head.GetHash())
	seq := w.head.GetSequence()
	logB, histB := w.tx.Bucket(bucketTxns), w.tx.Bucket(bucketBooks)
	hist := historyPrefix(w.tenant, b.MemberID)
	for i := range out {
		t := &out[i]
		seq++
		t.Sequence = seq
		t.Hash, w.buf = linkHash(w.buf, prev, t)
		prev = t.Hash
		raw, err := marshal.Marshal(toTxnRecord(t))
		if err != nil {
			return nil, fmt.Errorf("marshal transaction: %w", err)
		}
		if err := logB.Put(txnKey(w.tenant, seq), raw); err != nil {
			return nil, err
		}
		if err := histB.Put(historyKey(hist, seq), nil); err != nil {
			return nil, err
		}
		if err := w.emit(loyaltypb.EventType(t.Kind), &loyaltyv1.PointsChangedEvent{
			Transaction: loyaltypb.Txn(t), AvailableAfter: t.AvailableAfter}, t.Time); err != nil {
			return nil, err
		}
	}
	w.head.Sequence, w.head.Hash = seq, append(w.head.Hash[:0:0], prev[:]...)
	if err := boltx.PutProto(logB, headKey(w.tenant), w.head); err != nil {
		return nil, fmt.Errorf("save chain head: %w", err)
	}
	return out, nil
}

// emit appends an event to the tenant's log in this transaction.
func (w *wtx) emit(eventType string, payload proto.Message, at time.Time) error {
	if w.s.noEvents {
		return nil
	}
	if _, err := w.s.log.Append(w.tx, w.tenant, eventType, payload, at); err != nil {
		return fmt.Errorf("append %s event: %w", eventType, err)
	}
	return nil
}

// last returns the last of posted: the operation's own transaction (settlements come first).
func last(posted []loyalty.Txn) loyalty.Txn {
	if len(posted) == 0 {
		return loyalty.Txn{}
	}
	return posted[len(posted)-1]
}
