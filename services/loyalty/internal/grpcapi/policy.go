package grpcapi

import (
	"github.com/huiyuan-dev/huiyuan/pkg/auth"

	iamv1 "github.com/huiyuan-dev/huiyuan/gen/huiyuan/iam/v1"
	loyaltyv1 "github.com/huiyuan-dev/huiyuan/gen/huiyuan/loyalty/v1"
)

// The roles of the method policies.
const (
	admin    = iamv1.Role_ADMIN
	operator = iamv1.Role_OPERATOR
	service  = iamv1.Role_SERVICE
	analyst  = iamv1.Role_ANALYST
	self     = iamv1.Role_MEMBER
)

// Policy returns the roles allowed to call each LoyaltyService method. MEMBER principals reach
// only their own points (checked in the handlers with auth.RequireSelf); only admins adjust
// points or verify the ledger.
func Policy() auth.Policy {
	return auth.Policy{
		loyaltyv1.LoyaltyService_RecordOrder_FullMethodName:            {admin, operator, service},
		loyaltyv1.LoyaltyService_BatchRecordOrders_FullMethodName:      {admin, operator, service},
		loyaltyv1.LoyaltyService_StreamRecordOrders_FullMethodName:     {admin, operator, service},
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

// ProgramPolicy returns the roles allowed on each LoyaltyProgramService method.
func ProgramPolicy() auth.Policy {
	return auth.Policy{
		loyaltyv1.LoyaltyProgramService_TransferPoints_FullMethodName:         {admin, operator, service, self},
		loyaltyv1.LoyaltyProgramService_CheckIn_FullMethodName:                {admin, operator, service, self},
		loyaltyv1.LoyaltyProgramService_GetPointsLiability_FullMethodName:     {admin, analyst},
		loyaltyv1.LoyaltyProgramService_GetLoyaltyPolicy_FullMethodName:       {admin, operator, analyst},
		loyaltyv1.LoyaltyProgramService_UpdateLoyaltyPolicy_FullMethodName:    {admin},
		loyaltyv1.LoyaltyProgramService_CreateReward_FullMethodName:           {admin, operator},
		loyaltyv1.LoyaltyProgramService_ListRewards_FullMethodName:            {admin, operator, service, analyst, self},
		loyaltyv1.LoyaltyProgramService_RedeemReward_FullMethodName:           {admin, operator, service, self},
		loyaltyv1.LoyaltyProgramService_UpdateRewardRedemption_FullMethodName: {admin, operator, service},
		loyaltyv1.LoyaltyProgramService_ListRewardRedemptions_FullMethodName:  {admin, operator, service, analyst, self},
	}
}
