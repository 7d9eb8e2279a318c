package edge

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	memberv1 "github.com/huiyuan-dev/huiyuan/gen/huiyuan/member/v1"
)

func TestLimiter(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	clock := func() time.Time { return now }
	tests := []struct {
		name    string
		rate    float64
		burst   int
		calls   int
		advance time.Duration
		want    int // allowed of calls
	}{
		{name: "burst then refuse", rate: 1, burst: 3, calls: 5, want: 3},
		{name: "refills with time", rate: 10, burst: 1, calls: 5, advance: 100 * time.Millisecond, want: 5},
		{name: "default burst is twice the rate", rate: 2, calls: 10, want: 4},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := newLimiter(tt.rate, tt.burst, clock)
			got := 0
			for i := 0; i < tt.calls; i++ {
				if l.allow("key-a") {
					got++
				}
				now = now.Add(tt.advance)
			}
			if got != tt.want {
				t.Fatalf("allowed %d of %d, want %d", got, tt.calls, tt.want)
			}
			if !l.allow("key-b") {
				t.Fatal("one key's use limited another key")
			}
		})
	}
}

func TestLimiterBoundedMemory(t *testing.T) {
	now := time.Unix(0, 0)
	l := newLimiter(1, 1, func() time.Time { return now })
	l.max = 1000
	for i := 0; i < 5*l.max; i++ {
		l.allow(strings.Repeat("k", i%50) + string(rune(i)))
		now = now.Add(time.Millisecond)
	}
	if n := len(l.buckets); n > l.max {
		t.Fatalf("%d buckets, bound is %d", n, l.max)
	}
}

func TestLimiterConcurrent(t *testing.T) {
	l := newLimiter(1, 50, time.Now)
	var wg sync.WaitGroup
	var mu sync.Mutex
	allowed := 0
	for g := 0; g < 20; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 20; i++ {
				if l.allow("shared") {
					mu.Lock()
					allowed++
					mu.Unlock()
				}
			}
		}()
	}
	wg.Wait()
	if allowed < 50 || allowed > 52 { // the burst, plus at most a token refilled during the test
		t.Fatalf("allowed %d of 400 with burst 50", allowed)
	}
}

// unavailable is a backend that is down: every call fails with Unavailable.
type unavailable struct{}

func (unavailable) Invoke(context.Context, string, any, any, ...grpc.CallOption) error {
	return status.Error(codes.Unavailable, "down")
}

func (unavailable) NewStream(context.Context, *grpc.StreamDesc, string, ...grpc.CallOption) (grpc.ClientStream, error) {
	return nil, status.Error(codes.Unavailable, "down")
}

func TestEdgeLimits(t *testing.T) {
	down := unavailable{}
	h, err := New(context.Background(), Config{RateLimit: 1, RateBurst: 2, MaxBodyBytes: 1024, CORSOrigins: []string{"https://console.example"}},
		[]Backend{{Name: "member", Conn: down, Routes: func(ctx context.Context, mux *runtime.ServeMux, cc grpc.ClientConnInterface) error {
			return memberv1.RegisterMemberServiceHandlerClient(ctx, mux, memberv1.NewMemberServiceClient(cc))
		}}})
	if err != nil {
		t.Fatal(err)
	}
	do := func(method, path, body string, hdr map[string]string) *httptest.ResponseRecorder {
		req := httptest.NewRequest(method, path, strings.NewReader(body))
		for k, v := range hdr {
			req.Header.Set(k, v)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		return rec
	}
	t.Run("413 on a large body", func(t *testing.T) {
		rec := do("POST", "/v1/members", strings.Repeat("x", 2048), map[string]string{"Authorization": "Bearer big"})
		if rec.Code != http.StatusRequestEntityTooLarge {
			t.Fatalf("status %d", rec.Code)
		}
	})
	t.Run("429 past the rate, with the JSON error shape", func(t *testing.T) {
		var last *httptest.ResponseRecorder
		for i := 0; i < 3; i++ {
			last = do("GET", "/v1/members/m1", "", map[string]string{"Authorization": "Bearer k"})
		}
		if last.Code != http.StatusTooManyRequests || last.Header().Get("Retry-After") == "" {
			t.Fatalf("status %d, headers %v", last.Code, last.Header())
		}
		var body struct {
			Code    int `json:"code"`
			Details []struct {
				Reason string `json:"reason"`
			} `json:"details"`
		}
		if err := json.Unmarshal(last.Body.Bytes(), &body); err != nil || body.Code != 8 || body.Details[0].Reason != "RATE_LIMITED" {
			t.Fatalf("body %s (%v)", last.Body, err)
		}
	})
	t.Run("a backend that is down answers 503", func(t *testing.T) {
		if rec := do("GET", "/v1/members/m1", "", map[string]string{"Authorization": "Bearer other"}); rec.Code != http.StatusServiceUnavailable {
			t.Fatalf("status %d", rec.Code)
		}
	})
	t.Run("health needs no key and is not rate limited", func(t *testing.T) {
		for i := 0; i < 5; i++ {
			if rec := do("GET", "/healthz", "", nil); rec.Code != http.StatusOK {
				t.Fatalf("healthz %d", rec.Code)
			}
		}
	})
	t.Run("CORS preflight for an allowed origin only", func(t *testing.T) {
		hdr := map[string]string{"Origin": "https://console.example", "Access-Control-Request-Method": "POST"}
		rec := do("OPTIONS", "/v1/members", "", hdr)
		if rec.Header().Get("Access-Control-Allow-Origin") != "https://console.example" {
			t.Fatalf("preflight headers %v", rec.Header())
		}
		hdr["Origin"] = "https://evil.example"
		if rec := do("OPTIONS", "/v1/members", "", hdr); rec.Header().Get("Access-Control-Allow-Origin") != "" {
			t.Fatal("disallowed origin got CORS headers")
		}
	})
}
