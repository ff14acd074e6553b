package sfn

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"math/rand/v2"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/portagehq/portage/local/lambdas"
)

// Invoker runs a Lambda function (lambdas.Registry).
type Invoker interface {
	Invoke(ctx context.Context, functionARN string, payload []byte) ([]byte, error)
}

// ObjectSource reads a distributed Map's item file from S3.
type ObjectSource interface {
	GetObject(ctx context.Context, bucket, key string) ([]byte, error)
}

// Execution statuses.
const (
	Running   = "RUNNING"
	Succeeded = "SUCCEEDED"
	Failed    = "FAILED"
	TimedOut  = "TIMED_OUT"
)

// AWS's limits, which the runner enforces as the service does.
const (
	// MaxPayloadBytes bounds an execution's input and every state's
	// input, task result and output (256 KiB, as UTF-8).
	MaxPayloadBytes = 256 * 1024
	// MaxHistoryEvents is the most events one execution's history holds;
	// an execution that would need more fails.
	MaxHistoryEvents = 25000
)

// StatusEvent is what EventBridge would receive when an execution ends
// ("Step Functions Execution Status Change").
type StatusEvent struct {
	ExecutionARN    string
	StateMachineARN string
	Name            string
	Status          string
	Input           string
	Output          string
	Error           string
	Cause           string
	StartDate       time.Time
	StopDate        time.Time
}

// Runner holds state machines and runs their executions in goroutines. It
// is safe for concurrent use.
type Runner struct {
	Invoker Invoker
	Objects ObjectSource
	// WaitScale multiplies Retry waits: 1 waits as AWS would; tests may
	// shorten them (the backoff arithmetic and jitter stay the same).
	WaitScale float64
	// OnStatus, when set, receives every execution's end.
	OnStatus func(StatusEvent)
	Log      *slog.Logger
	// Dir, when set, keeps the executions on disk across restarts (Restore).
	Dir string

	callbacks callbacks

	mu       sync.Mutex
	machines map[string]*machine
	execs    map[string]*Execution
	order    []string
	wg       sync.WaitGroup
	ctx      context.Context
	cancel   context.CancelFunc
}

type machine struct {
	arn, name string
	def       *Definition
	text      string // the definition, substitutions made
	created   time.Time
}

// MapRun is one run of a Distributed Map state, as ListMapRuns and
// DescribeMapRun show it.
type MapRun struct {
	ARN, ExecutionARN, MachineARN string
	Status                        string
	Start, Stop                   time.Time
	MaxConcurrency                int
	ToleratedFailurePercentage    float64
	Total, Succeeded, Failed      int
}

// Execution is one run of a state machine.
type Execution struct {
	ARN, Name, MachineARN string

	mu           sync.Mutex
	status       string
	input        string
	output       string
	errName      string
	cause        string
	start, stop  time.Time
	redriveCount int
	redriveDate  time.Time
	history      []HistoryEvent
	historyFull  bool
	done         chan struct{}

	// Where a failed execution resumes on redrive.
	failedState string
	failedInput any
	// The top-level state running now, saved for a restart.
	current      string
	currentInput any
	mapRuns      []*MapRun
	mapDone      map[string]map[int]any
}

// HistoryEvent is one entry of GetExecutionHistory.
type HistoryEvent struct {
	ID        int64
	Previous  int64
	Timestamp time.Time
	Type      string
	Details   map[string]any
}

// failure is an error as ASL names it.
type failure struct{ Error, Cause string }

// NewRunner returns a runner; Close stops its executions.
func NewRunner(inv Invoker, objects ObjectSource) *Runner {
	ctx, cancel := context.WithCancel(context.Background())
	return &Runner{Invoker: inv, Objects: objects, WaitScale: 1, machines: map[string]*machine{},
		execs: map[string]*Execution{}, ctx: ctx, cancel: cancel}
}

// Close cancels running executions and waits for them.
func (r *Runner) Close() {
	r.cancel()
	r.wg.Wait()
}

// MachineARN is the local ARN of a state machine.
func MachineARN(name string) string {
	return "arn:aws:states:us-east-1:000000000000:stateMachine:" + name
}

// ExecutionARN is the ARN of a machine's execution of that name, as AWS
// forms it.
func ExecutionARN(machineARN, name string) string {
	return strings.Replace(machineARN, ":stateMachine:", ":execution:", 1) + ":" + name
}

