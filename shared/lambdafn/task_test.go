package lambdafn_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/lambda/messages"

	"github.com/portagehq/portage/shared/apperr"
	"github.com/portagehq/portage/shared/lambdafn"
)

// A task's error reaches Step Functions under the name apperr.TaskName
// gives it, however deeply it is wrapped, and a panic as PanicError.
func TestTaskNamesErrors(t *testing.T) {
	t.Parallel()
	for want, fail := range map[string]func() error{
		apperr.TaskInput:     func() error { return fmt.Errorf("prepare: %w", apperr.Invalidf("the file is empty")) },
		apperr.TaskTransient: func() error { return apperr.Retryable(errors.New("connection reset")) },
		apperr.TaskConflict:  func() error { return apperr.New(apperr.Conflict, "rolled back") },
		apperr.TaskInternal:  func() error { return errors.New("a bug") },
		apperr.TaskPanic:     func() error { panic("nil map") },
	} {
		h := lambdafn.Task(func(context.Context, struct{}) (int, error) { return 0, fail() })
		_, err := h(context.Background(), struct{}{})
		var ie messages.InvokeResponse_Error
		if !errors.As(err, &ie) || ie.Type != want {
			t.Errorf("got %#v, want an error response named %s", err, want)
		}
		if want == apperr.TaskInput && !strings.Contains(ie.Message, "the file is empty") {
			t.Errorf("message %q lost the cause", ie.Message)
		}
	}
	h := lambdafn.Task(func(context.Context, struct{}) (int, error) { return 7, nil })
	if n, err := h(context.Background(), struct{}{}); n != 7 || err != nil {
		t.Errorf("a task that succeeds: %d, %v", n, err)
	}
}
