package boltx

import "errors"

// Unwritten marks err as the failure of a function that wrote nothing in its transaction. The
// group-commit Writer then answers that caller with err and carries on with the rest of the
// batch in the same transaction, instead of rolling back and running the others again: when
// most of a batch fails on a precondition (stock exhausted, points insufficient) that keeps the
// work linear. Only wrap failures found before any write: writes made before returning an
// Unwritten error are committed with the batch. Callers of Update never see the wrapper.
// Unwritten(nil) is nil.
func Unwritten(err error) error {
	if err == nil {
		return nil
	}
	return &unwrittenError{err: err}
}

type unwrittenError struct{ err error }

func (e *unwrittenError) Error() string { return e.err.Error() }
func (e *unwrittenError) Unwrap() error { return e.err }

// unwritten reports whether err was marked by Unwritten, and returns the error inside.
func unwritten(err error) (error, bool) {
	var u *unwrittenError
	if errors.As(err, &u) {
		return u.err, true
	}
	return err, false
}
