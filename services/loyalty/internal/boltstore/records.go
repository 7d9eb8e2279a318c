package boltstore

import (
	"fmt"
	"time"

	"github.com/huiyuan-dev/huiyuan/services/loyalty/internal/ledger"
	"github.com/huiyuan-dev/huiyuan/services/loyalty/internal/loyalty"

	storagev1 "github.com/huiyuan-dev/huiyuan/gen/huiyuan/loyalty/storage/v1"
)

// nanos encodes t as Unix nanoseconds, 0 for the zero time.
func nanos(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

// fromNanos decodes what nanos encoded, in UTC.
func fromNanos(n int64) time.Time {
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, n).UTC()
}

// codec converts between the domain and the records, with the enum tables both ways. It is
// read-only after newCodec.
type codec struct {
	accountEnums map[ledger.Account]storagev1.Account
	kindEnums    map[ledger.Kind]storagev1.Kind
	causeEnums   map[ledger.CauseType]storagev1.CauseType
	holdEnums    map[ledger.HoldStatus]storagev1.HoldStatus
	memberEnums  map[loyalty.MemberStatus]storagev1.MemberStatus
	accounts     map[storagev1.Account]ledger.Account
	kinds        map[storagev1.Kind]ledger.Kind
	causes       map[storagev1.CauseType]ledger.CauseType
	holds        map[storagev1.HoldStatus]ledger.HoldStatus
	members      map[storagev1.MemberStatus]loyalty.MemberStatus
}

func newCodec() *codec {
	c := &codec{
		accountEnums: map[ledger.Account]storagev1.Account{
			ledger.Available: storagev1.Account_ACCOUNT_AVAILABLE, ledger.Held: storagev1.Account_ACCOUNT_HELD,
			ledger.Pending: storagev1.Account_ACCOUNT_PENDING, ledger.Debt: storagev1.Account_ACCOUNT_DEBT,
			ledger.Issued: storagev1.Account_ACCOUNT_ISSUED, ledger.Redeemed: storagev1.Account_ACCOUNT_REDEEMED,
			ledger.Expired: storagev1.Account_ACCOUNT_EXPIRED, ledger.Adjustments: storagev1.Account_ACCOUNT_ADJUSTMENTS,
			ledger.Transfers: storagev1.Account_ACCOUNT_TRANSFERS,
		},
		kindEnums: map[ledger.Kind]storagev1.Kind{
			ledger.KindEarn: storagev1.Kind_KIND_EARN, ledger.KindRedeem: storagev1.Kind_KIND_REDEEM,
			ledger.KindAdjust: storagev1.Kind_KIND_ADJUST, ledger.KindHold: storagev1.Kind_KIND_HOLD,
			ledger.KindCapture: storagev1.Kind_KIND_CAPTURE, ledger.KindRelease: storagev1.Kind_KIND_RELEASE,
			ledger.KindMature: storagev1.Kind_KIND_MATURE, ledger.KindExpire: storagev1.Kind_KIND_EXPIRE,
			ledger.KindReverse: storagev1.Kind_KIND_REVERSE, ledger.KindTransferOut: storagev1.Kind_KIND_TRANSFER_OUT,
			ledger.KindTransferIn: storagev1.Kind_KIND_TRANSFER_IN,
		},
		causeEnums: map[ledger.CauseType]storagev1.CauseType{
			ledger.CauseOrder: storagev1.CauseType_CAUSE_ORDER, ledger.CauseRefund: storagev1.CauseType_CAUSE_REFUND,
			ledger.CauseRedemption: storagev1.CauseType_CAUSE_REDEMPTION, ledger.CauseCampaign: storagev1.CauseType_CAUSE_CAMPAIGN,
			ledger.CauseAdmin: storagev1.CauseType_CAUSE_ADMIN, ledger.CauseTransfer: storagev1.CauseType_CAUSE_TRANSFER,
			ledger.CauseCheckIn: storagev1.CauseType_CAUSE_CHECK_IN, ledger.CauseReward: storagev1.CauseType_CAUSE_REWARD,
			ledger.CauseExpiry: storagev1.CauseType_CAUSE_EXPIRY, ledger.CauseHold: storagev1.CauseType_CAUSE_HOLD,
			ledger.CauseMaturity: storagev1.CauseType_CAUSE_MATURITY,
		},
		holdEnums: map[ledger.HoldStatus]storagev1.HoldStatus{
			ledger.HoldOpen: storagev1.HoldStatus_HOLD_OPEN, ledger.HoldCaptured: storagev1.HoldStatus_HOLD_CAPTURED,
			ledger.HoldReleased: storagev1.HoldStatus_HOLD_RELEASED, ledger.HoldExpired: storagev1.HoldStatus_HOLD_EXPIRED,
		},
		memberEnums: map[loyalty.MemberStatus]storagev1.MemberStatus{
			loyalty.MemberActive: storagev1.MemberStatus_MEMBER_ACTIVE, loyalty.MemberFrozen: storagev1.MemberStatus_MEMBER_FROZEN,
			loyalty.MemberClosed: storagev1.MemberStatus_MEMBER_CLOSED, loyalty.MemberErased: storagev1.MemberStatus_MEMBER_ERASED,
		},
	}
	c.accounts, c.kinds, c.causes, c.holds = invert(c.accountEnums), invert(c.kindEnums), invert(c.causeEnums), invert(c.holdEnums)
	c.members = invert(c.memberEnums) // an unset or unknown number reads as MemberUnknown: loyalty asks again
	return c
}

