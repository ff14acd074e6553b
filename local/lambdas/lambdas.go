// Package lambdas is the local stand-in for AWS Lambda: handlers run
// in-process through aws-lambda-go's handler wrapper (JSON in, JSON out),
// with the function's timeout from template.yaml as the context deadline.
package lambdas

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"runtime/debug"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambda/messages"
	"github.com/aws/aws-lambda-go/lambdacontext"
)

// FunctionError is a failed invocation as Lambda reports it: the error's
// type name (what Step Functions matches in ErrorEquals) and message.
type FunctionError struct {
	Type    string
	Message string
}

func (e *FunctionError) Error() string { return e.Type + ": " + e.Message }

// Function is a registered handler.
type Function struct {
	Name    string
	Timeout time.Duration
	handler lambda.Handler
}

// Registry holds the functions of the local stack by name. It is safe for
// concurrent use.
type Registry struct {
	mu    sync.RWMutex
	funcs map[string]*Function
	// Wrap, when set, wraps every invocation: tests use it to inject faults
	// on purpose (a crash after a commit, a chunk that keeps failing).
	Wrap func(name string, payload []byte, next func(context.Context, []byte) ([]byte, error)) func(context.Context, []byte) ([]byte, error)
}

// NewRegistry returns an empty registry.
func NewRegistry() *Registry { return &Registry{funcs: map[string]*Function{}} }

// Register adds a handler (any function aws-lambda-go's lambda.Start
// accepts) under name.
func (r *Registry) Register(name string, timeout time.Duration, handler any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.funcs[name] = &Function{Name: name, Timeout: timeout, handler: lambda.NewHandler(handler)}
}

// ARN is the local ARN of a function.
func ARN(name string) string { return "arn:aws:lambda:us-east-1:000000000000:function:" + name }

// NameFromARN accepts a function name or ARN.
func NameFromARN(arn string) string {
	if i := strings.LastIndex(arn, ":function:"); i >= 0 {
		name := arn[i+len(":function:"):]
		if j := strings.IndexByte(name, ':'); j >= 0 {
			name = name[:j] // a version or alias qualifier
		}
		return name
	}
	return arn
}

// Invoke runs the function synchronously. A handler error comes back as a
// *FunctionError typed like aws-lambda-go types it, and so is a panic in
// the handler; a crash a Wrap injects as Runtime.ExitError (the process
// died); running past the function's timeout as Sandbox.Timedout.
func (r *Registry) Invoke(ctx context.Context, nameOrARN string, payload []byte) (out []byte, err error) {
	name := NameFromARN(nameOrARN)
	r.mu.RLock()
	f, ok := r.funcs[name]
	wrap := r.Wrap
	r.mu.RUnlock()
	if !ok {
		return nil, &FunctionError{Type: "Lambda.ResourceNotFoundException", Message: "function not found: " + name}
	}
	call := f.invoke
	if wrap != nil {
		call = wrap(name, payload, call)
	}
	defer func() {
		// A wrapper's injected crash dies like the process would.
		if p := recover(); p != nil {
			out, err = nil, &FunctionError{Type: "Runtime.ExitError", Message: fmt.Sprintf("panic: %v", p)}
		}
	}()
	return call(ctx, payload)
}

func (f *Function) invoke(ctx context.Context, payload []byte) (out []byte, err error) {
	ctx, cancel := context.WithTimeout(ctx, f.Timeout)
	defer cancel()
	ctx = lambdacontext.NewContext(ctx, &lambdacontext.LambdaContext{
		AwsRequestID:       fmt.Sprintf("local-%d", time.Now().UnixNano()),
		InvokedFunctionArn: ARN(f.Name),
	})
	type result struct {
		out []byte
		err error
	}
	done := make(chan result, 1)
	go func() {
		defer func() {
			if p := recover(); p != nil {
				// aws-lambda-go names a panic by its value's type, as it
				// names an error (lambdafn.Task turns ours into PanicError).
				done <- result{err: &FunctionError{Type: typeName(p), Message: fmt.Sprintf("%v\n%s", p, debug.Stack())}}
			}
		}()
		out, err := f.handler.Invoke(ctx, payload)
		done <- result{out, err}
	}()
	select {
	case res := <-done:
		if res.err != nil {
			return nil, asFunctionError(res.err)
		}
		return res.out, nil
	case <-ctx.Done():
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			return nil, &FunctionError{Type: "Sandbox.Timedout", Message: fmt.Sprintf("task timed out after %s", f.Timeout)}
		}
		return nil, ctx.Err()
	}
}

// asFunctionError names an error the way aws-lambda-go does: a
// messages.InvokeResponse_Error by its own Type, any other by the type name
// of the returned error, without its package or pointer mark.
func asFunctionError(err error) *FunctionError {
	var fe *FunctionError
	if errors.As(err, &fe) {
		return fe
	}
	// An error response the handler named itself is sent as it is.
	if ie, ok := err.(messages.InvokeResponse_Error); ok {
		return &FunctionError{Type: ie.Type, Message: ie.Message}
	}
	return &FunctionError{Type: typeName(err), Message: err.Error()}
}

// typeName is aws-lambda-go's name for an error or a panic value.
func typeName(v any) string {
	t := reflect.TypeOf(v)
	if t.Kind() == reflect.Pointer {
		return t.Elem().Name()
	}
	return t.Name()
}

// Cause is the JSON Step Functions puts in a Lambda error's Cause.
func (e *FunctionError) Cause() string {
	b, _ := json.Marshal(map[string]string{"errorMessage": e.Message, "errorType": e.Type})
	return string(b)
}
