package grpcapi

import (
	"github.com/huiyuan-dev/huiyuan/pkg/auth"

	iamv1 "github.com/huiyuan-dev/huiyuan/gen/huiyuan/iam/v1"
	memberv1 "github.com/huiyuan-dev/huiyuan/gen/huiyuan/member/v1"
)

// Policy returns the roles allowed to call each method of MemberService, MemberTokenService,
// TierService, BenefitService and PlanService. ANALYST reads members without their personal fields; MEMBER
// principals reach only their own member (checked in the handlers with auth.RequireSelf).
func Policy() auth.Policy {
	const (
		admin    = iamv1.Role_ADMIN
		operator = iamv1.Role_OPERATOR
		service  = iamv1.Role_SERVICE
		analyst  = iamv1.Role_ANALYST
		self     = iamv1.Role_MEMBER
	)
	return auth.Policy{
		memberv1.MemberService_CreateMember_FullMethodName:           {admin, operator, service},
		memberv1.MemberService_GetMember_FullMethodName:              {admin, operator, service, analyst, self},
		memberv1.MemberService_LookupMember_FullMethodName:           {admin, operator, service},
		memberv1.MemberService_ListMembers_FullMethodName:            {admin, operator, analyst},
		memberv1.MemberService_UpdateMember_FullMethodName:           {admin, operator, self},
		memberv1.MemberService_ChangeMemberStatus_FullMethodName:     {admin, operator},
		memberv1.MemberService_AddMemberIdentifier_FullMethodName:    {admin, operator, service},
		memberv1.MemberService_RemoveMemberIdentifier_FullMethodName: {admin, operator, service},
		memberv1.MemberService_EraseMember_FullMethodName:            {admin, self},
		// Staff may set a phone or email directly; verification is how a member (or the app
		// backend on its behalf) does it. Only the notification sender reads the code.
		memberv1.MemberService_RequestContactChange_FullMethodName:         {admin, operator, service, self},
		memberv1.MemberService_ConfirmContactChange_FullMethodName:         {admin, operator, service, self},
		memberv1.NotificationService_GetVerificationMessage_FullMethodName: {admin, service},

		// The business's app backend (a SERVICE key) signs its users in; staff and the member
		// itself sign them out. CheckMemberToken is for Huiyuan's own processes (listed, no role).
		memberv1.MemberTokenService_IssueMemberToken_FullMethodName:   {admin, service},
		memberv1.MemberTokenService_RevokeMemberToken_FullMethodName:  {admin, operator, service, self},
		memberv1.MemberTokenService_RevokeMemberTokens_FullMethodName: {admin, operator, service, self},
		memberv1.MemberTokenService_CheckMemberToken_FullMethodName:   {},

		// Definitions are the admin's; every caller may read the catalogue a member app shows.
		memberv1.TierService_CreateTier_FullMethodName:              {admin},
		memberv1.TierService_GetTier_FullMethodName:                 {admin, operator, service, analyst, self},
		memberv1.TierService_ListTiers_FullMethodName:               {admin, operator, service, analyst, self},
		memberv1.TierService_UpdateTier_FullMethodName:              {admin},
		memberv1.TierService_DeleteTier_FullMethodName:              {admin},
		memberv1.TierService_GetTierSettings_FullMethodName:         {admin, operator, service, analyst},
		memberv1.TierService_UpdateTierSettings_FullMethodName:      {admin},
		memberv1.TierService_GetMemberTier_FullMethodName:           {admin, operator, service, analyst, self},
		memberv1.TierService_OverrideMemberTier_FullMethodName:      {admin, operator},
		memberv1.TierService_ClearMemberTierOverride_FullMethodName: {admin, operator},
		memberv1.TierService_EvaluateMemberTier_FullMethodName:      {admin, operator, service},

		memberv1.BenefitService_CreateBenefit_FullMethodName:           {admin},
		memberv1.BenefitService_GetBenefit_FullMethodName:              {admin, operator, service, analyst, self},
		memberv1.BenefitService_ListBenefits_FullMethodName:            {admin, operator, service, analyst, self},
		memberv1.BenefitService_UpdateBenefit_FullMethodName:           {admin},
		memberv1.BenefitService_DeleteBenefit_FullMethodName:           {admin},
		memberv1.BenefitService_ListMemberBenefits_FullMethodName:      {admin, operator, service, analyst, self},
		memberv1.BenefitService_UseBenefit_FullMethodName:              {admin, operator, service, self},
		memberv1.BenefitService_CreateBenefitComplaint_FullMethodName:  {admin, operator, service, self},
		memberv1.BenefitService_GetBenefitComplaint_FullMethodName:     {admin, operator, analyst},
		memberv1.BenefitService_ListBenefitComplaints_FullMethodName:   {admin, operator, analyst},
		memberv1.BenefitService_ResolveBenefitComplaint_FullMethodName: {admin, operator},

		memberv1.PlanService_CreatePlan_FullMethodName: {admin},
		memberv1.PlanService_GetPlan_FullMethodName:    {admin, operator, service, analyst, self},
		memberv1.PlanService_ListPlans_FullMethodName:  {admin, operator, service, analyst, self},
		memberv1.PlanService_UpdatePlan_FullMethodName: {admin},
		memberv1.PlanService_DeletePlan_FullMethodName: {admin},
		// Payments come from the business's payment system, so members do not buy through us.
		memberv1.PlanService_PurchasePlan_FullMethodName:       {admin, operator, service},
		memberv1.PlanService_RenewSubscription_FullMethodName:  {admin, operator, service},
		memberv1.PlanService_CancelSubscription_FullMethodName: {admin, operator, service},
		memberv1.PlanService_ListSubscriptions_FullMethodName:  {admin, operator, service, analyst, self},
		memberv1.PlanService_ListPlanReports_FullMethodName:    {admin, operator, analyst},
	}
}
