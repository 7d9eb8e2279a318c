package grpcapi

import (
	"context"
	"time"

	"github.com/huiyuan-dev/huiyuan/services/coupon/internal/coupon"
	"github.com/huiyuan-dev/huiyuan/services/coupon/internal/couponpb"

	couponv1 "github.com/huiyuan-dev/huiyuan/gen/huiyuan/coupon/v1"
	iamv1 "github.com/huiyuan-dev/huiyuan/gen/huiyuan/iam/v1"
)

// cartFrom maps an API cart; nil stays nil.
func cartFrom(p *couponv1.Cart) *coupon.Cart {
	if p == nil {
		return nil
	}
	c := &coupon.Cart{AmountMinor: p.GetAmountMinor(), Currency: p.GetCurrency(), StoreID: p.GetStoreId(), ShippingMinor: p.GetShippingMinor()}
	if len(p.GetItems()) > 0 {
		c.Items = make([]coupon.Item, len(p.GetItems()))
		for i, it := range p.GetItems() {
			c.Items[i] = coupon.Item{SKU: it.GetSku(), Category: it.GetCategory(), Quantity: it.GetQuantity(), UnitPriceMinor: it.GetUnitPriceMinor()}
		}
	}
	return c
}

// GetCoupon implements CouponServiceServer.
func (s *Server) GetCoupon(ctx context.Context, req *couponv1.GetCouponRequest) (*couponv1.GetCouponResponse, error) {
	tenant, actor, cd, err := byCode(ctx, req.GetCode())
	if err != nil {
		return nil, err
	}
	c, t, err := s.svc.GetCoupon(ctx, tenant, cd, actor)
	if err != nil {
		return nil, err
	}
	return &couponv1.GetCouponResponse{Coupon: couponpb.Coupon(c, t)}, nil
}

// coupons maps a list, reading each template once; analysts get coupons without their codes,
// which are bearer tokens.
func (s *Server) coupons(ctx context.Context, tenant string, role iamv1.Role, cs []*coupon.Coupon) []*couponv1.Coupon {
	tmpls := map[string]*coupon.Template{}
	out := make([]*couponv1.Coupon, len(cs))
	for i, c := range cs {
		t, ok := tmpls[c.TemplateID]
		if !ok {
			if tv, err := s.svc.GetTemplate(ctx, tenant, c.TemplateID); err == nil {
				t = tv.Template
			}
			tmpls[c.TemplateID] = t
		}
		out[i] = couponpb.Coupon(c, t)
		if role == iamv1.Role_ANALYST {
			out[i].Code, out[i].Name = "", ""
		}
	}
	return out
}

// ListMemberCoupons implements CouponServiceServer.
func (s *Server) ListMemberCoupons(ctx context.Context, req *couponv1.ListMemberCouponsRequest) (*couponv1.ListMemberCouponsResponse, error) {
	tenant, _, role, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	member, err := memberID(ctx, "member_id", req.GetMemberId())
	if err != nil {
		return nil, err
	}
	cs, next, err := s.svc.ListMemberCoupons(ctx, tenant, member, coupon.State(req.GetState()), int(req.GetPageSize()), req.GetPageToken())
	if err != nil {
		return nil, err
	}
	return &couponv1.ListMemberCouponsResponse{Coupons: s.coupons(ctx, tenant, role, cs), NextPageToken: next}, nil
}

// ListTemplateCoupons implements CouponServiceServer.
func (s *Server) ListTemplateCoupons(ctx context.Context, req *couponv1.ListTemplateCouponsRequest) (*couponv1.ListTemplateCouponsResponse, error) {
	tenant, _, role, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	id, err := templateID("template_id", req.GetTemplateId())
	if err != nil {
		return nil, err
	}
	cs, next, err := s.svc.ListTemplateCoupons(ctx, tenant, id, coupon.State(req.GetState()), int(req.GetPageSize()), req.GetPageToken())
	if err != nil {
		return nil, err
	}
	return &couponv1.ListTemplateCouponsResponse{Coupons: s.coupons(ctx, tenant, role, cs), NextPageToken: next}, nil
}

func applicableOut(a coupon.Applicable) *couponv1.Applicable {
	return &couponv1.Applicable{Code: coupon.FormatCode(a.Code), DiscountMinor: a.DiscountMinor, TemplateId: a.TemplateID,
		Title: a.Title, Type: couponv1.CouponTemplate_Type(a.Type), ExpireTime: couponpb.TS(a.ExpireTime)}
}

