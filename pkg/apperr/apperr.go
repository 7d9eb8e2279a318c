// Package apperr is the transport-neutral error every service returns. grpcx maps it to a gRPC
// status with google.rpc.ErrorInfo and BadRequest details in one place; nothing else does.
package apperr

import (
	"errors"
	"fmt"
)

// Code classifies an error the way a caller must react to it.
type Code string

// The codes, each mapped to one gRPC code by grpcx.
const (
	Invalid            Code = "invalid"             // InvalidArgument
	NotFound           Code = "not_found"           // NotFound
	AlreadyExists      Code = "already_exists"      // AlreadyExists
	FailedPrecondition Code = "failed_precondition" // FailedPrecondition
	Aborted            Code = "aborted"             // Aborted
	Unauthenticated    Code = "unauthenticated"     // Unauthenticated
	PermissionDenied   Code = "permission_denied"   // PermissionDenied
	ResourceExhausted  Code = "resource_exhausted"  // ResourceExhausted
	Unavailable        Code = "unavailable"         // Unavailable
	Internal           Code = "internal"            // Internal
)

// FieldViolation names one bad field of a request and says what is wrong with it.
type FieldViolation struct {
	Field       string // path in the request, such as "member.phone"
	Description string
}

// Error is an application error with a stable machine-readable Reason (AIP-193).
type Error struct {
	Code       Code
	Reason     string            // such as "INSUFFICIENT_POINTS"; stable, UPPER_SNAKE
	Message    string            // developer-facing English; no secrets, no personal data
	Metadata   map[string]string // the dynamic parts of Message
	Violations []FieldViolation  // for Invalid
}

// Error implements error.
func (e *Error) Error() string { return string(e.Code) + ": " + e.Message }

// E builds an *Error.
func E(code Code, reason, format string, args ...any) *Error {
	return &Error{Code: code, Reason: reason, Message: fmt.Sprintf(format, args...)}
}

// With returns a copy of e with a metadata entry added.
func (e *Error) With(key, value string) *Error {
	c := *e
	c.Metadata = make(map[string]string, len(e.Metadata)+1)
	for k, v := range e.Metadata {
		c.Metadata[k] = v
	}
	c.Metadata[key] = value
	return &c
}

// CodeOf returns the Code of err: "" for nil, Internal for an error that is not an *Error.
func CodeOf(err error) Code {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return Internal
}

// ReasonOf returns the Reason of err, or "" when err is not an *Error.
func ReasonOf(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Reason
	}
	return ""
}

// Violations collects field violations; its Err is nil when nothing was added.
type Violations []FieldViolation

// Add records that field is bad.
func (v *Violations) Add(field, format string, args ...any) {
	*v = append(*v, FieldViolation{Field: field, Description: fmt.Sprintf(format, args...)})
}

// Err returns an Invalid *Error with reason INVALID_ARGUMENT listing the violations, or nil.
func (v Violations) Err() error {
	if len(v) == 0 {
		return nil
	}
	msg := v[0].Field + ": " + v[0].Description
	if len(v) > 1 {
		msg += fmt.Sprintf(" (and %d more)", len(v)-1)
	}
	return &Error{Code: Invalid, Reason: "INVALID_ARGUMENT", Message: msg, Violations: append([]FieldViolation(nil), v...)}
}

// InvalidField is a shortcut for a single field violation.
func InvalidField(field, format string, args ...any) error {
	var v Violations
	v.Add(field, format, args...)
	return v.Err()
}
