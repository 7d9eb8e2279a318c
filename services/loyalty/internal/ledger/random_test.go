package ledger_test

import (
	"flag"
	"fmt"
	"math/rand/v2"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/huiyuan-dev/huiyuan/pkg/apperr"
	"github.com/huiyuan-dev/huiyuan/services/loyalty/internal/ledger"
)

var (
	seedFlag  = flag.Uint64("ledger.seed", 0, "run TestRandomOperations with this seed only")
	stepsFlag = flag.Int("ledger.steps", 4000, "steps per seed of TestRandomOperations")
)

// TestRandomOperations runs thousands of mixed operations over a few members against the
// reference model and checks, after every step, that each transaction balances, that the
// books verify (balances equal the sums of postings, none negative, lots add up), and that
// book and model agree on every balance and on which lots remain with how much.
// Rerun a failure with: go test -run TestRandomOperations -ledger.seed=N
func TestRandomOperations(t *testing.T) {
	randomOperations(t, false)
}

// TestRandomOperationsHidden is TestRandomOperations with books handed over as a store that
// loads only some lots does: before every step each book has a random run of its lots hidden
// (now and then one a store must not hide, pending or held), and every check above must hold
// as for whole books.
func TestRandomOperationsHidden(t *testing.T) {
	randomOperations(t, true)
}

func randomOperations(t *testing.T, hide bool) {
	seeds := []uint64{1, 2, 3, uint64(time.Now().UnixNano())}
	if *seedFlag != 0 {
		seeds = []uint64{*seedFlag}
	}
	steps := *stepsFlag
	if testing.Short() {
		steps = 800
	}
	for _, seed := range seeds {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			t.Parallel()
			r := newRun(t, seed)
			r.hide = hide
			for i := 0; i < steps; i++ {
				r.step = i
				r.once()
			}
			if hide && (r.count["(hidden)"] < steps/2 || r.reads == 0) {
				t.Fatalf("lots were hidden before %d steps and %d read back: the test did not test", r.count["(hidden)"], r.reads)
			}
			t.Logf("seed %d: %d transactions; %v", seed, r.txns, r.count)
		})
	}
}

type randomRun struct {
	t       *testing.T
	seed    uint64
	step    int
	rng     *rand.Rand
	keep    *ledger.Ledger // transfers keep expiry
	reset   *ledger.Ledger // transfers reset expiry
	policy  ledger.ExpiryPolicy
	now     time.Time
	books   []*ledger.Book
	models  []*model
	verify  []*ledger.Verifier
	orders  [][]*mOrder
	seq     int
	holdSeq int
	txns    int
	count   map[string]int
	hide    bool // hide lots before each step (TestRandomOperationsHidden)
	reads   int  // hidden lots read back
}

type mOrder struct {
	ref                      string
	earned, amount, refunded int64
}

const window = 3 * 24 * time.Hour

func newRun(t *testing.T, seed uint64) *randomRun {
	r := &randomRun{t: t, seed: seed, rng: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)), now: t0,
		policy: ledger.ExpiryPolicy{Kind: ledger.ExpireAfterDays, N: 10}, count: map[string]int{}}
	ids := counter()
	cfg := ledger.Config{Location: shanghai, Expiry: r.policy, NewID: ids,
		Transfer: ledger.TransferRules{Enabled: true, KeepExpiry: true, MaxPointsPerWindow: 700, Window: window}}
	r.keep = newLedger(t, cfg)
	cfg.Transfer.KeepExpiry = false
	r.reset = newLedger(t, cfg)
	for i := range 4 {
		id := fmt.Sprintf("m%d", i)
		r.books = append(r.books, ledger.NewBook(id))
		r.models = append(r.models, newModel(id))
		r.verify = append(r.verify, ledger.NewVerifier(id))
		r.orders = append(r.orders, nil)
	}
	return r
}

func (r *randomRun) fatalf(format string, args ...any) {
	r.t.Helper()
	r.t.Fatalf("seed %d step %d: %s", r.seed, r.step, fmt.Sprintf(format, args...))
}

func (r *randomRun) nextSeq() int { r.seq++; return r.seq }

