package edge

import (
	"context"
	"encoding/json"
	"maps"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/durationpb"

	loyaltyv1 "github.com/huiyuan-dev/huiyuan/gen/huiyuan/loyalty/v1"
	memberv1 "github.com/huiyuan-dev/huiyuan/gen/huiyuan/member/v1"
)

// backend stands in for the services: it records every call that reaches it and answers with
// err (or an empty response).
type backend struct {
	mu    sync.Mutex
	calls []call
	err   error
	reply func(resp proto.Message) // fills a successful answer; nil leaves it empty
}

type call struct {
	method string
	req    proto.Message
	md     metadata.MD
}

func (b *backend) Invoke(ctx context.Context, method string, args, resp any, _ ...grpc.CallOption) error {
	md, _ := metadata.FromOutgoingContext(ctx)
	b.mu.Lock()
	defer b.mu.Unlock()
	b.calls = append(b.calls, call{method: method, req: proto.Clone(args.(proto.Message)), md: md})
	if b.err == nil && b.reply != nil {
		b.reply(resp.(proto.Message))
	}
	return b.err
}

func (b *backend) NewStream(context.Context, *grpc.StreamDesc, string, ...grpc.CallOption) (grpc.ClientStream, error) {
	return nil, status.Error(codes.Unimplemented, "no streams")
}

func (b *backend) last(t *testing.T) call {
	t.Helper()
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.calls) == 0 {
		t.Fatal("no call reached the service")
	}
	return b.calls[len(b.calls)-1]
}

func (b *backend) count() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.calls)
}

type fixture struct {
	h  http.Handler
	be *backend
}

func newFixture(t *testing.T, cfg Config) *fixture {
	t.Helper()
	be := &backend{}
	h, err := New(context.Background(), cfg, []Backend{
		{Name: "member", Conn: be, Routes: func(ctx context.Context, mux *runtime.ServeMux, cc grpc.ClientConnInterface) error {
			return memberv1.RegisterMemberServiceHandlerClient(ctx, mux, memberv1.NewMemberServiceClient(cc))
		}},
		{Name: "tiers", Conn: be, Routes: func(ctx context.Context, mux *runtime.ServeMux, cc grpc.ClientConnInterface) error {
			return memberv1.RegisterTierServiceHandlerClient(ctx, mux, memberv1.NewTierServiceClient(cc))
		}},
		{Name: "loyalty", Conn: be, Routes: func(ctx context.Context, mux *runtime.ServeMux, cc grpc.ClientConnInterface) error {
			return loyaltyv1.RegisterLoyaltyServiceHandlerClient(ctx, mux, loyaltyv1.NewLoyaltyServiceClient(cc))
		}},
	})
	if err != nil {
		t.Fatal(err)
	}
	return &fixture{h: h, be: be}
}

// answer is a decoded JSON error.
type answer struct {
	rec     *httptest.ResponseRecorder
	code    int
	reason  string
	fields  []string
	reasons []string // of the field violations
}