// ValidateCoupons implements CouponServiceServer.
func (s *Server) ValidateCoupons(ctx context.Context, req *couponv1.ValidateCouponsRequest) (*couponv1.ValidateCouponsResponse, error) {
	tenant, _, _, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	member, err := memberID(ctx, "member_id", req.GetMemberId())
	if err != nil {
		return nil, err
	}
	ev, err := s.svc.Validate(ctx, tenant, member, cartFrom(req.GetCart()), req.GetCodes(), req.GetOrderId())
	if err != nil {
		return nil, err
	}
	resp := &couponv1.ValidateCouponsResponse{Best: &couponv1.Combination{DiscountMinor: ev.Best.DiscountMinor}}
	for _, a := range ev.Applicable {
		resp.Applicable = append(resp.Applicable, applicableOut(a))
	}
	for _, n := range ev.NotApplicable {
		resp.NotApplicable = append(resp.NotApplicable, &couponv1.NotApplicable{Code: coupon.FormatCode(n.Code), TemplateId: n.TemplateID,
			Reason: couponv1.NotApplicable_Reason(n.Why), Detail: n.Detail})
	}
	for _, p := range ev.Best.Parts {
		resp.Best.Coupons = append(resp.Best.Coupons, applicableOut(p))
	}
	return resp, nil
}

func useInput(ctx context.Context, member, order, staff string, cart *couponv1.Cart, timeoutSeconds int32) (coupon.UseInput, error) {
	m, err := memberID(ctx, "member_id", member)
	if err != nil {
		return coupon.UseInput{}, err
	}
	return coupon.UseInput{Member: m, Order: order, Staff: staff, Cart: cartFrom(cart), Timeout: time.Duration(timeoutSeconds) * time.Second}, nil
}

// LockCoupon implements CouponServiceServer.
func (s *Server) LockCoupon(ctx context.Context, req *couponv1.LockCouponRequest) (*couponv1.LockCouponResponse, error) {
	tenant, _, cd, err := byCode(ctx, req.GetCode())
	if err != nil {
		return nil, err
	}
	in, err := useInput(ctx, req.GetMemberId(), req.GetOrderId(), "", req.GetCart(), req.GetTimeoutSeconds())
	if err != nil {
		return nil, err
	}
	c, t, err := s.svc.Lock(ctx, tenant, cd, in)
	if err != nil {
		return nil, err
	}
	return &couponv1.LockCouponResponse{Coupon: couponpb.Coupon(c, t)}, nil
}

// RedeemCoupon implements CouponServiceServer.
func (s *Server) RedeemCoupon(ctx context.Context, req *couponv1.RedeemCouponRequest) (*couponv1.RedeemCouponResponse, error) {
	tenant, _, cd, err := byCode(ctx, req.GetCode())
	if err != nil {
		return nil, err
	}
	in, err := useInput(ctx, req.GetMemberId(), req.GetOrderId(), req.GetStaffId(), req.GetCart(), 0)
	if err != nil {
		return nil, err
	}
	c, t, err := s.svc.Redeem(ctx, tenant, cd, in)
	if err != nil {
		return nil, err
	}
	return &couponv1.RedeemCouponResponse{Coupon: couponpb.Coupon(c, t), DiscountMinor: c.Redemption.DiscountMinor}, nil
}

// ReleaseCoupon implements CouponServiceServer.
func (s *Server) ReleaseCoupon(ctx context.Context, req *couponv1.ReleaseCouponRequest) (*couponv1.ReleaseCouponResponse, error) {
	tenant, actor, cd, err := byCode(ctx, req.GetCode())
	if err != nil {
		return nil, err
	}
	c, t, err := s.svc.Release(ctx, tenant, cd, req.GetOrderId(), actor)
	if err != nil {
		return nil, err
	}
	return &couponv1.ReleaseCouponResponse{Coupon: couponpb.Coupon(c, t)}, nil
}

// RestoreCoupon implements CouponServiceServer.
func (s *Server) RestoreCoupon(ctx context.Context, req *couponv1.RestoreCouponRequest) (*couponv1.RestoreCouponResponse, error) {
	tenant, _, cd, err := byCode(ctx, req.GetCode())
	if err != nil {
		return nil, err
	}
	c, t, err := s.svc.Restore(ctx, tenant, cd, req.GetOrderId(), req.GetReason())
	if err != nil {
		return nil, err
	}
	return &couponv1.RestoreCouponResponse{Coupon: couponpb.Coupon(c, t)}, nil
}

// VoidCoupon implements CouponServiceServer.
func (s *Server) VoidCoupon(ctx context.Context, req *couponv1.VoidCouponRequest) (*couponv1.VoidCouponResponse, error) {
	tenant, _, cd, err := byCode(ctx, req.GetCode())
	if err != nil {
		return nil, err
	}
	c, t, err := s.svc.Void(ctx, tenant, cd, req.GetReason())
	if err != nil {
		return nil, err
	}
	return &couponv1.VoidCouponResponse{Coupon: couponpb.Coupon(c, t)}, nil
}
