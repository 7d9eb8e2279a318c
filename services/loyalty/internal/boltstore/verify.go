package boltstore

import (
	"bytes"
	"context"
	"encoding/hex"
	"fmt"

	bolt "go.etcd.io/bbolt"

	"github.com/huiyuan-dev/huiyuan/pkg/boltx"
	"github.com/huiyuan-dev/huiyuan/services/loyalty/internal/ledger"
	"github.com/huiyuan-dev/huiyuan/services/loyalty/internal/loyalty"

	storagev1 "github.com/huiyuan-dev/huiyuan/gen/huiyuan/loyalty/storage/v1"
)

// Verification reads in pages so no read transaction lasts long (a long one holds back the
// writer when the file grows), and reports at most maxProblems lines.
const (
	verifyTxnPage  = 2000
	verifyBookPage = 500
	maxProblems    = 1000
)

// verification is the state of one Verify run.
type verification struct {
	tenant    string
	members   map[string]*ledger.Verifier
	checked   map[string]bool
	problems  []string
	dropped   int
	txns      int64
	prev      [32]byte
	seq       uint64
	buf       []byte
	headSeq   uint64
	headHash  []byte
	bookCount int64
}

func (v *verification) problem(format string, args ...any) {
	if len(v.problems) == maxProblems {
		v.dropped++
		return
	}
	v.problems = append(v.problems, fmt.Sprintf(format, args...))
}

func (v *verification) verifier(member string) *ledger.Verifier {
	mv := v.members[member]
	if mv == nil {
		mv = ledger.NewVerifier(member)
		v.members[member] = mv
	}
	return mv
}

// Verify checks tenant's books and returns what it found. It walks the tenant's transactions
// in sequence order, checking that the sequence has no gaps, that each stored hash equals
// SHA-256(previous hash || the transaction's canonical bytes), and that the chain head
// matches the last link; it recomputes every member's balances from the postings
// (ledger.Verifier) and checks each stored book against them. Transactions committed while it
// runs are included for the books it reads after them. Errors: storage errors; inconsistencies
// are problems in the report, not errors.
func (s *Store) Verify(ctx context.Context, tenant string) (loyalty.VerifyReport, error) {
	v := &verification{tenant: tenant, members: map[string]*ledger.Verifier{}, checked: map[string]bool{}}
	err := s.db.View(ctx, func(tx *bolt.Tx) error {
		var head storagev1.ChainHeadRecord
		_, err := boltx.GetProto(tx.Bucket(bucketTxns), headKey(tenant), &head)
		v.headSeq, v.headHash = head.GetSequence(), head.GetHash()
		return err
	})
	if err != nil {
		return loyalty.VerifyReport{}, err
	}
	for v.seq < v.headSeq {
		before := v.seq
		if err := s.db.View(ctx, func(tx *bolt.Tx) error { return v.chainPage(tx) }); err != nil {
			return loyalty.VerifyReport{}, err
		}
		if v.seq == before {
			break // the rest of the chain is missing; chainPage reported it
		}
	}
	if v.seq != v.headSeq || (v.headSeq > 0 && !bytes.Equal(v.prev[:], v.headHash)) {
		v.problem("chain: head says sequence %d hash %s, the log ends at sequence %d hash %s",
			v.headSeq, hex.EncodeToString(v.headHash), v.seq, hex.EncodeToString(v.prev[:]))
	}
	var after []byte
	for {
		var more bool
		err := s.db.View(ctx, func(tx *bolt.Tx) (err error) {
			after, more, err = v.bookPage(tx, after)
			return err
		})
		if err != nil {
			return loyalty.VerifyReport{}, err
		}
		if !more {
			break
		}
	}
	for member := range v.members {
		if !v.checked[member] {
			v.problem("member %s: has transactions but no book", member)
		}
	}
	if v.dropped > 0 {
		v.problems = append(v.problems, fmt.Sprintf("... and %d more problems", v.dropped))
	}
	return loyalty.VerifyReport{OK: len(v.problems) == 0, Transactions: v.txns, Members: v.bookCount,
		Problems: v.problems, At: s.clock.Now().UTC()}, nil
}