func (f *fixture) do(method, path, body string, hdr map[string]string) answer {
	req := httptest.NewRequest(method, path, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer k")
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	rec := httptest.NewRecorder()
	f.h.ServeHTTP(rec, req)
	a := answer{rec: rec}
	var st struct {
		Code    int `json:"code"`
		Details []struct {
			Type            string `json:"@type"`
			Reason          string `json:"reason"`
			FieldViolations []struct {
				Field  string `json:"field"`
				Reason string `json:"reason"`
			} `json:"fieldViolations"`
		} `json:"details"`
	}
	if json.Unmarshal(rec.Body.Bytes(), &st) == nil {
		a.code = st.Code
		for _, d := range st.Details {
			if strings.HasSuffix(d.Type, "ErrorInfo") {
				a.reason = d.Reason
			}
			for _, v := range d.FieldViolations {
				a.fields = append(a.fields, v.Field)
				a.reasons = append(a.reasons, v.Reason)
			}
		}
	}
	return a
}

func (a answer) want(t *testing.T, status int, reason string, fields ...string) {
	t.Helper()
	if a.rec.Code != status || a.reason != reason {
		t.Fatalf("status %d reason %q, want %d %q: %s", a.rec.Code, a.reason, status, reason, a.rec.Body)
	}
	for _, f := range fields {
		if !slices.Contains(a.fields, f) {
			t.Fatalf("violations %v lack %s: %s", a.fields, f, a.rec.Body)
		}
	}
	if ct := a.rec.Header().Get("Content-Type"); ct != "application/json" {
		t.Fatalf("Content-Type %q", ct)
	}
}

// TestStrictBody: every bad body is a 400 with its reason and the JSON path the client sent,
// and nothing reaches the service.
func TestStrictBody(t *testing.T) {
	f := newFixture(t, Config{MaxBodyBytes: 4096})
	order := func(fields string) string {
		return `{"requestId":"r1","order":{"id":"o1","amountMinor":"100","currency":"CNY"` + fields + `}}`
	}
	tests := []struct {
		name, method, path, body string
		status                   int
		reason                   string
		fields                   []string
	}{
		{"malformed JSON", "POST", "/v1/orders", `{"order": {`, 400, ReasonMalformedJSON, nil},
		{"not JSON at all", "POST", "/v1/orders", `order=1`, 400, ReasonMalformedJSON, nil},
		{"an unknown field, named as sent", "POST", "/v1/orders", order(`,"memberID":"m1"`), 400, ReasonUnknownField, []string{"order.memberID"}},
		{"an unknown top-level field", "POST", "/v1/members", `{"requestId":"r","member":{"displayName":"x"},"ttl":"3"}`, 400, ReasonUnknownField, []string{"ttl"}},
		{"a wrong type inside a list", "POST", "/v1/orders", order(`,"items":[{"sku":"a"},{"sku":"b"},{"sku":"c","quantity":"two"}]`), 400, ReasonInvalidValue, []string{"order.items[2].quantity"}},
		{"a string for an object", "POST", "/v1/orders", `{"order":"o1"}`, 400, ReasonInvalidValue, []string{"order"}},
		{"a prefixed enum name", "POST", "/v1/members", `{"member":{"displayName":"x","channel":"CHANNEL_STORE"}}`, 400, ReasonInvalidValue, []string{"member.channel"}},
		{"an enum number outside the set", "POST", "/v1/members", `{"member":{"displayName":"x","channel":77}}`, 400, ReasonInvalidValue, []string{"member.channel"}},
		{"int64 overflow", "POST", "/v1/orders", order(`,"createTime":"2026-01-01T00:00:00Z","storeId":"s"`)[:0] + `{"order":{"id":"o","amountMinor":"9223372036854775808","currency":"CNY"}}`, 400, ReasonInvalidValue, []string{"order.amountMinor"}},
		{"a fraction for an integer", "POST", "/v1/orders", `{"order":{"id":"o","amountMinor":1.5,"currency":"CNY"}}`, 400, ReasonInvalidValue, []string{"order.amountMinor"}},
		{"a bad time", "POST", "/v1/orders", order(`,"createTime":"yesterday"`), 400, ReasonInvalidValue, []string{"order.createTime"}},
		{"several problems at once", "POST", "/v1/orders", order(`,"memberID":"m","storeId":7`), 400, ReasonUnknownField, []string{"order.memberID", "order.storeId"}},
		{"a field given twice", "POST", "/v1/orders", order(`,"storeId":"a","storeId":"b"`), 400, ReasonInvalidValue, []string{"order.storeId"}},
		{"a field given under both its names", "POST", "/v1/orders", `{"requestId":"r","request_id":"s","order":{"id":"o"}}`, 400, ReasonInvalidValue, []string{"request_id"}},
		{"a null list element", "POST", "/v1/members", `{"member":{"displayName":"x","tags":["vip",null]}}`, 400, ReasonInvalidValue, []string{"member.tags[1]"}},
		{"a null map value", "POST", "/v1/members", `{"member":{"displayName":"x","preferences":{"lang":null}}}`, 400, ReasonInvalidValue, []string{`member.preferences["lang"]`}},
		{"a hex string for an integer", "POST", "/v1/orders", `{"order":{"id":"o","amountMinor":"0x10","currency":"CNY"}}`, 400, ReasonInvalidValue, []string{"order.amountMinor"}},
		{"ten fraction digits in a time", "POST", "/v1/orders", order(`,"createTime":"2026-01-01T00:00:00.1234567891Z"`), 400, ReasonInvalidValue, []string{"order.createTime"}},
		{"a time before year 1", "POST", "/v1/orders", order(`,"createTime":"0000-12-31T23:59:59Z"`), 400, ReasonInvalidValue, []string{"order.createTime"}},
		{"a map key given twice", "POST", "/v1/members", `{"member":{"displayName":"x","preferences":{"lang":"zh","lang":"en"}}}`, 400, ReasonInvalidValue, []string{`member.preferences["lang"]`}},
		{"a body that is not UTF-8", "POST", "/v1/orders", "{\"order\":{\"id\":\"o\xff\"}}", 400, ReasonMalformedJSON, nil},
		{"the PATCH body is the member", "PATCH", "/v1/members/m1", `{"storeID":"s"}`, 400, ReasonUnknownField, []string{"storeID"}},
		{"a chunked body over the limit", "POST", "/v1/orders", `{"order":{"id":"` + strings.Repeat("x", 5000) + `"}}`, 413, ReasonPayloadTooLarge, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := f.be.count()
			f.do(tt.method, tt.path, tt.body, nil).want(t, tt.status, tt.reason, tt.fields...)
			if f.be.count() != before {
				t.Fatal("the refused request reached the service")
			}
		})
	}
	t.Run("413 at once when Content-Length says so", func(t *testing.T) {
		req := httptest.NewRequest("POST", "/v1/orders", strings.NewReader(strings.Repeat(" ", 5000)))
		rec := httptest.NewRecorder()
		f.h.ServeHTTP(rec, req)
		if rec.Code != http.StatusRequestEntityTooLarge || !strings.Contains(rec.Body.String(), ReasonPayloadTooLarge) {
			t.Fatalf("%d %s", rec.Code, rec.Body)
		}
	})
	t.Run("a good body passes, JSON and proto names alike", func(t *testing.T) {
		a := f.do("POST", "/v1/orders", `{"request_id":"r9","order":{"id":"o1","memberId":"m1","amount_minor":250,"currency":"CNY","items":[{"sku":"a","quantity":"2"}]}}`, nil)
		if a.rec.Code != 200 {
			t.Fatalf("%d %s", a.rec.Code, a.rec.Body)
		}
		got := f.be.last(t).req.(*loyaltyv1.RecordOrderRequest)
		if got.GetOrder().GetMemberId() != "m1" || got.GetOrder().GetAmountMinor() != 250 || got.GetRequestId() != "r9" {
			t.Fatalf("service got %v", got)
		}
	})
}

