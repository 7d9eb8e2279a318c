package edge

import (
	"crypto/sha256"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"

	"golang.org/x/time/rate"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"
)

// maxBuckets bounds the limiter's memory: callers inventing credentials cannot grow it forever.
const maxBuckets = 100_000

// limiter is a token bucket per credential (the Authorization header, or the client address when
// there is none), so one noisy integration cannot starve the others.
type limiter struct {
	mu      sync.Mutex
	rate    rate.Limit
	burst   int
	max     int // buckets kept at most
	now     func() time.Time
	buckets map[[32]byte]*bucket
}

type bucket struct {
	lim  *rate.Limiter
	seen time.Time
}

func newLimiter(perSecond float64, burst int, now func() time.Time) *limiter {
	if burst <= 0 {
		burst = int(2 * perSecond)
		if burst < 1 {
			burst = 1
		}
	}
	return &limiter{rate: rate.Limit(perSecond), burst: burst, max: maxBuckets, now: now, buckets: map[[32]byte]*bucket{}}
}

// allow reports whether the caller identified by id may make a request now.
func (l *limiter) allow(id string) bool {
	k := sha256.Sum256([]byte(id)) // keep no raw secrets as map keys
	now := l.now()
	l.mu.Lock()
	b, ok := l.buckets[k]
	if !ok {
		if len(l.buckets) >= l.max {
			l.evictIdle(now)
		}
		b = &bucket{lim: rate.NewLimiter(l.rate, l.burst)}
		l.buckets[k] = b
	}
	b.seen = now
	l.mu.Unlock()
	return b.lim.AllowN(now, 1)
}

// evictIdle drops buckets idle long enough to have refilled; they hold no state worth keeping.
// When none is idle it drops the least recently seen half. Called with mu held.
func (l *limiter) evictIdle(now time.Time) {
	refill := time.Duration(float64(l.burst)/float64(l.rate)*float64(time.Second)) + time.Second
	for k, b := range l.buckets {
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

func (l *limiter) wrap(next http.Handler) http.Handler {
	retry := strconv.Itoa(int(1/float64(l.rate)) + 1)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := r.Header.Get("Authorization")
		if id == "" {
			id, _, _ = net.SplitHostPort(r.RemoteAddr)
		}
		if !l.allow(id) {
			w.Header().Set("Retry-After", retry)
			st, _ := status.New(codes.ResourceExhausted, "rate limit exceeded").WithDetails(&errdetails.ErrorInfo{
				Reason: "RATE_LIMITED", Domain: "huiyuan",
			})
			writeStatus(w, r, http.StatusTooManyRequests, st)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// writeStatus writes st as the gateway's JSON error body, the shape every other error has.
func writeStatus(w http.ResponseWriter, _ *http.Request, code int, st *status.Status) {
	body, err := protojson.Marshal(st.Proto())
	if err != nil {
		body = []byte(`{"code":13,"message":"internal error"}`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_, _ = w.Write(body)
}
