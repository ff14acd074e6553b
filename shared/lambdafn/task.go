package lambdafn

import (
	"context"
	"fmt"
	"runtime/debug"

	"github.com/aws/aws-lambda-go/lambda/messages"

	"github.com/portagehq/portage/shared/apperr"
	"github.com/portagehq/portage/shared/postgres"
)

// LambdaRetryable are the errors the Lambda service and runtime report for
// an invocation that a retry may cure, as AWS documents them for Step
// Functions: the service's 500s, throttling (Lambda.TooManyRequestsException,
// also what reserved concurrency gives), a function that timed out or ran out
// of memory (Sandbox.Timedout, Lambda.Unknown, Runtime.ExitError), and the
// task's own TimeoutSeconds (States.Timeout).
var LambdaRetryable = []string{
	"Lambda.ClientExecutionTimeoutException",
	"Lambda.ServiceException",
	"Lambda.AWSLambdaException",
	"Lambda.SdkClientException",
	"Lambda.TooManyRequestsException",
	"Lambda.Unknown",
	"Sandbox.Timedout",
	"Runtime.ExitError",
	"States.Timeout",
}

// Task wraps a Step Functions task's handler. An error comes back as the
// Lambda error response named by apperr.TaskName (aws-lambda-go sends a
// messages.InvokeResponse_Error as it is, where it would name any other
// error by its Go type, and not unwrap it). A panic comes back as
// apperr.TaskPanic, with the stack, instead of ending the process.
func Task[In, Out any](h func(context.Context, In) (Out, error)) func(context.Context, In) (Out, error) {
	return func(ctx context.Context, in In) (out Out, err error) {
		defer func() {
			if p := recover(); p != nil {
				var zero Out
				out, err = zero, messages.InvokeResponse_Error{Type: apperr.TaskPanic,
					Message: fmt.Sprintf("panic: %v\n%s", p, debug.Stack())}
			}
		}()
		out, err = h(ctx, in)
		if err != nil {
			// A lost connection anywhere below is transient, whichever
			// step it reached (import-fail's included), and Step Functions
			// retries it.
			err = postgres.AppError(err)
			err = messages.InvokeResponse_Error{Type: apperr.TaskName(err), Message: err.Error()}
		}
		return out, err
	}
}
