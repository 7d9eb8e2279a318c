package coupon

import (
	"testing"
	"time"

	"github.com/huiyuan-dev/huiyuan/pkg/apperr"
	"github.com/huiyuan-dev/huiyuan/pkg/clock"
)

func TestDecide(t *testing.T) {
	clk := clock.NewFake(time.Date(2026, 3, 1, 2, 0, 0, 0, time.UTC)) // 10:00 in Shanghai
	var z zones
	tests := []struct {
		name    string
		fn      func(*Template)
		issued  int64
		usage   Usage
		member  MemberStatus
		source  Source
		advance time.Duration
		reason  string
		wantUse Usage
	}{
		{name: "claim", source: SourceClaim, fn: func(t *Template) { t.Claimable, t.TotalStock = true, 2 },
			wantUse: Usage{Total: 1}},
		{name: "not active", source: SourceGrant, fn: func(t *Template) { t.Status = StatusPaused }, reason: ReasonTemplateNotActive},
		{name: "member frozen, closed or erased", source: SourceClaim, fn: func(t *Template) { t.Claimable = true },
			member: MemberInactive, reason: ReasonMemberNotActive},
		{name: "member refused before stock", source: SourceGrant, fn: func(t *Template) { t.TotalStock = 3 }, issued: 3,
			member: MemberInactive, reason: ReasonMemberNotActive},
		{name: "member active", source: SourceGrant, member: MemberActive, wantUse: Usage{Total: 1}},
		{name: "member not heard of yet", source: SourceGrant, member: MemberUnheard, wantUse: Usage{Total: 1}},
		{name: "not claimable", source: SourceClaim, reason: ReasonNotClaimable},
		{name: "granted though not claimable", source: SourceGrant, wantUse: Usage{Total: 1}},
		{name: "not exchangeable", source: SourceExchange, reason: ReasonNotExchangeable},
		{name: "validity over", source: SourceGrant, fn: func(t *Template) { t.ValidDays, t.ValidUntil = 0, clk.Now() }, reason: ReasonTemplateExpired},
		{name: "last coupon", source: SourceGrant, fn: func(t *Template) { t.TotalStock = 3 }, issued: 2, wantUse: Usage{Total: 1}},
		{name: "out of stock", source: SourceGrant, fn: func(t *Template) { t.TotalStock = 3 }, issued: 3, reason: ReasonOutOfStock},
		{name: "stock checked before limits", source: SourceGrant, fn: func(t *Template) { t.TotalStock, t.PerMemberLimit = 3, 1 }, issued: 3,
			usage: Usage{Total: 1}, reason: ReasonOutOfStock},
		{name: "member limit", source: SourceGrant, fn: func(t *Template) { t.PerMemberLimit = 2 }, usage: Usage{Total: 2}, reason: ReasonLimitReached},
		{name: "below member limit", source: SourceGrant, fn: func(t *Template) { t.PerMemberLimit = 2 }, usage: Usage{Total: 1}, wantUse: Usage{Total: 2}},
		{name: "day limit", source: SourceGrant, fn: func(t *Template) { t.PeriodLimit, t.Period = 1, PeriodDay },
			usage: Usage{Total: 1, PeriodKey: "2026-03-01", PeriodCount: 1}, reason: ReasonLimitReached},
		{name: "day limit resets at local midnight", source: SourceGrant, fn: func(t *Template) { t.PeriodLimit, t.Period = 1, PeriodDay },
			usage: Usage{Total: 1, PeriodKey: "2026-03-01", PeriodCount: 1}, advance: 14 * time.Hour, // 00:00 on 2 March in Shanghai
			wantUse: Usage{Total: 2, PeriodKey: "2026-03-02", PeriodCount: 1}},
		{name: "week key", source: SourceGrant, fn: func(t *Template) { t.PeriodLimit, t.Period = 5, PeriodWeek },
			wantUse: Usage{Total: 1, PeriodKey: "2026-W09", PeriodCount: 1}},
		{name: "month key", source: SourceGrant, fn: func(t *Template) { t.PeriodLimit, t.Period = 5, PeriodMonth },
			usage:   Usage{Total: 3, PeriodKey: "2026-03", PeriodCount: 3},
			wantUse: Usage{Total: 4, PeriodKey: "2026-03", PeriodCount: 4}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := clock.NewFake(clk.Now().Add(tt.advance))
			tp := tmpl(TypeFixed)
			if tt.fn != nil {
				tt.fn(tp)
			}
			st := &IssueState{Template: tp, Member: "m1", MemberStatus: tt.member, Issued: tt.issued, Usage: tt.usage}
			got, err := decide(st, issue{member: "m1", source: tt.source, id: "c1", code: "CODE", now: c.Now(), zone: z.get(""), state: StateAvailable})
			if tt.reason != "" {
				if apperr.ReasonOf(err) != tt.reason || apperr.CodeOf(err) != apperr.FailedPrecondition {
					t.Fatalf("err = %v, want %s", err, tt.reason)
				}
				if st.Issued != tt.issued || st.Usage != tt.usage {
					t.Fatal("a refusal counted")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if st.Usage != tt.wantUse || st.Issued != tt.issued+1 {
				t.Fatalf("usage = %+v issued %d, want %+v %d", st.Usage, st.Issued, tt.wantUse, tt.issued+1)
			}
			if got.State != StateAvailable || got.MemberID != "m1" || got.PeriodKey != tt.wantUse.PeriodKey || !got.ExpireTime.After(c.Now()) {
				t.Fatalf("coupon = %+v", got)
			}
			unissue(st, got)
			if st.Issued != tt.issued || st.Usage.Total != tt.usage.Total {
				t.Fatalf("unissue: issued %d usage %+v", st.Issued, st.Usage)
			}
		})
	}
}

func TestCouponLife(t *testing.T) {
	t0 := time.Date(2026, 3, 1, 2, 0, 0, 0, time.UTC)
	fresh := func() *Coupon {
		return &Coupon{ID: "c1", Code: "C1", TemplateID: "t1", MemberID: "m1", State: StateAvailable, StartTime: t0, ExpireTime: t0.Add(24 * time.Hour)}
	}
	t.Run("lock times out and returns", func(t *testing.T) {
		c := fresh()
		c.State, c.Lock = StateLocked, Lock{OrderID: "o1", Time: t0, ExpireTime: t0.Add(DefaultLockTimeout)}
		if evs := c.settle(t0.Add(DefaultLockTimeout - time.Nanosecond)); len(evs) != 0 || c.State != StateLocked {
			t.Fatalf("settled early: %v %s", evs, c.State)
		}
		evs := c.settle(t0.Add(DefaultLockTimeout))
		if len(evs) != 1 || evs[0].Type() != EventReleased || evs[0].(CouponChanged).Reason != "timeout" || c.State != StateAvailable || c.Lock.OrderID != "o1" { // the lapsed lock stays for Release
			t.Fatalf("after timeout: %+v %+v", evs, c)
		}
	})
	t.Run("lapsed lock past validity expires too", func(t *testing.T) {
		c := fresh()
		c.State, c.Lock = StateLocked, Lock{OrderID: "o1", ExpireTime: t0.Add(25 * time.Hour)}
		evs := c.settle(t0.Add(26 * time.Hour))
		if len(evs) != 2 || evs[1].Type() != EventExpired || c.State != StateExpired {
			t.Fatalf("got %+v %s", evs, c.State)
		}
	})
	t.Run("locked for this order is usable past validity", func(t *testing.T) {
		c := fresh()
		c.State, c.Lock = StateLocked, Lock{OrderID: "o1", ExpireTime: t0.Add(25 * time.Hour)}
		now := t0.Add(24*time.Hour + time.Minute)
		c.settle(now)
		if err := c.usable("m1", "o1", now); err != nil {
			t.Fatal(err)
		}
		if err := c.usable("m1", "o2", now); apperr.ReasonOf(err) != ReasonCouponLocked {
			t.Fatalf("another order: %v", err)
		}
	})
	t.Run("usable refusals", func(t *testing.T) {
		for _, tc := range []struct {
			fn     func(*Coupon)
			member string
			reason string
		}{
			{func(c *Coupon) { c.State = StateRedeemed }, "m1", ReasonAlreadyRedeemed},
			{func(c *Coupon) { c.State = StateVoided }, "m1", ReasonCouponVoided},
			{func(c *Coupon) { c.State = StatePending }, "m1", ReasonCouponPending},
			{func(c *Coupon) { c.State = StateExpired }, "m1", ReasonCouponExpired},
			{func(c *Coupon) { c.StartTime = t0.Add(time.Hour) }, "m1", ReasonCouponNotYetValid},
			{func(*Coupon) {}, "m2", ReasonCouponNotOwned},
		} {
			c := fresh()
			tc.fn(c)
			if err := c.usable(tc.member, "o1", t0); apperr.ReasonOf(err) != tc.reason {
				t.Errorf("%+v: %v, want %s", c, err, tc.reason)
			}
		}
	})
	t.Run("bind a batch code", func(t *testing.T) {
		c := fresh()
		c.MemberID = ""
		evs := c.bind("m9", t0)
		if len(evs) != 1 || evs[0].Type() != EventIssued || c.MemberID != "m9" || c.bind("m9", t0) != nil {
			t.Fatalf("bind: %+v %+v", evs, c)
		}
	})
}
