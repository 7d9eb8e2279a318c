// Package loyaltyclient implements coupon.Points on the loyalty service's gRPC API (HoldPoints,
// CaptureHold, ReleaseHold), calling as the coupon service for the tenant of each call. It maps
// loyalty's answers to the contract the exchange relies on: a definite refusal, a definite
// success (a hold found captured counts as captured), or Unavailable when the outcome is not
// known.
package loyaltyclient

import (
	"context"
	"errors"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/huiyuan-dev/huiyuan/pkg/apperr"
	"github.com/huiyuan-dev/huiyuan/pkg/auth"
	"github.com/huiyuan-dev/huiyuan/services/coupon/internal/coupon"

	loyaltyv1 "github.com/huiyuan-dev/huiyuan/gen/huiyuan/loyalty/v1"
)

// callTimeout bounds one call to loyalty.
const callTimeout = 5 * time.Second

// Loyalty's reasons the mapping reads.
const (
	reasonHoldClosed   = "HOLD_CLOSED"
	reasonHoldNotFound = "HOLD_NOT_FOUND"
	reasonHoldExpired  = "HOLD_EXPIRED"
)

// Points is coupon.Points over a connection to the loyalty service (kit's Env.Dial).
type Points struct {
	client loyaltyv1.LoyaltyServiceClient
}

var _ coupon.Points = (*Points)(nil)

// New returns Points calling loyalty over cc.
func New(cc grpc.ClientConnInterface) *Points {
	return &Points{client: loyaltyv1.NewLoyaltyServiceClient(cc)}
}

func call(ctx context.Context, tenant string) (context.Context, context.CancelFunc) {
	return context.WithTimeout(auth.ServiceContext(ctx, tenant), callTimeout)
}

// Hold implements coupon.Points.
func (p *Points) Hold(ctx context.Context, tenant, member string, points int64, requestID, reference string) (string, error) {
	ctx, cancel := call(ctx, tenant)
	defer cancel()
	resp, err := p.client.HoldPoints(ctx, &loyaltyv1.HoldPointsRequest{MemberId: member, RequestId: requestID, Points: points, Reference: reference})
	if err != nil {
		return "", mapErr(err)
	}
	return resp.GetHold().GetId(), nil
}

// Capture implements coupon.Points: a hold already captured (a retry whose first answer was
// lost, after loyalty forgot the request_id) is success.
func (p *Points) Capture(ctx context.Context, tenant, member, holdID, requestID string) error {
	ctx, cancel := call(ctx, tenant)
	defer cancel()
	_, err := p.client.CaptureHold(ctx, &loyaltyv1.CaptureHoldRequest{MemberId: member, HoldId: holdID, RequestId: requestID})
	if err == nil {
		return nil
	}
	reason, meta := info(err)
	switch {
	case reason == reasonHoldClosed && meta["status"] == "CAPTURED":
		return nil
	case reason == reasonHoldNotFound:
		// Loyalty forgets closed holds after a week: captured or not is no longer known.
		return unknown(err)
	}
	return mapErr(err)
}

// Release implements coupon.Points: a hold already released or timed out is success; one found
// captured is an error (the exchange then stays as it is for an operator: it cannot happen when
// Capture said the hold could not be captured).
func (p *Points) Release(ctx context.Context, tenant, member, holdID, requestID string) error {
	ctx, cancel := call(ctx, tenant)
	defer cancel()
	_, err := p.client.ReleaseHold(ctx, &loyaltyv1.ReleaseHoldRequest{MemberId: member, HoldId: holdID, RequestId: requestID})
	if err == nil {
		return nil
	}
	reason, meta := info(err)
	switch {
	case reason == reasonHoldExpired:
		return nil
	case reason == reasonHoldClosed && meta["status"] != "CAPTURED":
		return nil
	case reason == reasonHoldClosed:
		return apperr.E(apperr.FailedPrecondition, reasonHoldClosed, "hold %s was captured", holdID)
	}
	return mapErr(err)
}

// info returns the ErrorInfo reason and metadata of a status error.
func info(err error) (string, map[string]string) {
	st, ok := status.FromError(err)
	if !ok {
		return "", nil
	}
	for _, d := range st.Details() {
		if ei, ok := d.(*errdetails.ErrorInfo); ok {
			return ei.GetReason(), ei.GetMetadata()
		}
	}
	return "", nil
}

// mapErr turns loyalty's status into an apperr: a refusal keeps its code, reason and message;
// anything that may have acted (no answer, a timeout, an internal error) is Unavailable.
func mapErr(err error) error {
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		return unknown(err)
	}
	st, ok := status.FromError(err)
	if !ok {
		return unknown(err)
	}
	var code apperr.Code
	switch st.Code() {
	case codes.InvalidArgument:
		code = apperr.Invalid
	case codes.NotFound:
		code = apperr.NotFound
	case codes.AlreadyExists:
		code = apperr.AlreadyExists
	case codes.FailedPrecondition:
		code = apperr.FailedPrecondition
	case codes.PermissionDenied:
		code = apperr.PermissionDenied
	default: // Unavailable, DeadlineExceeded, ResourceExhausted (try later), Internal, ...
		return unknown(err)
	}
	reason, meta := info(err)
	return &apperr.Error{Code: code, Reason: reason, Message: "loyalty: " + st.Message(), Metadata: meta}
}

func unknown(err error) error {
	return errors.Join(apperr.E(apperr.Unavailable, coupon.ReasonExchangePending, "the loyalty service did not answer"), err)
}