// CreateStateMachine parses def after replacing ${Name} with substitutions
// (CloudFormation's DefinitionSubstitutions) and registers it.
func (r *Runner) CreateStateMachine(name string, def []byte, substitutions map[string]string) (string, error) {
	text := string(def)
	for k, v := range substitutions {
		text = strings.ReplaceAll(text, "${"+k+"}", v)
	}
	if i := strings.Index(text, "${"); i >= 0 {
		end := strings.IndexByte(text[i:], '}')
		return "", fmt.Errorf("state machine %s: no substitution for %s", name, text[i:i+max(end+1, 2)])
	}
	d, err := Parse([]byte(text))
	if err != nil {
		return "", fmt.Errorf("state machine %s: %w", name, err)
	}
	arn := MachineARN(name)
	r.mu.Lock()
	r.machines[arn] = &machine{arn: arn, name: name, def: d, text: text, created: time.Now()}
	r.mu.Unlock()
	return arn, nil
}

// APIError is an error of the Step Functions API, named as AWS names it.
type APIError struct {
	Type    string
	Message string
}

func (e *APIError) Error() string { return e.Type + ": " + e.Message }

// StartExecution starts an execution. As in AWS, starting one with the
// name and input of a running execution returns it; any other reuse of a
// name is ExecutionAlreadyExists.
func (r *Runner) StartExecution(machineARN, name, input string) (*Execution, error) {
	if input == "" {
		input = "{}"
	}
	if len(input) > MaxPayloadBytes {
		return nil, &APIError{"ValidationException", fmt.Sprintf("the execution input is %d bytes; at most %d are allowed", len(input), MaxPayloadBytes)}
	}
	in, err := decodeJSON([]byte(input))
	if err != nil {
		return nil, &APIError{"InvalidExecutionInput", err.Error()}
	}
	r.mu.Lock()
	m := r.machines[machineARN]
	if m == nil {
		r.mu.Unlock()
		return nil, &APIError{"StateMachineDoesNotExist", "state machine does not exist: " + machineARN}
	}
	if name == "" {
		name = fmt.Sprintf("%d", time.Now().UnixNano())
	}
	arn := ExecutionARN(machineARN, name)
	if ex := r.execs[arn]; ex != nil {
		r.mu.Unlock()
		ex.mu.Lock()
		defer ex.mu.Unlock()
		if ex.status == Running && ex.input == input {
			return ex, nil
		}
		return nil, &APIError{"ExecutionAlreadyExists", "execution already exists: " + arn}
	}
	ex := &Execution{ARN: arn, Name: name, MachineARN: machineARN, status: Running, input: input,
		start: time.Now(), done: make(chan struct{}), mapDone: map[string]map[int]any{}}
	r.execs[arn] = ex
	r.order = append(r.order, arn)
	r.wg.Add(1)
	r.mu.Unlock()
	ex.event("ExecutionStarted", map[string]any{"input": input, "roleArn": "arn:aws:iam::000000000000:role/local"})
	go r.run(m, ex, m.def.StartAt, in)
	return ex, nil
}

// RedriveExecution resumes a failed execution at the state that failed,
// with the input that state had; a Map reruns only the items that did not
// succeed.
func (r *Runner) RedriveExecution(arn string) (*Execution, error) {
	ex, err := r.Execution(arn)
	if err != nil {
		return nil, err
	}
	r.mu.Lock()
	m := r.machines[ex.MachineARN]
	r.mu.Unlock()
	ex.mu.Lock()
	if (ex.status != Failed && ex.status != TimedOut) || ex.failedState == "" {
		ex.mu.Unlock()
		return nil, &APIError{"ExecutionNotRedrivable", fmt.Sprintf("execution %s is %s", arn, ex.status)}
	}
	ex.status, ex.errName, ex.cause, ex.stop = Running, "", "", time.Time{}
	ex.redriveCount++
	ex.redriveDate = time.Now()
	ex.done = make(chan struct{})
	state, input := ex.failedState, ex.failedInput
	ex.mu.Unlock()
	ex.event("ExecutionRedriven", map[string]any{"redriveCount": ex.redriveCount})
	r.wg.Add(1)
	go r.run(m, ex, state, input)
	return ex, nil
}

