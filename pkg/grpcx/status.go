// Package grpcx is the gRPC server kit every service uses: the one mapping of apperr.Error to a
// gRPC status, the interceptor chain (recovery, logging, metrics, errors, auth, idempotency), the
// server with health and reflection, and an in-process Channel that runs the same chain without
// a network.
package grpcx

import (
	"context"
	"errors"
	"strings"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/protoadapt"

	"github.com/huiyuan-dev/huiyuan/pkg/apperr"
)

// internalMessage is all a caller learns about an unexpected error.
const internalMessage = "internal error"

// ToStatus converts err to the gRPC status error a caller receives; nil stays nil.
//
//   - an *apperr.Error (anywhere in the chain) becomes its code (see grpcCode) and Message, with
//     a google.rpc.ErrorInfo{Reason, Domain: domain, Metadata} detail always and a
//     google.rpc.BadRequest detail listing its field violations when it has any;
//   - an error carrying a gRPC status (from a downstream call) passes through unchanged, without
//     the text of any wrapping, unless it is grpc-go's own failure of the call (an Unavailable,
//     Unknown, Internal or DeadlineExceeded status with no details, such as a refused
//     connection): that keeps its code with a fixed message, since its text names internal
//     addresses;
//   - context.Canceled and context.DeadlineExceeded become Canceled and DeadlineExceeded;
//   - anything else becomes Internal "internal error": the real text never reaches the caller
//     (log it before calling ToStatus).
func ToStatus(err error, domain string) error {
	if err == nil {
		return nil
	}
	var ae *apperr.Error
	if errors.As(err, &ae) {
		return fromAppErr(ae, domain).Err()
	}
	var se interface{ GRPCStatus() *status.Status }
	if errors.As(err, &se) {
		if st := se.GRPCStatus(); st != nil && st.Code() != codes.OK {
			if transportFailure(st) {
				return status.Error(st.Code(), downstreamMessage)
			}
			return st.Err()
		}
	}
	switch {
	case errors.Is(err, context.Canceled):
		return status.Error(codes.Canceled, context.Canceled.Error())
	case errors.Is(err, context.DeadlineExceeded):
		return status.Error(codes.DeadlineExceeded, context.DeadlineExceeded.Error())
	}
	return status.Error(codes.Internal, internalMessage)
}

// IsInternal reports whether ToStatus hides err's text: whether err is neither an apperr.Error,
// nor a status (other than a downstream call's transport failure), nor a context error. Such
// errors deserve a log line with the full text.
func IsInternal(err error) bool {
	if err == nil {
		return false
	}
	var ae *apperr.Error
	if errors.As(err, &ae) {
		return false
	}
	var se interface{ GRPCStatus() *status.Status }
	if errors.As(err, &se) {
		st := se.GRPCStatus()
		return st != nil && st.Code() != codes.OK && transportFailure(st)
	}
	return !errors.Is(err, context.Canceled) && !errors.Is(err, context.DeadlineExceeded)
}

// downstreamMessage is what a caller learns of a downstream call that failed in transport.
const downstreamMessage = "a service this call depends on did not answer"

// transportFailure reports whether st is grpc-go's own failure of a call rather than an answer
// of one of our services, which always carries an ErrorInfo.
func transportFailure(st *status.Status) bool {
	switch st.Code() {
	case codes.Unavailable, codes.Unknown, codes.Internal, codes.DeadlineExceeded:
		return len(st.Details()) == 0
	}
	return false
}

func fromAppErr(ae *apperr.Error, domain string) *status.Status {
	code := grpcCode(ae.Code)
	msg := ae.Message
	if msg == "" {
		msg = strings.ReplaceAll(string(ae.Code), "_", " ")
	}
	reason := ae.Reason
	if reason == "" {
		reason = defaultReason(code)
	}
	st := status.New(code, msg)
	details := make([]protoadapt.MessageV1, 0, 2)
	details = append(details, &errdetails.ErrorInfo{Reason: reason, Domain: domain, Metadata: ae.Metadata})
	if len(ae.Violations) > 0 {
		br := &errdetails.BadRequest{FieldViolations: make([]*errdetails.BadRequest_FieldViolation, len(ae.Violations))}
		for i, v := range ae.Violations {
			br.FieldViolations[i] = &errdetails.BadRequest_FieldViolation{Field: v.Field, Description: v.Description}
		}
		details = append(details, br)
	}
	withDetails, err := st.WithDetails(details...)
	if err != nil { // only for an OK status, which grpcCode never returns
		return st
	}
	return withDetails
}

// grpcCode maps an apperr.Code as documented on its constants; an unknown code is Internal.
func grpcCode(c apperr.Code) codes.Code {
	switch c {
	case apperr.Invalid:
		return codes.InvalidArgument
	case apperr.NotFound:
		return codes.NotFound
	case apperr.AlreadyExists:
		return codes.AlreadyExists
	case apperr.FailedPrecondition:
		return codes.FailedPrecondition
	case apperr.Aborted:
		return codes.Aborted
	case apperr.Unauthenticated:
		return codes.Unauthenticated
	case apperr.PermissionDenied:
		return codes.PermissionDenied
	case apperr.ResourceExhausted:
		return codes.ResourceExhausted
	case apperr.Unavailable:
		return codes.Unavailable
	default:
		return codes.Internal
	}
}

// defaultReason gives an ErrorInfo a reason when the apperr.Error has none: ErrorInfo requires
// one, and the upper-snake code name is stable.
func defaultReason(c codes.Code) string {
	switch c {
	case codes.InvalidArgument:
		return "INVALID_ARGUMENT"
	case codes.NotFound:
		return "NOT_FOUND"
	case codes.AlreadyExists:
		return "ALREADY_EXISTS"
	case codes.FailedPrecondition:
		return "FAILED_PRECONDITION"
	case codes.Aborted:
		return "ABORTED"
	case codes.Unauthenticated:
		return "UNAUTHENTICATED"
	case codes.PermissionDenied:
		return "PERMISSION_DENIED"
	case codes.ResourceExhausted:
		return "RESOURCE_EXHAUSTED"
	case codes.Unavailable:
		return "UNAVAILABLE"
	default:
		return "INTERNAL"
	}
}
