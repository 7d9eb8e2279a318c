package boltstore

import (
	"slices"
	"strings"
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/huiyuan-dev/huiyuan/services/loyalty/internal/ledger"
	"github.com/huiyuan-dev/huiyuan/services/loyalty/internal/loyalty"

	storagev1 "github.com/huiyuan-dev/huiyuan/gen/huiyuan/loyalty/storage/v1"
	loyaltyv1 "github.com/huiyuan-dev/huiyuan/gen/huiyuan/loyalty/v1"
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

func toBookRecord(b *ledger.Book, due time.Time) *storagev1.BookRecord {
	r := &storagev1.BookRecord{
		MemberId:           b.MemberID,
		LifetimeEarned:     b.LifetimeEarned,
		UpdateTimeUnixNano: nanos(b.UpdatedAt),
		DueTimeUnixNano:    nanos(due),
	}
	if len(b.Balances) > 0 {
		r.Balances = make([]*storagev1.BalanceRecord, 0, len(b.Balances))
		for a, p := range b.Balances {
			r.Balances = append(r.Balances, &storagev1.BalanceRecord{Account: string(a), Points: p})
		}
		slices.SortFunc(r.Balances, func(x, y *storagev1.BalanceRecord) int { return strings.Compare(x.Account, y.Account) })
	}
	if len(b.Lots) > 0 {
		r.Lots = make([]*storagev1.LotRecord, len(b.Lots))
		for i := range b.Lots {
			l := &b.Lots[i]
			r.Lots[i] = &storagev1.LotRecord{
				Id: l.ID, TxnId: l.TxnID, OrderId: l.Order,
				EarnTimeUnixNano: nanos(l.EarnedAt), ExpireTimeUnixNano: nanos(l.ExpiresAt),
				PendingUntilUnixNano: nanos(l.PendingUntil), Pending: l.Pending,
				Points: l.Points, Remaining: l.Remaining, Held: l.Held, Notified: l.Notified,
			}
		}
	}
	if len(b.Holds) > 0 {
		r.Holds = make([]*storagev1.HoldRecord, len(b.Holds))
		for i := range b.Holds {
			r.Holds[i] = toHoldRecord(&b.Holds[i])
		}
	}
	if len(b.RecentTransfers) > 0 {
		r.RecentTransfers = make([]*storagev1.TransferMarkRecord, len(b.RecentTransfers))
		for i, m := range b.RecentTransfers {
			r.RecentTransfers[i] = &storagev1.TransferMarkRecord{TimeUnixNano: nanos(m.At), Points: m.Points}
		}
	}
	return r
}

func fromBookRecord(r *storagev1.BookRecord) *ledger.Book {
	b := &ledger.Book{
		MemberID:       r.GetMemberId(),
		Balances:       make(map[ledger.Account]int64, len(r.GetBalances())),
		LifetimeEarned: r.GetLifetimeEarned(),
		UpdatedAt:      fromNanos(r.GetUpdateTimeUnixNano()),
	}
	for _, x := range r.GetBalances() {
		b.Balances[ledger.Account(x.GetAccount())] = x.GetPoints()
	}
	if lots := r.GetLots(); len(lots) > 0 {
		b.Lots = make([]ledger.Lot, len(lots))
		for i, l := range lots {
			b.Lots[i] = ledger.Lot{
				ID: l.GetId(), TxnID: l.GetTxnId(), Order: l.GetOrderId(),
				EarnedAt: fromNanos(l.GetEarnTimeUnixNano()), ExpiresAt: fromNanos(l.GetExpireTimeUnixNano()),
				PendingUntil: fromNanos(l.GetPendingUntilUnixNano()), Pending: l.GetPending(),
				Points: l.GetPoints(), Remaining: l.GetRemaining(), Held: l.GetHeld(), Notified: l.GetNotified(),
			}
		}
	}
	if hs := r.GetHolds(); len(hs) > 0 {
		b.Holds = make([]ledger.Hold, len(hs))
		for i, h := range hs {
			b.Holds[i] = fromHoldRecord(h)
		}
	}
	if ms := r.GetRecentTransfers(); len(ms) > 0 {
		b.RecentTransfers = make([]ledger.TransferMark, len(ms))
		for i, m := range ms {
			b.RecentTransfers[i] = ledger.TransferMark{At: fromNanos(m.GetTimeUnixNano()), Points: m.GetPoints()}
		}
	}
	return b
}

func toCauseRecord(c ledger.Cause) *storagev1.CauseRecord {
	return &storagev1.CauseRecord{Type: string(c.Type), Ref: c.Ref, Reason: c.Reason, Actor: c.Actor}
}

func fromCauseRecord(c *storagev1.CauseRecord) ledger.Cause {
	return ledger.Cause{Type: ledger.CauseType(c.GetType()), Ref: c.GetRef(), Reason: c.GetReason(), Actor: c.GetActor()}
}

func toHoldRecord(h *ledger.Hold) *storagev1.HoldRecord {
	r := &storagev1.HoldRecord{
		Id: h.ID, Cause: toCauseRecord(h.Cause), Amount: h.Amount, Points: h.Points, Captured: h.Captured,
		CreateTimeUnixNano: nanos(h.CreatedAt), ExpireTimeUnixNano: nanos(h.ExpiresAt),
		CloseTimeUnixNano: nanos(h.ClosedAt), Status: string(h.Status),
	}
	if len(h.Portions) > 0 {
		r.Portions = make([]*storagev1.PortionRecord, len(h.Portions))
		for i, p := range h.Portions {
			r.Portions[i] = &storagev1.PortionRecord{LotId: p.LotID, Points: p.Points}
		}
	}
	return r
}

func fromHoldRecord(r *storagev1.HoldRecord) ledger.Hold {
	h := ledger.Hold{
		ID: r.GetId(), Cause: fromCauseRecord(r.GetCause()), Amount: r.GetAmount(), Points: r.GetPoints(),
		Captured: r.GetCaptured(), CreatedAt: fromNanos(r.GetCreateTimeUnixNano()),
		ExpiresAt: fromNanos(r.GetExpireTimeUnixNano()), ClosedAt: fromNanos(r.GetCloseTimeUnixNano()),
		Status: ledger.HoldStatus(r.GetStatus()),
	}
	if ps := r.GetPortions(); len(ps) > 0 {
		h.Portions = make([]ledger.Portion, len(ps))
		for i, p := range ps {
			h.Portions[i] = ledger.Portion{LotID: p.GetLotId(), Points: p.GetPoints()}
		}
	}
	return h
}

func toTxnRecord(t *loyalty.Txn) *storagev1.TransactionRecord {
	r := &storagev1.TransactionRecord{
		Sequence: t.Sequence, Id: t.ID, MemberId: t.MemberID, Kind: string(t.Kind), Cause: toCauseRecord(t.Cause),
		TimeUnixNano: nanos(t.Time), Postings: make([]*storagev1.PostingRecord, len(t.Postings)),
		Hash: t.Hash[:], AvailableAfter: t.AvailableAfter,
	}
	for i, p := range t.Postings {
		r.Postings[i] = &storagev1.PostingRecord{Account: string(p.Account), Points: p.Points}
	}
	return r
}

func fromTxnRecord(r *storagev1.TransactionRecord) loyalty.Txn {
	t := loyalty.Txn{
		Txn: ledger.Txn{
			ID: r.GetId(), MemberID: r.GetMemberId(), Kind: ledger.Kind(r.GetKind()), Cause: fromCauseRecord(r.GetCause()),
			Time: fromNanos(r.GetTimeUnixNano()), Postings: make([]ledger.Posting, len(r.GetPostings())),
		},
		Sequence: r.GetSequence(), AvailableAfter: r.GetAvailableAfter(),
	}
	for i, p := range r.GetPostings() {
		t.Postings[i] = ledger.Posting{Account: ledger.Account(p.GetAccount()), Points: p.GetPoints()}
	}
	copy(t.Hash[:], r.GetHash())
	return t
}

func toOrderRecord(o *loyalty.Order) *storagev1.OrderRecord {
	r := &storagev1.OrderRecord{
		Id: o.ID, MemberId: o.MemberID, AmountMinor: o.AmountMinor, Currency: o.Currency, StoreId: o.StoreID,
		CreateTime: timestamppb.New(o.CreateTime), PointsEarned: o.PointsEarned, RefundedMinor: o.RefundedMinor,
		PointsReversed: o.PointsReversed, PointsToDebt: o.PointsToDebt,
	}
	if len(o.Items) > 0 {
		r.Items = make([]*loyaltyv1.OrderItem, len(o.Items))
		for i, it := range o.Items {
			r.Items[i] = &loyaltyv1.OrderItem{Sku: it.SKU, Category: it.Category, Quantity: it.Quantity, UnitPriceMinor: it.UnitPriceMinor}
		}
	}
	return r
}

func fromOrderRecord(r *storagev1.OrderRecord) loyalty.Order {
	o := loyalty.Order{
		ID: r.GetId(), MemberID: r.GetMemberId(), AmountMinor: r.GetAmountMinor(), Currency: r.GetCurrency(),
		StoreID: r.GetStoreId(), CreateTime: r.GetCreateTime().AsTime(), PointsEarned: r.GetPointsEarned(),
		RefundedMinor: r.GetRefundedMinor(), PointsReversed: r.GetPointsReversed(), PointsToDebt: r.GetPointsToDebt(),
	}
	if its := r.GetItems(); len(its) > 0 {
		o.Items = make([]ledger.Item, len(its))
		for i, it := range its {
			o.Items[i] = ledger.Item{SKU: it.GetSku(), Category: it.GetCategory(), Quantity: it.GetQuantity(), UnitPriceMinor: it.GetUnitPriceMinor()}
		}
	}
	return o
}

func tsOf(t time.Time) *timestamppb.Timestamp {
	if t.IsZero() {
		return nil
	}
	return timestamppb.New(t)
}

func protoUnmarshal(b []byte, m proto.Message) error { return proto.Unmarshal(b, m) }