// Execution returns an execution by ARN.
func (r *Runner) Execution(arn string) (*Execution, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	ex := r.execs[arn]
	if ex == nil {
		return nil, &APIError{"ExecutionDoesNotExist", "execution does not exist: " + arn}
	}
	return ex, nil
}

// Executions lists a machine's executions, newest first.
func (r *Runner) Executions(machineARN string) []*Execution {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []*Execution
	for i := len(r.order) - 1; i >= 0; i-- {
		if ex := r.execs[r.order[i]]; ex.MachineARN == machineARN || machineARN == "" {
			out = append(out, ex)
		}
	}
	return out
}

// Wait blocks until the execution is no longer running or ctx ends.
func (ex *Execution) Wait(ctx context.Context) error {
	ex.mu.Lock()
	done := ex.done
	ex.mu.Unlock()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Snapshot is an execution's DescribeExecution view.
type Snapshot struct {
	ARN, Name, MachineARN, Status, Input, Output, Error, Cause string
	Start, Stop, RedriveDate                                   time.Time
	RedriveCount                                               int
	Redrivable                                                 bool
}

// Describe returns the execution's current state.
func (ex *Execution) Describe() Snapshot {
	ex.mu.Lock()
	defer ex.mu.Unlock()
	return Snapshot{ARN: ex.ARN, Name: ex.Name, MachineARN: ex.MachineARN, Status: ex.status, Input: ex.input,
		Output: ex.output, Error: ex.errName, Cause: ex.cause, Start: ex.start, Stop: ex.stop,
		RedriveDate: ex.redriveDate, RedriveCount: ex.redriveCount, Redrivable: (ex.status == Failed || ex.status == TimedOut) && ex.failedState != ""}
}

// History returns the execution's events in order.
func (ex *Execution) History() []HistoryEvent {
	ex.mu.Lock()
	defer ex.mu.Unlock()
	return append([]HistoryEvent(nil), ex.history...)
}

func (ex *Execution) event(typ string, details map[string]any) {
	ex.mu.Lock()
	defer ex.mu.Unlock()
	if len(ex.history) >= MaxHistoryEvents-1 && typ != "ExecutionFailed" {
		// The last place is kept for the failure it causes.
		ex.historyFull = true
		return
	}
	id := int64(len(ex.history) + 1)
	ex.history = append(ex.history, HistoryEvent{ID: id, Previous: id - 1, Timestamp: time.Now(), Type: typ, Details: details})
}

func (r *Runner) run(m *machine, ex *Execution, start string, input any) {
	defer r.wg.Done()
	ctx := r.ctx
	if m.def.TimeoutSeconds > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, time.Duration(m.def.TimeoutSeconds)*time.Second)
		defer cancel()
	}
	out, f := r.runMachine(ctx, ex, m.def, start, input, true)
	timedOut := errors.Is(ctx.Err(), context.DeadlineExceeded) && r.ctx.Err() == nil
	if timedOut {
		f = &failure{"States.Timeout", fmt.Sprintf("the execution ran longer than its TimeoutSeconds (%d)", m.def.TimeoutSeconds)}
	}
	ex.mu.Lock()
	ex.stop = time.Now()
	if f != nil {
		ex.status, ex.errName, ex.cause = Failed, f.Error, f.Cause
		if timedOut {
			ex.status = TimedOut
		}
	} else {
		b, _ := json.Marshal(out)
		ex.status, ex.output = Succeeded, string(b)
	}
	ev := StatusEvent{ExecutionARN: ex.ARN, StateMachineARN: ex.MachineARN, Name: ex.Name, Status: ex.status,
		Input: ex.input, Output: ex.output, Error: ex.errName, Cause: ex.cause, StartDate: ex.start, StopDate: ex.stop}
	done := ex.done
	ex.mu.Unlock()
	switch {
	case f != nil && ev.Status == TimedOut:
		ex.event("ExecutionTimedOut", map[string]any{"error": f.Error, "cause": f.Cause})
	case f != nil:
		ex.event("ExecutionFailed", map[string]any{"error": f.Error, "cause": f.Cause})
	default:
		ex.event("ExecutionSucceeded", map[string]any{"output": ev.Output})
	}
	r.save(ex)
	// Done only now: whoever waits finds the whole history.
	close(done)
	if r.OnStatus != nil {
		r.OnStatus(ev)
	}
}

