package boltstore

import (
	"fmt"

	"github.com/huiyuan-dev/huiyuan/services/loyalty/internal/loyalty"

	storagev1 "github.com/huiyuan-dev/huiyuan/gen/huiyuan/loyalty/storage/v1"
)

// encodeResult returns the record kept with a request_id for res. Results whose facts the
// journal keeps unchanged (orders, transactions, refunds) are kept as entry sequences, so a
// request's record costs a few bytes; a batch keeps nothing but the mark that it is rebuilt.
func (c *codec) encodeResult(res loyalty.Result) (*storagev1.ResultRecord, error) {
	switch r := res.(type) {
	case *loyalty.Order:
		return &storagev1.ResultRecord{Result: &storagev1.ResultRecord_OrderSequence{OrderSequence: r.Sequence}}, nil
	case *loyalty.BatchResult:
		return &storagev1.ResultRecord{Result: &storagev1.ResultRecord_Rebuilt{Rebuilt: true}}, nil
	case *loyalty.Txn:
		return entries([]uint64{r.Sequence}), nil
	case *loyalty.RefundResult:
		return entries([]uint64{r.Sequence}), nil
	case *loyalty.TransferResult:
		return entries([]uint64{r.Sent.Sequence, r.Received.Sequence}), nil
	case *loyalty.CheckInResult:
		var seq uint64
		if r.Txn != nil {
			seq = r.Txn.Sequence
		}
		rec := entries([]uint64{seq})
		rec.GetEntries().Values = []int64{r.Points, int64(r.Streak)}
		return rec, nil
	case *loyalty.Hold:
		return &storagev1.ResultRecord{Result: &storagev1.ResultRecord_Hold{Hold: &storagev1.HoldResultRecord{
			MemberId: r.MemberID, Hold: c.toHoldRecord(&r.Hold)}}}, nil
	case *loyalty.Reward:
		return &storagev1.ResultRecord{Result: &storagev1.ResultRecord_Reward{Reward: &storagev1.RewardResultRecord{
			Id: r.ID, Reward: toRewardRecord(r)}}}, nil
	case *loyalty.Redemption:
		return &storagev1.ResultRecord{Result: &storagev1.ResultRecord_Redemption{Redemption: &storagev1.RedemptionResultRecord{
			Id: r.ID, Redemption: toRedemptionRecord(r)}}}, nil
	case *loyalty.Policy:
		return &storagev1.ResultRecord{Result: &storagev1.ResultRecord_Policy{Policy: toPolicyRecord(r)}}, nil
	}
	return nil, fmt.Errorf("boltstore: no record for result %T", res)
}

func entries(seqs []uint64) *storagev1.ResultRecord {
	return &storagev1.ResultRecord{Result: &storagev1.ResultRecord_Entries{Entries: &storagev1.EntriesRecord{Sequences: seqs}}}
}

// decodeResult rebuilds the answer rec keeps, reading the entries it names.
func (t *tx) decodeResult(rec *storagev1.ResultRecord) (loyalty.Result, error) {
	switch r := rec.GetResult().(type) {
	case *storagev1.ResultRecord_OrderSequence:
		e, err := t.entry(r.OrderSequence)
		if err != nil {
			return nil, err
		}
		if e.Order == nil {
			return nil, fmt.Errorf("replay: entry %d records no order", r.OrderSequence)
		}
		return e.Order, nil
	case *storagev1.ResultRecord_Hold:
		return &loyalty.Hold{MemberID: r.Hold.GetMemberId(), Hold: t.s.codec.fromHoldRecord(r.Hold.GetHold())}, nil
	case *storagev1.ResultRecord_Reward:
		return fromRewardRecord(r.Reward.GetId(), r.Reward.GetReward()), nil
	case *storagev1.ResultRecord_Redemption:
		return fromRedemptionRecord(r.Redemption.GetId(), r.Redemption.GetRedemption()), nil
	case *storagev1.ResultRecord_Policy:
		p := fromPolicyRecord(r.Policy)
		return &p, nil
	case *storagev1.ResultRecord_Entries:
		return t.decodeEntries(r.Entries)
	}
	return nil, fmt.Errorf("replay: unknown result %T", rec.GetResult())
}

// decodeEntries rebuilds an answer kept as entry sequences: one transaction, a refund, a
// transfer (two) or a check-in (one or none, with its points and streak).
func (t *tx) decodeEntries(r *storagev1.EntriesRecord) (loyalty.Result, error) {
	seqs, vals := r.GetSequences(), r.GetValues()
	if len(vals) == 2 {
		out := &loyalty.CheckInResult{Points: vals[0], Streak: int(vals[1])}
		if len(seqs) == 1 && seqs[0] != 0 {
			e, err := t.entry(seqs[0])
			if err != nil {
				return nil, err
			}
			out.Txn = e.Posted()
		}
		return out, nil
	}
	es := make([]*loyalty.Entry, len(seqs))
	for i, seq := range seqs {
		e, err := t.entry(seq)
		if err != nil {
			return nil, err
		}
		es[i] = e
	}
	switch {
	case len(es) == 2 && es[0].Txn != nil && es[1].Txn != nil:
		return &loyalty.TransferResult{Sent: es[0].Posted(), Received: es[1].Posted()}, nil
	case len(es) == 1 && es[0].Refund != nil:
		return t.refundResult(es[0])
	case len(es) == 1 && es[0].Txn != nil:
		return es[0].Posted(), nil
	}
	return nil, fmt.Errorf("replay: entries %v make no answer", seqs)
}

// refundResult rebuilds a refund's answer from its entry: the order as recorded, with the
// totals right after this refund.
func (t *tx) refundResult(e *loyalty.Entry) (*loyalty.RefundResult, error) {
	f := e.Refund
	cur, err := t.Order(f.OrderID)
	if err != nil {
		return nil, err
	}
	if cur == nil {
		return nil, fmt.Errorf("replay: refund %d of unknown order %s", e.Sequence, f.OrderID)
	}
	o := *cur
	o.RefundedMinor, o.PointsReversed, o.PointsToDebt = f.RefundedTotal, f.ReversedTotal, f.ToDebtTotal
	return &loyalty.RefundResult{Order: o, PointsReversed: f.PointsReversed, PointsToDebt: f.PointsToDebt, Sequence: e.Sequence}, nil
}

// entry reads entry seq, which must exist.
func (t *tx) entry(seq uint64) (*loyalty.Entry, error) {
	e, err := t.Entry(seq)
	if err != nil {
		return nil, err
	}
	if e == nil {
		return nil, fmt.Errorf("replay: entry %d is missing", seq)
	}
	return e, nil
}
