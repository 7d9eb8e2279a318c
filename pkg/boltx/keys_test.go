package boltx_test

import (
	"bytes"
	"math"
	"sort"
	"testing"

	"github.com/huiyuan-dev/huiyuan/pkg/boltx"
)

func TestKey(t *testing.T) {
	tests := []struct {
		tenant string
		parts  []string
		want   string
	}{
		{"acme", nil, "acme"},
		{"acme", []string{"m1"}, "acme\x00m1"},
		{"acme", []string{"members", "m1", ""}, "acme\x00members\x00m1\x00"},
		{"", []string{"x"}, "\x00x"},
	}
	for _, tt := range tests {
		if got := boltx.Key(tt.tenant, tt.parts...); string(got) != tt.want {
			t.Errorf("Key(%q, %q) = %q, want %q", tt.tenant, tt.parts, got, tt.want)
		}
	}
}

func TestTenantPrefix_SeparatesTenants(t *testing.T) {
	// "acme" must not be a prefix of tenant "acme-2"'s keys.
	p := boltx.TenantPrefix("acme")
	if string(p) != "acme\x00" {
		t.Fatalf("TenantPrefix = %q", p)
	}
	if !bytes.HasPrefix(boltx.Key("acme", "m1"), p) {
		t.Error("own key lacks the prefix")
	}
	if bytes.HasPrefix(boltx.Key("acme-2", "m1"), p) || bytes.HasPrefix(boltx.Key("acme2"), p) {
		t.Error("another tenant's key has the prefix")
	}
}

func TestU64(t *testing.T) {
	vals := []uint64{0, 1, 255, 256, 1 << 32, math.MaxUint64 - 1, math.MaxUint64}
	var enc [][]byte
	for _, v := range vals {
		b := boltx.U64(v)
		if len(b) != 8 {
			t.Fatalf("U64(%d) has %d bytes", v, len(b))
		}
		if got := boltx.ParseU64(b); got != v {
			t.Fatalf("ParseU64(U64(%d)) = %d", v, got)
		}
		enc = append(enc, b)
	}
	if !sort.SliceIsSorted(enc, func(i, j int) bool { return bytes.Compare(enc[i], enc[j]) < 0 }) {
		t.Fatal("byte order differs from numeric order")
	}
	for _, b := range [][]byte{nil, {}, {1}, make([]byte, 9)} {
		if got := boltx.ParseU64(b); got != 0 {
			t.Errorf("ParseU64(%x) = %d, want 0", b, got)
		}
	}
}