// runMachine runs states from start until an end. top marks the execution's
// own machine (not a Map's item processor): its states are recorded in the
// history and where it fails is kept for a redrive.
func (r *Runner) runMachine(ctx context.Context, ex *Execution, d *Definition, start string, input any, top bool) (any, *failure) {
	name, in := start, input
	for {
		s := d.States[name]
		ex.mu.Lock()
		full := ex.historyFull
		if top {
			ex.current, ex.currentInput = name, in
		}
		ex.mu.Unlock()
		if top {
			r.save(ex)
		}
		if full {
			return nil, &failure{"States.Runtime", fmt.Sprintf("the execution history reached its limit of %d events", MaxHistoryEvents)}
		}
		if top {
			ex.event(s.Type+"StateEntered", map[string]any{"name": name, "input": jsonText(in)})
		}
		out, next, f := r.runState(ctx, ex, s, in, top)
		if f != nil {
			if top {
				ex.mu.Lock()
				ex.failedState, ex.failedInput = name, in
				ex.mu.Unlock()
			}
			return nil, f
		}
		if top {
			ex.event(s.Type+"StateExited", map[string]any{"name": name, "output": jsonText(out)})
		}
		if next == "" {
			return out, nil
		}
		name, in = next, out
	}
}

func (r *Runner) contextObject(ex *Execution, s *State) map[string]any {
	return map[string]any{
		"Execution":    map[string]any{"Id": ex.ARN, "Name": ex.Name, "StartTime": ex.start.UTC().Format(time.RFC3339Nano)},
		"StateMachine": map[string]any{"Id": ex.MachineARN},
		"State":        map[string]any{"Name": s.Name},
	}
}

func (r *Runner) runState(ctx context.Context, ex *Execution, s *State, raw any, top bool) (any, string, *failure) {
	ctxObj := r.contextObject(ex, s)
	if s.Type == "Fail" {
		f := &failure{Error: s.Error, Cause: s.Cause}
		if s.ErrorPath != "" {
			v, _ := lookup(s.ErrorPath, raw, ctxObj)
			f.Error, _ = v.(string)
		}
		if s.CausePath != "" {
			v, _ := lookup(s.CausePath, raw, ctxObj)
			f.Cause, _ = v.(string)
		}
		return nil, "", f
	}
	effective, err := selectPath(s.InputPath, raw, ctxObj)
	if err != nil {
		return nil, "", &failure{"States.Runtime", err.Error()}
	}
	// A callback task applies its Parameters on each attempt, with that
	// attempt's token.
	if s.hasParameters && !s.Callback {
		if effective, err = applyTemplate(s.Parameters, effective, ctxObj); err != nil {
			return nil, "", &failure{"States.Runtime", err.Error()}
		}
	}
	if f := overLimit(effective, "the input of state "+s.Name); f != nil {
		return nil, "", f
	}
	var result any
	next := s.Next
	switch s.Type {
	case "Succeed":
		out, err := selectPath(s.OutputPath, effective, ctxObj)
		if err != nil {
			return nil, "", &failure{"States.Runtime", err.Error()}
		}
		return out, "", nil
	case "Choice":
		next = s.Default
		for _, c := range s.Choices {
			ok, err := c.rule.eval(effective, ctxObj)
			if err != nil {
				return nil, "", &failure{"States.Runtime", err.Error()}
			}
			if ok {
				next = c.Next
				break
			}
		}
		if next == "" {
			return nil, "", &failure{"States.NoChoiceMatched", "no choice rule matched and there is no Default"}
		}
		out, err := selectPath(s.OutputPath, effective, ctxObj)
		if err != nil {
			return nil, "", &failure{"States.Runtime", err.Error()}
		}
		return out, next, nil
	case "Pass":
		result = effective
		if s.hasResult {
			result = s.Result
		}
	case "Task", "Map":
		attempt := func() (any, *failure) { return r.task(ctx, ex, s, effective, top) }
		if s.Callback {
			attempt = func() (any, *failure) { return r.callbackTask(ctx, ex, s, effective, ctxObj, top) }
		}
		if s.Type == "Map" {
			attempt = func() (any, *failure) { return r.mapState(ctx, ex, s, effective, ctxObj) }
		}
		var f *failure
		result, f = r.withRetry(ctx, ex, s, attempt, top)
		if f == nil {
			// A Map's result is every item's output, gathered: what a
			// Distributed Map without a ResultWriter hands back.
			f = overLimit(result, "the result of state "+s.Name)
		}
		if f != nil {
			for _, c := range s.Catch {
				if matches(c.ErrorEquals, f.Error) {
					out, err := placeResult(c.ResultPath, raw, map[string]any{"Error": f.Error, "Cause": f.Cause})
					if err != nil {
						return nil, "", &failure{"States.Runtime", err.Error()}
					}
					return out, c.Next, nil
				}
			}
			return nil, "", f
		}
		if s.hasResultSelector {
			if result, err = applyTemplate(s.ResultSelector, result, ctxObj); err != nil {
				return nil, "", &failure{"States.Runtime", err.Error()}
			}
		}
	}
	out, err := placeResult(s.ResultPath, raw, result)
	if err != nil {
		return nil, "", &failure{"States.Runtime", err.Error()}
	}
	if out, err = selectPath(s.OutputPath, out, ctxObj); err != nil {
		return nil, "", &failure{"States.Runtime", err.Error()}
	}
	if f := overLimit(out, "the output of state "+s.Name); f != nil {
		return nil, "", f
	}
	return out, next, nil
}

