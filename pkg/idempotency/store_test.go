package idempotency_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
	"google.golang.org/protobuf/proto"

	"github.com/huiyuan-dev/huiyuan/pkg/apperr"
	"github.com/huiyuan-dev/huiyuan/pkg/boltx"
	"github.com/huiyuan-dev/huiyuan/pkg/boltx/bolttest"
	"github.com/huiyuan-dev/huiyuan/pkg/idempotency"

	iamv1 "github.com/huiyuan-dev/huiyuan/gen/huiyuan/iam/v1"
)

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func keyCtx(t *testing.T, tenant, requestID, name string) context.Context {
	t.Helper()
	k, ok, err := idempotency.Fingerprint(tenant, createMethod, createReq(requestID, name))
	if err != nil || !ok {
		t.Fatalf("Fingerprint: %v %v", ok, err)
	}
	return idempotency.NewContext(context.Background(), k)
}

// mutate is what a store does: look up, else act and save, in one transaction.
func mutate(t *testing.T, db *boltx.DB, ctx context.Context, result string, at time.Time) (string, bool, error) {
	t.Helper()
	var out string
	var replayed bool
	err := db.Update(context.Background(), func(tx *bolt.Tx) error {
		prev, hit, err := idempotency.Lookup(tx, ctx)
		if err != nil {
			return err
		}
		if hit {
			out, replayed = string(prev), true
			return nil
		}
		out = result
		return idempotency.Save(tx, ctx, []byte(result), at)
	})
	return out, replayed, err
}

func TestLookupSave(t *testing.T) {
	db := bolttest.Open(t) // Save must create its buckets itself
	type step struct {
		ctx          context.Context
		result       string
		want         string
		wantReplayed bool
		wantReason   string
	}
	steps := []struct {
		name string
		step step
	}{
		{"first", step{ctx: keyCtx(t, "acme", "r-1", "a"), result: "first", want: "first"}},
		{"retry replays", step{ctx: keyCtx(t, "acme", "r-1", "a"), result: "second", want: "first", wantReplayed: true}},
		{"reuse with other body", step{ctx: keyCtx(t, "acme", "r-1", "b"), result: "x", wantReason: idempotency.ReasonRequestIDReused}},
		{"same id other tenant is new", step{ctx: keyCtx(t, "beta", "r-1", "a"), result: "beta", want: "beta"}},
		{"new id", step{ctx: keyCtx(t, "acme", "r-2", "a"), result: "r2", want: "r2"}},
		{"no key never stores", step{ctx: context.Background(), result: "none", want: "none"}},
		{"no key again acts again", step{ctx: context.Background(), result: "none2", want: "none2"}},
	}
	for _, s := range steps {
		t.Run(s.name, func(t *testing.T) {
			got, replayed, err := mutate(t, db, s.step.ctx, s.step.result, t0)
			if r := apperr.ReasonOf(err); r != s.step.wantReason {
				t.Fatalf("reason = %q, want %q (err %v)", r, s.step.wantReason, err)
			}
			if err != nil {
				if apperr.CodeOf(err) != apperr.Invalid {
					t.Fatalf("code = %q", apperr.CodeOf(err))
				}
				if ae, ok := err.(*apperr.Error); !ok || len(ae.Violations) != 1 || ae.Violations[0].Field != "request_id" {
					t.Fatalf("err = %#v, want a violation on request_id", err)
				}
				return
			}
			if got != s.step.want || replayed != s.step.wantReplayed {
				t.Fatalf("got %q replayed=%v, want %q replayed=%v", got, replayed, s.step.want, s.step.wantReplayed)
			}
		})
	}
}