// chainPage checks the next page of the chain, up to the head read at the start.
func (v *verification) chainPage(tx *bolt.Tx) error {
	prefix := boltx.TenantPrefix(v.tenant)
	c := tx.Bucket(bucketTxns).Cursor()
	n := 0
	for k, raw := c.Seek(txnKey(v.tenant, v.seq+1)); k != nil && bytes.HasPrefix(k, prefix); k, raw = c.Next() {
		if len(k) != len(prefix)+8 {
			return nil // the chain head, after every transaction
		}
		seq := boltx.ParseU64(k[len(prefix):])
		if n == verifyTxnPage || seq > v.headSeq {
			return nil
		}
		n++
		if seq != v.seq+1 {
			v.problem("chain: sequence %d follows %d: transactions are missing", seq, v.seq)
		}
		var rec storagev1.TransactionRecord
		if err := protoUnmarshal(raw, &rec); err != nil {
			v.problem("chain: transaction at sequence %d does not decode: the record was altered", seq)
			v.seq = seq
			continue
		}
		t := fromTxnRecord(&rec)
		if t.Sequence != seq {
			v.problem("chain: transaction %s is stored at sequence %d but says %d", t.ID, seq, t.Sequence)
		}
		var want [32]byte
		want, v.buf = linkHash(v.buf, v.prev, &t)
		if want != t.Hash {
			v.problem("chain: transaction %s (sequence %d): hash mismatch, the chain is broken here (the transaction or its predecessor was altered)", t.ID, seq)
		}
		v.prev, v.seq = t.Hash, seq
		v.txns++
		v.verifier(t.MemberID).Add(t.Txn)
	}
	return nil
}

// bookPage checks the next page of books after the key after; it returns the last key read
// and whether more books may follow.
func (v *verification) bookPage(tx *bolt.Tx, after []byte) ([]byte, bool, error) {
	prefix := boltx.TenantPrefix(v.tenant)
	c := tx.Bucket(bucketBooks).Cursor()
	// skip moves past a member's history entries (Key(tenant, member) + 0x00 + ...) to the
	// next book: member ids never hold control characters, so no id starts with member+0x01.
	skip := func(k []byte) ([]byte, []byte) { return c.Seek(append(bytes.Clone(k), 1)) }
	k, raw := c.Seek(prefix)
	if after != nil {
		k, raw = skip(after)
	}
	for n := 0; k != nil && bytes.HasPrefix(k, prefix); k, raw = skip(k) {
		if n == verifyBookPage {
			return after, true, nil
		}
		n++
		rest := k[len(prefix):]
		if i := bytes.IndexByte(rest, 0); i >= 0 {
			// History without a book: the loop skips past it after this.
			k = k[:len(prefix)+i]
			after = bytes.Clone(k)
			continue
		}
		after = bytes.Clone(k)
		member := string(rest)
		v.checked[member] = true
		var rec storagev1.BookRecord
		if err := protoUnmarshal(raw, &rec); err != nil {
			v.problem("member %s: book does not decode", member)
			continue
		}
		mv := v.verifier(member)
		v.newerTxns(tx, member, mv)
		for _, p := range mv.Check(fromBookRecord(&rec)) {
			v.problem("member %s: %s", member, p.String())
		}
		v.bookCount++
	}
	return after, false, nil
}

// newerTxns feeds mv the member's transactions committed after the chain walk's head, from
// the same snapshot as the book, so the book is compared with all its postings.
func (v *verification) newerTxns(tx *bolt.Tx, member string, mv *ledger.Verifier) {
	prefix := historyPrefix(v.tenant, member)
	var seqs []uint64 // newest first
	c := tx.Bucket(bucketBooks).Cursor()
	for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix) && len(k) == len(prefix)+8; k, _ = c.Next() {
		seq := historySeq(k, len(prefix))
		if seq <= v.headSeq {
			break
		}
		seqs = append(seqs, seq)
	}
	logB := tx.Bucket(bucketTxns)
	for i := len(seqs) - 1; i >= 0; i-- {
		var rec storagev1.TransactionRecord
		found, err := boltx.GetProto(logB, txnKey(v.tenant, seqs[i]), &rec)
		switch {
		case err != nil:
			v.problem("member %s: transaction at sequence %d does not decode", member, seqs[i])
		case found:
			mv.Add(fromTxnRecord(&rec).Txn)
		}
	}
}