func (r *randomRun) pts(max int64) int64 { return 1 + r.rng.Int64N(max) }

// once advances time and runs one random operation on a random member.
func (r *randomRun) once() {
	switch r.rng.IntN(4) {
	case 0: // same instant: ties in earn time
	default:
		r.now = r.now.Add(time.Duration(r.rng.Int64N(int64(8 * time.Hour))))
	}
	if r.hide {
		hidden := false
		for _, b := range r.books {
			ledger.RevealAll(b) // each step is a transaction of its own, loaded afresh
			if r.rng.IntN(5) != 0 && hideLots(r.rng, b, r.rng.IntN(10) == 0, &r.reads) {
				hidden = true
			}
		}
		if hidden {
			r.count["(hidden)"]++
		}
	}
	i := r.rng.IntN(len(r.books))
	switch op := r.rng.IntN(100); {
	case op < 25:
		r.earn(i)
	case op < 38:
		r.redeem(i)
	case op < 48:
		r.hold(i)
	case op < 56:
		r.capture(i)
	case op < 61:
		r.release(i)
	case op < 71:
		r.refund(i)
	case op < 77:
		r.adjust(i)
	case op < 90:
		r.transfer(i)
	default:
		r.settle(i)
	}
}

// expect runs op on book i and checks the outcome against the model's: want is the reason the
// model expects ("" for success) and next the model after success.
func (r *randomRun) expect(name string, i int, want string, next *model, op func(*ledger.Book) ([]ledger.Txn, error)) []ledger.Txn {
	r.t.Helper()
	before := r.books[i].Clone()
	txns, err := op(r.books[i])
	if want != "" {
		r.count[name+":"+want]++
		if apperr.ReasonOf(err) != want {
			r.fatalf("%s on %s: got %v, model expects %s", name, r.books[i].MemberID, err, want)
		}
		if !sameBook(before, r.books[i]) {
			r.fatalf("%s failed with %v but changed the book", name, err)
		}
		return nil
	}
	r.count[name]++
	if err != nil {
		r.fatalf("%s on %s: %v, model expects success", name, r.books[i].MemberID, err)
	}
	r.models[i] = next
	r.check(i, txns)
	return txns
}

// check feeds txns to member i's verifier and compares book and model.
func (r *randomRun) check(i int, txns []ledger.Txn) {
	r.t.Helper()
	b, m := r.books[i], r.models[i]
	expiries := 0
	for _, x := range txns {
		r.txns++
		if x.Sum() != 0 {
			r.fatalf("txn %s (%s) sums to %d", x.ID, x.Kind, x.Sum())
		}
		if x.Kind == ledger.KindExpire {
			expiries++
		}
		if x.Kind != ledger.KindEarn && x.Kind != ledger.KindAdjust && x.Kind != ledger.KindTransferIn && x.Delta(ledger.Debt) > 0 {
			r.count["(debt repaid by "+string(x.Kind)+")"]++
		}
		r.verify[i].Add(x)
	}
	if expiries > 0 {
		r.count["(expiry txns)"]++
	}
	if expiries > 1 {
		r.fatalf("one operation posted %d expiry transactions", expiries)
	}
	if ps := r.verify[i].Check(b); len(ps) > 0 {
		r.fatalf("member %s books inconsistent: %v", b.MemberID, ps)
	}
	for _, a := range unionKeys(b.Balances, m.bal) {
		if b.Balances[a] != m.bal[a] {
			r.fatalf("member %s: %s = %d, model %d", b.MemberID, a, b.Balances[a], m.bal[a])
		}
	}
	if b.LifetimeEarned != m.lifetime {
		r.fatalf("member %s: lifetime %d, model %d", b.MemberID, b.LifetimeEarned, m.lifetime)
	}
	if got, want := lotGroups(b.Lots), modelGroups(m.lots); !reflect.DeepEqual(got, want) {
		r.fatalf("member %s: lots by group differ:\nbook  %+v\nmodel %+v\nlots %+v", b.MemberID, got, want, b.Lots)
	}
	for j := range b.Lots {
		for k := range j {
			x, y := &b.Lots[k], &b.Lots[j]
			if !x.Pending && !y.Pending && y.Held == 0 && x.Notified == y.Notified && x.ExpiresAt.Equal(y.ExpiresAt) {
				r.fatalf("member %s: lots %d and %d expire together and were not merged: %+v", b.MemberID, k, j, b.Lots)
			}
		}
	}
	for _, mh := range m.holds {
		h, ok := b.FindHold(mh.id)
		if !ok || h.Status != mh.status || h.Points != mh.points {
			r.fatalf("member %s hold %s: book %+v, model %+v", b.MemberID, mh.id, h, mh)
		}
	}
}

