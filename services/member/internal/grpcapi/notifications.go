package grpcapi

import (
	"context"
	"errors"
	"strings"

	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/huiyuan-dev/huiyuan/services/member/internal/member"

	memberv1 "github.com/huiyuan-dev/huiyuan/gen/huiyuan/member/v1"
)

// NotificationServer implements memberv1.NotificationServiceServer.
type NotificationServer struct {
	memberv1.UnimplementedNotificationServiceServer
	svc *member.Service
}

var _ memberv1.NotificationServiceServer = (*NotificationServer)(nil)

// NewNotificationServer returns a NotificationServer over svc. It fails on a nil service.
func NewNotificationServer(svc *member.Service) (*NotificationServer, error) {
	if svc == nil {
		return nil, errors.New("grpcapi.NewNotificationServer: nil service")
	}
	return &NotificationServer{svc: svc}, nil
}

// GetVerificationMessage implements NotificationServiceServer.
func (s *NotificationServer) GetVerificationMessage(ctx context.Context, req *memberv1.GetVerificationMessageRequest) (*memberv1.GetVerificationMessageResponse, error) {
	tenant, _, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	id, err := parseID("member_id", req.GetMemberId())
	if err != nil {
		return nil, err
	}
	v, err := s.svc.VerificationMessage(ctx, tenant, id, strings.ToLower(req.GetVerificationId()))
	if err != nil {
		return nil, err
	}
	return &memberv1.GetVerificationMessageResponse{Message: &memberv1.VerificationMessage{VerificationId: v.ID, MemberId: v.MemberID,
		Channel: memberv1.ContactVerification_Medium(v.Medium), Destination: v.Destination, Code: v.Code,
		ExpireTime: timestamppb.New(v.ExpireTime)}}, nil
}

// verificationToProto maps a verification as answers show it: no destination, no code.
func verificationToProto(v *member.Verification) *memberv1.ContactVerification {
	return &memberv1.ContactVerification{Id: v.ID, MemberId: v.MemberID, Channel: memberv1.ContactVerification_Medium(v.Medium),
		CreateTime: ts(v.CreateTime), ExpireTime: ts(v.ExpireTime), AttemptsLeft: int32(v.AttemptsLeft)}
}
