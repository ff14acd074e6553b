package importer

import (
	"errors"
	"fmt"
)

// InputError is a problem with the uploaded file or the job's settings: the
// job fails with Msg, which is safe to show, and retrying cannot help. The
// state machine matches it by name ("InputError").
type InputError struct{ Msg string }

func (e *InputError) Error() string { return e.Msg }

func inputErrorf(format string, args ...any) *InputError {
	return &InputError{Msg: fmt.Sprintf(format, args...)}
}

// TransientError is a failure that a retry of the same step may cure (a
// connection lost, a conflict between concurrent transactions, the object
// store unavailable). The state machine retries it by name
// ("TransientError").
type TransientError struct{ Err error }

func (e *TransientError) Error() string { return "transient: " + e.Err.Error() }
func (e *TransientError) Unwrap() error { return e.Err }

// IsInput reports whether err is, or wraps, an *InputError.
func IsInput(err error) bool {
	var ie *InputError
	return errors.As(err, &ie)
}
