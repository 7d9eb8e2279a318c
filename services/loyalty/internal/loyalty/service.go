package loyalty

import (
	"errors"
	"fmt"
	"time"

	"github.com/huiyuan-dev/huiyuan/pkg/apperr"
	"github.com/huiyuan-dev/huiyuan/pkg/clock"
	"github.com/huiyuan-dev/huiyuan/services/loyalty/internal/ledger"
)

// Service implements the loyalty use cases over a Store. It is safe for concurrent use.
type Service struct {
	store    Store
	clock    clock.Clock
	members  Members
	defaults *Settings // of tenants without a policy of their own
}

// NewService returns a Service that asks members about members it has not heard of. It fails
// on a nil dependency, or when DefaultPolicy does not validate (a programming error the tests
// catch).
func NewService(store Store, clk clock.Clock, members Members) (*Service, error) {
	if store == nil || clk == nil || members == nil {
		return nil, errors.New("loyalty.NewService: nil dependency")
	}
	def, err := DefaultPolicy().Compile()
	if err != nil {
		return nil, fmt.Errorf("loyalty.NewService: default policy: %w", err)
	}
	return &Service{store: store, clock: clk, members: members, defaults: def}, nil
}

// settings returns the tenant's settings as v sees them: its own policy's, or the defaults.
func (s *Service) settings(v View) (*Settings, error) {
	set, ok, err := v.Settings()
	if err != nil {
		return nil, err
	}
	if !ok {
		return s.defaults, nil
	}
	return set, nil
}

// now is the service's time, in UTC.
func (s *Service) now() time.Time { return s.clock.Now().UTC() }

// poster numbers, hashes and appends one update's journal entries and collects its events.
type poster struct {
	tx     Tx
	head   Head
	loaded bool
	buf    []byte
	events []Event
}

func newPoster(tx Tx) *poster { return &poster{tx: tx} }

// append gives e the tenant's next sequence and its chain link and appends it.
func (p *poster) append(e *Entry) error {
	if !p.loaded {
		h, err := p.tx.Head()
		if err != nil {
			return fmt.Errorf("load the journal head: %w", err)
		}
		p.head, p.loaded = h, true
	}
	e.Sequence = p.head.Sequence + 1
	e.Hash, p.buf = Link(p.buf, p.head.Hash, e)
	if e.Order != nil {
		e.Order.Sequence = e.Sequence
	}
	if err := p.tx.Append(e); err != nil {
		return err
	}
	p.head = Head{Sequence: e.Sequence, Hash: e.Hash}
	return nil
}

// fact appends an entry that posts no transaction (an order that earned nothing, a refund
// that took nothing back) and records its event.
func (p *poster) fact(e *Entry, ev func(e *Entry) Event) error {
	if err := p.append(e); err != nil {
		return err
	}
	p.events = append(p.events, ev(e))
	return nil
}

// postTxns appends an entry for each of txns, which the last ledger operation posted to a's
// book (so the book's balances are those after the last). fill, when not nil, completes the
// last entry (the order or refund it records) and returns the event that announces it; every
// other entry is announced by PointsChanged. It returns the last entry, nil for no txns.
func (p *poster) postTxns(a *Account, txns []ledger.Txn, fill func(e *Entry) Event) (*Entry, error) {
	if len(txns) == 0 {
		return nil, nil
	}
	es := make([]Entry, len(txns))
	avail := a.Book.Balance(ledger.Available) // worked back from the book's final balance
	for i := len(txns) - 1; i >= 0; i-- {
		es[i] = Entry{Time: txns[i].Time, MemberID: a.MemberID, Txn: &txns[i], AvailableAfter: avail}
		avail -= txns[i].Delta(ledger.Available)
	}
	for i := range es {
		e := &es[i]
		var ev Event = PointsChanged{Entry: e}
		if i == len(es)-1 && fill != nil {
			ev = fill(e)
		}
		if err := p.append(e); err != nil {
			return nil, err
		}
		p.events = append(p.events, ev)
	}
	return &es[len(es)-1], nil
}

// saveAccount forgets a's long-closed holds, sets when it is next due and saves it.
func (s *Service) saveAccount(tx Tx, set *Settings, a *Account, now time.Time) {
	a.Book.ForgetClosedHolds(now.Add(-set.KeepClosed))
	a.Due = nextDue(a.Book, set.NoticeWithin)
	tx.SaveAccount(a)
}

// domainError reports whether err is a caller's error (an apperr with a code other than
// Internal), as opposed to a storage failure that must abort the whole update.
func domainError(err error) bool {
	c := apperr.CodeOf(err)
	return c != "" && c != apperr.Internal
}
