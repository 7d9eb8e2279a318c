package grpcapi

import (
	"context"
	"slices"
	"strings"
	"unicode"

	"github.com/huiyuan-dev/huiyuan/pkg/apperr"
	"github.com/huiyuan-dev/huiyuan/services/coupon/internal/coupon"
	"github.com/huiyuan-dev/huiyuan/services/coupon/internal/couponpb"

	couponv1 "github.com/huiyuan-dev/huiyuan/gen/huiyuan/coupon/v1"
)

func templateOut(tv coupon.TemplateView) *couponv1.CouponTemplate {
	return couponpb.Template(tv.Template, tv.Issued)
}

// CreateCouponTemplate implements CouponServiceServer.
func (s *Server) CreateCouponTemplate(ctx context.Context, req *couponv1.CreateCouponTemplateRequest) (*couponv1.CreateCouponTemplateResponse, error) {
	tenant, _, _, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	if req.GetTemplate() == nil {
		return nil, apperr.InvalidField("template", "is required")
	}
	tv, err := s.svc.CreateTemplate(ctx, tenant, couponpb.TemplateFrom(req.GetTemplate()))
	if err != nil {
		return nil, err
	}
	return &couponv1.CreateCouponTemplateResponse{Template: templateOut(tv)}, nil
}

// GetCouponTemplate implements CouponServiceServer.
func (s *Server) GetCouponTemplate(ctx context.Context, req *couponv1.GetCouponTemplateRequest) (*couponv1.GetCouponTemplateResponse, error) {
	tenant, id, err := byTemplate(ctx, "id", req.GetId())
	if err != nil {
		return nil, err
	}
	tv, err := s.svc.GetTemplate(ctx, tenant, id)
	if err != nil {
		return nil, err
	}
	return &couponv1.GetCouponTemplateResponse{Template: templateOut(tv)}, nil
}

// ListCouponTemplates implements CouponServiceServer.
func (s *Server) ListCouponTemplates(ctx context.Context, req *couponv1.ListCouponTemplatesRequest) (*couponv1.ListCouponTemplatesResponse, error) {
	tenant, _, _, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	tvs, next, err := s.svc.ListTemplates(ctx, tenant, coupon.Status(req.GetStatus()), int(req.GetPageSize()), req.GetPageToken())
	if err != nil {
		return nil, err
	}
	resp := &couponv1.ListCouponTemplatesResponse{NextPageToken: next, Templates: make([]*couponv1.CouponTemplate, len(tvs))}
	for i, tv := range tvs {
		resp.Templates[i] = templateOut(tv)
	}
	return resp, nil
}

// UpdateCouponTemplate implements CouponServiceServer. Mask paths may be proto or JSON names; a
// path into a message field (scope.include_skus, as the JSON edge derives from a body) names the
// whole field.
func (s *Server) UpdateCouponTemplate(ctx context.Context, req *couponv1.UpdateCouponTemplateRequest) (*couponv1.UpdateCouponTemplateResponse, error) {
	tenant, _, _, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	if req.GetTemplate() == nil {
		return nil, apperr.InvalidField("template", "is required")
	}
	id, err := templateID("template.id", req.GetTemplate().GetId())
	if err != nil {
		return nil, err
	}
	var mask []string
	for _, p := range req.GetUpdateMask().GetPaths() {
		top, _, _ := strings.Cut(p, ".")
		if top = snake(top); !slices.Contains(mask, top) {
			mask = append(mask, top)
		}
	}
	tv, err := s.svc.UpdateTemplate(ctx, tenant, id, couponpb.TemplateFrom(req.GetTemplate()), mask)
	if err != nil {
		return nil, err
	}
	return &couponv1.UpdateCouponTemplateResponse{Template: templateOut(tv)}, nil
}

// snake turns a JSON name (lowerCamelCase) into the proto name; proto names pass unchanged.
func snake(s string) string {
	var b strings.Builder
	for i, r := range s {
		if unicode.IsUpper(r) {
			if i > 0 {
				b.WriteByte('_')
			}
			b.WriteRune(unicode.ToLower(r))
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

func (s *Server) setStatus(ctx context.Context, rawID string, to coupon.Status) (*couponv1.CouponTemplate, error) {
	tenant, _, _, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	id, err := templateID("id", rawID)
	if err != nil {
		return nil, err
	}
	tv, err := s.svc.SetStatus(ctx, tenant, id, to)
	if err != nil {
		return nil, err
	}
	return templateOut(tv), nil
}

// ActivateCouponTemplate implements CouponServiceServer.
func (s *Server) ActivateCouponTemplate(ctx context.Context, req *couponv1.ActivateCouponTemplateRequest) (*couponv1.ActivateCouponTemplateResponse, error) {
	t, err := s.setStatus(ctx, req.GetId(), coupon.StatusActive)
	if err != nil {
		return nil, err
	}
	return &couponv1.ActivateCouponTemplateResponse{Template: t}, nil
}

// PauseCouponTemplate implements CouponServiceServer.
func (s *Server) PauseCouponTemplate(ctx context.Context, req *couponv1.PauseCouponTemplateRequest) (*couponv1.PauseCouponTemplateResponse, error) {
	t, err := s.setStatus(ctx, req.GetId(), coupon.StatusPaused)
	if err != nil {
		return nil, err
	}
	return &couponv1.PauseCouponTemplateResponse{Template: t}, nil
}

// EndCouponTemplate implements CouponServiceServer.
func (s *Server) EndCouponTemplate(ctx context.Context, req *couponv1.EndCouponTemplateRequest) (*couponv1.EndCouponTemplateResponse, error) {
	t, err := s.setStatus(ctx, req.GetId(), coupon.StatusEnded)
	if err != nil {
		return nil, err
	}
	return &couponv1.EndCouponTemplateResponse{Template: t}, nil
}
