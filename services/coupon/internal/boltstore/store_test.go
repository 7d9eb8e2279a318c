package boltstore_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/huiyuan-dev/huiyuan/pkg/apperr"
	"github.com/huiyuan-dev/huiyuan/pkg/boltx"
	"github.com/huiyuan-dev/huiyuan/pkg/boltx/bolttest"
	"github.com/huiyuan-dev/huiyuan/pkg/clock"
	"github.com/huiyuan-dev/huiyuan/pkg/eventlog"
	"github.com/huiyuan-dev/huiyuan/pkg/idempotency"
	"github.com/huiyuan-dev/huiyuan/services/coupon/internal/boltstore"
	"github.com/huiyuan-dev/huiyuan/services/coupon/internal/coupon"
)

var t0 = time.Date(2026, 3, 1, 2, 0, 0, 0, time.UTC)

func newStore(t *testing.T) (*boltstore.Store, *clock.Fake) {
	t.Helper()
	log := eventlog.New("coupon")
	db := bolttest.Open(t, append(append(boltstore.Buckets(), log.Buckets()...), idempotency.Buckets()...)...)
	w := boltx.NewWriter(db, boltx.WriterOptions{})
	t.Cleanup(func() { _ = w.Close() })
	clk := clock.NewFake(t0)
	s, err := boltstore.New(boltstore.Config{DB: db, Writer: w, Log: log, Clock: clk})
	if err != nil {
		t.Fatal(err)
	}
	return s, clk
}

func template(t *testing.T, s *boltstore.Store, tenant, id string) {
	t.Helper()
	tp := &coupon.Template{ID: id, Title: "x", Type: coupon.TypeFixed, Currency: "CNY", DiscountMinor: 1, ValidDays: 1, Status: coupon.StatusActive}
	if _, err := s.CreateTemplate(context.Background(), tenant, tp, nil); err != nil {
		t.Fatal(err)
	}
}

