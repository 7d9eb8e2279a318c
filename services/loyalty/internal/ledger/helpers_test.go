package ledger_test

import (
	"errors"
	"fmt"
	"reflect"
	"sync/atomic"
	"testing"
	"time"

	"github.com/huiyuan-dev/huiyuan/pkg/apperr"
	"github.com/huiyuan-dev/huiyuan/services/loyalty/internal/ledger"
)

// t0 is the tests' epoch: a Sunday morning in Shanghai.
var t0 = time.Date(2026, 3, 1, 2, 0, 0, 0, time.UTC)

var shanghai = mustLoc("Asia/Shanghai")

func mustLoc(name string) *time.Location {
	loc, err := time.LoadLocation(name)
	if err != nil {
		panic(err)
	}
	return loc
}

// counter returns an id source whose ids sort in creation order, so tests are deterministic.
func counter() func() string {
	var n atomic.Int64
	return func() string { return fmt.Sprintf("id%08d", n.Add(1)) }
}

func newLedger(t testing.TB, cfg ledger.Config) *ledger.Ledger {
	t.Helper()
	if cfg.NewID == nil {
		cfg.NewID = counter()
	}
	l, err := ledger.New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return l
}

func day(n float64) time.Duration { return time.Duration(n * float64(24*time.Hour)) }

// ops records every transaction posted to a book and checks them as they come.
type ops struct {
	t    testing.TB
	l    *ledger.Ledger
	b    *ledger.Book
	txns []ledger.Txn
}

func newOps(t testing.TB, l *ledger.Ledger, member string) *ops {
	return &ops{t: t, l: l, b: ledger.NewBook(member)}
}

func (o *ops) record(txns []ledger.Txn, err error) []ledger.Txn {
	o.t.Helper()
	if err != nil {
		o.t.Fatalf("unexpected error: %v", err)
	}
	o.txns = append(o.txns, txns...)
	o.verify()
	return txns
}

func (o *ops) verify() {
	o.t.Helper()
	if ps := ledger.Verify(o.b, o.txns); len(ps) > 0 {
		o.t.Fatalf("books inconsistent: %v", ps)
	}
}

func (o *ops) earn(points int64, at time.Time, expires time.Time) []ledger.Txn {
	o.t.Helper()
	return o.record(o.l.Earn(o.b, ledger.EarnRequest{Points: points, At: at, ExpiresAt: expires,
		NeverExpires: expires.IsZero(), Cause: ledger.Cause{Type: ledger.CauseReward}}))
}

// failsUnchanged runs op on a clone of b and checks it fails with reason and leaves the clone
// exactly as it was.
func failsUnchanged(t *testing.T, b *ledger.Book, reason string, op func(*ledger.Book) error) {
	t.Helper()
	c := b.Clone()
	err := op(c)
	if err == nil {
		t.Fatalf("succeeded, want %s", reason)
	}
	if got := apperr.ReasonOf(err); got != reason {
		t.Fatalf("reason %q (%v), want %q", got, err, reason)
	}
	if !reflect.DeepEqual(c, b) {
		t.Fatalf("failed operation changed the book:\n got %+v\nwant %+v", c, b)
	}
}

func kinds(txns []ledger.Txn) []ledger.Kind {
	out := make([]ledger.Kind, len(txns))
	for i, t := range txns {
		out[i] = t.Kind
	}
	return out
}

// remaining lists the lots' (remaining, held) in consumption order.
func remaining(b *ledger.Book) [][2]int64 {
	out := make([][2]int64, len(b.Lots))
	for i, l := range b.Lots {
		out[i] = [2]int64{l.Remaining, l.Held}
	}
	return out
}

func violations(err error) []string {
	var e *apperr.Error
	if !asAppErr(err, &e) {
		return nil
	}
	out := make([]string, len(e.Violations))
	for i, v := range e.Violations {
		out[i] = v.Field
	}
	return out
}

func asAppErr(err error, target **apperr.Error) bool { return errors.As(err, target) }