func TestStrictQuery(t *testing.T) {
	f := newFixture(t, Config{})
	tests := []struct {
		name, path, reason, field string
	}{
		{"an unknown parameter", "/v1/members?pageSise=2", ReasonUnknownField, "pageSise"},
		{"a page size that is no number", "/v1/members?pageSize=ten", ReasonInvalidValue, "pageSize"},
		{"int32 overflow", "/v1/members?pageSize=4294967296", ReasonInvalidValue, "pageSize"},
		{"a path variable as a parameter", "/v1/members/m1?memberId=m2", ReasonUnknownField, "memberId"},
		{"a parameter under both its names", "/v1/members?pageSize=2&page_size=3", ReasonInvalidValue, "page_size"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := f.be.count()
			f.do("GET", tt.path, "", nil).want(t, 400, tt.reason, tt.field)
			if f.be.count() != before {
				t.Fatal("the refused request reached the service")
			}
		})
	}
	if a := f.do("GET", "/v1/members?pageSize=2&page_token=x", "", nil); a.rec.Code != 200 {
		t.Fatalf("good query: %d %s", a.rec.Code, a.rec.Body)
	}
}

func TestRouting(t *testing.T) {
	f := newFixture(t, Config{})
	f.do("GET", "/v1/nothing", "", nil).want(t, 404, ReasonRouteNotFound)
	f.do("GET", "/nothing", "", nil).want(t, 404, ReasonRouteNotFound)
	f.do("DELETE", "/v1/orders", "", nil).want(t, 405, ReasonMethodNotAllowed)
	a := f.do("POST", "/healthz", "", nil)
	a.want(t, 405, ReasonMethodNotAllowed)
	if a.rec.Header().Get("Allow") != "GET" {
		t.Fatalf("Allow %q", a.rec.Header().Get("Allow"))
	}
}

