package sfn_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http/httptest"
	"os"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awssfn "github.com/aws/aws-sdk-go-v2/service/sfn"
	sfntypes "github.com/aws/aws-sdk-go-v2/service/sfn/types"

	"github.com/portagehq/portage/local/lambdas"
	"github.com/portagehq/portage/local/sfn"
	"github.com/portagehq/portage/shared/apperr"
)

// TransientError is named like apperr.TaskTransient, so Retry matches it by name.
type TransientError struct{}

func (*TransientError) Error() string { return "try again" }

type objects map[string][]byte

func (o objects) GetObject(_ context.Context, bucket, key string) ([]byte, error) {
	b, ok := o[bucket+"/"+key]
	if !ok {
		return nil, errors.New("NoSuchKey")
	}
	return b, nil
}

// stack is a runner behind its HTTP API, driven through the AWS SDK client.
type stack struct {
	runner *sfn.Runner
	fns    *lambdas.Registry
	client *awssfn.Client
}

func newStack(t *testing.T, objs objects) *stack {
	t.Helper()
	fns := lambdas.NewRegistry()
	r := sfn.NewRunner(fns, objs)
	r.WaitScale = 0.001
	srv := httptest.NewServer(r.Handler())
	t.Cleanup(func() { srv.Close(); r.Close() })
	client := awssfn.New(awssfn.Options{Region: "us-east-1", BaseEndpoint: aws.String(srv.URL),
		Credentials: aws.AnonymousCredentials{}})
	return &stack{runner: r, fns: fns, client: client}
}

func (s *stack) start(t *testing.T, def string, input string) string {
	t.Helper()
	arn, err := s.runner.CreateStateMachine(t.Name(), []byte(def), map[string]string{"Fn": lambdas.ARN("fn"), "Item": lambdas.ARN("item")})
	if err != nil {
		t.Fatal(err)
	}
	out, err := s.client.StartExecution(context.Background(), &awssfn.StartExecutionInput{StateMachineArn: &arn, Input: &input, Name: aws.String("run-1")})
	if err != nil {
		t.Fatal(err)
	}
	return *out.ExecutionArn
}

func (s *stack) wait(t *testing.T, arn string) *awssfn.DescribeExecutionOutput {
	t.Helper()
	ex, err := s.runner.Execution(arn)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := ex.Wait(ctx); err != nil {
		t.Fatal(err)
	}
	d, err := s.client.DescribeExecution(context.Background(), &awssfn.DescribeExecutionInput{ExecutionArn: &arn})
	if err != nil {
		t.Fatal(err)
	}
	return d
}

const retryDef = `{"StartAt": "Call", "States": {
  "Call": {"Type": "Task", "Resource": "${Fn}", "Parameters": {"n.$": "$.n", "fixed": "x"},
    "ResultSelector": {"doubled.$": "$.doubled"}, "ResultPath": "$.result",
    "Retry": [{"ErrorEquals": ["TransientError"], "IntervalSeconds": 1, "MaxAttempts": 2, "BackoffRate": 2, "JitterStrategy": "FULL"}],
    "Catch": [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "Caught"}],
    "Next": "Done"},
  "Caught": {"Type": "Pass", "Result": "caught", "ResultPath": "$.outcome", "Next": "Done"},
  "Done": {"Type": "Succeed"}}}`

func TestRetryAndCatch(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		failures int32 // how many calls fail before one succeeds
		want     string
		calls    int32
	}{
		// Two retries are allowed: failing twice still succeeds.
		{"RetriedUntilSuccess", 2, `{"n":21,"result":{"doubled":42}}`, 3},
		// A third failure exhausts the retrier and is caught.
		{"CaughtAfterRetries", 3, `{"error":{"Cause":"{\"errorMessage\":\"try again\",\"errorType\":\"TransientError\"}","Error":"TransientError"},"n":21,"outcome":"caught"}`, 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := newStack(t, nil)
			var calls atomic.Int32
			s.fns.Register("fn", time.Second, func(in struct {
				N     int    `json:"n"`
				Fixed string `json:"fixed"`
			}) (map[string]int, error) {
				if calls.Add(1) <= tt.failures {
					return nil, &TransientError{}
				}
				if in.Fixed != "x" {
					return nil, errors.New("Parameters were not applied")
				}
				return map[string]int{"doubled": in.N * 2, "ignored": 1}, nil
			})
			d := s.wait(t, s.start(t, retryDef, `{"n": 21}`))
			if d.Status != sfntypes.ExecutionStatusSucceeded || *d.Output != tt.want {
				t.Fatalf("status %s output %s, want %s", d.Status, aws.ToString(d.Output), tt.want)
			}
			if calls.Load() != tt.calls {
				t.Fatalf("%d calls, want %d", calls.Load(), tt.calls)
			}
		})
	}
}

