package coupon_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/huiyuan-dev/huiyuan/pkg/apperr"
	"github.com/huiyuan-dev/huiyuan/services/coupon/internal/coupon"
)

// points is loyalty as the exchange sees it: balances, holds, idempotent by request_id, and
// faults to inject (a call that acts but whose answer is lost, a call that does not get
// through, a hold that times out).
type points struct {
	mu        sync.Mutex
	available map[string]int64
	holds     map[string]*hold
	answers   map[string]string // request_id -> hold id of HoldPoints
	n         int
	// loseAnswer makes the next call of that kind act and then answer Unavailable.
	loseAnswer map[string]bool
	// down makes every call fail Unavailable without acting.
	down bool
}

type hold struct {
	member string
	points int64
	state  string // OPEN, CAPTURED, RELEASED, EXPIRED
}

func newPoints(balances map[string]int64) *points {
	return &points{available: balances, holds: map[string]*hold{}, answers: map[string]string{}, loseAnswer: map[string]bool{}}
}

var errLost = apperr.E(apperr.Unavailable, "UNAVAILABLE", "no answer")

func (p *points) fault() error {
	if p.down {
		return errLost
	}
	return nil
}

func (p *points) lost(kind string) bool {
	if p.loseAnswer[kind] {
		p.loseAnswer[kind] = false
		return true
	}
	return false
}

func (p *points) Hold(_ context.Context, _, member string, pts int64, requestID, _ string) (string, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if err := p.fault(); err != nil {
		return "", err
	}
	if id, ok := p.answers[requestID]; ok {
		return id, nil
	}
	if p.available[member] < pts {
		return "", apperr.E(apperr.FailedPrecondition, "INSUFFICIENT_POINTS", "not enough")
	}
	p.n++
	id := fmt.Sprint("h", p.n)
	p.available[member] -= pts
	p.holds[id] = &hold{member: member, points: pts, state: "OPEN"}
	p.answers[requestID] = id
	if p.lost("hold") {
		return "", errLost
	}
	return id, nil
}

func (p *points) Capture(_ context.Context, _, _, holdID, _ string) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if err := p.fault(); err != nil {
		return err
	}
	h := p.holds[holdID]
	switch h.state {
	case "CAPTURED":
		return nil
	case "EXPIRED", "RELEASED":
		return apperr.E(apperr.FailedPrecondition, "HOLD_EXPIRED", "timed out")
	}
	h.state = "CAPTURED"
	if p.lost("capture") {
		return errLost
	}
	return nil
}

func (p *points) Release(_ context.Context, _, _, holdID, _ string) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if err := p.fault(); err != nil {
		return err
	}
	h := p.holds[holdID]
	if h.state == "OPEN" {
		h.state = "RELEASED"
		p.available[h.member] += h.points
	}
	return nil
}

// expire times every open hold out, as loyalty's own timeout does.
func (p *points) expire() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, h := range p.holds {
		if h.state == "OPEN" {
			h.state = "EXPIRED"
			p.available[h.member] += h.points
		}
	}
}

// spent is what member paid: captured holds.
func (p *points) spent(member string) (spent, held int64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, h := range p.holds {
		if h.member != member {
			continue
		}
		switch h.state {
		case "CAPTURED":
			spent += h.points
		case "OPEN":
			held += h.points
		}
	}
	return spent, held
}

// unknownMember is loyalty refusing every hold because it does not know the member.
type unknownMember struct{ *points }

func (p *unknownMember) Hold(context.Context, string, string, int64, string, string) (string, error) {
	return "", apperr.E(apperr.NotFound, "MEMBER_NOT_FOUND", "member not found")
}

func exchangeTemplate(t *testing.T, f *fixture, stock int64) string {
	return f.template(t, func(x *coupon.Template) {
		x.Type, x.ThresholdMinor, x.DiscountMinor, x.Claimable, x.PointsPrice, x.TotalStock = coupon.TypeFixed, 0, 1000, false, 500, stock
	})
}

