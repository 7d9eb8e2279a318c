package edge

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	loyaltyv1 "github.com/huiyuan-dev/huiyuan/gen/huiyuan/loyalty/v1"
)

// nowhere is a service that answers every call with an empty response.
type nowhere struct{}

func (nowhere) Invoke(context.Context, string, any, any, ...grpc.CallOption) error { return nil }

func (nowhere) NewStream(context.Context, *grpc.StreamDesc, string, ...grpc.CallOption) (grpc.ClientStream, error) {
	return nil, status.Error(codes.Unimplemented, "no streams")
}

// BenchmarkOrderBody is what the edge itself spends on an order's JSON, from the request to
// the call to the service (which answers at once): strictInput's checks and the gateway's
// decoding, routing and response, for one order and for a batch of 100.
func BenchmarkOrderBody(b *testing.B) {
	h, err := New(context.Background(), Config{}, []Backend{{Name: "loyalty", Conn: nowhere{},
		Routes: func(ctx context.Context, mux *runtime.ServeMux, cc grpc.ClientConnInterface) error {
			return loyaltyv1.RegisterLoyaltyServiceHandlerClient(ctx, mux, loyaltyv1.NewLoyaltyServiceClient(cc))
		}}})
	if err != nil {
		b.Fatal(err)
	}
	order := func(i int) string {
		return fmt.Sprintf(`{"id":"o-%d","memberId":"01a232b0-8b30-71e6-8eee-0d824355334c","amountMinor":"12345","currency":"CNY","storeId":"s1","items":[{"sku":"latte","category":"coffee","quantity":"2","unitPriceMinor":"3000"}]}`, i)
	}
	var batch bytes.Buffer
	batch.WriteString(`{"requestId":"b-1","orders":[`)
	for i := range 100 {
		if i > 0 {
			batch.WriteByte(',')
		}
		batch.WriteString(order(i))
	}
	batch.WriteString("]}")
	for _, tc := range []struct{ name, path, body string }{
		{"one", "/v1/orders", `{"requestId":"r-1","order":` + order(1) + `}`},
		{"batch100", "/v1/orders:batchRecord", batch.String()},
	} {
		b.Run(tc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				req := httptest.NewRequest(http.MethodPost, tc.path, bytes.NewReader([]byte(tc.body)))
				req.Header.Set("Authorization", "Bearer k")
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, req)
				if rec.Code != http.StatusOK {
					b.Fatalf("%d %s", rec.Code, rec.Body)
				}
			}
		})
	}
}