const mapDef = `{"StartAt": "Each", "States": {
  "Each": {"Type": "Map",
    "ItemReader": {"Resource": "arn:aws:states:::s3:getObject", "ReaderConfig": {"InputType": "JSON"},
      "Parameters": {"Bucket": "b", "Key.$": "$.manifest"}},
    "ItemProcessor": {"ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"}, "StartAt": "Item",
      "States": {"Item": {"Type": "Task", "Resource": "${Item}",
        "Retry": [{"ErrorEquals": ["TransientError"], "IntervalSeconds": 1, "MaxAttempts": 1}], "End": true}}},
    "MaxConcurrencyPath": "$.concurrency", "ToleratedFailurePercentage": 0, "ResultPath": "$.results", "Next": "Done"},
  "Done": {"Type": "Succeed"}}}`

// A distributed Map over an S3 manifest: an item that fails for good fails
// the execution; a redrive reruns that item only and the execution succeeds.
func TestDistributedMapRedrive(t *testing.T) {
	t.Parallel()
	s := newStack(t, objects{"b/m.json": []byte(`[{"i":0},{"i":1},{"i":2},{"i":3}]`)})
	var broken atomic.Bool
	broken.Store(true)
	var mu sync.Mutex
	calls := map[int]int{}
	var running, peak atomic.Int32
	s.fns.Register("item", time.Second, func(in struct{ I int }) (int, error) {
		n := running.Add(1)
		defer running.Add(-1)
		for p := peak.Load(); n > p && !peak.CompareAndSwap(p, n); p = peak.Load() {
		}
		time.Sleep(20 * time.Millisecond)
		mu.Lock()
		calls[in.I]++
		mu.Unlock()
		if in.I == 2 && broken.Load() {
			return 0, &TransientError{}
		}
		return in.I * 10, nil
	})
	arn := s.start(t, mapDef, `{"manifest": "m.json", "concurrency": 2}`)
	d := s.wait(t, arn)
	if d.Status != sfntypes.ExecutionStatusFailed || *d.Error != "States.ExceedToleratedFailureThreshold" {
		t.Fatalf("status %s error %s", d.Status, aws.ToString(d.Error))
	}
	if peak.Load() > 2 {
		t.Fatalf("%d items ran at once, MaxConcurrency is 2", peak.Load())
	}
	if calls[2] != 2 {
		t.Fatalf("the failing item ran %d times, want 2 (one retry)", calls[2])
	}
	before := map[int]int{}
	mu.Lock()
	for k, v := range calls {
		before[k] = v
	}
	mu.Unlock()

	broken.Store(false)
	if _, err := s.client.RedriveExecution(context.Background(), &awssfn.RedriveExecutionInput{ExecutionArn: &arn}); err != nil {
		t.Fatal(err)
	}
	d = s.wait(t, arn)
	if d.Status != sfntypes.ExecutionStatusSucceeded || d.RedriveCount == nil || *d.RedriveCount != 1 {
		t.Fatalf("after redrive: %s, redrives %v", d.Status, d.RedriveCount)
	}
	var out struct{ Results []int }
	json.Unmarshal([]byte(*d.Output), &out)
	if !reflect.DeepEqual(out.Results, []int{0, 10, 20, 30}) {
		t.Fatalf("results %v", out.Results)
	}
	for i := 0; i < 4; i++ {
		if i != 2 && calls[i] != before[i] {
			t.Fatalf("item %d ran again on redrive", i)
		}
	}
	if _, err := s.client.RedriveExecution(context.Background(), &awssfn.RedriveExecutionInput{ExecutionArn: &arn}); err == nil {
		t.Fatal("a succeeded execution was redriven")
	}
	h, err := s.client.GetExecutionHistory(context.Background(), &awssfn.GetExecutionHistoryInput{ExecutionArn: &arn})
	if err != nil {
		t.Fatal(err)
	}
	var types []string
	for _, e := range h.Events {
		types = append(types, string(e.Type))
	}
	joined := strings.Join(types, ",")
	if !strings.Contains(joined, "MapRunFailed") || !strings.Contains(joined, "ExecutionRedriven") || !strings.HasSuffix(joined, "ExecutionSucceeded") {
		t.Fatalf("history %s", joined)
	}
}