// lotKey is what tells lots apart for the rules: their expiry and, while pending, their order
// and the end of their return window. Books merge the available lots of one expiry
// (Book.mergeLots) and the model keeps every credit apart, so the two are compared by group.
type lotKey struct {
	expires, pendingUntil time.Time
	pending               bool
	order                 string
}

type lotSum struct{ rem, held int64 }

func lotGroups(lots []ledger.Lot) map[lotKey]lotSum {
	out := map[lotKey]lotSum{}
	for _, l := range lots {
		k := lotKey{expires: l.ExpiresAt.UTC()}
		if l.Pending {
			k.pending, k.pendingUntil, k.order = true, l.PendingUntil.UTC(), l.Order
		}
		if l.Remaining != 0 || l.Held != 0 {
			s := out[k]
			out[k] = lotSum{s.rem + l.Remaining, s.held + l.Held}
		}
	}
	return out
}

func modelGroups(lots []mLot) map[lotKey]lotSum {
	out := make([]ledger.Lot, len(lots))
	for i, l := range lots {
		out[i] = ledger.Lot{ExpiresAt: l.expires, Pending: l.pending, PendingUntil: l.pendingUntil, Order: l.order,
			Remaining: l.rem, Held: l.held}
	}
	return lotGroups(out)
}

func unionKeys(a, b map[ledger.Account]int64) []ledger.Account {
	var out []ledger.Account
	for k := range a {
		out = append(out, k)
	}
	for k := range b {
		if _, ok := a[k]; !ok {
			out = append(out, k)
		}
	}
	slices.Sort(out)
	return out
}

func (r *randomRun) earn(i int) {
	n := r.pts(500)
	req := ledger.EarnRequest{Points: n, At: r.now}
	switch c := r.rng.IntN(100); {
	case c < 70:
		o := &mOrder{ref: fmt.Sprintf("o%d", r.nextSeq()), earned: n, amount: 1 + r.rng.Int64N(100000)}
		r.orders[i] = append(r.orders[i], o)
		req.Cause = ledger.Cause{Type: ledger.CauseOrder, Ref: o.ref}
	case c < 85:
		req.Cause = ledger.Cause{Type: ledger.CauseCampaign, Ref: fmt.Sprintf("c%d", r.rng.IntN(2))}
	default:
		req.Cause = ledger.Cause{Type: ledger.CauseCheckIn}
	}
	lot := mLot{earned: r.now, rem: n}
	switch e := r.rng.IntN(10); {
	case e < 4: // whole days from t0, so lots share expiries
		days := int64(r.now.Sub(t0)/(24*time.Hour)) + 1 + r.rng.Int64N(15)
		req.ExpiresAt = t0.Add(time.Duration(days) * 24 * time.Hour)
		lot.expires = req.ExpiresAt
	case e < 7:
		lot.expires = r.policy.ExpiresAt(r.now, shanghai)
	default:
		req.NeverExpires = true
	}
	if r.rng.IntN(10) < 3 {
		req.PendingUntil = r.now.Add(time.Duration(r.rng.Int64N(int64(4 * 24 * time.Hour))))
		if req.PendingUntil.After(r.now) {
			lot.pending, lot.pendingUntil = true, req.PendingUntil
		}
	}
	if req.Cause.Type == ledger.CauseOrder {
		lot.order = req.Cause.Ref
	}
	m := r.models[i].clone()
	m.settle(r.now)
	source := ledger.Issued
	if req.Cause.Type == ledger.CauseCampaign {
		source = ledger.CampaignBudget(req.Cause.Ref)
	}
	m.credit(source, n, []mLot{lot}, r.nextSeq)
	m.lifetime += n
	r.expect("earn", i, "", m, func(b *ledger.Book) ([]ledger.Txn, error) { return r.keep.Earn(b, req) })
}

