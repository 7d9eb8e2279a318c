package grpcapi

import (
	"github.com/huiyuan-dev/huiyuan/pkg/auth"

	iamv1 "github.com/huiyuan-dev/huiyuan/gen/huiyuan/iam/v1"
	memberv1 "github.com/huiyuan-dev/huiyuan/gen/huiyuan/member/v1"
)

// Policy returns the roles allowed to call each MemberService method. ANALYST reads members
// without their personal fields; MEMBER principals reach only their own member (checked in the
// handlers with auth.RequireSelf).
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
	}
}