// TestFormPostReachesNoGetHandler: grpc-gateway would hand a form-encoded POST to a GET
// handler, which reads the form body as its query, past the strict query checks. The edge
// turns that off: such a POST is routed as a POST, and a form parameter the GET route does
// not take never reaches the service.
func TestFormPostReachesNoGetHandler(t *testing.T) {
	f := newFixture(t, Config{})
	form := "phone=13812345678&pageSize=5&bogusParam=1&filter=tier%3Dgold"
	tests := []struct {
		name, path string
		hdr        map[string]string
		status     int
		reason     string
	}{
		{"no POST route: no fallback to GET", "/v1/members:lookup", nil, 405, ReasonMethodNotAllowed},
		{"X-HTTP-Method-Override is not honoured", "/v1/members", map[string]string{"X-HTTP-Method-Override": "GET"}, 400, ReasonMalformedJSON},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			hdr := map[string]string{"Content-Type": "application/x-www-form-urlencoded"}
			maps.Copy(hdr, tt.hdr)
			before := f.be.count()
			f.do("POST", tt.path, form, hdr).want(t, tt.status, tt.reason)
			if f.be.count() != before {
				t.Fatalf("the form reached the service as %s: %v", f.be.last(t).method, f.be.last(t).req)
			}
		})
	}
}