// amount picks a debit: usually affordable, sometimes not.
func (r *randomRun) amount(have int64) int64 {
	return r.pts(have + have/4 + 10)
}

func (r *randomRun) redeem(i int) {
	m := r.models[i].clone()
	m.settle(r.now)
	n := r.amount(m.spendable())
	req := ledger.RedeemRequest{Points: n, At: r.now, Cause: ledger.Cause{Type: ledger.CauseRedemption, Ref: "r"}}
	want := ""
	if m.spendable() < n {
		want = ledger.ReasonInsufficientPoints
	} else {
		m.take(n)
		m.move(ledger.Available, ledger.Redeemed, n)
		m.prune()
	}
	r.expect("redeem", i, want, m, func(b *ledger.Book) ([]ledger.Txn, error) { return r.keep.Redeem(b, req) })
}

func (r *randomRun) adjust(i int) {
	m := r.models[i].clone()
	m.settle(r.now)
	n := r.pts(300)
	want := ""
	if r.rng.IntN(2) == 0 {
		n = -n
		if m.spendable() < -n {
			want = ledger.ReasonInsufficientPoints
		} else {
			m.take(-n)
			m.move(ledger.Available, ledger.Adjustments, -n)
			m.prune()
		}
	} else {
		m.credit(ledger.Adjustments, n, []mLot{{earned: r.now, expires: r.policy.ExpiresAt(r.now, shanghai), rem: n}}, r.nextSeq)
	}
	req := ledger.AdjustRequest{Points: n, Reason: "goodwill", Actor: "staff-1", At: r.now}
	r.expect("adjust", i, want, m, func(b *ledger.Book) ([]ledger.Txn, error) { return r.keep.Adjust(b, req) })
}

func (r *randomRun) hold(i int) {
	m := r.models[i].clone()
	id := fmt.Sprintf("h%d", r.holdSeq+1)
	if len(m.holds) > 0 && r.rng.IntN(10) == 0 {
		id = m.holds[r.rng.IntN(len(m.holds))].id // reuse: HOLD_EXISTS
	} else {
		r.holdSeq++
	}
	m.settle(r.now)
	n := r.amount(m.spendable())
	req := ledger.HoldRequest{HoldID: id, Points: n, At: r.now, ExpiresAt: r.now.Add(time.Hour + time.Duration(r.rng.Int64N(int64(10*24*time.Hour)))),
		Cause: ledger.Cause{Type: ledger.CauseRedemption, Ref: "checkout"}}
	want := ""
	switch {
	case m.hold(id) != nil:
		want = ledger.ReasonHoldExists
	case m.spendable() < n:
		want = ledger.ReasonInsufficientPoints
	default:
		parts, _ := m.take(n)
		for _, p := range parts {
			m.lot(p.seq).held += p.pts
		}
		m.move(ledger.Available, ledger.Held, n)
		m.holds = append(m.holds, mHold{id: id, parts: parts, points: n, expires: req.ExpiresAt, status: ledger.HoldOpen})
	}
	r.expect("hold", i, want, m, func(b *ledger.Book) ([]ledger.Txn, error) { return r.keep.Hold(b, req) })
}

// pickHold returns an id of one of member i's holds, or an unknown one.
func (r *randomRun) pickHold(i int) string {
	hs := r.models[i].holds
	if len(hs) == 0 || r.rng.IntN(20) == 0 {
		return "nope"
	}
	var open []string
	for _, h := range hs {
		if h.status == ledger.HoldOpen {
			open = append(open, h.id)
		}
	}
	if len(open) > 0 && r.rng.IntN(5) > 0 {
		return open[r.rng.IntN(len(open))]
	}
	return hs[r.rng.IntN(len(hs))].id
}

