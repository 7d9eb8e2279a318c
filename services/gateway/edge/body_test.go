package edge

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"google.golang.org/grpc"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	loyaltyv1 "github.com/huiyuan-dev/huiyuan/gen/huiyuan/loyalty/v1"
)

// TestBodyMarshalerTakesCheckedMessage: the gateway's decoder takes the message strictInput
// decoded (the raw bytes here say otherwise, so reading them would show), once; a target of
// another type, or a body without a message, is decoded from the bytes.
func TestBodyMarshalerTakesCheckedMessage(t *testing.T) {
	m := bodyMarshaler{&runtime.HTTPBodyMarshaler{Marshaler: &runtime.JSONPb{}}}
	raw := []byte(`{"requestId":"from-bytes","order":{"id":"from-bytes"}}`)
	checked := &loyaltyv1.RecordOrderRequest{RequestId: "checked", Order: &loyaltyv1.Order{Id: "checked", AmountMinor: 5}}
	decode := func(body io.Reader, into proto.Message) proto.Message {
		t.Helper()
		if err := m.NewDecoder(body).Decode(into); err != nil {
			t.Fatal(err)
		}
		return into
	}

	cb := &checkedBody{Reader: bytes.NewReader(raw), msg: checked}
	if got := decode(cb, &loyaltyv1.RecordOrderRequest{}); !proto.Equal(got, checked) {
		t.Fatalf("decoded %v, want the checked message %v", got, checked)
	}
	if n, _ := cb.Read(make([]byte, 1)); n != 0 || cb.msg != nil {
		t.Fatalf("the body was not consumed: %d bytes left, message %v", n, cb.msg)
	}

	want := &loyaltyv1.RecordOrderRequest{}
	if err := protojson.Unmarshal(raw, want); err != nil {
		t.Fatal(err)
	}
	for name, body := range map[string]io.Reader{
		"no message":      &checkedBody{Reader: bytes.NewReader(raw)},
		"a plain reader":  bytes.NewReader(raw),
		"another message": &checkedBody{Reader: bytes.NewReader(raw), msg: &loyaltyv1.Order{Id: "checked"}},
	} {
		if got := decode(body, &loyaltyv1.RecordOrderRequest{}); !proto.Equal(got, want) {
			t.Errorf("%s: decoded %v, want the bytes' %v", name, got, want)
		}
	}
}

// capture is a service that keeps the last request it was called with.
type capture struct {
	nowhere
	last proto.Message
}

func (c *capture) Invoke(_ context.Context, _ string, args, _ any, _ ...grpc.CallOption) error {
	c.last = proto.Clone(args.(proto.Message))
	return nil
}

// FuzzOrderBody: whatever body a client posts as an order, the edge answers without panicking,
// 200 or a 4xx, and what reaches the service on a 200 is what the body decodes to.
func FuzzOrderBody(f *testing.F) {
	be := &capture{}
	h, err := New(context.Background(), Config{}, []Backend{{Name: "loyalty", Conn: be,
		Routes: func(ctx context.Context, mux *runtime.ServeMux, cc grpc.ClientConnInterface) error {
			return loyaltyv1.RegisterLoyaltyServiceHandlerClient(ctx, mux, loyaltyv1.NewLoyaltyServiceClient(cc))
		}}})
	if err != nil {
		f.Fatal(err)
	}
	f.Add([]byte(`{"requestId":"r","order":{"id":"o","memberId":"m","amountMinor":"100","currency":"CNY"}}`))
	f.Add([]byte(`{"order":{"id":"o","items":[{"sku":"a","quantity":2}]},"unknown":1}`))
	f.Add([]byte(`{"order":{"createTime":"2026-01-01T00:00:00Z","amountMinor":12}}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		be.last = nil
		req := httptest.NewRequest(http.MethodPost, "/v1/orders", bytes.NewReader(body))
		req.Header.Set("Authorization", "Bearer k")
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		switch {
		case rec.Code == http.StatusOK:
			if len(bytes.TrimSpace(body)) > 0 && !json.Valid(body) {
				t.Fatalf("200 for a body that is not JSON: %q", body)
			}
			want := &loyaltyv1.RecordOrderRequest{}
			if len(bytes.TrimSpace(body)) > 0 {
				if err := protojson.Unmarshal(body, want); err != nil {
					t.Fatalf("200 for a body protojson refuses (%v): %q", err, body)
				}
			}
			if be.last == nil || !proto.Equal(be.last, want) {
				t.Fatalf("the service got %v, the body says %v", be.last, want)
			}
		case rec.Code >= 400 && rec.Code < 500:
			if be.last != nil {
				t.Fatalf("%d, yet the service was called with %v", rec.Code, be.last)
			}
		default:
			t.Fatalf("status %d for %q: %s", rec.Code, body, rec.Body)
		}
	})
}
