package grpcx_test

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/huiyuan-dev/huiyuan/pkg/apperr"
	"github.com/huiyuan-dev/huiyuan/pkg/grpcx"
)

// details splits a status' details into its ErrorInfo and BadRequest.
func details(t *testing.T, err error) (*status.Status, *errdetails.ErrorInfo, *errdetails.BadRequest) {
	t.Helper()
	st, ok := status.FromError(err)
	if !ok {
		t.Fatalf("%v (%T) is not a status error", err, err)
	}
	var info *errdetails.ErrorInfo
	var br *errdetails.BadRequest
	for _, d := range st.Details() {
		switch d := d.(type) {
		case *errdetails.ErrorInfo:
			info = d
		case *errdetails.BadRequest:
			br = d
		default:
			t.Fatalf("unexpected detail %T", d)
		}
	}
	return st, info, br
}

func TestToStatus(t *testing.T) {
	downstream := status.New(codes.ResourceExhausted, "slow down")
	tests := []struct {
		name       string
		err        error
		code       codes.Code
		msg        string
		reason     string // "" = no ErrorInfo expected
		meta       map[string]string
		violations []string
	}{
		{name: "invalid", err: apperr.InvalidField("member.phone", "bad phone"), code: codes.InvalidArgument,
			msg: "member.phone: bad phone", reason: "INVALID_ARGUMENT", violations: []string{"member.phone"}},
		{name: "two violations", err: func() error {
			var v apperr.Violations
			v.Add("a", "x")
			v.Add("b.c", "y")
			return v.Err()
		}(), code: codes.InvalidArgument, msg: "a: x (and 1 more)", reason: "INVALID_ARGUMENT", violations: []string{"a", "b.c"}},
		{name: "not found", err: apperr.E(apperr.NotFound, "MEMBER_NOT_FOUND", "member %q not found", "m1").With("member", "m1"),
			code: codes.NotFound, msg: `member "m1" not found`, reason: "MEMBER_NOT_FOUND", meta: map[string]string{"member": "m1"}},
		{name: "already exists", err: apperr.E(apperr.AlreadyExists, "X", "x"), code: codes.AlreadyExists, msg: "x", reason: "X"},
		{name: "failed precondition", err: apperr.E(apperr.FailedPrecondition, "INSUFFICIENT_POINTS", "short"), code: codes.FailedPrecondition, msg: "short", reason: "INSUFFICIENT_POINTS"},
		{name: "aborted", err: apperr.E(apperr.Aborted, "X", "x"), code: codes.Aborted, msg: "x", reason: "X"},
		{name: "unauthenticated", err: apperr.E(apperr.Unauthenticated, "INVALID_API_KEY", "bad key"), code: codes.Unauthenticated, msg: "bad key", reason: "INVALID_API_KEY"},
		{name: "permission denied", err: apperr.E(apperr.PermissionDenied, "PERMISSION_DENIED", "no"), code: codes.PermissionDenied, msg: "no", reason: "PERMISSION_DENIED"},
		{name: "resource exhausted", err: apperr.E(apperr.ResourceExhausted, "RATE_LIMITED", "later"), code: codes.ResourceExhausted, msg: "later", reason: "RATE_LIMITED"},
		{name: "unavailable", err: apperr.E(apperr.Unavailable, "BROKER_DOWN", "later"), code: codes.Unavailable, msg: "later", reason: "BROKER_DOWN"},
		{name: "apperr internal", err: apperr.E(apperr.Internal, "LEDGER_UNBALANCED", "books do not balance"), code: codes.Internal, msg: "books do not balance", reason: "LEDGER_UNBALANCED"},
		{name: "unknown code", err: apperr.E(apperr.Code("weird"), "W", "w"), code: codes.Internal, msg: "w", reason: "W"},
		{name: "no reason, no message", err: &apperr.Error{Code: apperr.NotFound}, code: codes.NotFound, msg: "not found", reason: "NOT_FOUND"},
		{name: "wrapped apperr", err: fmt.Errorf("store: %w", apperr.E(apperr.NotFound, "X", "gone")), code: codes.NotFound, msg: "gone", reason: "X"},
		{name: "plain error hidden", err: errors.New("open /var/secret.db: permission denied"), code: codes.Internal, msg: "internal error"},
		{name: "status passes through", err: downstream.Err(), code: codes.ResourceExhausted, msg: "slow down"},
		{name: "wrapped status keeps its message", err: fmt.Errorf("call loyalty with secret token: %w", downstream.Err()), code: codes.ResourceExhausted, msg: "slow down"},
		{name: "a call's transport failure keeps its code, not its text", err: fmt.Errorf("hold: %w",
			status.Error(codes.Unavailable, "connection error: desc = \"transport: dial tcp 10.0.3.7:9090: connect: connection refused\"")),
			code: codes.Unavailable, msg: "a service this call depends on did not answer"},
		{name: "a service's answer with details passes", err: grpcx.ToStatus(apperr.E(apperr.Unavailable, "BROKER_DOWN", "later"), "member.huiyuan.dev"),
			code: codes.Unavailable, msg: "later", reason: "BROKER_DOWN"},
		{name: "canceled", err: fmt.Errorf("x: %w", context.Canceled), code: codes.Canceled, msg: "context canceled"},
		{name: "deadline", err: context.DeadlineExceeded, code: codes.DeadlineExceeded, msg: "context deadline exceeded"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := grpcx.ToStatus(tt.err, "member.huiyuan.dev")
			st, info, br := details(t, err)
			if st.Code() != tt.code || st.Message() != tt.msg {
				t.Fatalf("status = %s %q, want %s %q", st.Code(), st.Message(), tt.code, tt.msg)
			}
			if tt.reason == "" {
				if info != nil {
					t.Fatalf("unexpected ErrorInfo %v", info)
				}
			} else {
				if info == nil || info.Reason != tt.reason || info.Domain != "member.huiyuan.dev" {
					t.Fatalf("ErrorInfo = %v, want reason %s", info, tt.reason)
				}
				for k, v := range tt.meta {
					if info.Metadata[k] != v {
						t.Fatalf("metadata[%s] = %q, want %q", k, info.Metadata[k], v)
					}
				}
			}
			var fields []string
			for _, v := range br.GetFieldViolations() {
				fields = append(fields, v.GetField())
				if v.GetDescription() == "" {
					t.Fatalf("violation on %s has no description", v.GetField())
				}
			}
			if fmt.Sprint(fields) != fmt.Sprint(tt.violations) {
				t.Fatalf("violations = %v, want %v", fields, tt.violations)
			}
			hidden := tt.msg == "internal error" || tt.msg == "a service this call depends on did not answer"
			if grpcx.IsInternal(tt.err) != hidden {
				t.Fatalf("IsInternal = %v", grpcx.IsInternal(tt.err))
			}
		})
	}
	if grpcx.ToStatus(nil, "d") != nil {
		t.Fatal("ToStatus(nil) != nil")
	}
}