// Starting an execution again with the same name: the same running
// execution for the same input; ExecutionAlreadyExists otherwise.
func TestStartExecutionNames(t *testing.T) {
	t.Parallel()
	s := newStack(t, nil)
	release := make(chan struct{})
	s.fns.Register("fn", 5*time.Second, func() (string, error) { <-release; return "ok", nil })
	def := `{"StartAt": "A", "States": {"A": {"Type": "Task", "Resource": "${Fn}", "End": true}}}`
	arn1 := s.start(t, def, `{"a":1}`)
	machine, _ := s.runner.Execution(arn1)
	again, err := s.client.StartExecution(context.Background(), &awssfn.StartExecutionInput{
		StateMachineArn: &machine.MachineARN, Name: aws.String("run-1"), Input: aws.String(`{"a":1}`)})
	if err != nil || *again.ExecutionArn != arn1 {
		t.Fatalf("same name and input while running: %v", err)
	}
	_, err = s.client.StartExecution(context.Background(), &awssfn.StartExecutionInput{
		StateMachineArn: &machine.MachineARN, Name: aws.String("run-1"), Input: aws.String(`{"a":2}`)})
	var exists *sfntypes.ExecutionAlreadyExists
	if !errors.As(err, &exists) {
		t.Fatalf("same name, other input: %v, want ExecutionAlreadyExists", err)
	}
	close(release)
	s.wait(t, arn1)
}

func TestRefusesWhatItDoesNotImplement(t *testing.T) {
	t.Parallel()
	tests := []struct{ name, def, want string }{
		{"UnknownField", `{"StartAt":"A","States":{"A":{"Type":"Task","Resource":"arn:aws:lambda:x:1:function:f","HeartbeatSeconds":5,"End":true}}}`, "HeartbeatSeconds: not implemented"},
		{"WaitState", `{"StartAt":"A","States":{"A":{"Type":"Wait","Seconds":1,"End":true}}}`, `Type "Wait" is not implemented`},
		{"ServiceIntegration", `{"StartAt":"A","States":{"A":{"Type":"Task","Resource":"arn:aws:states:::sqs:sendMessage","End":true}}}`, "runs Lambda function ARNs and"},
		{"CallbackWithoutToken", `{"StartAt":"A","States":{"A":{"Type":"Task","Resource":"arn:aws:states:::lambda:invoke.waitForTaskToken","Parameters":{"FunctionName":"f","Payload":{"a":1}},"End":true}}}`, "must pass $$.Task.Token"},
		{"CallbackInvocationType", `{"StartAt":"A","States":{"A":{"Type":"Task","Resource":"arn:aws:states:::lambda:invoke.waitForTaskToken","Parameters":{"FunctionName":"f","InvocationType":"Event","Payload":{"t.$":"$$.Task.Token"}},"End":true}}}`, "Parameters.InvocationType: not implemented"},
		{"HeartbeatNotBelowTimeout", `{"StartAt":"A","States":{"A":{"Type":"Task","Resource":"arn:aws:states:::lambda:invoke.waitForTaskToken","Parameters":{"FunctionName":"f","Payload":{"t.$":"$$.Task.Token"}},"TimeoutSeconds":5,"HeartbeatSeconds":5,"End":true}}}`, "HeartbeatSeconds must be smaller"},
		{"PlainLambdaInvoke", `{"StartAt":"A","States":{"A":{"Type":"Task","Resource":"arn:aws:states:::lambda:invoke","Parameters":{"FunctionName":"f"},"End":true}}}`, "runs Lambda function ARNs and"},
		{"UnknownTransition", `{"StartAt":"A","States":{"A":{"Type":"Pass","Next":"B"}}}`, `unknown state "B"`},
		{"NextAndEnd", `{"StartAt":"A","States":{"A":{"Type":"Pass","Next":"A","End":true}}}`, "exactly one of Next and End"},
		{"CSVItemReader", `{"StartAt":"M","States":{"M":{"Type":"Map","ItemReader":{"Resource":"arn:aws:states:::s3:getObject","ReaderConfig":{"InputType":"CSV"},"Parameters":{"Bucket":"b","Key":"k"}},"ItemProcessor":{"ProcessorConfig":{"Mode":"DISTRIBUTED","ExecutionType":"STANDARD"},"StartAt":"P","States":{"P":{"Type":"Pass","End":true}}},"End":true}}}`, "only InputType JSON"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := sfn.Parse([]byte(tt.def))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Parse error = %v, want %q", err, tt.want)
			}
		})
	}
}