// TestServiceErrors: the services' violations reach JSON callers by JSON path; every status has
// a reason; 401, 429 and 503 keep their shape and headers.
func TestServiceErrors(t *testing.T) {
	f := newFixture(t, Config{})
	st := func(code codes.Code, reason string, fields ...string) error {
		br := &errdetails.BadRequest{}
		for _, fl := range fields {
			br.FieldViolations = append(br.FieldViolations, &errdetails.BadRequest_FieldViolation{Field: fl, Description: "bad"})
		}
		s, _ := status.New(code, "refused").WithDetails(&errdetails.ErrorInfo{Reason: reason, Domain: "x"}, br)
		return s.Err()
	}
	t.Run("proto paths become JSON paths", func(t *testing.T) {
		f.be.err = st(codes.InvalidArgument, "INVALID_ARGUMENT", "order.items[2].unit_price_minor", "order.member_id", "request_id")
		f.do("POST", "/v1/orders", `{"order":{"id":"o"}}`, nil).want(t, 400, "INVALID_ARGUMENT",
			"order.items[2].unitPriceMinor", "order.memberId", "requestId")
		f.be.err = st(codes.InvalidArgument, "INVALID_ARGUMENT", "member.store_id", "member_id")
		f.do("POST", "/v1/members", `{"member":{"displayName":"x"}}`, nil).want(t, 400, "INVALID_ARGUMENT", "member.storeId")
		f.do("GET", "/v1/members/m1/points", "", nil).want(t, 400, "INVALID_ARGUMENT", "id")
		f.be.err = st(codes.InvalidArgument, "INVALID_ARGUMENT", "member.store_id")
		f.do("PATCH", "/v1/members/m1", `{"storeId":"s"}`, nil).want(t, 400, "INVALID_ARGUMENT", "storeId")
	})
	t.Run("401 carries the bearer challenge", func(t *testing.T) {
		f.be.err = st(codes.Unauthenticated, "INVALID_API_KEY")
		a := f.do("GET", "/v1/members/m1", "", nil)
		a.want(t, 401, "INVALID_API_KEY")
		if got := a.rec.Header().Get("WWW-Authenticate"); got != `Bearer realm="huiyuan"` {
			t.Fatalf("WWW-Authenticate %q", got)
		}
	})
	t.Run("429 with Retry-After from the retry delay", func(t *testing.T) {
		s, _ := status.New(codes.ResourceExhausted, "slow down").WithDetails(
			&errdetails.ErrorInfo{Reason: "RATE_LIMITED"}, &errdetails.RetryInfo{RetryDelay: durationpb.New(1500e6)})
		f.be.err = s.Err()
		a := f.do("GET", "/v1/members/m1", "", nil)
		a.want(t, 429, "RATE_LIMITED")
		if got := a.rec.Header().Get("Retry-After"); got != "2" {
			t.Fatalf("Retry-After %q", got)
		}
	})
	t.Run("a bare status gets a reason", func(t *testing.T) {
		f.be.err = status.Error(codes.Unavailable, "down")
		f.do("GET", "/v1/members/m1", "", nil).want(t, 503, "UNAVAILABLE")
		f.be.err = status.Error(codes.DeadlineExceeded, "slow")
		f.do("GET", "/v1/members/m1", "", nil).want(t, 504, "DEADLINE_EXCEEDED")
	})
	f.be.err = nil
}

