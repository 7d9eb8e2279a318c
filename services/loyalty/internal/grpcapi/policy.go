package grpcapi

import (
	"github.com/huiyuan-dev/huiyuan/pkg/auth"

	iamv1 "github.com/huiyuan-dev/huiyuan/gen/huiyuan/iam/v1"
	loyaltyv1 "github.com/huiyuan-dev/huiyuan/gen/huiyuan/loyalty/v1"
)

// Policy returns the roles allowed to call each LoyaltyService method. MEMBER principals reach
// only their own points (checked in the handlers with auth.RequireSelf); only admins adjust
// points or verify the ledger.
func Policy() auth.Policy {
	const (
		admin    = iamv1.Role_ADMIN
		operator = iamv1.Role_OPERATOR
		service  = iamv1.Role_SERVICE
		analyst  = iamv1.Role_ANALYST
		self     = iamv1.Role_MEMBER
	)
	return auth.Policy{
		loyaltyv1.LoyaltyService_RecordOrder_FullMethodName:            {admin, operator, service},
		loyaltyv1.LoyaltyService_GetOrder_FullMethodName:               {admin, operator, service},
		loyaltyv1.LoyaltyService_RefundOrder_FullMethodName:            {admin, operator, service},
		loyaltyv1.LoyaltyService_GetPointsBalance_FullMethodName:       {admin, operator, service, analyst, self},
		loyaltyv1.LoyaltyService_ListPointsTransactions_FullMethodName: {admin, operator, service, analyst, self},
		loyaltyv1.LoyaltyService_RedeemPoints_FullMethodName:           {admin, operator, service, self},
		loyaltyv1.LoyaltyService_AdjustPoints_FullMethodName:           {admin},
		loyaltyv1.LoyaltyService_HoldPoints_FullMethodName:             {admin, operator, service, self},
		loyaltyv1.LoyaltyService_CaptureHold_FullMethodName:            {admin, operator, service, self},
		loyaltyv1.LoyaltyService_ReleaseHold_FullMethodName:            {admin, operator, service, self},
		loyaltyv1.LoyaltyService_VerifyLedger_FullMethodName:           {admin},
	}
}