// issue stores coupon i of template for member, letting the store count it.
func issue(t *testing.T, s *boltstore.Store, tenant, tmpl, member string, i int) *coupon.Coupon {
	t.Helper()
	c, err := s.Issue(context.Background(), tenant, tmpl, member, func(st *coupon.IssueState) (*coupon.Coupon, []coupon.Event, error) {
		st.Issued++
		st.Usage.Total++
		return &coupon.Coupon{ID: fmt.Sprintf("0190a0e0-0000-7000-8000-%012d", i), Code: fmt.Sprintf("CODE%06d", i), TemplateID: tmpl,
			MemberID: member, State: coupon.StateAvailable, ExpireTime: t0.Add(time.Duration(i) * time.Minute)}, nil, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestMemberCouponsNewestFirstInPages(t *testing.T) {
	s, _ := newStore(t)
	ctx := context.Background()
	template(t, s, "acme", "t1")
	template(t, s, "globex", "t1")
	for i := range 7 {
		issue(t, s, "acme", "t1", "m1", i)
	}
	issue(t, s, "acme", "t1", "m2", 100)
	issue(t, s, "globex", "t1", "m1", 200)
	var got []string
	token := ""
	for {
		page, next, err := s.ListMemberCoupons(ctx, "acme", "m1", coupon.CouponQuery{Page: coupon.Page{Size: 3, Token: token}})
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range page {
			got = append(got, c.Code)
		}
		if token = next; token == "" {
			break
		}
		// Another tenant's (or member's) listing refuses the token.
		_, _, err = s.ListMemberCoupons(ctx, "globex", "m1", coupon.CouponQuery{Page: coupon.Page{Size: 3, Token: token}})
		if apperr.ReasonOf(err) != boltx.ReasonInvalidPageToken {
			t.Fatalf("foreign token: %v", err)
		}
		_, _, err = s.ListMemberCoupons(ctx, "acme", "m2", coupon.CouponQuery{Page: coupon.Page{Size: 3, Token: token}})
		if apperr.ReasonOf(err) != boltx.ReasonInvalidPageToken {
			t.Fatalf("other member's token: %v", err)
		}
	}
	want := []string{"CODE000006", "CODE000005", "CODE000004", "CODE000003", "CODE000002", "CODE000001", "CODE000000"}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	tv, err := s.GetTemplate(ctx, "acme", "t1")
	if err != nil || tv.Issued != 8 {
		t.Fatalf("issued %d, %v", tv.Issued, err)
	}
}

func TestDueIndexFollowsTheCoupon(t *testing.T) {
	s, _ := newStore(t)
	ctx := context.Background()
	template(t, s, "acme", "t1")
	c := issue(t, s, "acme", "t1", "m1", 1) // due at its expiry, t0+1m
	refs, err := s.DueCoupons(ctx, t0.Add(time.Minute), 10)
	if err != nil || len(refs) != 1 || refs[0].Tenant != "acme" || refs[0].ID != c.ID {
		t.Fatalf("due %v %v", refs, err)
	}
	if refs, _ := s.DueCoupons(ctx, t0.Add(time.Minute-time.Nanosecond), 10); len(refs) != 0 {
		t.Fatalf("due early: %v", refs)
	}
	// Locking moves it to the lock's end; redeeming takes it out.
	if _, _, err := s.UpdateCoupon(ctx, "acme", c.Code, func(c *coupon.Coupon, _ *coupon.Template) ([]coupon.Event, error) {
		c.State, c.Lock = coupon.StateLocked, coupon.Lock{OrderID: "o", ExpireTime: t0.Add(time.Hour)}
		return []coupon.Event{coupon.CouponChanged{Kind: coupon.EventLocked, At: t0}}, nil
	}); err != nil {
		t.Fatal(err)
	}
	if refs, _ := s.DueCoupons(ctx, t0.Add(59*time.Minute), 10); len(refs) != 0 {
		t.Fatalf("old due entry left: %v", refs)
	}
	if refs, _ := s.DueCoupons(ctx, t0.Add(time.Hour), 10); len(refs) != 1 {
		t.Fatalf("lock end not due: %v", refs)
	}
	if _, _, err := s.UpdateCoupon(ctx, "acme", c.Code, func(c *coupon.Coupon, _ *coupon.Template) ([]coupon.Event, error) {
		c.State, c.Lock = coupon.StateRedeemed, coupon.Lock{}
		return []coupon.Event{coupon.CouponChanged{Kind: coupon.EventRedeemed, At: t0}}, nil
	}); err != nil {
		t.Fatal(err)
	}
	if refs, _ := s.DueCoupons(ctx, t0.Add(1000*time.Hour), 10); len(refs) != 0 {
		t.Fatalf("a redeemed coupon is due: %v", refs)
	}
}

func TestRefusalWritesNothing(t *testing.T) {
	s, _ := newStore(t)
	ctx := context.Background()
	template(t, s, "acme", "t1")
	refusal := apperr.E(apperr.FailedPrecondition, coupon.ReasonOutOfStock, "no")
	_, err := s.Issue(ctx, "acme", "t1", "m1", func(st *coupon.IssueState) (*coupon.Coupon, []coupon.Event, error) {
		st.Issued = 99 // changed before refusing: must not be stored
		return nil, nil, refusal
	})
	if apperr.ReasonOf(err) != coupon.ReasonOutOfStock {
		t.Fatalf("err %v", err)
	}
	if tv, _ := s.GetTemplate(ctx, "acme", "t1"); tv.Issued != 0 {
		t.Fatalf("refused issue stored a count: %d", tv.Issued)
	}
	if _, err := s.Issue(ctx, "acme", "t9", "m1", nil); apperr.ReasonOf(err) != coupon.ReasonTemplateNotFound {
		t.Fatalf("missing template: %v", err)
	}
}

func TestPruneRequests(t *testing.T) {
	s, clk := newStore(t)
	ctx := idempotency.NewContext(context.Background(), idempotency.Key{Tenant: "acme", Method: "/m", RequestID: "r1"})
	template(t, s, "acme", "t1")
	c, err := s.Issue(ctx, "acme", "t1", "m1", func(st *coupon.IssueState) (*coupon.Coupon, []coupon.Event, error) {
		return &coupon.Coupon{ID: "0190a0e0-0000-7000-8000-000000000099", Code: "CODE000099", TemplateID: "t1", MemberID: "m1", State: coupon.StateAvailable}, nil, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if again, ok, err := s.ReplayIssue(ctx, "acme"); err != nil || !ok || again.ID != c.ID {
		t.Fatalf("replay %v %v %v", again, ok, err)
	}
	if n, err := s.PruneRequests(context.Background(), clk.Now().Add(time.Hour)); err != nil || n != 0 {
		t.Fatalf("pruned %d early, %v", n, err)
	}
	if n, err := s.PruneRequests(context.Background(), clk.Now().Add(idempotency.Retention+time.Second)); err != nil || n != 1 {
		t.Fatalf("pruned %d, %v", n, err)
	}
	if _, ok, _ := s.ReplayIssue(ctx, "acme"); ok {
		t.Fatal("request remembered past its retention")
	}
}
