package loyalty

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/huiyuan-dev/huiyuan/pkg/apperr"
	"github.com/huiyuan-dev/huiyuan/pkg/ids"
	"github.com/huiyuan-dev/huiyuan/services/loyalty/internal/ledger"
)

// liabilityPage is how many accounts one read transaction of Liability sums, so no read
// transaction lasts long.
const liabilityPage = 500

// Transfer moves points from member from to member to (积分转赠) under the tenant's transfer
// rules, both books changing in one update; each side is announced by PointsChanged
// (points_transferred). Errors: Invalid on "member_id", "to_member_id", "points", "reason";
// the ledger's (Invalid TRANSFER_TO_SELF; FailedPrecondition TRANSFER_DISABLED,
// TRANSFER_LIMIT_REACHED, INSUFFICIENT_POINTS, POINTS_LIMIT_EXCEEDED); NotFound
// MEMBER_NOT_FOUND and FailedPrecondition MEMBER_NOT_ACTIVE for either side; Invalid
// REQUEST_ID_REUSED.
func (s *Service) Transfer(ctx context.Context, tenant, actor, from, to string, points int64, reason string) (*TransferResult, error) {
	var v apperr.Violations
	CheckToken(&v, "member_id", from)
	CheckToken(&v, "to_member_id", to)
	CheckPoints(&v, "points", points)
	CheckText(&v, "reason", reason, ledger.MaxReasonLen)
	if err := v.Err(); err != nil {
		return nil, err
	}
	now := s.now()
	id := ids.New()
	res, err := s.memberUpdate(ctx, tenant, func(tx Tx, c *memberCheck) (Result, []Event, error) {
		set, err := s.settings(tx)
		if err != nil {
			return nil, nil, err
		}
		fa, err := tx.Account(from)
		if err != nil {
			return nil, nil, err
		}
		ta, err := tx.Account(to)
		if err != nil {
			return nil, nil, err
		}
		_, fromErr := c.use(fa, "member_id", true)
		_, toErr := c.use(ta, "to_member_id", true)
		if err := errors.Join(fromErr, toErr); errors.Is(err, errUnheard) {
			return nil, nil, errUnheard // ask about both at once
		} else if fromErr != nil {
			return nil, nil, fromErr
		} else if toErr != nil {
			return nil, nil, toErr
		}
		r, err := set.Ledger.Transfer(fa.Book, ta.Book, ledger.TransferRequest{TransferID: id, Points: points, Reason: reason, Actor: actor, At: now})
		if err != nil {
			return nil, nil, err
		}
		p := newPoster(tx)
		sent, err := p.postTxns(fa, r.Out, nil)
		if err != nil {
			return nil, nil, err
		}
		got, err := p.postTxns(ta, r.In, nil)
		if err != nil {
			return nil, nil, err
		}
		s.saveAccount(tx, set, fa, now)
		s.saveAccount(tx, set, ta, now)
		return &TransferResult{Sent: sent.Posted(), Received: got.Posted()}, p.events, nil
	})
	if err != nil {
		return nil, err
	}
	return res.(*TransferResult), nil
}

// CheckIn checks member in for today in the tenant's time zone and credits the day's points
// (base plus streak bonus) as an EARN with cause (checkin, the local date, actor), the state and
// the earning in one update; it records CHECKED_IN. Errors: Invalid on "member_id";
// NotFound MEMBER_NOT_FOUND; FailedPrecondition MEMBER_NOT_ACTIVE, ALREADY_CHECKED_IN,
// POINTS_LIMIT_EXCEEDED; Invalid REQUEST_ID_REUSED.
func (s *Service) CheckIn(ctx context.Context, tenant, actor, member string) (*CheckInResult, error) {
	var v apperr.Violations
	CheckToken(&v, "member_id", member)
	if err := v.Err(); err != nil {
		return nil, err
	}
	now := s.now()
	res, err := s.memberUpdate(ctx, tenant, func(tx Tx, c *memberCheck) (Result, []Event, error) {
		set, err := s.settings(tx)
		if err != nil {
			return nil, nil, err
		}
		a, err := tx.Account(member)
		if err != nil {
			return nil, nil, err
		}
		if _, err := c.use(a, "member_id", true); err != nil {
			return nil, nil, err
		}
		day, state, err := ledger.CheckIn(a.CheckIn, now, set.Ledger.Location(), set.CheckIn)
		if err != nil {
			return nil, nil, err
		}
		out := &CheckInResult{Points: day.Points, Streak: state.Streak}
		p := newPoster(tx)
		checkedIn := CheckedIn{MemberID: member, At: now}
		if day.Points > 0 {
			txns, err := set.Ledger.Earn(a.Book, ledger.EarnRequest{Points: day.Points, At: now,
				Cause: ledger.Cause{Type: ledger.CauseCheckIn, Ref: day.Date, Actor: actor}})
			if err != nil {
				return nil, nil, err
			}
			last, err := p.postTxns(a, txns, func(e *Entry) Event { checkedIn.Entry = e; return checkedIn })
			if err != nil {
				return nil, nil, err
			}
			out.Txn = last.Posted()
		} else {
			p.events = append(p.events, checkedIn)
		}
		a.CheckIn = state
		s.saveAccount(tx, set, a, now)
		return out, p.events, nil
	})
	if err != nil {
		return nil, err
	}
	return res.(*CheckInResult), nil
}

// Liability is a tenant's points liability as of a time.
type Liability struct {
	ledger.Liability
	Currency string
	// ExpiringByMonth is the available points by the month they can last be used in, soonest
	// first.
	ExpiringByMonth []ledger.MonthBucket
}

// Liability reports tenant's points liability now: every book settled as of now (so points
// past their expiry count as expired whether or not the job has run), summed, valued at the
// tenant's point value, with the available points by month of expiry. Accounts are read in
// pages of bounded read transactions, so the report is not one snapshot when writes run
// meanwhile. Errors: storage errors, an account that does not decode.
func (s *Service) Liability(ctx context.Context, tenant string) (*Liability, error) {
	now := s.now()
	var set *Settings
	var total ledger.Totals
	months := map[string]int64{}
	after := ""
	for more := true; more; {
		err := s.store.View(ctx, tenant, func(v View) error {
			if set == nil {
				var err error
				if set, err = s.settings(v); err != nil {
					return err
				}
			}
			page, err := v.Accounts(after, liabilityPage)
			if err != nil {
				return err
			}
			more = len(page) == liabilityPage
			for _, sa := range page {
				after = sa.MemberID
				if sa.Account == nil {
					return fmt.Errorf("account of member %s does not decode", sa.MemberID)
				}
				b := sa.Account.Book
				for _, m := range set.Ledger.ExpiringByMonth(b, now) {
					months[m.Month] += m.Points
				}
				// Settle the decoded copy (never saved) so the totals are as of now.
				if _, err := set.Ledger.Settle(b, now); err != nil {
					return fmt.Errorf("settle the book of member %s: %w", sa.MemberID, err)
				}
				total = total.Add(b.Totals())
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	l, err := ledger.LiabilityOf(total, set.PointValue)
	if err != nil {
		return nil, fmt.Errorf("value the liability: %w", err)
	}
	out := &Liability{Liability: l, Currency: set.Policy.PointValueCurrency}
	for _, m := range slices.SortedFunc(maps.Keys(months), strings.Compare) {
		out.ExpiringByMonth = append(out.ExpiringByMonth, ledger.MonthBucket{Month: m, Points: months[m]})
	}
	return out, nil
}
