package loyaltyd

import (
	"context"
	"errors"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/huiyuan-dev/huiyuan/pkg/apperr"

	memberv1 "github.com/huiyuan-dev/huiyuan/gen/huiyuan/member/v1"
)

// canceledMembers is a member service that answers CANCELLED while the caller's context is live.
type canceledMembers struct{ memberv1.MemberServiceClient }

func (canceledMembers) GetMember(context.Context, *memberv1.GetMemberRequest, ...grpc.CallOption) (*memberv1.GetMemberResponse, error) {
	// The member service (or a proxy in between) answers CANCELLED while the caller's own
	// context is still live.
	return nil, status.Error(codes.Canceled, "context canceled")
}

// TestStatusCanceled: a CANCELLED answer is the caller's own cancellation only when its
// context ended; otherwise it is no answer (Unavailable, retried), never a lookup without a
// status, which would refuse the member's orders MEMBER_NOT_ACTIVE for good.
func TestStatusCanceled(t *testing.T) {
	d := &memberDirectory{client: canceledMembers{}}
	if st, err := d.Status(context.Background(), "t1", "m1"); apperr.CodeOf(err) != apperr.Unavailable {
		t.Fatalf("live context: Status = %v, %v; want Unavailable", st, err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := d.Status(ctx, "t1", "m1"); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled context: %v, want context.Canceled", err)
	}
}
