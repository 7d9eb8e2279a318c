package boltstore

import (
	"bytes"
	"testing"
	"time"

	"github.com/huiyuan-dev/huiyuan/services/loyalty/internal/ledger"
)

// TestLotKeyOrder: lot keys sort as the ledger consumes lots (soonest expiry first, never-
// expiring last, then earn time, then id), and give back their expiry.
func TestLotKeyOrder(t *testing.T) {
	t1 := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	prefix := lotPrefix("acme", "m1")
	lots := []ledger.Lot{ // in consumption order
		{ID: "z", ExpiresAt: time.Date(1969, 12, 31, 0, 0, 0, 0, time.UTC)},
		{ID: "a", ExpiresAt: t1},
		{ID: "b", ExpiresAt: t1, EarnedAt: t1.Add(-time.Hour)},
		{ID: "a", ExpiresAt: t1, EarnedAt: t1},
		{ID: "a0", ExpiresAt: t1, EarnedAt: t1},
		{ID: "b", ExpiresAt: t1, EarnedAt: t1},
		{ID: "c", ExpiresAt: t1.Add(time.Nanosecond)},
		{ID: "d"}, // never expires
		{ID: "e", EarnedAt: t1},
	}
	for i := range lots {
		k := lotKey(prefix, &lots[i])
		if !bytes.HasPrefix(k, prefix) {
			t.Fatalf("lot %d: key lacks the prefix", i)
		}
		if exp, ok := lotKeyExpiry(k, len(prefix)); !ok || !exp.Equal(lots[i].ExpiresAt) {
			t.Fatalf("lot %d: expiry %v %v, want %v", i, exp, ok, lots[i].ExpiresAt)
		}
		if i > 0 && bytes.Compare(lotKey(prefix, &lots[i-1]), k) >= 0 {
			t.Fatalf("lot %d's key does not sort after lot %d's", i, i-1)
		}
	}
	if other := lotKey(lotPrefix("acme", "m10"), &lots[0]); bytes.HasPrefix(other, prefix) {
		t.Fatal("member m10's lot key starts with m1's prefix")
	}
}
