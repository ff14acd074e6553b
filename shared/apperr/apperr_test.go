package apperr_test

import (
	"errors"
	"fmt"
	"testing"

	"github.com/portagehq/portage/shared/apperr"
)

// The text of an error is its message, except where the message says
// nothing of the cause: a transient error's (generic) and a bare wrap's.
func TestErrorText(t *testing.T) {
	t.Parallel()
	cause := errors.New("connection reset")
	for _, tt := range []struct {
		err  error
		want string
	}{
		{apperr.Invalidf("line %d: bad", 3), "line 3: bad"},
		{apperr.Retryable(cause), "transient: connection reset"},
		{&apperr.Error{Code: apperr.Conflict, Err: cause}, "connection reset"},
		{&apperr.Error{Code: apperr.Conflict, Message: "rolled back", Err: cause}, "rolled back"},
	} {
		if got := tt.err.Error(); got != tt.want {
			t.Errorf("%#v: %q, want %q", tt.err, got, tt.want)
		}
	}
	wrapped := fmt.Errorf("step: %w", apperr.New(apperr.NotFound, "no such import"))
	if apperr.CodeOf(wrapped) != apperr.NotFound || apperr.MessageOf(wrapped) != "no such import" {
		t.Errorf("the code and message are not found through a wrap: %v", wrapped)
	}
	if apperr.CodeOf(cause) != apperr.Internal || apperr.MessageOf(cause) != "internal error" {
		t.Errorf("an error without a code is not internal")
	}
}
