package sfn

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"
)

// CallbackResource is the one service integration the runner implements: a
// Lambda invoked with a task token, the task then waiting until someone
// calls SendTaskSuccess or SendTaskFailure with it (the callback pattern).
const CallbackResource = "arn:aws:states:::lambda:invoke.waitForTaskToken"

// The API's limits on a callback (SendTaskSuccess, SendTaskFailure).
const (
	maxTokenLen = 2048
	maxErrorLen = 256
	maxCauseLen = 32768
)

// waiter is a task waiting for its token to come back.
type waiter struct {
	result chan callbackResult // buffered: deliver sends once, never blocking
	beat   chan struct{}       // heartbeats, buffered and dropped when full
}

type callbackResult struct {
	output any
	fail   *failure
}

// callbacks holds the tokens of waiting tasks, and the tokens of tasks that
// have closed, which AWS answers with TaskTimedOut.
type callbacks struct {
	mu      sync.Mutex
	waiting map[string]*waiter
	closed  map[string]bool
}

func (c *callbacks) open(token string) *waiter {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.waiting == nil {
		c.waiting, c.closed = map[string]*waiter{}, map[string]bool{}
	}
	w := &waiter{result: make(chan callbackResult, 1), beat: make(chan struct{}, 1)}
	c.waiting[token] = w
	return w
}

func (c *callbacks) close(token string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.closeLocked(token)
}

func (c *callbacks) closeLocked(token string) {
	delete(c.waiting, token)
	c.closed[token] = true
}

// findLocked returns the waiting task of token, or the error AWS returns for
// it; c.mu is held.
func (c *callbacks) findLocked(token string) (*waiter, error) {
	if token == "" || len(token) > maxTokenLen {
		return nil, &APIError{"ValidationException", fmt.Sprintf("taskToken must be 1 to %d characters", maxTokenLen)}
	}
	if w := c.waiting[token]; w != nil {
		return w, nil
	}
	if c.closed[token] {
		return nil, &APIError{"TaskTimedOut", "the task of this token has timed out or already closed"}
	}
	return nil, &APIError{"InvalidToken", "the task token is not valid"}
}

// deliver hands a result to the waiting task and closes its token, under
// one lock: a second callback for the same task finds it closed.
func (c *callbacks) deliver(token string, res callbackResult) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	w, err := c.findLocked(token)
	if err != nil {
		return err
	}
	w.result <- res
	c.closeLocked(token)
	return nil
}

// SendTaskSuccess ends the waiting task of token with output (JSON text).
func (r *Runner) SendTaskSuccess(token, output string) error {
	if len(output) > MaxPayloadBytes {
		return &APIError{"ValidationException", fmt.Sprintf("output is %d bytes; at most %d are allowed", len(output), MaxPayloadBytes)}
	}
	v, err := decodeJSON([]byte(output))
	if err != nil {
		return &APIError{"InvalidOutput", "the output is not JSON: " + err.Error()}
	}
	return r.callbacks.deliver(token, callbackResult{output: v})
}

// SendTaskFailure fails the waiting task of token with an error name (which
// the state's Retry and Catch match) and a cause.
func (r *Runner) SendTaskFailure(token, errName, cause string) error {
	if len(errName) > maxErrorLen || len(cause) > maxCauseLen {
		return &APIError{"ValidationException", fmt.Sprintf("error must be at most %d characters and cause at most %d", maxErrorLen, maxCauseLen)}
	}
	return r.callbacks.deliver(token, callbackResult{fail: &failure{Error: errName, Cause: cause}})
}

// SendTaskHeartbeat restarts the HeartbeatSeconds clock of the waiting task
// of token.
func (r *Runner) SendTaskHeartbeat(token string) error {
	r.callbacks.mu.Lock()
	w, err := r.callbacks.findLocked(token)
	r.callbacks.mu.Unlock()
	if err != nil {
		return err
	}
	select {
	case w.beat <- struct{}{}:
	default:
	}
	return nil
}

func newToken() string {
	b := make([]byte, 96)
	rand.Read(b)
	return "AQ" + base64.RawURLEncoding.EncodeToString(b)
}