// invert returns m's inverse.
func invert[K, V comparable](m map[K]V) map[V]K {
	out := make(map[V]K, len(m))
	for k, v := range m {
		out[v] = k
	}
	return out
}

func (c *codec) account(e storagev1.Account, campaign string) (ledger.Account, error) {
	if e == storagev1.Account_ACCOUNT_CAMPAIGN_BUDGET {
		return ledger.CampaignBudget(campaign), nil
	}
	a, ok := c.accounts[e]
	if !ok {
		return "", fmt.Errorf("unknown account %v", e)
	}
	return a, nil
}

func (c *codec) accountEnum(a ledger.Account) (storagev1.Account, string) {
	if e, ok := c.accountEnums[a]; ok {
		return e, ""
	}
	if id, ok := a.CampaignOf(); ok {
		return storagev1.Account_ACCOUNT_CAMPAIGN_BUDGET, id
	}
	return storagev1.Account_ACCOUNT_UNSPECIFIED, string(a)
}

func (c *codec) fromAccountRecord(member string, r *storagev1.AccountRecord) (*loyalty.Account, error) {
	b := &ledger.Book{
		MemberID:       member,
		Balances:       make(map[ledger.Account]int64, len(r.GetBalances())),
		LifetimeEarned: r.GetLifetimeEarned(),
		UpdatedAt:      fromNanos(r.GetUpdateTimeUnixNano()),
		LotSeq:         r.GetLotSequence(),
	}
	for _, x := range r.GetBalances() {
		acc, err := c.account(x.GetAccount(), x.GetCampaign())
		if err != nil {
			return nil, err
		}
		b.Balances[acc] = x.GetPoints()
	}
	if lots := r.GetLots(); len(lots) > 0 {
		b.Lots = make([]ledger.Lot, len(lots))
		for i, l := range lots {
			b.Lots[i] = ledger.Lot{
				ID: l.GetId(), Order: l.GetOrderId(), EarnedAt: fromNanos(l.GetEarnTimeUnixNano()),
				ExpiresAt: fromNanos(l.GetExpireTimeUnixNano()), PendingUntil: fromNanos(l.GetPendingUntilUnixNano()),
				Pending: l.GetPending(), Points: l.GetPoints(), Remaining: l.GetRemaining(), Held: l.GetHeld(), Notified: l.GetNotified(),
			}
		}
	}
	if hs := r.GetHolds(); len(hs) > 0 {
		b.Holds = make([]ledger.Hold, len(hs))
		for i, h := range hs {
			b.Holds[i] = c.fromHoldRecord(h)
		}
	}
	if ms := r.GetRecentTransfers(); len(ms) > 0 {
		b.RecentTransfers = make([]ledger.TransferMark, len(ms))
		for i, m := range ms {
			b.RecentTransfers[i] = ledger.TransferMark{At: fromNanos(m.GetTimeUnixNano()), Points: m.GetPoints()}
		}
	}
	a := &loyalty.Account{MemberID: member, Book: b, Tier: r.GetTier(), Due: fromNanos(r.GetDueTimeUnixNano()),
		LastSequence: r.GetLastSequence(), Status: c.members[r.GetMemberStatus()]}
	if ci := r.GetCheckIn(); ci != nil {
		a.CheckIn = ledger.CheckInState{LastDate: ci.GetLastDate(), Streak: int(ci.GetStreak()), Days: ci.GetDays()}
	}
	return a, nil
}

func (c *codec) toCauseRecord(x ledger.Cause) *storagev1.CauseRecord {
	return &storagev1.CauseRecord{Type: c.causeEnums[x.Type], Ref: x.Ref, Reason: x.Reason, Actor: x.Actor}
}

