package loyalty

import (
	"context"
	"encoding/hex"
	"fmt"

	"github.com/huiyuan-dev/huiyuan/services/loyalty/internal/ledger"
)

// Verification reads in pages so no read transaction lasts long (a long one holds back the
// writer when the file grows), and reports at most maxProblems lines.
const (
	verifyEntryPage   = 2000
	verifyAccountPage = 500
	maxProblems       = 1000
)

// verification is the state of one Verify run.
type verification struct {
	members  map[string]*ledger.Verifier
	checked  map[string]bool
	problems []string
	dropped  int
	rep      VerifyReport
	prev     [32]byte
	seq      uint64
	buf      []byte
	head     Head
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

// Verify checks tenant's books and returns what it found. It walks the journal in sequence
// order, checking that the sequence has no gaps, that each stored hash equals SHA-256(previous
// hash ‖ the entry's canonical bytes), and that the chain head matches the last link; it
// recomputes every member's balances from the postings (ledger.Verifier) and checks each
// stored book against them. Entries committed while it runs are included for the accounts it
// reads after them. Errors: storage errors; inconsistencies are problems in the report.
func (s *Service) Verify(ctx context.Context, tenant string) (*VerifyReport, error) {
	v := &verification{members: map[string]*ledger.Verifier{}, checked: map[string]bool{}}
	err := s.store.View(ctx, tenant, func(view View) (err error) {
		v.head, err = view.Head()
		return err
	})
	if err != nil {
		return nil, err
	}
	for v.seq < v.head.Sequence {
		before := v.seq
		if err := s.store.View(ctx, tenant, v.entryPage); err != nil {
			return nil, err
		}
		if v.seq == before {
			break // the rest of the journal is missing; entryPage reported it
		}
	}
	if v.seq != v.head.Sequence || (v.head.Sequence > 0 && v.prev != v.head.Hash) {
		v.problem("chain: head says sequence %d hash %s, the journal ends at sequence %d hash %s",
			v.head.Sequence, hex.EncodeToString(v.head.Hash[:]), v.seq, hex.EncodeToString(v.prev[:]))
	}
	for after, more := "", true; more; {
		err := s.store.View(ctx, tenant, func(view View) (err error) {
			after, more, err = v.accountPage(view, after)
			return err
		})
		if err != nil {
			return nil, err
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
	v.rep.OK, v.rep.Problems, v.rep.At = len(v.problems) == 0, v.problems, s.now()
	return &v.rep, nil
}

// entryPage checks the next page of the journal, up to the head read at the start.
func (v *verification) entryPage(view View) error {
	page, err := view.Entries(v.seq, verifyEntryPage)
	if err != nil {
		return err
	}
	for _, se := range page {
		if se.Sequence > v.head.Sequence {
			return nil
		}
		if se.Sequence != v.seq+1 {
			v.problem("chain: sequence %d follows %d: entries are missing", se.Sequence, v.seq)
		}
		e := se.Entry
		if e == nil {
			v.problem("chain: the entry at sequence %d does not decode: the record was altered", se.Sequence)
			v.seq = se.Sequence
			continue
		}
		var want [32]byte
		want, v.buf = Link(v.buf, v.prev, e)
		if want != e.Hash {
			v.problem("chain: entry %d: hash mismatch, the chain is broken here (the entry or its predecessor was altered)", se.Sequence)
		}
		v.prev, v.seq = e.Hash, se.Sequence
		v.rep.Entries++
		if e.Txn != nil {
			v.rep.Transactions++
			v.verifier(e.MemberID).Add(*e.Txn)
		}
	}
	return nil
}

// accountPage checks the next page of accounts after member after; it returns the last member
// read and whether more may follow.
func (v *verification) accountPage(view View, after string) (string, bool, error) {
	page, err := view.Accounts(after, verifyAccountPage)
	if err != nil {
		return after, false, err
	}
	for _, sa := range page {
		after = sa.MemberID
		if sa.Account == nil {
			v.problem("member %s: account does not decode", sa.MemberID)
			continue
		}
		a := sa.Account
		if a.LastSequence == 0 && len(a.Book.Balances) == 0 && len(a.Book.Lots) == 0 {
			continue // an account with no book yet (only a tier or a check-in)
		}
		v.checked[a.MemberID] = true
		mv := v.verifier(a.MemberID)
		if err := v.newerEntries(view, a, mv); err != nil {
			return after, false, err
		}
		for _, p := range mv.Check(a.Book) {
			v.problem("member %s: %s", a.MemberID, p.String())
		}
		v.rep.Members++
	}
	return after, len(page) == verifyAccountPage, nil
}

// newerEntries feeds mv the member's transactions committed after the head the walk stopped
// at, from the same snapshot as the account, so the book is compared with all its postings.
func (v *verification) newerEntries(view View, a *Account, mv *ledger.Verifier) error {
	var newer []*Entry // newest first
	for seq := a.LastSequence; seq > v.head.Sequence; {
		e, err := view.Entry(seq)
		if err != nil {
			return err
		}
		if e == nil || e.Txn == nil || e.MemberID != a.MemberID {
			v.problem("member %s: its history names entry %d, which is not one of its transactions", a.MemberID, seq)
			return nil
		}
		newer = append(newer, e)
		seq = e.MemberPrevious
	}
	for i := len(newer) - 1; i >= 0; i-- {
		mv.Add(*newer[i].Txn)
	}
	return nil
}
