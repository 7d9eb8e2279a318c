package grpcapi

import (
	"github.com/huiyuan-dev/huiyuan/pkg/auth"

	couponv1 "github.com/huiyuan-dev/huiyuan/gen/huiyuan/coupon/v1"
	iamv1 "github.com/huiyuan-dev/huiyuan/gen/huiyuan/iam/v1"
)

// Policy returns the roles allowed on each CouponService method (API.md): templates and codes
// are staff work (ADMIN, OPERATOR); a till (SERVICE) and a member (MEMBER, only for itself)
// claim, validate, lock, redeem and release; grants come from staff and integrations such as
// campaigns; ANALYST reads. Unlisted methods are denied.
func Policy() auth.Policy {
	const (
		admin    = iamv1.Role_ADMIN
		operator = iamv1.Role_OPERATOR
		service  = iamv1.Role_SERVICE
		analyst  = iamv1.Role_ANALYST
		member   = iamv1.Role_MEMBER
	)
	staff := []iamv1.Role{admin, operator}
	till := []iamv1.Role{admin, operator, service, member}
	read := []iamv1.Role{admin, operator, service, analyst, member}
	m := func(name string) string { return "/" + couponv1.CouponService_ServiceDesc.ServiceName + "/" + name }
	return auth.Policy{
		m("CreateCouponTemplate"):   staff,
		m("UpdateCouponTemplate"):   staff,
		m("ActivateCouponTemplate"): staff,
		m("PauseCouponTemplate"):    staff,
		m("EndCouponTemplate"):      staff,
		m("GetCouponTemplate"):      read,
		m("ListCouponTemplates"):    read,

		m("ClaimCoupon"):       till,
		m("ClaimCouponCode"):   till,
		m("GrantCoupons"):      {admin, operator, service},
		m("ExchangeCoupon"):    till,
		m("GetCouponExchange"): read,

		m("GetCoupon"):           read,
		m("ListMemberCoupons"):   read,
		m("ListTemplateCoupons"): {admin, operator, analyst},
		m("ValidateCoupons"):     till,
		m("LockCoupon"):          till,
		m("RedeemCoupon"):        till,
		m("ReleaseCoupon"):       till,
		m("RestoreCoupon"):       {admin, operator, service},
		m("VoidCoupon"):          staff,

		m("CreateCodeBatch"):  staff,
		m("GetCodeBatch"):     {admin, operator, analyst},
		m("ListCodeBatches"):  {admin, operator, analyst},
		m("ExportCodeBatch"):  staff,
		m("CreateSharedCode"): staff,
		m("GetSharedCode"):    {admin, operator, service, analyst},
	}
}