func TestChoiceAndFail(t *testing.T) {
	t.Parallel()
	s := newStack(t, nil)
	def := `{"StartAt": "Pick", "States": {
	  "Pick": {"Type": "Choice", "Choices": [
	    {"And": [{"Variable": "$.n", "NumericGreaterThan": 10}, {"Variable": "$.kind", "StringEquals": "big"}], "Next": "Big"},
	    {"Variable": "$.missing", "IsPresent": true, "Next": "Big"}], "Default": "Boom"},
	  "Big": {"Type": "Pass", "Result": {"size": "big"}, "End": true},
	  "Boom": {"Type": "Fail", "ErrorPath": "$.kind", "Cause": "too small"}}}`
	arn, err := s.runner.CreateStateMachine(t.Name(), []byte(def), nil)
	if err != nil {
		t.Fatal(err)
	}
	for input, want := range map[string]string{`{"n": 11, "kind": "big"}`: "SUCCEEDED", `{"n": 3, "kind": "small"}`: "FAILED:small"} {
		ex, err := s.runner.StartExecution(arn, fmt.Sprint(len(input), want), input)
		if err != nil {
			t.Fatal(err)
		}
		ex.Wait(context.Background())
		d := ex.Describe()
		got := d.Status
		if d.Status == sfn.Failed {
			got += ":" + d.Error
		}
		if got != want {
			t.Errorf("%s: %s, want %s", input, got, want)
		}
	}
}

// The project's state machine parses as written, and the error names its
// Retry and Catch match are the Go type names the handlers return.
func TestProjectStateMachine(t *testing.T) {
	t.Parallel()
	def, err := os.ReadFile("../../statemachine/import.asl.json")
	if err != nil {
		t.Fatal(err)
	}
	subs := map[string]string{"ImportInspectFunctionArn": lambdas.ARN("i"), "ImportPrepareFunctionArn": lambdas.ARN("p"), "ImportChunkFunctionArn": lambdas.ARN("c"),
		"ImportFinalizeFunctionArn": lambdas.ARN("f"), "ImportFailFunctionArn": lambdas.ARN("x"), "UploadsBucketName": "uploads"}
	r := sfn.NewRunner(lambdas.NewRegistry(), nil)
	defer r.Close()
	if _, err := r.CreateStateMachine("import", def, subs); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{apperr.TaskTransient, apperr.TaskInput} {
		if !strings.Contains(string(def), `"`+name+`"`) {
			t.Errorf("statemachine/import.asl.json never names %s", name)
		}
	}
}