// overLimit is the States.DataLimitExceeded failure for a payload over
// MaxPayloadBytes, or nil.
func overLimit(v any, what string) *failure {
	if n := len(jsonText(v)); n > MaxPayloadBytes {
		return &failure{"States.DataLimitExceeded", fmt.Sprintf("%s is %d bytes, over the %d-byte limit", what, n, MaxPayloadBytes)}
	}
	return nil
}

// withRetry runs attempt until it succeeds or no retrier matches the error
// or has attempts left. Waits follow IntervalSeconds × BackoffRate^n,
// capped by MaxDelaySeconds, with full jitter when asked.
func (r *Runner) withRetry(ctx context.Context, ex *Execution, s *State, attempt func() (any, *failure), top bool) (any, *failure) {
	used := make([]int, len(s.Retry))
	for {
		out, f := attempt()
		if f == nil {
			return out, nil
		}
		i := -1
		for j, rt := range s.Retry {
			if matches(rt.ErrorEquals, f.Error) {
				i = j
				break
			}
		}
		if i < 0 || used[i] >= s.Retry[i].MaxAttempts {
			return nil, f
		}
		rt := s.Retry[i]
		wait := rt.IntervalSeconds * math.Pow(rt.BackoffRate, float64(used[i]))
		if rt.MaxDelaySeconds > 0 {
			wait = math.Min(wait, rt.MaxDelaySeconds)
		}
		if rt.JitterStrategy == "FULL" {
			wait *= rand.Float64()
		}
		used[i]++
		if top {
			ex.event("StateRetry", map[string]any{"name": s.Name, "error": f.Error, "attempt": used[i], "waitSeconds": wait})
		}
		select {
		case <-time.After(time.Duration(wait * r.WaitScale * float64(time.Second))):
		case <-ctx.Done():
			return nil, &failure{"States.Runtime", "the runner stopped"}
		}
	}
}

// matches is ErrorEquals: a name, States.ALL, or States.TaskFailed (every
// task failure but a timeout).
func matches(names []string, errName string) bool {
	for _, n := range names {
		if n == errName {
			return true
		}
		// AWS: these two end the execution whatever the lists say.
		if errName == "States.Runtime" || errName == "States.DataLimitExceeded" {
			continue
		}
		if n == "States.ALL" || n == "States.TaskFailed" && errName != "States.Timeout" {
			return true
		}
	}
	return false
}

func (r *Runner) task(ctx context.Context, ex *Execution, s *State, input any, top bool) (any, *failure) {
	payload, err := json.Marshal(input)
	if err != nil {
		return nil, &failure{"States.Runtime", err.Error()}
	}
	if s.TimeoutSeconds > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, time.Duration(s.TimeoutSeconds)*time.Second)
		defer cancel()
	}
	if top {
		ex.event("LambdaFunctionScheduled", map[string]any{"resource": s.Resource, "input": string(payload)})
	}
	out, err := r.Invoker.Invoke(ctx, s.Resource, payload)
	if err != nil {
		f := invokeFailure(err, s.TimeoutSeconds)
		if top {
			ex.event("LambdaFunctionFailed", map[string]any{"error": f.Error, "cause": f.Cause})
		}
		return nil, f
	}
	if top {
		ex.event("LambdaFunctionSucceeded", map[string]any{"output": string(out)})
	}
	v, err := decodeJSON(out)
	if err != nil {
		return nil, &failure{"States.Runtime", "the function returned invalid JSON: " + err.Error()}
	}
	return v, nil
}

