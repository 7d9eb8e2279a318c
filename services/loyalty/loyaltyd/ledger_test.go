package loyaltyd_test

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	bolt "go.etcd.io/bbolt"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	iamv1 "github.com/huiyuan-dev/huiyuan/gen/huiyuan/iam/v1"
	storagev1 "github.com/huiyuan-dev/huiyuan/gen/huiyuan/loyalty/storage/v1"
	loyaltyv1 "github.com/huiyuan-dev/huiyuan/gen/huiyuan/loyalty/v1"
)

// TestConcurrentRedeem races 200 redemptions of one account over gRPC through the group-commit
// writer: exactly as many succeed as the balance covers, the rest fail with
// INSUFFICIENT_POINTS, the balance never goes below zero, and successes × points equals what
// left the account.
func TestConcurrentRedeem(t *testing.T) {
	h := newHarness(t, harnessOpts{noSync: true})
	const start, points, callers = 1000, 7, 200
	h.adjust(t, "m1", start)
	svc := h.as(iamv1.Role_SERVICE)
	var ok, short atomic.Int64
	var wg sync.WaitGroup
	for range callers {
		wg.Go(func() {
			_, err := h.client.RedeemPoints(svc, &loyaltyv1.RedeemPointsRequest{MemberId: "m1", Points: points})
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
	end := h.balance(t, "m1").GetAvailable()
	if ok.Load()*points != start-end || ok.Load() != start/points || short.Load() != callers-start/points || end < 0 {
		t.Fatalf("%d succeeded, %d short, balance %d -> %d", ok.Load(), short.Load(), start, end)
	}
	// Every transaction left available at zero or more.
	resp, err := h.client.ListPointsTransactions(svc, &loyaltyv1.ListPointsTransactionsRequest{MemberId: "m1", PageSize: 1000})
	if err != nil || int64(len(resp.GetTransactions())) != ok.Load()+1 {
		t.Fatalf("history: %v %d", err, len(resp.GetTransactions()))
	}
	evs, _, err := h.svc.EventLog().List(context.Background(), h.db, tenant, 0, 1000)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range evs {
		var ev loyaltyv1.PointsChangedEvent
		if err := proto.Unmarshal(e.GetPayload(), &ev); err != nil || ev.GetAvailableAfter() < 0 {
			t.Fatalf("event %d: %v available after %d", e.GetSequence(), err, ev.GetAvailableAfter())
		}
	}
	if v := h.verify(t); v.GetTransactions() != ok.Load()+1 || v.GetMembers() != 1 {
		t.Fatalf("verify %v", v)
	}
}

// TestVerifyLedgerTamper edits stored transactions behind the service's back, in the ways an
// attacker with the file could, and checks that VerifyLedger reports each one.
func TestVerifyLedgerTamper(t *testing.T) {
	cases := []struct {
		name   string
		tamper func(t *testing.T, b *bolt.Bucket, k, v []byte)
		want   string
	}{
		{"points changed", func(t *testing.T, b *bolt.Bucket, k, v []byte) {
			rec := decodeTxn(t, v)
			rec.Postings[0].Points++
			rec.Postings[1].Points--
			put(t, b, k, rec)
		}, "hash mismatch"},
		{"points changed and rehashed", func(t *testing.T, b *bolt.Bucket, k, v []byte) {
			rec := decodeTxn(t, v)
			rec.Postings[0].Points++
			rec.Hash = bytes.Repeat([]byte{7}, 32) // a forger cannot also fix every later link
			put(t, b, k, rec)
		}, "hash mismatch"},
		{"bytes flipped", func(t *testing.T, b *bolt.Bucket, k, v []byte) {
			raw := bytes.Clone(v)
			raw[len(raw)/2] ^= 0xff
			if err := b.Put(k, raw); err != nil {
				t.Fatal(err)
			}
		}, "transaction"},
		{"transaction deleted", func(t *testing.T, b *bolt.Bucket, k, _ []byte) {
			if err := b.Delete(k); err != nil {
				t.Fatal(err)
			}
		}, "missing"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, harnessOpts{noSync: true})
			h.order(t, "o1", "m1", 10_000)
			h.order(t, "o2", "m2", 20_000)
			h.adjust(t, "m1", 5)
			if _, err := h.client.RedeemPoints(h.as(iamv1.Role_SERVICE), &loyaltyv1.RedeemPointsRequest{MemberId: "m1", Points: 50}); err != nil {
				t.Fatal(err)
			}
			if v := h.verify(t); v.GetTransactions() != 4 || v.GetMembers() != 2 {
				t.Fatalf("verify before tampering %v", v)
			}
			err := h.db.Bolt().Update(func(tx *bolt.Tx) error {
				b := tx.Bucket([]byte("loyalty_txns"))
				c := b.Cursor()
				c.First()
				k, v := c.Next() // the second transaction: m2's earn
				tc.tamper(t, b, bytes.Clone(k), bytes.Clone(v))
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			resp, err := h.client.VerifyLedger(h.as(iamv1.Role_ADMIN), &loyaltyv1.VerifyLedgerRequest{})
			if err != nil {
				t.Fatal(err)
			}
			if resp.GetOk() || !strings.Contains(strings.Join(resp.GetProblems(), "\n"), tc.want) {
				t.Fatalf("tampering not reported (want %q): ok=%v %v", tc.want, resp.GetOk(), resp.GetProblems())
			}
			t.Logf("problems: %q", resp.GetProblems())
			// The CLI twin sees the same.
			rep, err := h.svc.Verify(context.Background(), tenant)
			if err != nil || rep.OK || len(rep.Problems) != len(resp.GetProblems()) {
				t.Fatalf("Verify: %v %+v", err, rep)
			}
			// Another tenant's chain is untouched.
			other, err := h.client.VerifyLedger(as(h.other), &loyaltyv1.VerifyLedgerRequest{})
			if err != nil || !other.GetOk() {
				t.Fatalf("other tenant: %v %v", err, other)
			}
		})
	}
}

// TestVerifyLedgerBookMismatch edits a book so its balance no longer matches its postings.
func TestVerifyLedgerBookMismatch(t *testing.T) {
	h := newHarness(t, harnessOpts{noSync: true})
	h.order(t, "o1", "m1", 10_000)
	err := h.db.Bolt().Update(func(tx *bolt.Tx) error {
		b := tx.Bucket([]byte("loyalty_books"))
		k, v := b.Cursor().First()
		var rec storagev1.BookRecord
		if err := proto.Unmarshal(v, &rec); err != nil {
			return err
		}
		for _, x := range rec.Balances {
			if x.Account == "available" {
				x.Points += 1000
			}
		}
		raw, err := proto.Marshal(&rec)
		if err != nil {
			return err
		}
		return b.Put(bytes.Clone(k), raw)
	})
	if err != nil {
		t.Fatal(err)
	}
	resp, err := h.client.VerifyLedger(h.as(iamv1.Role_ADMIN), &loyaltyv1.VerifyLedgerRequest{})
	if err != nil || resp.GetOk() || !strings.Contains(fmt.Sprint(resp.GetProblems()), "balance of available is 1100, postings sum to 100") {
		t.Fatalf("%v %v", err, resp)
	}
}

func decodeTxn(t *testing.T, v []byte) *storagev1.TransactionRecord {
	t.Helper()
	var rec storagev1.TransactionRecord
	if err := proto.Unmarshal(v, &rec); err != nil {
		t.Fatal(err)
	}
	return &rec
}

func put(t *testing.T, b *bolt.Bucket, k []byte, m proto.Message) {
	t.Helper()
	raw, err := proto.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Put(k, raw); err != nil {
		t.Fatal(err)
	}
}