func TestLookupWithoutBucket(t *testing.T) {
	db := bolttest.Open(t)
	err := db.View(context.Background(), func(tx *bolt.Tx) error {
		_, hit, err := idempotency.Lookup(tx, keyCtx(t, "acme", "r", "a"))
		if hit {
			return fmt.Errorf("hit in an empty database")
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestPrune(t *testing.T) {
	db := bolttest.Open(t, idempotency.Buckets()...)
	// Ten records, one per hour from t0.
	for i := 0; i < 10; i++ {
		if _, _, err := mutate(t, db, keyCtx(t, "acme", fmt.Sprintf("r-%d", i), "a"), "v", t0.Add(time.Duration(i)*time.Hour)); err != nil {
			t.Fatal(err)
		}
	}
	// Overwriting r-0 later must move its index entry, not leave the old one to delete it early.
	err := db.Update(context.Background(), func(tx *bolt.Tx) error {
		return idempotency.Save(tx, keyCtx(t, "acme", "r-0", "a"), []byte("v2"), t0.Add(20*time.Hour))
	})
	if err != nil {
		t.Fatal(err)
	}
	prune := func(before time.Time, limit int) int {
		t.Helper()
		var n int
		if err := db.Update(context.Background(), func(tx *bolt.Tx) error {
			var err error
			n, err = idempotency.Prune(tx, before, limit)
			return err
		}); err != nil {
			t.Fatal(err)
		}
		return n
	}
	tests := []struct {
		name   string
		before time.Time
		limit  int
		want   int
	}{
		{"nothing old enough", t0, 0, 0},
		{"limited", t0.Add(5 * time.Hour), 2, 2},       // r-1, r-2
		{"rest up to 5h", t0.Add(5 * time.Hour), 0, 2}, // r-3, r-4
		{"again nothing", t0.Add(5 * time.Hour), 0, 0}, // idempotent
		{"up to 10h", t0.Add(10 * time.Hour), 100, 5},  // r-5..r-9, not r-0 (rewritten at 20h)
		{"everything", t0.Add(21 * time.Hour), 0, 1},   // r-0
	}
	for _, tt := range tests {
		if got := prune(tt.before, tt.limit); got != tt.want {
			t.Fatalf("%s: pruned %d, want %d", tt.name, got, tt.want)
		}
	}
	// A pruned id is new again: the request acts again.
	if _, replayed, err := mutate(t, db, keyCtx(t, "acme", "r-3", "a"), "again", t0.Add(30*time.Hour)); err != nil || replayed {
		t.Fatalf("after prune: replayed=%v err=%v, want a fresh act", replayed, err)
	}
	err = db.View(context.Background(), func(tx *bolt.Tx) error {
		if n := tx.Bucket(idempotency.Bucket()).Stats().KeyN; n != 1 {
			return fmt.Errorf("%d records left, want 1", n)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestConcurrentRetriesActOnce sends the same request from many goroutines at once, through a
// group-commit writer: exactly one acts, every other one gets its answer.
func TestConcurrentRetriesActOnce(t *testing.T) {
	db := bolttest.Open(t, idempotency.Buckets()...)
	w := boltx.NewWriter(db, boltx.WriterOptions{})
	t.Cleanup(func() { _ = w.Close() })
	counter := []byte("counter")
	if err := db.Update(context.Background(), func(tx *bolt.Tx) error {
		_, err := tx.CreateBucket(counter)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	const n = 64
	answers := make(chan string, n)
	errs := make(chan error, n)
	ctx := keyCtx(t, "acme", "same", "a")
	for i := 0; i < n; i++ {
		go func() {
			var answer string
			err := w.Update(context.Background(), func(tx *bolt.Tx) error {
				prev, hit, err := idempotency.Lookup(tx, ctx)
				if err != nil || hit {
					answer = string(prev)
					return err
				}
				b := tx.Bucket(counter)
				next := boltx.ParseU64(b.Get([]byte("acts"))) + 1
				if err := b.Put([]byte("acts"), boltx.U64(next)); err != nil {
					return err
				}
				answer = fmt.Sprintf("act %d", next)
				return idempotency.Save(tx, ctx, []byte(answer), t0)
			})
			answers <- answer
			errs <- err
		}()
	}
	for i := 0; i < n; i++ {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
		if a := <-answers; a != "act 1" {
			t.Fatalf("answer %q, want every caller to get %q", a, "act 1")
		}
	}
	_ = db.View(context.Background(), func(tx *bolt.Tx) error {
		if acts := boltx.ParseU64(tx.Bucket(counter).Get([]byte("acts"))); acts != 1 {
			t.Fatalf("acted %d times, want 1", acts)
		}
		return nil
	})
}

// TestExplicitKey runs the helpers that take the key explicitly: the zero key does nothing, a
// new key replays nothing, a saved answer replays into the caller's message, and the same
// request_id with another request is REQUEST_ID_REUSED.
func TestExplicitKey(t *testing.T) {
	db := bolttest.Open(t)
	key := func(requestID, name string) idempotency.Key {
		k, _, err := idempotency.Fingerprint("acme", createMethod, createReq(requestID, name))
		if err != nil {
			t.Fatal(err)
		}
		return k
	}
	answer := createReq("", "stored answer")
	tests := []struct {
		name       string
		key        idempotency.Key
		save       bool
		wantHit    bool
		wantReason string
	}{
		{name: "zero key saves nothing", key: idempotency.Key{}, save: true},
		{name: "zero key replays nothing", key: idempotency.Key{}},
		{name: "new key", key: key("r-1", "till"), save: true},
		{name: "saved key replays", key: key("r-1", "till"), wantHit: true},
		{name: "same id, other request", key: key("r-1", "other till"), wantReason: idempotency.ReasonRequestIDReused},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := db.Update(context.Background(), func(tx *bolt.Tx) error {
				got := &iamv1.CreateApiKeyRequest{}
				hit, err := idempotency.Replay(tx, tt.key, got)
				if err != nil {
					return err
				}
				if hit != tt.wantHit {
					t.Fatalf("hit = %v, want %v", hit, tt.wantHit)
				}
				if hit && !proto.Equal(got, answer) {
					t.Fatalf("replayed %v, want %v", got, answer)
				}
				if tt.save {
					return idempotency.SaveProto(tx, tt.key, answer, t0)
				}
				return nil
			})
			if got := apperr.ReasonOf(err); got != tt.wantReason {
				t.Fatalf("reason %q (err %v), want %q", got, err, tt.wantReason)
			}
		})
	}
	var n int
	if err := db.View(context.Background(), func(tx *bolt.Tx) error {
		n = tx.Bucket(idempotency.Bucket()).Stats().KeyN
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if n != 1 {
		t.Fatalf("%d records, want 1 (the zero key saves none)", n)
	}
}