// invokeFailure names a failed invocation as Step Functions does: the
// function's own error type, States.Timeout past the task's TimeoutSeconds,
// else States.TaskFailed.
func invokeFailure(err error, timeoutSeconds int) *failure {
	var fe *lambdas.FunctionError
	switch {
	case errors.As(err, &fe):
		return &failure{fe.Type, fe.Cause()}
	case errors.Is(err, context.DeadlineExceeded):
		return &failure{"States.Timeout", fmt.Sprintf("the task ran longer than %d seconds", timeoutSeconds)}
	}
	return &failure{"States.TaskFailed", err.Error()}
}

// AWS's concurrency of a Map with no MaxConcurrency (or 0): an inline Map
// runs up to 40 iterations at once, a Distributed Map up to 10,000 child
// executions.
const (
	inlineMapConcurrency      = 40
	distributedMapConcurrency = 10000
)

// mapState runs the item processor for every item. Items that succeeded in
// an earlier attempt of this execution (before a redrive) are not run
// again. Past the tolerated failures, no new item starts and the Map fails.
func (r *Runner) mapState(ctx context.Context, ex *Execution, s *State, input any, ctxObj map[string]any) (any, *failure) {
	items, f := r.items(ctx, s, input, ctxObj)
	if f != nil {
		return nil, f
	}
	limit := s.MaxConcurrency
	if s.MaxConcurrencyPath != "" {
		v, err := lookup(s.MaxConcurrencyPath, input, ctxObj)
		n, ok := number(v)
		if err != nil || !ok || n < 0 {
			return nil, &failure{"States.Runtime", fmt.Sprintf("MaxConcurrencyPath %s: not a number", s.MaxConcurrencyPath)}
		}
		limit = int(n)
	}
	if limit <= 0 {
		limit = inlineMapConcurrency
		if s.Distributed {
			limit = distributedMapConcurrency
		}
	}
	ex.mu.Lock()
	done := ex.mapDone[s.Name]
	if done == nil {
		done = map[int]any{}
		ex.mapDone[s.Name] = done
	}
	ex.mu.Unlock()
	var run *MapRun
	if s.Distributed {
		ex.event("MapRunStarted", map[string]any{"name": s.Name, "items": len(items)})
		// arn:aws:states:…:mapRun:<machine>/<map state>:<id>, as AWS names it.
		run = &MapRun{ARN: strings.Replace(ex.MachineARN, ":stateMachine:", ":mapRun:", 1) + "/" + s.Name + ":" + uuid.NewString(), ExecutionARN: ex.ARN, MachineARN: ex.MachineARN, Status: Running,
			Start: time.Now(), MaxConcurrency: limit, ToleratedFailurePercentage: s.ToleratedFailurePercentage, Total: len(items)}
		ex.mu.Lock()
		ex.mapRuns = append(ex.mapRuns, run)
		ex.mu.Unlock()
	}
	count := func(ok bool) {
		if run == nil {
			return
		}
		ex.mu.Lock()
		if ok {
			run.Succeeded++
		} else {
			run.Failed++
		}
		ex.mu.Unlock()
	}

	results := make([]any, len(items))
	var mu sync.Mutex
	var failures int
	var firstFailure *failure
	sem := make(chan struct{}, limit)
	var wg sync.WaitGroup
	tooMany := func() bool {
		return float64(failures)*100 > s.ToleratedFailurePercentage*float64(len(items))
	}
	for i, item := range items {
		ex.mu.Lock()
		prev, ok := done[i]
		ex.mu.Unlock()
		if ok {
			results[i] = prev
			count(true)
			continue
		}
		sem <- struct{}{}
		mu.Lock()
		stop := tooMany()
		mu.Unlock()
		if stop {
			<-sem
			break
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			itemCtx := deepCopy(ctxObj).(map[string]any)
			itemCtx["Map"] = map[string]any{"Item": map[string]any{"Index": json.Number(fmt.Sprint(i)), "Value": item}}
			in := item
			if s.hasItemSelector {
				var err error
				if in, err = applyTemplate(s.ItemSelector, input, itemCtx); err != nil {
					mu.Lock()
					failures++
					firstFailure = &failure{"States.Runtime", err.Error()}
					mu.Unlock()
					return
				}
			}
			out, f := r.runMachine(ctx, ex, s.Processor, s.Processor.StartAt, in, false)
			mu.Lock()
			defer mu.Unlock()
			count(f == nil)
			if f != nil {
				failures++
				if firstFailure == nil {
					firstFailure = f
				}
				return
			}
			results[i] = out
			ex.mu.Lock()
			done[i] = out
			ex.mu.Unlock()
		}()
	}
	wg.Wait()
	if run != nil {
		ex.mu.Lock()
		run.Stop, run.Status = time.Now(), Succeeded
		if firstFailure != nil && tooMany() {
			run.Status = Failed
		}
		ex.mu.Unlock()
	}
	if firstFailure != nil && (tooMany() || !s.Distributed) {
		if s.Distributed {
			ex.event("MapRunFailed", map[string]any{"name": s.Name, "failedItems": failures, "error": firstFailure.Error})
			return nil, &failure{"States.ExceedToleratedFailureThreshold",
				fmt.Sprintf("%d of %d items failed; the first with %s: %s", failures, len(items), firstFailure.Error, firstFailure.Cause)}
		}
		return nil, firstFailure
	}
	if s.Distributed {
		ex.event("MapRunSucceeded", map[string]any{"name": s.Name})
	}
	ex.mu.Lock()
	delete(ex.mapDone, s.Name)
	ex.mu.Unlock()
	return results, nil
}

