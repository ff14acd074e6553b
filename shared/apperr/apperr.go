// Package apperr is Portage's one application error: a code that says what
// kind of failure it is, a message safe to show to the person who caused it,
// and optional details (where in the file, which field). Every package
// returns these for the failures a user or a caller can act on; anything
// else is an internal error whose text stays in the logs.
//
// Two boundaries translate a code, each with one table: shared/api maps it
// to an HTTP status, and TaskName gives the error name the state machines'
// Retry and Catch lists match (statemachine_test.go holds the ASL to them).
package apperr

import (
	"errors"
	"fmt"
)

// Code says what kind of failure an error is. The values are the "code" of
// the API's error body.
type Code string

const (
	// Invalid: the request, the file or a setting is wrong; the message
	// says what to change. Retrying the same input cannot help.
	Invalid Code = "bad_request"
	// NotFound: no such thing is visible to the tenant.
	NotFound Code = "not_found"
	// Conflict: the thing is in a state that does not allow the operation
	// (a rollback of an import still running).
	Conflict Code = "conflict"
	// Unauthorized: no valid credentials.
	Unauthorized Code = "unauthorized"
	// TooLarge: the input is over a limit.
	TooLarge Code = "too_large"
	// Gone: the thing existed but has expired.
	Gone Code = "gone"
	// Transient: a retry of the same step may cure it (a connection lost, a
	// conflict between concurrent transactions, a service unavailable).
	Transient Code = "unavailable"
	// Internal: a bug or an unexpected failure; the message is generic.
	Internal Code = "internal"
)

// Error is an application error.
type Error struct {
	Code Code `json:"code"`
	// Message is safe to show to the caller.
	Message string `json:"message"`
	// Details are extra facts for the caller (a line number, a field).
	Details map[string]any `json:"details,omitempty"`
	// Err is the underlying cause, for the logs; it is never shown.
	Err error `json:"-"`
}

// Error is the message; a transient error's is its cause, which is what
// the logs and the execution history need (its Message is generic).
func (e *Error) Error() string {
	switch {
	case e.Err != nil && e.Code == Transient:
		return "transient: " + e.Err.Error()
	case e.Err != nil && e.Message == "":
		return e.Err.Error()
	}
	return e.Message
}

func (e *Error) Unwrap() error { return e.Err }

// New returns an error with a formatted message.
func New(code Code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// Invalidf is New(Invalid, …): the most common application error.
func Invalidf(format string, args ...any) *Error { return New(Invalid, format, args...) }

// WithDetail returns e with one more detail set.
func (e *Error) WithDetail(key string, value any) *Error {
	if e.Details == nil {
		e.Details = map[string]any{}
	}
	e.Details[key] = value
	return e
}

// Retryable wraps err as Transient: the step that failed may be retried. The
// message stays generic; err goes to the logs.
func Retryable(err error) *Error {
	var e *Error
	if errors.As(err, &e) && e.Code == Transient {
		return e
	}
	return &Error{Code: Transient, Message: "a service is briefly unavailable; the step will be retried", Err: err}
}

// As returns the application error in err's chain, if any.
func As(err error) (*Error, bool) {
	var e *Error
	ok := errors.As(err, &e)
	return e, ok
}

// CodeOf returns the code of the application error in err's chain, or
// Internal when there is none (and "" for a nil error).
func CodeOf(err error) Code {
	if err == nil {
		return ""
	}
	if e, ok := As(err); ok {
		return e.Code
	}
	return Internal
}

// Is reports whether err carries an application error of that code.
func Is(err error, code Code) bool { return err != nil && CodeOf(err) == code }

// MessageOf is the message safe to show for err: its application error's,
// or "internal error".
func MessageOf(err error) string {
	if e, ok := As(err); ok && e.Code != Internal {
		return e.Message
	}
	return "internal error"
}