// callbackTask runs one attempt of a .waitForTaskToken task: a new token in
// the context object ($$.Task.Token), Parameters applied with it, the
// function invoked with the Payload, then the wait for the token's
// callback, bounded by TimeoutSeconds (States.Timeout) and HeartbeatSeconds
// (States.HeartbeatTimeout). The function failing fails the task as it
// would a plain Lambda task. A runner restarted while a task waits runs the
// state again, with a new token: tokens are not kept on disk.
func (r *Runner) callbackTask(ctx context.Context, ex *Execution, s *State, input any, ctxObj map[string]any, top bool) (any, *failure) {
	token := newToken()
	c := deepCopy(ctxObj).(map[string]any)
	c["Task"] = map[string]any{"Token": token}
	params, err := applyTemplate(s.Parameters, input, c)
	if err != nil {
		return nil, &failure{"States.Runtime", err.Error()}
	}
	p, _ := params.(map[string]any)
	fn, _ := p["FunctionName"].(string)
	if fn == "" {
		return nil, &failure{"States.Runtime", "Parameters.FunctionName did not give a function name"}
	}
	if f := overLimit(p["Payload"], "the payload of state "+s.Name); f != nil {
		return nil, f
	}
	payload, err := json.Marshal(p["Payload"])
	if err != nil {
		return nil, &failure{"States.Runtime", err.Error()}
	}
	w := r.callbacks.open(token)
	defer r.callbacks.close(token)
	if s.TimeoutSeconds > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, time.Duration(s.TimeoutSeconds)*time.Second)
		defer cancel()
	}
	if top {
		ex.event("TaskScheduled", map[string]any{"resource": "invoke.waitForTaskToken", "resourceType": "lambda",
			"parameters": jsonText(redactToken(p, token)), "timeoutInSeconds": s.TimeoutSeconds, "heartbeatInSeconds": s.HeartbeatSeconds})
	}
	if _, err := r.Invoker.Invoke(ctx, fn, payload); err != nil {
		f := invokeFailure(err, s.TimeoutSeconds)
		if top {
			ex.event("TaskFailed", map[string]any{"error": f.Error, "cause": f.Cause})
		}
		return nil, f
	}
	if top {
		ex.event("TaskSubmitted", map[string]any{"resource": "invoke.waitForTaskToken", "resourceType": "lambda"})
	}
	var beat <-chan time.Time
	var timer *time.Timer
	if s.HeartbeatSeconds > 0 {
		timer = time.NewTimer(time.Duration(s.HeartbeatSeconds) * time.Second)
		defer timer.Stop()
		beat = timer.C
	}
	for {
		select {
		case res := <-w.result:
			if res.fail != nil {
				if top {
					ex.event("TaskFailed", map[string]any{"error": res.fail.Error, "cause": res.fail.Cause})
				}
				return nil, res.fail
			}
			if top {
				ex.event("TaskSucceeded", map[string]any{"output": jsonText(res.output)})
			}
			return res.output, nil
		case <-w.beat:
			if timer != nil {
				timer.Reset(time.Duration(s.HeartbeatSeconds) * time.Second)
			}
		case <-beat:
			f := &failure{"States.HeartbeatTimeout", fmt.Sprintf("no heartbeat for %d seconds", s.HeartbeatSeconds)}
			if top {
				ex.event("TaskTimedOut", map[string]any{"error": f.Error, "cause": f.Cause})
			}
			return nil, f
		case <-ctx.Done():
			if !errors.Is(ctx.Err(), context.DeadlineExceeded) || r.ctx.Err() != nil {
				return nil, &failure{"States.Runtime", "the runner stopped"}
			}
			f := &failure{"States.Timeout", fmt.Sprintf("no callback within %d seconds", s.TimeoutSeconds)}
			if top {
				ex.event("TaskTimedOut", map[string]any{"error": f.Error, "cause": f.Cause})
			}
			return nil, f
		}
	}
}

// redactToken is the task's parameters as the history shows them: the
// token is a credential of the task, so it is not written out.
func redactToken(v any, token string) any {
	switch x := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = redactToken(e, token)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = redactToken(e, token)
		}
		return out
	case string:
		if x == token {
			return "<task token>"
		}
	}
	return v
}

// checkCallback holds a .waitForTaskToken task to what AWS requires of it:
// Parameters naming the function and its payload, the payload referencing
// $$.Task.Token (or nothing would ever call back), and a heartbeat shorter
// than the timeout. Lambda's other invoke parameters are not implemented.
func (s *State) checkCallback(where string) error {
	p, ok := s.Parameters.(map[string]any)
	if !s.hasParameters || !ok {
		return fmt.Errorf("%sParameters is required with %s", where, CallbackResource)
	}
	for k := range p {
		switch k {
		case "FunctionName", "Payload", "Payload.$":
		default:
			return fmt.Errorf("%sParameters.%s: not implemented by the local Step Functions runner", where, k)
		}
	}
	if _, ok := p["FunctionName"].(string); !ok {
		return fmt.Errorf("%sParameters.FunctionName is required", where)
	}
	if !referencesToken(p) {
		return fmt.Errorf("%sParameters must pass $$.Task.Token to the function with %s", where, CallbackResource)
	}
	if s.HeartbeatSeconds > 0 && s.TimeoutSeconds > 0 && s.HeartbeatSeconds >= s.TimeoutSeconds {
		return fmt.Errorf("%sHeartbeatSeconds must be smaller than TimeoutSeconds", where)
	}
	return nil
}

func referencesToken(v any) bool {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			if s, ok := e.(string); ok && strings.HasSuffix(k, ".$") && strings.HasPrefix(s, "$$.Task.Token") {
				return true
			}
			if referencesToken(e) {
				return true
			}
		}
	case []any:
		for _, e := range x {
			if referencesToken(e) {
				return true
			}
		}
	}
	return false
}