func (c *codec) fromCauseRecord(r *storagev1.CauseRecord) ledger.Cause {
	return ledger.Cause{Type: c.causes[r.GetType()], Ref: r.GetRef(), Reason: r.GetReason(), Actor: r.GetActor()}
}

func (c *codec) toHoldRecord(h *ledger.Hold) *storagev1.HoldRecord {
	r := &storagev1.HoldRecord{
		Id: h.ID, Cause: c.toCauseRecord(h.Cause), Amount: h.Amount, Points: h.Points, Captured: h.Captured,
		CreateTimeUnixNano: nanos(h.CreatedAt), ExpireTimeUnixNano: nanos(h.ExpiresAt),
		CloseTimeUnixNano: nanos(h.ClosedAt), Status: c.holdEnums[h.Status],
	}
	if len(h.Portions) > 0 {
		r.Portions = make([]*storagev1.PortionRecord, len(h.Portions))
		for i, p := range h.Portions {
			r.Portions[i] = &storagev1.PortionRecord{LotId: p.LotID, Points: p.Points}
		}
	}
	return r
}

func (c *codec) fromHoldRecord(r *storagev1.HoldRecord) ledger.Hold {
	h := ledger.Hold{
		ID: r.GetId(), Cause: c.fromCauseRecord(r.GetCause()), Amount: r.GetAmount(), Points: r.GetPoints(),
		Captured: r.GetCaptured(), CreatedAt: fromNanos(r.GetCreateTimeUnixNano()),
		ExpiresAt: fromNanos(r.GetExpireTimeUnixNano()), ClosedAt: fromNanos(r.GetCloseTimeUnixNano()),
		Status: c.holds[r.GetStatus()],
	}
	if ps := r.GetPortions(); len(ps) > 0 {
		h.Portions = make([]ledger.Portion, len(ps))
		for i, p := range ps {
			h.Portions[i] = ledger.Portion{LotID: p.GetLotId(), Points: p.GetPoints()}
		}
	}
	return h
}

func (c *codec) fromEntryRecord(seq uint64, r *storagev1.EntryRecord) (*loyalty.Entry, error) {
	e := &loyalty.Entry{Sequence: seq, Time: fromNanos(r.GetTimeUnixNano()), MemberID: r.GetMemberId(),
		MemberPrevious: r.GetMemberPrevious()}
	copy(e.Hash[:], r.GetHash())
	if or := r.GetOrder(); or != nil {
		o := &loyalty.Order{ID: or.GetId(), MemberID: e.MemberID, AmountMinor: or.GetAmountMinor(), Currency: or.GetCurrency(),
			StoreID: or.GetStoreId(), CreateTime: fromNanos(or.GetCreateTimeUnixNano()), PointsEarned: or.GetPointsEarned(), Sequence: seq}
		if o.CreateTime.IsZero() {
			o.CreateTime, o.TimeDefaulted = e.Time, true
		}
		if its := or.GetItems(); len(its) > 0 {
			o.Items = make([]ledger.Item, len(its))
			for i, it := range its {
				o.Items[i] = ledger.Item{SKU: it.GetSku(), Category: it.GetCategory(), Quantity: it.GetQuantity(), UnitPriceMinor: it.GetUnitPriceMinor()}
			}
		}
		e.Order = o
	}
	if tr := r.GetTransaction(); tr != nil {
		t := &ledger.Txn{ID: tr.GetId(), MemberID: e.MemberID, Kind: c.kinds[tr.GetKind()], Cause: c.fromCauseRecord(tr.GetCause()),
			Time: e.Time, Postings: make([]ledger.Posting, len(tr.GetPostings()))}
		if e.Order != nil && t.Cause.Type == ledger.CauseOrder && t.Cause.Ref == "" {
			t.Cause.Ref = e.Order.ID
		}
		for i, p := range tr.GetPostings() {
			acc, err := c.account(p.GetAccount(), p.GetCampaign())
			if err != nil {
				return nil, err
			}
			t.Postings[i] = ledger.Posting{Account: acc, Points: p.GetPoints()}
		}
		e.Txn, e.AvailableAfter = t, tr.GetAvailableAfter()
	}
	if f := r.GetRefund(); f != nil {
		e.Refund = &loyalty.Refund{OrderID: f.GetOrderId(), AmountMinor: f.GetAmountMinor(), RefundedTotal: f.GetRefundedTotalMinor(),
			PointsReversed: f.GetPointsReversed(), PointsToDebt: f.GetPointsToDebt(), ReversedTotal: f.GetPointsReversedTotal(),
			ToDebtTotal: f.GetPointsToDebtTotal()}
	}
	return e, nil
}
