// Package stepfn is what the state machines see of the task Lambdas: the
// error names their Retry and Catch lists match, and Task, which reports a
// handler's panic under one of those names instead of the panic value's Go
// type (aws-lambda-go names an error by its type: a nil dereference would
// arrive as "errorString", a panic("…") as "string", which no list names).
//
// statemachine_test.go holds statemachine/*.asl.json to these names.
package stepfn

import (
	"context"
	"fmt"
	"runtime/debug"
)

// Error names our handlers return, as Step Functions sees them (the Go type
// name of the returned error; aws-lambda-go does not unwrap).
const (
	// Transient is importer.TransientError: a retry of the step may cure it.
	Transient = "TransientError"
	// Input is importer.InputError: a bad file or setting; the job fails
	// with its message and no retry can help.
	Input = "InputError"
	// Panic is PanicError: a bug; retried a little (the step is
	// idempotent), then the execution fails where an operator can redrive it.
	Panic = "PanicError"
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

// PanicError is a panic in a task handler, returned as an error.
type PanicError struct {
	Value string
	Stack string
}

func (e *PanicError) Error() string { return "panic: " + e.Value }

// Task wraps a task handler so that a panic in it returns a *PanicError
// (with the stack, for the logs) instead of ending the process.
func Task[In, Out any](h func(context.Context, In) (Out, error)) func(context.Context, In) (Out, error) {
	return func(ctx context.Context, in In) (out Out, err error) {
		defer func() {
			if p := recover(); p != nil {
				var zero Out
				out, err = zero, &PanicError{Value: fmt.Sprint(p), Stack: string(debug.Stack())}
			}
		}()
		return h(ctx, in)
	}
}