// AWS's limits hold locally: a state machine that passes here does not
// fail in AWS on a payload or history it never had to carry.
func TestServiceLimits(t *testing.T) {
	t.Parallel()
	big := strings.Repeat("x", sfn.MaxPayloadBytes)

	// States.ALL does not catch States.DataLimitExceeded: the execution
	// fails at the state.
	t.Run("StateOutputOver256KiB", func(t *testing.T) {
		t.Parallel()
		s := newStack(t, nil)
		d := s.wait(t, s.start(t, `{"StartAt": "Big", "States": {
			"Big": {"Type": "Pass", "Result": "`+big+`", "End": true}}}`, `{}`))
		if d.Status != sfntypes.ExecutionStatusFailed || aws.ToString(d.Error) != "States.DataLimitExceeded" {
			t.Fatalf("status %s error %s", d.Status, aws.ToString(d.Error))
		}
	})

	// A Map's gathered result counts: 3,000 items of 100 bytes each are
	// over the limit unless each item's output is dropped (OutputPath null),
	// as the import's ApplyChunk does.
	t.Run("MapResultGrowsWithItems", func(t *testing.T) {
		t.Parallel()
		input := `{"items": [` + strings.TrimSuffix(strings.Repeat("1,", 3000), ",") + `]}`
		machine := func(outputPath string) string {
			return `{"StartAt": "Each", "States": {"Each": {"Type": "Map", "ItemsPath": "$.items", "ResultPath": null,
				"ItemProcessor": {"StartAt": "Item", "States": {"Item": {"Type": "Pass", "Result": "` + strings.Repeat("y", 98) + `", ` + outputPath + ` "End": true}}},
				"End": true}}}`
		}
		s := newStack(t, nil)
		if d := s.wait(t, s.start(t, machine(""), input)); aws.ToString(d.Error) != "States.DataLimitExceeded" {
			t.Fatalf("gathered item outputs: status %s error %s, want States.DataLimitExceeded", d.Status, aws.ToString(d.Error))
		}
		s2 := newStack(t, nil)
		if d := s2.wait(t, s2.start(t, machine(`"OutputPath": null,`), input)); d.Status != sfntypes.ExecutionStatusSucceeded {
			t.Fatalf("items with OutputPath null: status %s error %s", d.Status, aws.ToString(d.Error))
		}
	})

	t.Run("ExecutionInputOver256KiB", func(t *testing.T) {
		t.Parallel()
		s := newStack(t, nil)
		arn, err := s.runner.CreateStateMachine(t.Name(), []byte(`{"StartAt": "P", "States": {"P": {"Type": "Pass", "End": true}}}`), nil)
		if err != nil {
			t.Fatal(err)
		}
		in := `{"a": "` + big + `"}`
		_, err = s.client.StartExecution(context.Background(), &awssfn.StartExecutionInput{StateMachineArn: &arn, Input: &in})
		if err == nil || !strings.Contains(err.Error(), "ValidationException") {
			t.Fatalf("StartExecution with %d bytes: %v, want ValidationException", len(in), err)
		}
	})

	// A loop that never ends fills the history: at 25,000 events the
	// execution fails, as in AWS.
	t.Run("HistoryOf25000Events", func(t *testing.T) {
		t.Parallel()
		s := newStack(t, nil)
		arn := s.start(t, `{"StartAt": "Again", "States": {"Again": {"Type": "Pass", "Next": "Again"}}}`, `{}`)
		d := s.wait(t, arn)
		if d.Status != sfntypes.ExecutionStatusFailed || !strings.Contains(aws.ToString(d.Cause), "25000") {
			t.Fatalf("status %s error %s cause %s", d.Status, aws.ToString(d.Error), aws.ToString(d.Cause))
		}
		ex, _ := s.runner.Execution(arn)
		if n := len(ex.History()); n != sfn.MaxHistoryEvents {
			t.Fatalf("history has %d events, want %d", n, sfn.MaxHistoryEvents)
		}
	})

	// The whole execution's TimeoutSeconds ends it TIMED_OUT; like a
	// failure, it can be redriven.
	t.Run("ExecutionTimeout", func(t *testing.T) {
		t.Parallel()
		s := newStack(t, nil)
		var calls atomic.Int32
		s.fns.Register("fn", time.Minute, func(ctx context.Context, in json.RawMessage) (json.RawMessage, error) {
			if calls.Add(1) == 1 {
				<-ctx.Done()
				return nil, ctx.Err()
			}
			return in, nil
		})
		arn := s.start(t, `{"TimeoutSeconds": 1, "StartAt": "Slow", "States": {
			"Slow": {"Type": "Task", "Resource": "${Fn}", "End": true}}}`, `{}`)
		d := s.wait(t, arn)
		if d.Status != sfntypes.ExecutionStatusTimedOut || aws.ToString(d.Error) != "States.Timeout" {
			t.Fatalf("status %s error %s", d.Status, aws.ToString(d.Error))
		}
		if _, err := s.client.RedriveExecution(context.Background(), &awssfn.RedriveExecutionInput{ExecutionArn: &arn}); err != nil {
			t.Fatalf("redrive a timed-out execution: %v", err)
		}
		if d := s.wait(t, arn); d.Status != sfntypes.ExecutionStatusSucceeded {
			t.Fatalf("after redrive: %s %s", d.Status, aws.ToString(d.Error))
		}
	})
}

