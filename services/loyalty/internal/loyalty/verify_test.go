package loyalty_test

import (
	"bytes"
	"strings"
	"testing"

	bolt "go.etcd.io/bbolt"
	"google.golang.org/protobuf/proto"

	storagev1 "github.com/huiyuan-dev/huiyuan/gen/huiyuan/loyalty/storage/v1"
)

// TestVerifyTampering edits stored records behind the service's back, in the ways an attacker
// with the file could, and checks that Verify reports each one; another tenant's chain stays
// sound.
func TestVerifyTampering(t *testing.T) {
	editEntry := func(edit func(r *storagev1.EntryRecord)) func(t *testing.T, b *bolt.Bucket, k, v []byte) {
		return func(t *testing.T, b *bolt.Bucket, k, v []byte) {
			var rec storagev1.EntryRecord
			if err := proto.Unmarshal(v, &rec); err != nil {
				t.Fatal(err)
			}
			edit(&rec)
			raw, err := proto.Marshal(&rec)
			if err != nil {
				t.Fatal(err)
			}
			if err := b.Put(k, raw); err != nil {
				t.Fatal(err)
			}
		}
	}
	tests := []struct {
		name   string
		tamper func(t *testing.T, b *bolt.Bucket, k, v []byte)
		want   string
	}{
		{"points changed", editEntry(func(r *storagev1.EntryRecord) {
			r.Transaction.Postings[0].Points++
			r.Transaction.Postings[1].Points--
		}), "hash mismatch"},
		{"points changed and rehashed", editEntry(func(r *storagev1.EntryRecord) {
			r.Transaction.Postings[0].Points++
			r.Hash = bytes.Repeat([]byte{7}, 32) // a forger cannot also fix every later link
		}), "hash mismatch"},
		{"order changed", editEntry(func(r *storagev1.EntryRecord) { r.Order.AmountMinor *= 10 }), "hash mismatch"},
		{"bytes flipped", func(t *testing.T, b *bolt.Bucket, k, v []byte) {
			raw := bytes.Clone(v)
			raw[len(raw)/2] ^= 0xff
			if err := b.Put(k, raw); err != nil {
				t.Fatal(err)
			}
		}, "entr"},
		{"entry deleted", func(t *testing.T, b *bolt.Bucket, k, _ []byte) {
			if err := b.Delete(k); err != nil {
				t.Fatal(err)
			}
		}, "missing"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			e.order(t, "acme", "o1", "m1", 10_000)
			e.order(t, "acme", "o2", "m2", 20_000)
			e.adjust(t, "acme", "m1", 5)
			if _, err := e.svc.Redeem(bg, "acme", "k", "m1", 50, ""); err != nil {
				t.Fatal(err)
			}
			e.order(t, "globex", "o1", "m1", 10_000)
			if r := e.verify(t, "acme"); r.Transactions != 4 || r.Members != 2 {
				t.Fatalf("verify before tampering %+v", r)
			}
			e.raw(t, func(tx *bolt.Tx) error {
				b := tx.Bucket([]byte("loyalty_journal"))
				k, v := b.Cursor().Seek([]byte("acme\x00\x00\x00\x00\x00\x00\x00\x00\x02")) // m2's order
				tt.tamper(t, b, bytes.Clone(k), bytes.Clone(v))
				return nil
			})
			r, err := e.svc.Verify(bg, "acme")
			if err != nil {
				t.Fatal(err)
			}
			if r.OK || !strings.Contains(strings.Join(r.Problems, "\n"), tt.want) {
				t.Fatalf("tampering not reported (want %q): %+v", tt.want, r)
			}
			t.Logf("problems: %q", r.Problems)
			e.verify(t, "globex")
		})
	}
}

// TestVerifyBookMismatch edits an account so its balance no longer matches its postings.
func TestVerifyBookMismatch(t *testing.T) {
	e := newEnv(t)
	e.order(t, "acme", "o1", "m1", 10_000)
	e.raw(t, func(tx *bolt.Tx) error {
		b := tx.Bucket([]byte("loyalty_accounts"))
		k, v := b.Cursor().First()
		var rec storagev1.AccountRecord
		if err := proto.Unmarshal(v, &rec); err != nil {
			return err
		}
		for _, x := range rec.Balances {
			if x.Account == storagev1.Account_ACCOUNT_AVAILABLE {
				x.Points += 1000
			}
		}
		raw, err := proto.Marshal(&rec)
		if err != nil {
			return err
		}
		return b.Put(bytes.Clone(k), raw)
	})
	r, err := e.svc.Verify(bg, "acme")
	if err != nil || r.OK || !strings.Contains(strings.Join(r.Problems, "\n"), "balance of available is 1100, postings sum to 100") {
		t.Fatalf("%v %+v", err, r)
	}
}