// settled checks the exchange's invariant: the member has a usable coupon and paid once, or
// has no usable coupon and paid nothing; no points stay held.
func settled(t *testing.T, f *fixture, p *points, x *coupon.Exchange, wantCoupon bool) {
	t.Helper()
	ctx := context.Background()
	x, c, err := f.svc.GetExchange(ctx, tenant, x.ID, "")
	if err != nil {
		t.Fatal(err)
	}
	spent, held := p.spent(x.MemberID)
	usable := c.State == coupon.StateAvailable
	switch {
	case held != 0:
		t.Fatalf("%d points still held (exchange %s)", held, x.State)
	case usable && spent != 500:
		t.Fatalf("coupon %s with %d points paid", c.State, spent)
	case !usable && spent != 0:
		t.Fatalf("%d points paid, coupon %s", spent, c.State)
	case usable != wantCoupon:
		t.Fatalf("exchange %s, coupon %s: want coupon %v", x.State, c.State, wantCoupon)
	}
}

func TestExchange(t *testing.T) {
	ctx := context.Background()
	t.Run("completes", func(t *testing.T) {
		p := newPoints(map[string]int64{"m1": 800})
		f := newFixture(t, p)
		id := exchangeTemplate(t, f, 0)
		x, c, err := f.svc.Exchange(ctx, tenant, id, "m1")
		if err != nil || x.State != coupon.ExchangeCompleted || c.State != coupon.StateAvailable {
			t.Fatalf("exchange = %+v %+v %v", x, c, err)
		}
		settled(t, f, p, x, true)
		if evs := f.events(t); evs[len(evs)-1] != coupon.EventIssued {
			t.Fatalf("events %v", evs)
		}
	})
	t.Run("insufficient points gives the stock back", func(t *testing.T) {
		p := newPoints(map[string]int64{"m1": 100, "m2": 500})
		f := newFixture(t, p)
		id := exchangeTemplate(t, f, 1)
		x, _, err := f.svc.Exchange(ctx, tenant, id, "m1")
		if apperr.ReasonOf(err) != "INSUFFICIENT_POINTS" || x == nil || x.State != coupon.ExchangeFailed {
			t.Fatalf("exchange = %+v %v", x, err)
		}
		settled(t, f, p, x, false)
		if x2, _, err := f.svc.Exchange(ctx, tenant, id, "m2"); err != nil || x2.State != coupon.ExchangeCompleted {
			t.Fatalf("the returned stock is not claimable again: %+v %v", x2, err)
		}
	})
	t.Run("a retry answers a refusal as the first call did", func(t *testing.T) {
		for _, tt := range []struct {
			name string
			pts  coupon.Points
		}{
			{"insufficient points", newPoints(map[string]int64{"m1": 100})},
			{"member unknown to loyalty", &unknownMember{points: newPoints(nil)}},
		} {
			t.Run(tt.name, func(t *testing.T) {
				f := newFixture(t, tt.pts)
				id := exchangeTemplate(t, f, 0)
				req := withRequest(ctx, "/exchange", "x-refused")
				_, _, first := f.svc.Exchange(req, tenant, id, "m1")
				x, _, again := f.svc.Exchange(req, tenant, id, "m1")
				if first == nil || x.State != coupon.ExchangeFailed {
					t.Fatalf("exchange = %+v %v", x, first)
				}
				if apperr.CodeOf(again) != apperr.CodeOf(first) || apperr.ReasonOf(again) != apperr.ReasonOf(first) {
					t.Fatalf("first answer %v, the retry %v", first, again)
				}
				for _, err := range []error{first, again} {
					var e *apperr.Error
					if !errors.As(err, &e) || e.Metadata["exchange_id"] != x.ID {
						t.Fatalf("%v does not name exchange %s", err, x.ID)
					}
				}
			})
		}
	})
	t.Run("hold answer lost then recovered", func(t *testing.T) {
		p := newPoints(map[string]int64{"m1": 800})
		p.loseAnswer["hold"] = true
		f := newFixture(t, p)
		id := exchangeTemplate(t, f, 0)
		x, c, err := f.svc.Exchange(ctx, tenant, id, "m1")
		if apperr.ReasonOf(err) != coupon.ReasonExchangePending || x.State != coupon.ExchangeHolding || c.State != coupon.StatePending {
			t.Fatalf("exchange = %+v %+v %v", x, c, err)
		}
		if n, _ := f.svc.RecoverExchanges(ctx); n != 0 {
			t.Fatal("recovery did not wait for the grace period")
		}
		f.clk.Advance(2 * time.Second)
		if n, err := f.svc.RecoverExchanges(ctx); n != 1 || err != nil {
			t.Fatalf("recovered %d, %v", n, err)
		}
		settled(t, f, p, x, true)
		if len(p.holds) != 1 {
			t.Fatalf("%d holds: the retry held again", len(p.holds))
		}
	})
	t.Run("capture answer lost then retried by the request", func(t *testing.T) {
		p := newPoints(map[string]int64{"m1": 800})
		p.loseAnswer["capture"] = true
		f := newFixture(t, p)
		id := exchangeTemplate(t, f, 0)
		req := withRequest(ctx, "/exchange", "x-1")
		x, _, err := f.svc.Exchange(req, tenant, id, "m1")
		if apperr.ReasonOf(err) != coupon.ReasonExchangePending || x.State != coupon.ExchangeCapturing {
			t.Fatalf("exchange = %+v %v", x, err)
		}
		again, c, err := f.svc.Exchange(req, tenant, id, "m1")
		if err != nil || again.ID != x.ID || again.State != coupon.ExchangeCompleted || c.State != coupon.StateAvailable {
			t.Fatalf("retry = %+v %+v %v", again, c, err)
		}
		settled(t, f, p, x, true)
	})
	t.Run("hold timed out before capture", func(t *testing.T) {
		p := newPoints(map[string]int64{"m1": 800})
		f := newFixture(t, p)
		id := exchangeTemplate(t, f, 0)
		p.loseAnswer["hold"] = true
		x, _, err := f.svc.Exchange(ctx, tenant, id, "m1")
		if apperr.ReasonOf(err) != coupon.ReasonExchangePending {
			t.Fatalf("exchange = %+v %v", x, err)
		}
		p.expire() // the coupon process stayed down past the hold's timeout
		f.clk.Advance(time.Hour)
		if n, err := f.svc.RecoverExchanges(ctx); n != 1 || err != nil {
			t.Fatalf("recovered %d, %v", n, err)
		}
		settled(t, f, p, x, false)
		_, c, _ := f.svc.GetExchange(ctx, tenant, x.ID, "")
		if c.State != coupon.StateVoided {
			t.Fatalf("coupon %s", c.State)
		}
	})
	t.Run("loyalty down: nothing moves until it is back", func(t *testing.T) {
		p := newPoints(map[string]int64{"m1": 800})
		p.down = true
		f := newFixture(t, p)
		id := exchangeTemplate(t, f, 0)
		x, c, err := f.svc.Exchange(ctx, tenant, id, "m1")
		if apperr.CodeOf(err) != apperr.Unavailable || c.State != coupon.StatePending {
			t.Fatalf("exchange = %+v %v", x, err)
		}
		if _, _, err := f.svc.Lock(ctx, tenant, c.Code, coupon.UseInput{Member: "m1", Order: "o1"}); apperr.ReasonOf(err) != coupon.ReasonCouponPending {
			t.Fatalf("a pending coupon was usable: %v", err)
		}
		f.clk.Advance(time.Minute)
		if n, _ := f.svc.RecoverExchanges(ctx); n != 0 {
			t.Fatal("settled while loyalty is down")
		}
		p.mu.Lock()
		p.down = false
		p.mu.Unlock()
		if n, err := f.svc.RecoverExchanges(ctx); n != 1 || err != nil {
			t.Fatalf("recovered %d, %v", n, err)
		}
		settled(t, f, p, x, true)
	})
	t.Run("concurrent drivers settle once", func(t *testing.T) {
		p := newPoints(map[string]int64{"m1": 800})
		p.loseAnswer["hold"] = true
		f := newFixture(t, p)
		id := exchangeTemplate(t, f, 0)
		req := withRequest(ctx, "/exchange", "x-2")
		x, _, _ := f.svc.Exchange(req, tenant, id, "m1")
		f.clk.Advance(time.Minute)
		var wg sync.WaitGroup
		for range 8 {
			wg.Go(func() { _, _ = f.svc.RecoverExchanges(ctx) })
			wg.Go(func() { _, _, _ = f.svc.Exchange(req, tenant, id, "m1") })
		}
		wg.Wait()
		settled(t, f, p, x, true)
		if len(p.holds) != 1 {
			t.Fatalf("%d holds", len(p.holds))
		}
	})
}