// A runner killed mid-execution (no Close) leaves the state it was in on
// disk; the next runner on the same directory has the execution FAILED
// there, and a redrive goes on from it, as after a process failure in AWS.
func TestExecutionsSurviveARestart(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	def := `{"StartAt": "First", "States": {
		"First": {"Type": "Pass", "Result": {"n": 1}, "Next": "Slow"},
		"Slow": {"Type": "Task", "Resource": "${Fn}", "End": true}}}`
	subs := map[string]string{"Fn": lambdas.ARN("fn")}
	fns1 := lambdas.NewRegistry()
	entered := make(chan struct{})
	release := make(chan struct{})
	fns1.Register("fn", time.Minute, func(ctx context.Context, in json.RawMessage) (json.RawMessage, error) {
		close(entered)
		<-release // the process "dies" here
		return in, nil
	})
	r1 := sfn.NewRunner(fns1, nil)
	r1.Dir = dir
	arn, err := r1.CreateStateMachine("m", []byte(def), subs)
	if err != nil {
		t.Fatal(err)
	}
	ex, err := r1.StartExecution(arn, "job-1", `{"job": 1}`)
	if err != nil {
		t.Fatal(err)
	}
	<-entered
	t.Cleanup(func() { close(release); r1.Close() })

	fns2 := lambdas.NewRegistry()
	fns2.Register("fn", time.Minute, func(ctx context.Context, in json.RawMessage) (json.RawMessage, error) { return in, nil })
	r2 := sfn.NewRunner(fns2, nil)
	defer r2.Close()
	r2.Dir = dir
	var reported []string
	r2.OnStatus = func(ev sfn.StatusEvent) { reported = append(reported, ev.Status+":"+ev.Error) }
	if _, err := r2.CreateStateMachine("m", []byte(def), subs); err != nil {
		t.Fatal(err)
	}
	if err := r2.Restore(); err != nil {
		t.Fatal(err)
	}
	got, err := r2.Execution(ex.ARN)
	if err != nil {
		t.Fatal(err)
	}
	d := got.Describe()
	if d.Status != sfn.Failed || d.Error != "States.Runtime" || !d.Redrivable || len(reported) != 1 {
		t.Fatalf("restored: %+v, reported %v", d, reported)
	}
	if _, err := r2.RedriveExecution(ex.ARN); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := got.Wait(ctx); err != nil {
		t.Fatal(err)
	}
	if d := got.Describe(); d.Status != sfn.Succeeded || d.Output != `{"n":1}` {
		t.Fatalf("after redrive: %+v", d)
	}
}

// callbackDef waits for a callback; Wait's function hands its token to the
// test, as the import's Inspect step stores it for the API.
const callbackDef = `{"StartAt": "Wait", "States": {
  "Wait": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke.waitForTaskToken",
    "Parameters": {"FunctionName": "${Fn}", "Payload": {"n.$": "$.n", "token.$": "$$.Task.Token"}},
    "TimeoutSeconds": %d, %s "ResultPath": "$.reviewed",
    "Catch": [{"ErrorEquals": ["Cancelled"], "ResultPath": "$.error", "Next": "Cancelled"}],
    "End": true},
  "Cancelled": {"Type": "Pass", "Result": "cancelled", "ResultPath": "$.outcome", "End": true}}}`

// startCallback starts callbackDef and returns the execution and the token
// the function was given.
func startCallback(t *testing.T, s *stack, timeout int, heartbeat string) (string, string) {
	t.Helper()
	tokens := make(chan string, 4)
	s.fns.Register("fn", time.Second, func(in struct {
		N     int    `json:"n"`
		Token string `json:"token"`
	}) (struct{}, error) {
		tokens <- in.Token
		return struct{}{}, nil
	})
	arn := s.start(t, fmt.Sprintf(callbackDef, timeout, heartbeat), `{"n": 7}`)
	select {
	case tok := <-tokens:
		return arn, tok
	case <-time.After(10 * time.Second):
		t.Fatal("the function was not invoked")
	}
	return "", ""
}

func apiErrorCode(err error) string {
	var ae interface{ ErrorCode() string }
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}