// holdState is the reason a capture or release of id fails before the hold is touched.
func (r *randomRun) holdState(m *model, id string) string {
	h := m.hold(id)
	switch {
	case h == nil:
		return ledger.ReasonHoldNotFound
	case h.status != ledger.HoldOpen:
		return ledger.ReasonHoldClosed
	case !h.expires.After(r.now):
		return ledger.ReasonHoldExpired
	}
	return ""
}

func (r *randomRun) capture(i int) {
	id := r.pickHold(i)
	m := r.models[i].clone()
	var n int64
	if h := m.hold(id); h != nil && r.rng.IntN(3) > 0 {
		n = r.pts(h.points + 2)
	}
	want := r.holdState(m, id)
	if want == "" && n > m.hold(id).points {
		want = "INVALID_ARGUMENT"
	}
	if want == "" {
		m.settle(r.now)
		h := m.hold(id)
		c := n
		if c == 0 {
			c = h.points
		}
		m.giveBack(h, ledger.HoldCaptured, c, r.now)
		m.prune()
	}
	req := ledger.CaptureRequest{HoldID: id, Points: n, At: r.now}
	r.expect("capture", i, want, m, func(b *ledger.Book) ([]ledger.Txn, error) { return r.keep.Capture(b, req) })
}

func (r *randomRun) release(i int) {
	id := r.pickHold(i)
	m := r.models[i].clone()
	want := r.holdState(m, id)
	switch want {
	case ledger.ReasonHoldExpired: // Release then just settles, which releases it
		want = ""
		m.settle(r.now)
	case "":
		m.settle(r.now)
		m.giveBack(m.hold(id), ledger.HoldReleased, 0, r.now)
	}
	req := ledger.ReleaseRequest{HoldID: id, At: r.now, Reason: "cart abandoned"}
	r.expect("release", i, want, m, func(b *ledger.Book) ([]ledger.Txn, error) { return r.keep.Release(b, req) })
}

func (r *randomRun) refund(i int) {
	if len(r.orders[i]) == 0 {
		r.settle(i)
		return
	}
	os := r.orders[i]
	o := os[r.rng.IntN(len(os))]
	if r.rng.IntN(3) > 0 { // recent orders still have pending points
		o = os[len(os)-1-r.rng.IntN(min(len(os), 3))]
	}
	left := o.amount - o.refunded
	amount := int64(1)
	if left > 0 {
		amount = 1 + r.rng.Int64N(left)
		if r.rng.IntN(3) == 0 {
			amount = left
		}
	}
	policy := []ledger.RefundPolicy{ledger.RefundOnlyPending, ledger.RefundWithinAvailable, ledger.RefundFullWithDebt}[r.rng.IntN(3)]
	req := ledger.ReverseRequest{Order: o.ref, RefundID: fmt.Sprintf("rf%d", r.nextSeq()), Earned: o.earned,
		OrderAmount: o.amount, RefundedBefore: o.refunded, RefundAmount: amount, Policy: policy, At: r.now}
	m := r.models[i].clone()
	if amount > left {
		r.expect("refund", i, ledger.ReasonRefundExceedsOrder, m, func(b *ledger.Book) ([]ledger.Txn, error) {
			_, err := r.keep.Reverse(b, req)
			return nil, err
		})
		return
	}
	m.settle(r.now)
	due := o.earned*(o.refunded+amount)/o.amount - o.earned*o.refunded/o.amount
	rest := due
	var fromPending int64
	for j := range m.lots {
		l := &m.lots[j]
		if l.order == o.ref && l.pending && rest > 0 {
			k := min(l.rem, rest)
			l.rem -= k
			rest -= k
			fromPending += k
		}
	}
	m.move(ledger.Pending, ledger.Issued, fromPending)
	var fromAvail, debt int64
	if policy != ledger.RefundOnlyPending {
		fromAvail = min(rest, m.spendable())
		m.take(fromAvail)
		m.move(ledger.Available, ledger.Issued, fromAvail)
		rest -= fromAvail
	}
	if policy == ledger.RefundFullWithDebt {
		debt, rest = rest, 0
		m.move(ledger.Debt, ledger.Issued, debt)
	}
	m.lifetime = max(0, m.lifetime-fromPending-fromAvail-debt)
	m.prune()
	var got ledger.Reversal
	r.expect("refund", i, "", m, func(b *ledger.Book) ([]ledger.Txn, error) {
		var err error
		got, err = r.keep.Reverse(b, req)
		return got.Txns, err
	})
	want := ledger.Reversal{Due: due, Reversed: fromPending + fromAvail, Debt: debt, Forgiven: rest}
	if debt > 0 {
		r.count["(refunds into debt)"]++
	}
	if fromPending > 0 {
		r.count["(refunds from pending)"]++
	}
	got.Txns = nil
	if !reflect.DeepEqual(got, want) {
		r.fatalf("refund %+v: got %+v, model %+v", req, got, want)
	}
	o.refunded += amount
}

