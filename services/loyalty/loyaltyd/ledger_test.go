package loyaltyd_test

import (
	"bytes"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	bolt "go.etcd.io/bbolt"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"github.com/huiyuan-dev/huiyuan/pkg/kit"
	"github.com/huiyuan-dev/huiyuan/pkg/kittest"
	"github.com/huiyuan-dev/huiyuan/services/loyalty/loyaltyd"

	iamv1 "github.com/huiyuan-dev/huiyuan/gen/huiyuan/iam/v1"
	storagev1 "github.com/huiyuan-dev/huiyuan/gen/huiyuan/loyalty/storage/v1"
	loyaltyv1 "github.com/huiyuan-dev/huiyuan/gen/huiyuan/loyalty/v1"
	opsv1 "github.com/huiyuan-dev/huiyuan/gen/huiyuan/ops/v1"
)

// eventRecords returns the tenant's loyalty events with their payloads, through ListEvents.
func (h *lh) eventRecords(tb testing.TB) []*opsv1.Event {
	tb.Helper()
	var out []*opsv1.Event
	var after uint64
	for {
		resp, err := opsv1.NewOperationsServiceClient(h.Conn).ListEvents(h.As(iamv1.Role_ADMIN),
			&opsv1.ListEventsRequest{Service: loyaltyd.Name, AfterSequence: after, PageSize: 1000})
		if err != nil {
			tb.Fatal(err)
		}
		out = append(out, resp.GetEvents()...)
		if len(resp.GetEvents()) == 0 {
			return out
		}
		after = resp.GetEvents()[len(resp.GetEvents())-1].GetSequence()
		if after >= resp.GetLastSequence() {
			return out
		}
	}
}

// TestConcurrentRedeem races 200 redemptions of one account over gRPC through the group-commit
// writer: exactly as many succeed as the balance covers, the rest fail with
// INSUFFICIENT_POINTS, the balance never goes below zero, and successes × points equals what
// left the account.
func TestConcurrentRedeem(t *testing.T) {
	h := start(t, kittest.Options{})
	m1 := h.NewMember(t)
	const balance, points, callers = 1000, 7, 200
	h.adjust(t, m1, balance)
	svc := h.As(iamv1.Role_SERVICE)
	var ok, short atomic.Int64
	var wg sync.WaitGroup
	for range callers {
		wg.Go(func() {
			_, err := h.points().RedeemPoints(svc, &loyaltyv1.RedeemPointsRequest{MemberId: m1, Points: points})
			switch st, _ := status.FromError(err); {
			case err == nil:
				ok.Add(1)
			case st.Code() == codes.FailedPrecondition && strings.Contains(st.Message(), "needed"):
				short.Add(1)
			default:
				t.Errorf("unexpected %v", err)
			}
		})
	}
	wg.Wait()
	end := h.balance(t, m1).GetAvailable()
	if ok.Load()*points != balance-end || ok.Load() != balance/points || short.Load() != callers-balance/points || end < 0 {
		t.Fatalf("%d succeeded, %d short, balance %d -> %d", ok.Load(), short.Load(), balance, end)
	}
	resp, err := h.points().ListPointsTransactions(svc, &loyaltyv1.ListPointsTransactionsRequest{MemberId: m1, PageSize: 1000})
	if err != nil || int64(len(resp.GetTransactions())) != ok.Load()+1 {
		t.Fatalf("history: %v %d", err, len(resp.GetTransactions()))
	}
	// Every transaction left available at zero or more.
	for _, e := range h.eventRecords(t) {
		var ev loyaltyv1.PointsChangedEvent
		if err := proto.Unmarshal(e.GetPayload(), &ev); err != nil || ev.GetAvailableAfter() < 0 {
			t.Fatalf("event %d: %v available after %d", e.GetSequence(), err, ev.GetAvailableAfter())
		}
	}
	if v := h.verify(t); v.GetTransactions() != ok.Load()+1 || v.GetMembers() != 1 {
		t.Fatalf("verify %v", v)
	}
}

// TestVerifyLedgerTamper edits the stored journal behind a stopped service's back, and
// VerifyLedger reports it after the restart; another tenant's chain stays sound. The domain's
// tests cover every kind of tampering; this one goes through the file and the API.
func TestVerifyLedgerTamper(t *testing.T) {
	dir := t.TempDir()
	h := start(t, kittest.Options{DataDir: dir})
	m1 := h.NewMember(t)
	m2 := h.NewMember(t)
	h.order(t, "o1", m1, 10_000)
	h.order(t, "o2", m2, 20_000)
	if _, err := h.points().RecordOrder(h.asOther(), &loyaltyv1.RecordOrderRequest{
		Order: &loyaltyv1.Order{Id: "o1", MemberId: h.NewMemberOf(t, kittest.Other), AmountMinor: 100, Currency: "CNY"}}); err != nil {
		t.Fatal(err)
	}
	if v := h.verify(t); v.GetTransactions() != 2 || v.GetMembers() != 2 {
		t.Fatalf("verify before tampering %v", v)
	}
	h.Close()
	db, err := bolt.Open(kit.StorePath(dir, loyaltyd.Name), 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	err = db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket([]byte("loyalty_journal"))
		k, v := b.Cursor().Seek([]byte(kittest.Tenant + "\x00\x00\x00\x00\x00\x00\x00\x00\x02"))
		var rec storagev1.EntryRecord
		if err := proto.Unmarshal(v, &rec); err != nil {
			return err
		}
		rec.Transaction.Postings[0].Points++
		rec.Transaction.Postings[1].Points--
		raw, err := proto.Marshal(&rec)
		if err != nil {
			return err
		}
		return b.Put(bytes.Clone(k), raw)
	})
	if cerr := db.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		t.Fatal(err)
	}
	h.Restart()
	resp, err := h.points().VerifyLedger(h.As(iamv1.Role_ADMIN), &loyaltyv1.VerifyLedgerRequest{})
	if err != nil || resp.GetOk() || !strings.Contains(fmt.Sprint(resp.GetProblems()), "hash mismatch") {
		t.Fatalf("tampering not reported: %v %v", err, resp)
	}
	other, err := h.points().VerifyLedger(h.asOther(), &loyaltyv1.VerifyLedgerRequest{})
	if err != nil || !other.GetOk() {
		t.Fatalf("other tenant: %v %v", err, other)
	}
}