func TestCallbackSuccess(t *testing.T) {
	t.Parallel()
	s := newStack(t, nil)
	arn, token := startCallback(t, s, 60, "")
	ctx := context.Background()
	if len(token) < 100 {
		t.Fatalf("token %q is not opaque", token)
	}
	// Still waiting: nothing has called back.
	time.Sleep(50 * time.Millisecond)
	if d, _ := s.client.DescribeExecution(ctx, &awssfn.DescribeExecutionInput{ExecutionArn: &arn}); d.Status != "RUNNING" {
		t.Fatalf("status %s before the callback", d.Status)
	}
	_, err := s.client.SendTaskSuccess(ctx, &awssfn.SendTaskSuccessInput{TaskToken: aws.String(token), Output: aws.String(`{not json`)})
	if apiErrorCode(err) != "InvalidOutput" {
		t.Fatalf("bad output: got %v, want InvalidOutput", err)
	}
	if _, err := s.client.SendTaskHeartbeat(ctx, &awssfn.SendTaskHeartbeatInput{TaskToken: aws.String(token)}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.client.SendTaskSuccess(ctx, &awssfn.SendTaskSuccessInput{TaskToken: aws.String(token), Output: aws.String(`{"ok": true}`)}); err != nil {
		t.Fatal(err)
	}
	d := s.wait(t, arn)
	if d.Status != "SUCCEEDED" || *d.Output != `{"n":7,"reviewed":{"ok":true}}` {
		t.Fatalf("got %s %s", d.Status, aws.ToString(d.Output))
	}
	// The task has closed: its token is spent, and a made-up one is not valid.
	_, err = s.client.SendTaskSuccess(ctx, &awssfn.SendTaskSuccessInput{TaskToken: aws.String(token), Output: aws.String(`{}`)})
	if apiErrorCode(err) != "TaskTimedOut" {
		t.Fatalf("second callback: got %v, want TaskTimedOut", err)
	}
	_, err = s.client.SendTaskFailure(ctx, &awssfn.SendTaskFailureInput{TaskToken: aws.String("AQmadeup")})
	if apiErrorCode(err) != "InvalidToken" {
		t.Fatalf("unknown token: got %v, want InvalidToken", err)
	}
	// The history shows the wait, never the token.
	h, err := s.client.GetExecutionHistory(ctx, &awssfn.GetExecutionHistoryInput{ExecutionArn: &arn})
	if err != nil {
		t.Fatal(err)
	}
	var types []string
	for _, e := range h.Events {
		types = append(types, string(e.Type))
	}
	all := strings.Join(types, " ")
	for _, want := range []string{"TaskScheduled", "TaskSubmitted", "TaskSucceeded"} {
		if !strings.Contains(all, want) {
			t.Errorf("history %s lacks %s", all, want)
		}
	}
	if raw, _ := json.Marshal(h.Events); strings.Contains(string(raw), token) {
		t.Error("the history shows the task token")
	}
}

func TestCallbackFailureIsCaught(t *testing.T) {
	t.Parallel()
	s := newStack(t, nil)
	arn, token := startCallback(t, s, 60, "")
	_, err := s.client.SendTaskFailure(context.Background(), &awssfn.SendTaskFailureInput{TaskToken: aws.String(token),
		Error: aws.String("Cancelled"), Cause: aws.String("the user cancelled")})
	if err != nil {
		t.Fatal(err)
	}
	d := s.wait(t, arn)
	want := `{"error":{"Cause":"the user cancelled","Error":"Cancelled"},"n":7,"outcome":"cancelled"}`
	if d.Status != "SUCCEEDED" || aws.ToString(d.Output) != want {
		t.Fatalf("got %s %s, want %s", d.Status, aws.ToString(d.Output), want)
	}
}

func TestCallbackTimeouts(t *testing.T) {
	t.Parallel()
	t.Run("Heartbeat", func(t *testing.T) {
		t.Parallel()
		s := newStack(t, nil)
		arn, _ := startCallback(t, s, 30, `"HeartbeatSeconds": 1,`)
		if d := s.wait(t, arn); d.Status != "FAILED" || aws.ToString(d.Error) != "States.HeartbeatTimeout" {
			t.Fatalf("got %s %s", d.Status, aws.ToString(d.Error))
		}
	})
	t.Run("Timeout", func(t *testing.T) {
		t.Parallel()
		s := newStack(t, nil)
		arn, token := startCallback(t, s, 2, `"HeartbeatSeconds": 1,`)
		// Heartbeats keep the task alive past HeartbeatSeconds, not past
		// TimeoutSeconds.
		stop := time.After(3 * time.Second)
	beat:
		for {
			select {
			case <-stop:
				break beat
			case <-time.After(300 * time.Millisecond):
				s.client.SendTaskHeartbeat(context.Background(), &awssfn.SendTaskHeartbeatInput{TaskToken: aws.String(token)})
			}
		}
		if d := s.wait(t, arn); d.Status != "FAILED" || aws.ToString(d.Error) != "States.Timeout" {
			t.Fatalf("got %s %s", d.Status, aws.ToString(d.Error))
		}
	})
}