func (r *Runner) items(ctx context.Context, s *State, input any, ctxObj map[string]any) ([]any, *failure) {
	var v any
	if s.ItemReader != nil {
		key := s.ItemReader.Key
		if s.ItemReader.KeyPath != "" {
			k, err := lookup(s.ItemReader.KeyPath, input, ctxObj)
			if err != nil {
				return nil, &failure{"States.Runtime", "ItemReader Key.$: " + err.Error()}
			}
			key, _ = k.(string)
		}
		b, err := r.Objects.GetObject(ctx, s.ItemReader.Bucket, key)
		if err != nil {
			return nil, &failure{"States.ItemReaderFailed", fmt.Sprintf("read s3://%s/%s: %v", s.ItemReader.Bucket, key, err)}
		}
		if v, err = decodeJSON(b); err != nil {
			return nil, &failure{"States.ItemReaderFailed", "the item file is not JSON: " + err.Error()}
		}
	} else {
		var err error
		if v, err = lookup(s.ItemsPath.or("$").path, input, ctxObj); err != nil {
			return nil, &failure{"States.Runtime", "ItemsPath: " + err.Error()}
		}
	}
	items, ok := v.([]any)
	if !ok {
		return nil, &failure{"States.Runtime", "the Map's items are not an array"}
	}
	return items, nil
}

func jsonText(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// MapRuns returns the execution's Map Runs, oldest first.
func (ex *Execution) MapRuns() []MapRun {
	ex.mu.Lock()
	defer ex.mu.Unlock()
	out := make([]MapRun, len(ex.mapRuns))
	for i, m := range ex.mapRuns {
		out[i] = *m
	}
	return out
}

// MapRun finds a Map Run by ARN among the runner's executions.
func (r *Runner) MapRun(arn string) (MapRun, error) {
	for _, ex := range r.Executions("") {
		for _, m := range ex.MapRuns() {
			if m.ARN == arn {
				return m, nil
			}
		}
	}
	return MapRun{}, &APIError{"ResourceNotFound", "map run does not exist: " + arn}
}

// StateMachine describes a state machine: its definition (substitutions
// made) and when it was created.
func (r *Runner) StateMachine(arn string) (name, definition string, created time.Time, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	m := r.machines[arn]
	if m == nil {
		return "", "", time.Time{}, &APIError{"StateMachineDoesNotExist", "state machine does not exist: " + arn}
	}
	return m.name, m.text, m.created, nil
}

// StateMachines lists the state machines' ARNs, sorted.
func (r *Runner) StateMachines() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]string, 0, len(r.machines))
	for arn := range r.machines {
		out = append(out, arn)
	}
	sort.Strings(out)
	return out
}
