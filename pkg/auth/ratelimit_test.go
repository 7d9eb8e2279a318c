package auth_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/huiyuan-dev/huiyuan/pkg/auth"

	iamv1 "github.com/huiyuan-dev/huiyuan/gen/huiyuan/iam/v1"
)

func TestKeyRateLimit(t *testing.T) {
	n := func(v int32) *int32 { return &v }
	tests := []struct {
		role   iamv1.Role
		stored *int32
		want   auth.RateLimit
	}{
		{iamv1.Role_SERVICE, nil, auth.Unlimited},
		{iamv1.Role_OPERATOR, nil, auth.DefaultRate},
		{iamv1.Role_OPERATOR, n(0), auth.Unlimited},
		{iamv1.Role_SERVICE, n(50), 50},
		{iamv1.Role_ADMIN, n(5), 5},
	}
	for _, tt := range tests {
		if got := auth.KeyRateLimit(tt.role, tt.stored); got != tt.want {
			t.Errorf("KeyRateLimit(%s, %v) = %d, want %d", tt.role, tt.stored, got, tt.want)
		}
	}
}

func TestLimiter(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	clock := func() time.Time { return now }
	as := func(p auth.Principal) context.Context { return auth.WithPrincipal(context.Background(), p) }
	allowed := func(l *auth.Limiter, ctx context.Context, n int) int {
		got := 0
		for i := 0; i < n; i++ {
			if l.Allow(ctx) == nil {
				got++
			}
		}
		return got
	}
	op := auth.Principal{Tenant: "t", Role: iamv1.Role_OPERATOR, KeyID: "k1"}

	t.Run("the default rate and burst, per key", func(t *testing.T) {
		l := auth.NewLimiter(1, 3, clock)
		if got := allowed(l, as(op), 5); got != 3 {
			t.Fatalf("allowed %d of 5 with burst 3", got)
		}
		other := op
		other.KeyID = "k2"
		if l.Allow(as(other)) != nil {
			t.Fatal("one key's use limited another key")
		}
	})
	t.Run("a key's own limit overrides the default", func(t *testing.T) {
		l := auth.NewLimiter(1, 1, clock)
		p := op
		p.RateLimit = 10
		if got := allowed(l, as(p), 30); got != 20 { // burst twice the key's rate
			t.Fatalf("allowed %d of 30 at 10/s", got)
		}
	})
	t.Run("unlimited keys, service principals and public calls pass", func(t *testing.T) {
		l := auth.NewLimiter(1, 1, clock)
		till := auth.Principal{Tenant: "t", Role: iamv1.Role_SERVICE, KeyID: "till", RateLimit: auth.Unlimited}
		svc := auth.Principal{Tenant: "t", Role: auth.Internal, KeyID: "service:loyalty"}
		for _, ctx := range []context.Context{as(till), as(svc), context.Background()} {
			if got := allowed(l, ctx, 500); got != 500 {
				t.Fatalf("allowed %d of 500", got)
			}
		}
	})
	t.Run("members are limited by member id", func(t *testing.T) {
		l := auth.NewLimiter(1, 2, clock)
		m := auth.Principal{Tenant: "t", Role: iamv1.Role_MEMBER, MemberID: "m1"}
		if got := allowed(l, as(m), 5); got != 2 {
			t.Fatalf("allowed %d of 5", got)
		}
	})
	t.Run("refusal: ResourceExhausted, RATE_LIMITED, a retry delay", func(t *testing.T) {
		l := auth.NewLimiter(0.5, 1, clock)
		_ = l.Allow(as(op))
		err := l.Allow(as(op))
		st := status.Convert(err)
		if st.Code() != codes.ResourceExhausted {
			t.Fatalf("code %v (%v)", st.Code(), err)
		}
		var reason string
		var delay time.Duration
		for _, d := range st.Details() {
			switch x := d.(type) {
			case *errdetails.ErrorInfo:
				reason = x.GetReason()
			case *errdetails.RetryInfo:
				delay = x.GetRetryDelay().AsDuration()
			}
		}
		if reason != auth.ReasonRateLimited || delay != 2*time.Second {
			t.Fatalf("reason %q, retry after %s; want RATE_LIMITED after 2s", reason, delay)
		}
		now = now.Add(2 * time.Second)
		if err := l.Allow(as(op)); err != nil {
			t.Fatalf("after the delay: %v", err)
		}
	})
}

func TestLimiterBoundedMemory(t *testing.T) {
	now := time.Unix(0, 0)
	l := auth.NewLimiter(1, 1, func() time.Time { return now })
	for i := 0; i < 250_000; i++ {
		_ = l.Allow(auth.WithPrincipal(context.Background(), auth.Principal{Tenant: "t", Role: iamv1.Role_OPERATOR, KeyID: fmt.Sprint(i)}))
		now = now.Add(time.Microsecond)
	}
	if n := l.Buckets(); n > 100_000 {
		t.Fatalf("%d buckets, bound is 100000", n)
	}
}
