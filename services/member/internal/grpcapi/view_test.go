package grpcapi

import (
	"testing"

	"github.com/huiyuan-dev/huiyuan/pkg/auth"
	"github.com/huiyuan-dev/huiyuan/services/member/internal/member"

	iamv1 "github.com/huiyuan-dev/huiyuan/gen/huiyuan/iam/v1"
)

// TestViewFor: staff and the business's backend read members whole; analysts and other
// services read them without personal data.
func TestViewFor(t *testing.T) {
	for _, tc := range []struct {
		role iamv1.Role
		want member.View
	}{
		{iamv1.Role_ADMIN, member.ViewFull},
		{iamv1.Role_OPERATOR, member.ViewFull},
		{iamv1.Role_SERVICE, member.ViewFull},
		{iamv1.Role_ANALYST, member.ViewRedacted},
		{auth.Internal, member.ViewRedacted},
	} {
		if got := viewFor(tc.role); got != tc.want {
			t.Errorf("viewFor(%v) = %v, want %v", tc.role, got, tc.want)
		}
	}
}