func (r *randomRun) transfer(i int) {
	j := (i + 1 + r.rng.IntN(len(r.books)-1)) % len(r.books)
	if r.rng.IntN(30) == 0 {
		j = i
	}
	l, keep := r.keep, true
	if r.rng.IntN(2) == 0 {
		l, keep = r.reset, false
	}
	from, to := r.models[i].clone(), r.models[j].clone()
	n := r.pts(400)
	req := ledger.TransferRequest{TransferID: fmt.Sprintf("t%d", r.nextSeq()), Points: n, At: r.now}
	var sent int64
	var recent []mMark
	for _, mk := range from.marks {
		if mk.at.After(r.now.Add(-window)) {
			sent += mk.pts
			recent = append(recent, mk)
		}
	}
	from.settle(r.now)
	want := ""
	switch {
	case i == j:
		want = ledger.ReasonTransferToSelf
	case sent+n > 700:
		want = ledger.ReasonTransferLimitReached
	case from.spendable() < n:
		want = ledger.ReasonInsufficientPoints
	}
	fromBefore, toBefore := r.books[i].Clone(), r.books[j].Clone()
	res, err := l.Transfer(r.books[i], r.books[j], req)
	if want != "" {
		r.count["transfer:"+want]++
		if apperr.ReasonOf(err) != want {
			r.fatalf("transfer %d→%d: got %v, model expects %s", i, j, err, want)
		}
		if !sameBook(fromBefore, r.books[i]) || !sameBook(toBefore, r.books[j]) {
			r.fatalf("failed transfer changed a book")
		}
		return
	}
	if err != nil {
		r.fatalf("transfer %d→%d of %d: %v", i, j, n, err)
	}
	r.count["transfer"]++
	parts, exps := from.take(n)
	from.move(ledger.Available, ledger.Transfers, n)
	from.marks = append(recent, mMark{at: r.now, pts: n})
	from.prune()
	to.settle(r.now)
	var lots []mLot
	if keep {
		for k, p := range parts {
			if len(lots) > 0 && lots[len(lots)-1].expires.Equal(exps[k]) {
				lots[len(lots)-1].rem += p.pts
				continue
			}
			lots = append(lots, mLot{earned: r.now, expires: exps[k], rem: p.pts})
		}
	} else {
		lots = []mLot{{earned: r.now, expires: r.policy.ExpiresAt(r.now, shanghai), rem: n}}
	}
	to.credit(ledger.Transfers, n, lots, r.nextSeq)
	r.models[i], r.models[j] = from, to
	r.check(i, res.Out)
	r.check(j, res.In)
}

func (r *randomRun) settle(i int) {
	m := r.models[i].clone()
	m.settle(r.now)
	r.expect("settle", i, "", m, func(b *ledger.Book) ([]ledger.Txn, error) { return r.keep.Settle(b, r.now) })
	// A second run at the same time posts nothing.
	if again, err := r.keep.Settle(r.books[i], r.now); err != nil || len(again) != 0 {
		r.fatalf("second settle posted %v, %v", kinds(again), err)
	}
}

// sameBook reports whether a and b are the same book once every hidden lot is read back.
func sameBook(a, b *ledger.Book) bool {
	ledger.RevealAll(a)
	ledger.RevealAll(b)
	return reflect.DeepEqual(a, b)
}