// TestBatchResultFields: the per-order errors of a successful batch answer name JSON paths, as
// a failed call's do; the rest of the answer is untouched, and so are answers without statuses.
func TestBatchResultFields(t *testing.T) {
	f := newFixture(t, Config{})
	orderError := func(fields ...string) *loyaltyv1.Status {
		br := &errdetails.BadRequest{}
		for _, fl := range fields {
			br.FieldViolations = append(br.FieldViolations, &errdetails.BadRequest_FieldViolation{Field: fl, Description: "bad"})
		}
		st, _ := status.New(codes.InvalidArgument, "refused").WithDetails(&errdetails.ErrorInfo{Reason: "CURRENCY_NOT_ACCEPTED",
			Domain: "loyalty.huiyuan.dev", Metadata: map[string]string{"currency": "USD"}}, br)
		p := st.Proto()
		return &loyaltyv1.Status{Code: p.GetCode(), Message: p.GetMessage(), Details: p.GetDetails()}
	}
	f.be.reply = func(resp proto.Message) {
		r, ok := resp.(*loyaltyv1.BatchRecordOrdersResponse)
		if !ok {
			return
		}
		pts := int64(1)
		r.Results = []*loyaltyv1.OrderResult{
			{Result: &loyaltyv1.OrderResult_Order{Order: &loyaltyv1.Order{Id: "a", MemberId: "m1"}}, PointsEarned: &pts},
			{Result: &loyaltyv1.OrderResult_Error{Error: orderError("orders[1].currency", "orders[1].member_id")}},
			{Result: &loyaltyv1.OrderResult_Error{Error: orderError("orders[2].items[0].unit_price_minor", "orders[2].create_time", "request_id", "")}},
		}
	}
	defer func() { f.be.reply = nil }()
	rec := f.do("POST", "/v1/orders:batchRecord", `{"requestId":"b","orders":[{"id":"a"},{"id":"b"},{"id":"c"}]}`, nil).rec
	if rec.Code != 200 {
		t.Fatalf("%d %s", rec.Code, rec.Body)
	}
	var body struct {
		Results []struct {
			Order *struct {
				MemberID string `json:"memberId"`
			} `json:"order"`
			Error *struct {
				Details []struct {
					Type            string            `json:"@type"`
					Reason          string            `json:"reason"`
					Metadata        map[string]string `json:"metadata"`
					FieldViolations []struct {
						Field string `json:"field"`
					} `json:"fieldViolations"`
				} `json:"details"`
			} `json:"error"`
		} `json:"results"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil || len(body.Results) != 3 {
		t.Fatalf("%v %s", err, rec.Body)
	}
	if o := body.Results[0].Order; o == nil || o.MemberID != "m1" || body.Results[0].Error != nil {
		t.Fatalf("the recorded order changed: %s", rec.Body)
	}
	for i, want := range map[int][]string{1: {"orders[1].currency", "orders[1].memberId"},
		2: {"orders[2].items[0].unitPriceMinor", "orders[2].createTime", "requestId", ""}} {
		e := body.Results[i].Error
		if e == nil || len(e.Details) != 2 {
			t.Fatalf("result %d: %s", i, rec.Body)
		}
		var fields []string
		for _, d := range e.Details {
			for _, v := range d.FieldViolations {
				fields = append(fields, v.Field)
			}
			if strings.HasSuffix(d.Type, "ErrorInfo") && (d.Reason != "CURRENCY_NOT_ACCEPTED" || d.Metadata["currency"] != "USD") {
				t.Fatalf("result %d's ErrorInfo changed: %s", i, rec.Body)
			}
		}
		if !slices.Equal(fields, want) {
			t.Fatalf("result %d: fields %v, want %v", i, fields, want)
		}
	}
	// An answer without statuses passes as it came.
	if a := f.do("POST", "/v1/orders", `{"order":{"id":"o"}}`, nil); a.rec.Code != 200 || !strings.Contains(a.rec.Body.String(), `"pointsEarned"`) {
		t.Fatalf("%d %s", a.rec.Code, a.rec.Body)
	}
}

func TestHoldsDetails(t *testing.T) {
	for _, tt := range []struct {
		m    proto.Message
		want bool
	}{
		{&loyaltyv1.BatchRecordOrdersResponse{}, true},
		{&loyaltyv1.StreamRecordOrdersResponse{}, true},
		{&loyaltyv1.Status{}, true},
		{&loyaltyv1.RecordOrderResponse{}, false},
		{&loyaltyv1.ListPointsTransactionsResponse{}, false},
		{&memberv1.ListMembersResponse{}, false},
	} {
		var d detailTypes
		if got := d.holds(tt.m.ProtoReflect().Descriptor()); got != tt.want {
			t.Errorf("holds(%s) = %v, want %v", tt.m.ProtoReflect().Descriptor().FullName(), got, tt.want)
		}
	}
}

func TestCredentialHeaders(t *testing.T) {
	f := newFixture(t, Config{})
	req := httptest.NewRequest("GET", "/v1/members/m1", nil)
	req.Header.Set("Grpc-Metadata-Authorization", "Bearer stolen")
	req.Header.Set("Grpc-Metadata-Huiyuan-Tenant", "acme")
	req.Header.Set("Grpc-Metadata-X-Anything", "v")
	f.h.ServeHTTP(httptest.NewRecorder(), req)
	md := f.be.last(t).md
	if len(md.Get("authorization")) != 0 || len(md.Get("huiyuan-tenant")) != 0 || len(md.Get("x-anything")) != 0 {
		t.Fatalf("Grpc-Metadata-* reached the service: %v", md)
	}
	f.do("GET", "/v1/members/m1", "", nil)
	if got := f.be.last(t).md.Get("authorization"); len(got) != 1 || got[0] != "Bearer k" {
		t.Fatalf("Authorization forwarded as %v", got)
	}
}

func TestRequestIDs(t *testing.T) {
	f := newFixture(t, Config{})
	t.Run("Idempotency-Key fills a missing requestId", func(t *testing.T) {
		a := f.do("POST", "/v1/orders", `{"order":{"id":"o"}}`, map[string]string{"Idempotency-Key": "idem-1"})
		if a.rec.Code != 200 || f.be.last(t).req.(*loyaltyv1.RecordOrderRequest).GetRequestId() != "idem-1" {
			t.Fatalf("%d %s, service got %v", a.rec.Code, a.rec.Body, f.be.last(t).req)
		}
	})
	t.Run("so does a client's X-Request-Id", func(t *testing.T) {
		a := f.do("POST", "/v1/orders", ``, map[string]string{"X-Request-Id": "xr-1"})
		if a.rec.Code != 200 || f.be.last(t).req.(*loyaltyv1.RecordOrderRequest).GetRequestId() != "xr-1" || a.rec.Header().Get("X-Request-Id") != "xr-1" {
			t.Fatalf("%d %s, service got %v", a.rec.Code, a.rec.Header(), f.be.last(t).req)
		}
	})
	t.Run("a body requestId wins over the same header, differs: 400", func(t *testing.T) {
		f.do("POST", "/v1/orders", `{"requestId":"r1","order":{"id":"o"}}`, map[string]string{"Idempotency-Key": "r1"})
		if f.be.last(t).req.(*loyaltyv1.RecordOrderRequest).GetRequestId() != "r1" {
			t.Fatal("lost the body's request id")
		}
		before := f.be.count()
		f.do("POST", "/v1/orders", `{"requestId":"r1","order":{"id":"o"}}`, map[string]string{"Idempotency-Key": "r2"}).want(t, 400, ReasonInvalidValue, "requestId")
		if f.be.count() != before {
			t.Fatal("the conflicting request reached the service")
		}
	})
	t.Run("a PATCH takes it outside the body", func(t *testing.T) {
		f.do("PATCH", "/v1/members/m1", `{"displayName":"y"}`, map[string]string{"Idempotency-Key": "p-1"})
		if got := f.be.last(t).req.(*memberv1.UpdateMemberRequest); got.GetRequestId() != "p-1" || got.GetMember().GetDisplayName() != "y" {
			t.Fatalf("service got %v", got)
		}
	})
	// A DELETE has no body: its request id travels in the query, under the PATCH's rules.
	for _, tt := range []struct {
		name, query, want string
		status            int
	}{
		{"a DELETE takes it in the query", "", "del-1", 200},
		{"a DELETE's same query requestId passes", "?requestId=del-1", "del-1", 200},
		{"a DELETE's query requestId differs: 400", "?requestId=del-2", "", 400},
		{"so does its request_id", "?request_id=del-2", "", 400},
	} {
		t.Run(tt.name, func(t *testing.T) {
			before := f.be.count()
			a := f.do("DELETE", "/v1/tiers/gold"+tt.query, "", map[string]string{"Idempotency-Key": "del-1"})
			if tt.status != 200 {
				a.want(t, tt.status, ReasonInvalidValue, "requestId")
				if f.be.count() != before {
					t.Fatal("the conflicting request reached the service")
				}
				return
			}
			if got := f.be.last(t).req.(*memberv1.DeleteTierRequest); a.rec.Code != 200 || got.GetRequestId() != tt.want || got.GetTierId() != "gold" {
				t.Fatalf("%d %s, service got %v", a.rec.Code, a.rec.Body, got)
			}
		})
	}
	t.Run("every answer has an X-Request-Id, generated when absent, forwarded", func(t *testing.T) {
		a := f.do("GET", "/v1/members/m1", "", nil)
		id := a.rec.Header().Get("X-Request-Id")
		if id == "" || f.be.last(t).md.Get("x-request-id")[0] != id {
			t.Fatalf("X-Request-Id %q, forwarded %v", id, f.be.last(t).md.Get("x-request-id"))
		}
		if f.be.last(t).req.(*memberv1.GetMemberRequest) == nil {
			t.Fatal("wrong request type")
		}
	})
}

func TestCORS(t *testing.T) {
	preflight := func(h http.Handler, origin string) *httptest.ResponseRecorder {
		req := httptest.NewRequest("OPTIONS", "/v1/orders", nil)
		req.Header.Set("Origin", origin)
		req.Header.Set("Access-Control-Request-Method", "POST")
		req.Header.Set("Access-Control-Request-Headers", "authorization,content-type,idempotency-key,x-request-id")
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		return rec
	}
	t.Run("no origins configured: 204, nothing allowed", func(t *testing.T) {
		rec := preflight(newFixture(t, Config{}).h, "https://console.example")
		if rec.Code != http.StatusNoContent || rec.Header().Get("Access-Control-Allow-Origin") != "" {
			t.Fatalf("%d %v", rec.Code, rec.Header())
		}
	})
	f := newFixture(t, Config{CORSOrigins: []string{"https://console.example"}})
	t.Run("an allowed origin: its headers allowed", func(t *testing.T) {
		rec := preflight(f.h, "https://console.example")
		allow := strings.ToLower(rec.Header().Get("Access-Control-Allow-Headers"))
		if rec.Code != http.StatusNoContent || rec.Header().Get("Access-Control-Allow-Origin") != "https://console.example" ||
			!strings.Contains(allow, "idempotency-key") || !strings.Contains(allow, "x-request-id") {
			t.Fatalf("%d %v", rec.Code, rec.Header())
		}
	})
	t.Run("another origin: 204 without allow headers", func(t *testing.T) {
		rec := preflight(f.h, "https://evil.example")
		if rec.Code != http.StatusNoContent || rec.Header().Get("Access-Control-Allow-Origin") != "" || rec.Header().Get("Access-Control-Allow-Headers") != "" {
			t.Fatalf("%d %v", rec.Code, rec.Header())
		}
	})
	t.Run("actual requests expose Retry-After and X-Request-Id", func(t *testing.T) {
		a := f.do("GET", "/v1/members/m1", "", map[string]string{"Origin": "https://console.example"})
		exposed := a.rec.Header().Get("Access-Control-Expose-Headers")
		if !strings.Contains(exposed, "Retry-After") || !strings.Contains(exposed, "X-Request-Id") {
			t.Fatalf("exposed %q", exposed)
		}
	})
}

func TestEdgeEndpoints(t *testing.T) {
	f := newFixture(t, Config{Metrics: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("m 1\n")) }),
		MetricsKey: "metrics-key-0123456789"})
	get := func(path, key string) *httptest.ResponseRecorder {
		req := httptest.NewRequest("GET", path, nil)
		if key != "" {
			req.Header.Set("Authorization", "Bearer "+key)
		}
		rec := httptest.NewRecorder()
		f.h.ServeHTTP(rec, req)
		return rec
	}
	for _, p := range []string{"/healthz", "/readyz", "/openapi.json", "/openapi.yaml"} {
		if rec := get(p, ""); rec.Code != 200 {
			t.Fatalf("%s: %d", p, rec.Code)
		}
	}
	if rec := get("/openapi.yaml", ""); !strings.HasPrefix(rec.Body.String(), "components:") && !strings.Contains(rec.Body.String(), "openapi: 3.0.3") {
		t.Fatalf("openapi.yaml: %.200s", rec.Body)
	}
	for _, key := range []string{"", "wrong-key-0123456789"} {
		rec := get("/metrics", key)
		if rec.Code != 401 || rec.Header().Get("WWW-Authenticate") == "" || !strings.Contains(rec.Body.String(), "UNAUTHENTICATED") {
			t.Fatalf("metrics with %q: %d %s", key, rec.Code, rec.Body)
		}
	}
	if rec := get("/metrics", "metrics-key-0123456789"); rec.Code != 200 || rec.Body.String() != "m 1\n" {
		t.Fatalf("metrics with the key: %d", rec.Code)
	}
}
