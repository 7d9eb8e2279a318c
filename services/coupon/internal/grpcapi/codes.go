package grpcapi

import (
	"context"

	"github.com/huiyuan-dev/huiyuan/pkg/apperr"
	"github.com/huiyuan-dev/huiyuan/services/coupon/internal/coupon"
	"github.com/huiyuan-dev/huiyuan/services/coupon/internal/couponpb"

	couponv1 "github.com/huiyuan-dev/huiyuan/gen/huiyuan/coupon/v1"
)

func batchOut(b *coupon.Batch) *couponv1.CodeBatch {
	return &couponv1.CodeBatch{Id: b.ID, TemplateId: b.TemplateID, Count: b.Count, Generated: b.Generated,
		State: couponv1.CodeBatch_State(b.State), CreateTime: couponpb.TS(b.CreateTime), DoneTime: couponpb.TS(b.DoneTime)}
}

func sharedOut(sc *coupon.SharedCode) *couponv1.SharedCode {
	return &couponv1.SharedCode{Code: sc.Code, TemplateId: sc.TemplateID, MaxUses: sc.MaxUses, Uses: sc.Uses, CreateTime: couponpb.TS(sc.CreateTime)}
}

// CreateCodeBatch implements CouponServiceServer.
func (s *Server) CreateCodeBatch(ctx context.Context, req *couponv1.CreateCodeBatchRequest) (*couponv1.CreateCodeBatchResponse, error) {
	tenant, id, err := byTemplate(ctx, "template_id", req.GetTemplateId())
	if err != nil {
		return nil, err
	}
	b, err := s.svc.CreateBatch(ctx, tenant, id, req.GetCount())
	if err != nil {
		return nil, err
	}
	return &couponv1.CreateCodeBatchResponse{Batch: batchOut(b)}, nil
}

// GetCodeBatch implements CouponServiceServer.
func (s *Server) GetCodeBatch(ctx context.Context, req *couponv1.GetCodeBatchRequest) (*couponv1.GetCodeBatchResponse, error) {
	tenant, _, _, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	id, err := parseID("id", req.GetId(), coupon.BatchNotFound)
	if err != nil {
		return nil, err
	}
	b, err := s.svc.GetBatch(ctx, tenant, id)
	if err != nil {
		return nil, err
	}
	return &couponv1.GetCodeBatchResponse{Batch: batchOut(b)}, nil
}

// ListCodeBatches implements CouponServiceServer.
func (s *Server) ListCodeBatches(ctx context.Context, req *couponv1.ListCodeBatchesRequest) (*couponv1.ListCodeBatchesResponse, error) {
	tenant, id, err := byTemplate(ctx, "template_id", req.GetTemplateId())
	if err != nil {
		return nil, err
	}
	bs, err := s.svc.ListBatches(ctx, tenant, id)
	if err != nil {
		return nil, err
	}
	resp := &couponv1.ListCodeBatchesResponse{Batches: make([]*couponv1.CodeBatch, len(bs))}
	for i, b := range bs {
		resp.Batches[i] = batchOut(b)
	}
	return resp, nil
}

// chunkWriter sends what is written to a stream, one message per Write.
type chunkWriter struct {
	stream couponv1.CouponService_ExportCodeBatchServer
}

func (w chunkWriter) Write(p []byte) (int, error) {
	if err := w.stream.Send(&couponv1.ExportCodeBatchResponse{Data: append([]byte(nil), p...)}); err != nil {
		return 0, err
	}
	return len(p), nil
}

// ExportCodeBatch implements CouponServiceServer.
func (s *Server) ExportCodeBatch(req *couponv1.ExportCodeBatchRequest, stream couponv1.CouponService_ExportCodeBatchServer) error {
	ctx := stream.Context()
	tenant, _, _, err := caller(ctx)
	if err != nil {
		return err
	}
	id, err := parseID("id", req.GetId(), coupon.BatchNotFound)
	if err != nil {
		return err
	}
	return s.svc.ExportBatch(ctx, tenant, id, chunkWriter{stream})
}

// CreateSharedCode implements CouponServiceServer.
func (s *Server) CreateSharedCode(ctx context.Context, req *couponv1.CreateSharedCodeRequest) (*couponv1.CreateSharedCodeResponse, error) {
	tenant, _, _, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	in := req.GetSharedCode()
	if in == nil {
		return nil, apperr.InvalidField("shared_code", "is required")
	}
	id, err := templateID("shared_code.template_id", in.GetTemplateId())
	if err != nil {
		return nil, err
	}
	sc, err := s.svc.CreateSharedCode(ctx, tenant, coupon.SharedCode{Code: in.GetCode(), TemplateID: id, MaxUses: in.GetMaxUses()})
	if err != nil {
		return nil, err
	}
	return &couponv1.CreateSharedCodeResponse{SharedCode: sharedOut(sc)}, nil
}

// GetSharedCode implements CouponServiceServer.
func (s *Server) GetSharedCode(ctx context.Context, req *couponv1.GetSharedCodeRequest) (*couponv1.GetSharedCodeResponse, error) {
	tenant, _, cd, err := byCode(ctx, req.GetCode())
	if err != nil {
		return nil, err
	}
	sc, err := s.svc.GetSharedCode(ctx, tenant, cd)
	if err != nil {
		return nil, err
	}
	return &couponv1.GetSharedCodeResponse{SharedCode: sharedOut(sc)}, nil
}
