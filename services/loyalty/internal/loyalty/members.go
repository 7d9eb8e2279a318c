package loyalty

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/huiyuan-dev/huiyuan/pkg/apperr"
)

// Reasons of the member checks.
const (
	ReasonMemberNotFound  = "MEMBER_NOT_FOUND"  // NotFound: the member service has no such member
	ReasonMemberNotActive = "MEMBER_NOT_ACTIVE" // FailedPrecondition: frozen, closed or erased
)

// MemberStatus is a member's standing as the member service reports it. Loyalty learns it from
// the member service's events and, for a member it has not heard of yet, by asking (Members).
type MemberStatus int8

// The statuses. MemberUnknown is an account's until loyalty hears of its member; MemberMissing
// is only an answer of Members (never stored: an id nobody registered gets no account).
const (
	MemberUnknown MemberStatus = iota
	MemberActive
	MemberFrozen
	MemberClosed
	MemberErased
	MemberMissing
)

// String returns the status's name as the member API spells it.
func (m MemberStatus) String() string {
	switch m {
	case MemberActive:
		return "ACTIVE"
	case MemberFrozen:
		return "FROZEN"
	case MemberClosed:
		return "CLOSED"
	case MemberErased:
		return "ERASED"
	case MemberMissing:
		return "NOT_FOUND"
	}
	return "UNKNOWN"
}

// Members asks the member service what it says of a member now. The service asks only for
// members whose status no event has told it yet: a till that registers a member and records its
// first order a millisecond later, before the registration event arrives, is not refused.
type Members interface {
	// Status returns member's status in tenant, MemberMissing when the member service has no
	// such member. Any error is the lookup's failure (the member service unreachable), which the
	// caller gets: loyalty refuses nothing on a guess.
	Status(ctx context.Context, tenant, member string) (MemberStatus, error)
}

// lookupParallel bounds the concurrent lookups of one batch.
const lookupParallel = 8

// errUnheard aborts an update that met members it has not heard of; memberUpdate looks them up
// and runs the update again.
var errUnheard = errors.New("loyalty: members not heard of yet")

// memberCheck is one update's view of member statuses: those stored with the accounts, and those
// the member service answered for members no event told of. Its unheard list is per run of the
// update function, which the store may run more than once.
type memberCheck struct {
	asked   map[string]MemberStatus
	failed  map[string]error // members whose lookup failed, with the lookup's error
	unheard []string
}

// use requires that a's member exists and, when active, that it is ACTIVE; field names the
// member in the request. It returns whether it set a's status from a lookup (then the caller
// saves a, so the answer is kept). A member not heard of and not asked yet makes it return
// errUnheard (after noting the member): the update must abort and memberUpdate asks.
func (c *memberCheck) use(a *Account, field string, active bool) (learned bool, err error) {
	st := a.Status
	if st == MemberUnknown {
		if err := c.failed[a.MemberID]; err != nil {
			return false, err
		}
		asked, ok := c.asked[a.MemberID]
		if !ok {
			if !slices.Contains(c.unheard, a.MemberID) {
				c.unheard = append(c.unheard, a.MemberID)
			}
			return false, errUnheard
		}
		st = asked
		if st != MemberMissing {
			a.Status, learned = st, true
		}
	}
	switch {
	case st == MemberMissing:
		e := apperr.E(apperr.NotFound, ReasonMemberNotFound, "member %q not found", a.MemberID).With("member_id", a.MemberID)
		e.Violations = []apperr.FieldViolation{{Field: field, Description: "is not a member of this tenant"}}
		return false, e
	case active && st != MemberActive:
		e := apperr.E(apperr.FailedPrecondition, ReasonMemberNotActive, "member %q is %s: it neither earns nor spends points", a.MemberID, st).
			With("member_id", a.MemberID).With("status", st.String())
		return false, e
	}
	return learned, nil
}

// memberUpdate runs fn as one Store.Update with a member check. When fn meets members loyalty
// has not heard of (errUnheard), it asks Members about them, outside any transaction, and runs
// the update again with the answers; fn then sees each as the member service answered, and a
// member whose lookup failed makes use return that failure, so a batch fails only that
// member's orders.
func (s *Service) memberUpdate(ctx context.Context, tenant string, fn func(tx Tx, c *memberCheck) (Result, []Event, error)) (Result, error) {
	c := &memberCheck{}
	for round := 0; ; round++ {
		res, err := s.store.Update(ctx, tenant, func(tx Tx) (Result, []Event, error) {
			c.unheard = c.unheard[:0]
			res, evs, err := fn(tx, c)
			if err == nil && len(c.unheard) > 0 {
				err = errUnheard // a batch notes every unheard member before it fails
			}
			return res, evs, err
		})
		if !errors.Is(err, errUnheard) {
			return res, err
		}
		if round > 0 {
			// Every member asked about is answered for in c.asked: a second round cannot meet
			// one unheard, unless the store dropped what it was told.
			return nil, fmt.Errorf("members %s still unheard of after asking", strings.Join(c.unheard, ", "))
		}
		if c.asked, c.failed, err = s.ask(ctx, tenant, c.unheard); err != nil {
			return nil, err
		}
	}
}

// ask looks members up at the member service, a few at a time. It returns the answers and the
// failed lookups by member; its error is only the caller's context ending, or a lookup failing
// with an error that is not the domain's (a batch could not tell it from a storage error).
func (s *Service) ask(ctx context.Context, tenant string, members []string) (map[string]MemberStatus, map[string]error, error) {
	out := make(map[string]MemberStatus, len(members))
	var (
		mu     sync.Mutex
		wg     sync.WaitGroup
		failed map[string]error
		first  error
	)
	sem := make(chan struct{}, lookupParallel)
	for _, m := range members {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			st, err := s.members.Status(ctx, tenant, m)
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				out[m] = st
			case domainError(err):
				if failed == nil {
					failed = map[string]error{}
				}
				failed[m] = fmt.Errorf("look member %s up: %w", m, err)
			case first == nil:
				first = fmt.Errorf("look member %s up: %w", m, err)
			}
		})
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return nil, nil, err
	}
	return out, failed, first
}

// SetMemberStatus records, in tx, the status the member service's events give member. Applying
// it again changes nothing. A member id no order can carry is ignored (the producer's event
// cannot be fixed by retrying it), as is a status loyalty does not know.
func SetMemberStatus(tx Tx, member string, st MemberStatus) error {
	if !ValidToken(member) || st < MemberActive || st > MemberErased {
		return nil
	}
	a, err := tx.Account(member)
	if err != nil {
		return err
	}
	if a.Status == st {
		return nil
	}
	a.Status = st
	tx.SaveAccount(a)
	return nil
}
