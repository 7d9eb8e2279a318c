package auth

import (
	"context"
	"math"
	"strconv"
	"sync"
	"time"

	"golang.org/x/time/rate"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/durationpb"

	iamv1 "github.com/huiyuan-dev/huiyuan/gen/huiyuan/iam/v1"
)

// ReasonRateLimited is the reason of the ResourceExhausted error for a caller over its limit.
const ReasonRateLimited = "RATE_LIMITED"

// RateLimit is a principal's own request rate in requests per second: DefaultRate leaves it to
// the process default, Unlimited lifts it.
type RateLimit int32

// The special rate limits.
const (
	DefaultRate RateLimit = 0
	Unlimited   RateLimit = -1
)

// KeyRateLimit is the rate limit of an API key of role whose stored limit is stored (nil when
// unset): a set 0 is unlimited; an unset one is unlimited for SERVICE keys (a till integration
// one chain of stores shares) and the process default for the other roles.
func KeyRateLimit(role iamv1.Role, stored *int32) RateLimit {
	switch {
	case stored != nil && *stored > 0:
		return RateLimit(*stored)
	case stored != nil || role == iamv1.Role_SERVICE:
		return Unlimited
	}
	return DefaultRate
}

// maxBuckets bounds the limiter's memory.
const maxBuckets = 100_000

// Limiter is a token bucket per authenticated principal (the API key's id, or the member of a
// member token), never per header text: however a credential is spelled, it is one allowance.
// Service principals (Internal) are never limited. It is safe for concurrent use.
type Limiter struct {
	rate  float64 // the default, requests per second; 0 means unlimited
	burst int
	now   func() time.Time

	mu      sync.Mutex
	max     int
	buckets map[string]*bucket
}

type bucket struct {
	lim  *rate.Limiter
	per  float64
	seen time.Time
}

// NewLimiter returns a Limiter whose default is perSecond (0 for none) with burst (twice the
// rate when <= 0).
func NewLimiter(perSecond float64, burst int, now func() time.Time) *Limiter {
	return &Limiter{rate: perSecond, burst: burst, now: now, max: maxBuckets, buckets: map[string]*bucket{}}
}

// Allow charges one request to the principal in ctx. Without a principal (a public method) or
// for an Internal one it always succeeds.
//
// Errors: ResourceExhausted with an ErrorInfo (reason RATE_LIMITED, metadata
// retry_after_seconds) and a RetryInfo saying when a request will pass.
func (l *Limiter) Allow(ctx context.Context) error {
	p, ok := FromContext(ctx)
	if !ok || p.Role == Internal || l == nil {
		return nil
	}
	per := l.rate
	switch p.RateLimit {
	case Unlimited:
		return nil
	case DefaultRate:
	default:
		per = float64(p.RateLimit)
	}
	if per <= 0 {
		return nil
	}
	id := p.Tenant + "/key/" + p.KeyID
	if p.KeyID == "" {
		id = p.Tenant + "/member/" + p.MemberID
	}
	wait := l.take(id, per)
	if wait == 0 {
		return nil
	}
	secs := int(math.Ceil(wait.Seconds()))
	st, err := status.New(codes.ResourceExhausted, "rate limit exceeded: retry after "+strconv.Itoa(secs)+"s").WithDetails(
		&errdetails.ErrorInfo{Reason: ReasonRateLimited, Domain: "iam.huiyuan.dev", Metadata: map[string]string{
			"retry_after_seconds": strconv.Itoa(secs), "limit_per_second": strconv.FormatFloat(per, 'f', -1, 64)}},
		&errdetails.RetryInfo{RetryDelay: durationpb.New(time.Duration(secs) * time.Second)},
	)
	if err != nil {
		return status.Error(codes.ResourceExhausted, "rate limit exceeded")
	}
	return st.Err()
}

// take spends a token of id's bucket at per requests a second and returns 0, or how long until
// one is there.
func (l *Limiter) take(id string, per float64) time.Duration {
	now := l.now()
	burst := l.burst
	if per != l.rate || burst <= 0 {
		burst = max(1, int(2*per))
	}
	l.mu.Lock()
	b, ok := l.buckets[id]
	if !ok {
		if len(l.buckets) >= l.max {
			l.evictIdle(now)
		}
		b = &bucket{lim: rate.NewLimiter(rate.Limit(per), burst), per: per}
		l.buckets[id] = b
	} else if b.per != per { // the key's limit changed
		b.lim.SetLimitAt(now, rate.Limit(per))
		b.lim.SetBurstAt(now, burst)
		b.per = per
	}
	b.seen = now
	l.mu.Unlock()
	r := b.lim.ReserveN(now, 1)
	if d := r.DelayFrom(now); d > 0 {
		r.CancelAt(now)
		return d
	}
	return 0
}

// evictIdle drops buckets idle long enough to have refilled; when none is, the least recently
// seen half. Called with mu held.
func (l *Limiter) evictIdle(now time.Time) {
	for k, b := range l.buckets {
		refill := time.Duration(float64(b.lim.Burst())/b.per*float64(time.Second)) + time.Second
		if now.Sub(b.seen) > refill {
			delete(l.buckets, k)
		}
	}
	if len(l.buckets) < l.max {
		return
	}
	var total time.Duration
	for _, b := range l.buckets {
		total += now.Sub(b.seen)
	}
	avg := total / time.Duration(len(l.buckets))
	for k, b := range l.buckets {
		if now.Sub(b.seen) >= avg {
			delete(l.buckets, k)
		}
	}
}

// Buckets is how many principals the limiter holds state for.
func (l *Limiter) Buckets() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.buckets)
}
