package coupond

import (
	"context"
	"net/http"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"google.golang.org/grpc"

	couponv1 "github.com/huiyuan-dev/huiyuan/gen/huiyuan/coupon/v1"
)

// ExportPath is the JSON edge's route for a code batch as CSV: GET /v1/codeBatches/{id}:export.
const ExportPath = "/v1/codeBatches/{id}:export"

// gatewayRoutes registers CouponService's JSON routes (proto/gateway.yaml) and the CSV export,
// which streams ExportCodeBatch's chunks as text/csv rather than as JSON messages.
func gatewayRoutes(ctx context.Context, mux *runtime.ServeMux, cc grpc.ClientConnInterface) error {
	client := couponv1.NewCouponServiceClient(cc)
	if err := couponv1.RegisterCouponServiceHandlerClient(ctx, mux, client); err != nil {
		return err
	}
	return mux.HandlePath(http.MethodGet, ExportPath, func(w http.ResponseWriter, r *http.Request, params map[string]string) {
		_, marshaler := runtime.MarshalerForRequest(mux, r)
		actx, err := runtime.AnnotateContext(r.Context(), mux, r, "/huiyuan.coupon.v1.CouponService/ExportCodeBatch",
			runtime.WithHTTPPathPattern(ExportPath))
		if err != nil {
			runtime.HTTPError(r.Context(), mux, marshaler, w, r, err)
			return
		}
		stream, err := client.ExportCodeBatch(actx, &couponv1.ExportCodeBatchRequest{Id: params["id"]})
		if err != nil {
			runtime.HTTPError(actx, mux, marshaler, w, r, err)
			return
		}
		// The first message carries the header line, or the stream fails before any (a batch
		// not found, a role not allowed): only then can the status still be an error.
		first, err := stream.Recv()
		if err != nil {
			runtime.HTTPError(actx, mux, marshaler, w, r, err)
			return
		}
		w.Header().Set("Content-Type", "text/csv; charset=utf-8")
		w.Header().Set("Content-Disposition", `attachment; filename="codes-`+params["id"]+`.csv"`)
		if _, err := w.Write(first.GetData()); err != nil {
			return
		}
		for {
			m, err := stream.Recv()
			if err != nil {
				return // io.EOF at the end; a failure mid-stream can only cut the body short
			}
			if _, err := w.Write(m.GetData()); err != nil {
				return
			}
		}
	})
}
