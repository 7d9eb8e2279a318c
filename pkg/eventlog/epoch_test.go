package eventlog

import (
	"math"
	"path/filepath"
	"slices"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

// epochTable opens a bucket for segment tables in a temporary bbolt file and runs fn in one
// write transaction.
func epochTable(t *testing.T, fn func(b *bolt.Bucket)) {
	t.Helper()
	db, err := bolt.Open(filepath.Join(t.TempDir(), "epochs.db"), 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.Update(func(tx *bolt.Tx) error {
		b, err := tx.CreateBucket([]byte("epochs"))
		if err != nil {
			return err
		}
		fn(b)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
}

func TestEpochLookupAtBoundaries(t *testing.T) {
	t.Parallel()
	epochTable(t, func(b *bolt.Bucket) {
		// acme: 10 from 1, 20 from 5, 30 from 9. Neighbours on both sides of acme's keys:
		// "acm" sorts before "acme\x00", "acme-2" after every acme key.
		for _, seg := range []struct {
			tenant string
			e      Epoch
		}{
			{"acm", Epoch{99, 1}}, {"acme", Epoch{10, 1}}, {"acme", Epoch{20, 5}}, {"acme", Epoch{30, 9}}, {"acme-2", Epoch{7, 3}},
		} {
			if err := b.Put(epochKey(seg.tenant, seg.e.Start), u64(seg.e.Epoch)); err != nil {
				t.Fatal(err)
			}
		}
		tests := []struct {
			tenant string
			seq    uint64
			want   Epoch
		}{
			{"acme", 1, Epoch{10, 1}},
			{"acme", 4, Epoch{10, 1}},
			{"acme", 5, Epoch{20, 5}},
			{"acme", 8, Epoch{20, 5}},
			{"acme", 9, Epoch{30, 9}},
			{"acme", math.MaxUint64, Epoch{30, 9}},
			{"acme-2", 1, legacyEpoch}, // before its first segment: from before epochs
			{"acme-2", 2, legacyEpoch},
			{"acme-2", 3, Epoch{7, 3}},
			{"acme-2", math.MaxUint64, Epoch{7, 3}}, // the bucket's last key
			{"acm", 1000, Epoch{99, 1}},
			{"ac", 5, legacyEpoch},   // no segments; the next key is another tenant's
			{"zeta", 5, legacyEpoch}, // past every key
		}
		for _, tt := range tests {
			if got := epochOf(b, tt.tenant, tt.seq); got != tt.want {
				t.Errorf("epochOf(%s, %d) = %v, want %v", tt.tenant, tt.seq, got, tt.want)
			}
			if got := epochAt(tenantEpochs(b, tt.tenant), tt.seq); got != tt.want {
				t.Errorf("epochAt(tenantEpochs(%s), %d) = %v, want %v", tt.tenant, tt.seq, got, tt.want)
			}
		}
		if got := tenantEpochs(b, "acme-2"); !slices.Equal(got, []Epoch{legacyEpoch, {7, 3}}) {
			t.Errorf("tenantEpochs(acme-2) = %v", got)
		}
	})
}

func TestStartEpochGrows(t *testing.T) {
	t.Parallel()
	epochTable(t, func(b *bolt.Bucket) {
		now := time.UnixMilli(1_700_000_000_000)
		if got := currentEpoch(b, "acme"); got != legacyEpoch {
			t.Fatalf("a tenant without segments is in %v", got)
		}
		steps := []struct {
			from, atLeast uint64
			at            time.Time
			wantStarts    []uint64
		}{
			{from: 1, at: now, wantStarts: []uint64{1}},                                    // the first epoch: no legacy segment left
			{from: 6, at: now, wantStarts: []uint64{1, 6}},                                 // same millisecond: still greater
			{from: 6, at: now.Add(-time.Hour), wantStarts: []uint64{1, 6}},                 // clock went back: replaces 6, greater still
			{from: 9, atLeast: math.MaxUint64 - 5, at: now, wantStarts: []uint64{1, 6, 9}}, // a broker's epoch far ahead
		}
		var prev uint64
		for i, st := range steps {
			e, err := startEpoch(b, "acme", st.from, st.atLeast, st.at)
			if err != nil {
				t.Fatal(err)
			}
			if e.Epoch <= prev || e.Epoch < st.atLeast || e.Start != st.from {
				t.Fatalf("step %d: epoch %v after %d (at least %d)", i, e, prev, st.atLeast)
			}
			prev = e.Epoch
			if got := currentEpoch(b, "acme"); got != e {
				t.Fatalf("step %d: current epoch %v, want %v", i, got, e)
			}
			segs := tenantEpochs(b, "acme")
			var starts []uint64
			for j, seg := range segs {
				starts = append(starts, seg.Start)
				if j > 0 && seg.Epoch <= segs[j-1].Epoch {
					t.Fatalf("step %d: epochs do not grow: %v", i, segs)
				}
			}
			if !slices.Equal(starts, st.wantStarts) {
				t.Fatalf("step %d: segments %v, want starts %v", i, segs, st.wantStarts)
			}
		}
		// A new epoch below existing segments replaces them.
		e, err := startEpoch(b, "acme", 4, 0, now)
		if err != nil {
			t.Fatal(err)
		}
		if segs := tenantEpochs(b, "acme"); len(segs) != 2 || segs[1] != e || epochOf(b, "acme", 10) != e {
			t.Fatalf("after an epoch at 4: %v", segs)
		}
		if _, err := startEpoch(b, "acme", 0, 0, now); err == nil {
			t.Fatal("an epoch at sequence 0 was accepted")
		}
	})
}

func TestNextEpochFormat(t *testing.T) {
	t.Parallel()
	at := time.UnixMilli(1_700_000_000_123)
	for range 100 {
		e := nextEpoch(0, at)
		if e>>16 != uint64(at.UnixMilli()) {
			t.Fatalf("epoch %d does not carry the time %d", e, at.UnixMilli())
		}
	}
	if e := nextEpoch(math.MaxUint64, at); e != math.MaxUint64 {
		t.Fatalf("nextEpoch(max) = %d", e)
	}
}

func TestPositionEnter(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name         string
		at           Position
		epoch, start uint64
		want         Position
		live         bool
	}{
		{"same epoch", Position{5, 8}, 5, 3, Position{5, 8}, true},
		{"older epoch: history", Position{5, 8}, 4, 1, Position{5, 8}, false},
		{"legacy message after epochs", Position{5, 8}, 0, 1, Position{5, 8}, false},
		{"newer epoch starting after the position", Position{5, 8}, 6, 12, Position{6, 8}, true},
		{"newer epoch right after the position", Position{5, 8}, 6, 9, Position{6, 8}, true},
		{"newer epoch below the position: its events replace", Position{5, 8}, 6, 4, Position{6, 3}, true},
		{"newer epoch from the first event", Position{5, 8}, 6, 1, Position{6, 0}, true},
		{"fresh consumer", Position{}, 6, 1, Position{6, 0}, true},
		{"fresh consumer, legacy producer", Position{}, 0, 1, Position{}, true},
	}
	for _, tt := range tests {
		got, live := tt.at.enter(tt.epoch, tt.start)
		if got != tt.want || live != tt.live {
			t.Errorf("%s: %v.enter(%d, %d) = %v, %v; want %v, %v", tt.name, tt.at, tt.epoch, tt.start, got, live, tt.want, tt.live)
		}
	}
}
