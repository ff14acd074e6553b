// Package statemachine_test holds statemachine/*.asl.json to what AWS does
// with them: the error names of every Retry and Catch, each Task's timeout
// against its function's, and payloads that stay under 256 KiB.
package statemachine_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/portagehq/portage/local/template"
	"github.com/portagehq/portage/shared/apperr"
	"github.com/portagehq/portage/shared/lambdafn"
)

type state struct {
	Type       string `json:"Type"`
	Resource   string `json:"Resource"`
	Parameters struct {
		FunctionName string `json:"FunctionName"`
	} `json:"Parameters"`
	TimeoutSeconds int             `json:"TimeoutSeconds"`
	ResultWriter   json.RawMessage `json:"ResultWriter"`
	Retry          []retrier       `json:"Retry"`
	Catch          []retrier       `json:"Catch"`
	ItemProcessor  *machine        `json:"ItemProcessor"`
}

// outputPath is the state's OutputPath as written ("null" when null, ""
// when absent: encoding/json cannot tell the two apart in a field).
func outputPath(raw json.RawMessage) string {
	var fields map[string]json.RawMessage
	json.Unmarshal(raw, &fields)
	return string(fields["OutputPath"])
}

type retrier struct {
	ErrorEquals []string `json:"ErrorEquals"`
}

type machine struct {
	TimeoutSeconds int                        `json:"TimeoutSeconds"`
	States         map[string]state           `json:"States"`
	Raw            map[string]json.RawMessage `json:"-"`
}

func (m *machine) UnmarshalJSON(b []byte) error {
	type plain machine
	if err := json.Unmarshal(b, (*plain)(m)); err != nil {
		return err
	}
	var raw struct {
		States map[string]json.RawMessage `json:"States"`
	}
	err := json.Unmarshal(b, &raw)
	m.Raw = raw.States
	return err
}

func load(t *testing.T, path string) machine {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var m machine
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return m
}

// tasks returns every Task of m and of its Maps' item processors.
func tasks(m machine, prefix string) map[string]state {
	out := map[string]state{}
	for name, s := range m.States {
		if s.Type == "Task" {
			out[prefix+name] = s
		}
		if s.ItemProcessor != nil {
			for n, t := range tasks(*s.ItemProcessor, prefix+name+".") {
				out[n] = t
			}
		}
	}
	return out
}

func machines(t *testing.T) map[string]machine {
	t.Helper()
	paths, err := filepath.Glob("*.asl.json")
	if err != nil || len(paths) < 2 {
		t.Fatalf("state machines: %v %v", paths, err)
	}
	out := map[string]machine{}
	for _, p := range paths {
		out[p] = load(t, p)
	}
	return out
}

// Our names are the ones the task adapter gives an error: each Retry/Catch
// name of ours is one apperr.TaskName returns for some application code (or
// the panic name), and the ones the state machines depend on are there.
func TestOurErrorNamesAreTheAdaptersNames(t *testing.T) {
	t.Parallel()
	for name, err := range map[string]error{
		apperr.TaskInput:     apperr.Invalidf("bad file"),
		apperr.TaskTransient: apperr.Retryable(errors.New("connection reset")),
		apperr.TaskConflict:  apperr.New(apperr.Conflict, "rolled back"),
		apperr.TaskInternal:  errors.New("a bug"),
	} {
		if got := apperr.TaskName(fmt.Errorf("wrapped: %w", err)); got != name {
			t.Errorf("TaskName(%v) = %q, want %q", err, got, name)
		}
	}
}

// Every name in a Retry or Catch is one that can arrive: a States.* name,
// a name the Lambda service or runtime documents, or one of our types. A
// misspelt name would silently never match.
func TestErrorNamesAreKnown(t *testing.T) {
	t.Parallel()
	known := append(slices.Clone(apperr.TaskNames), lambdafn.LambdaRetryable...)
	// The States.* names the service defines (a prefix alone would let
	// "States.Timout" through).
	known = append(known, "States.ALL", "States.Timeout", "States.TaskFailed", "States.Permissions",
		"States.ResultPathMatchFailure", "States.ParameterPathFailure", "States.BranchFailed", "States.NoChoiceMatched",
		"States.IntrinsicFailure", "States.ExceedToleratedFailureThreshold", "States.ItemReaderFailed",
		"States.ResultWriterFailed", "States.HeartbeatTimeout", "States.QueryEvaluationError")
	for path, m := range machines(t) {
		for name, s := range tasks(m, "") {
			for _, r := range append(append([]retrier{}, s.Retry...), s.Catch...) {
				for _, e := range r.ErrorEquals {
					if !slices.Contains(known, e) {
						t.Errorf("%s %s: ErrorEquals names %q, which no handler or AWS service returns", path, name, e)
					}
				}
			}
		}
	}
}

// Every Task retries what a retry may cure: the Lambda service's transient
// errors, throttling, a timed-out or crashed function, our TransientError,
// and a panic (a little). RecordFailure retries everything (States.ALL).
func TestEveryTaskRetriesTransientFailures(t *testing.T) {
	t.Parallel()
	want := append([]string{apperr.TaskTransient, apperr.TaskPanic}, lambdafn.LambdaRetryable...)
	for path, m := range machines(t) {
		for name, s := range tasks(m, "") {
			var names []string
			for _, r := range s.Retry {
				names = append(names, r.ErrorEquals...)
			}
			if slices.Contains(names, "States.ALL") {
				continue
			}
			for _, w := range want {
				if w == "States.Timeout" && s.Resource == callback {
					continue // its timeout is the review window (TestReviewWaitEndsCleanly)
				}
				if !slices.Contains(names, w) {
					t.Errorf("%s %s does not retry %s", path, name, w)
				}
			}
		}
	}
}

// A Task's TimeoutSeconds must be longer than its function's Timeout:
// otherwise Step Functions gives up first (States.Timeout) while the
// function still runs, and a retry overlaps it.
func TestTaskTimeoutsOutlastTheirFunctions(t *testing.T) {
	t.Parallel()
	fns, err := template.Functions("../template.yaml")
	if err != nil {
		t.Fatal(err)
	}
	byLogicalID := map[string]template.Function{}
	for _, f := range fns {
		byLogicalID[f.LogicalID] = f
	}
	for path, m := range machines(t) {
		for name, s := range tasks(m, "") {
			fn := s.Resource
			if fn == callback {
				fn = s.Parameters.FunctionName
			}
			id := strings.TrimSuffix(strings.TrimPrefix(fn, "${"), "Arn}")
			f, ok := byLogicalID[id]
			if !ok {
				t.Errorf("%s %s: resource %s is no function of template.yaml", path, name, s.Resource)
				continue
			}
			if s.TimeoutSeconds <= int(f.Timeout.Seconds()) {
				t.Errorf("%s %s: TimeoutSeconds %d, not longer than %s's Timeout %s", path, name, s.TimeoutSeconds, id, f.Timeout)
			}
		}
		if m.TimeoutSeconds <= 0 {
			t.Errorf("%s has no overall TimeoutSeconds: a stuck execution would run for a year", path)
		}
	}
}

// A Map's gathered result grows with its items, and over 256 KiB the
// execution fails (States.DataLimitExceeded) even with ResultPath null:
// every Map either writes its results to S3 or drops each item's output.
func TestMapOutputDoesNotGrowWithItems(t *testing.T) {
	t.Parallel()
	for path, m := range machines(t) {
		for name, s := range m.States {
			if s.Type != "Map" || len(s.ResultWriter) > 0 {
				continue
			}
			for iname, is := range s.ItemProcessor.States {
				ends := is.Type == "Succeed" || is.Type == "Task" || is.Type == "Pass"
				if ends && outputPath(s.ItemProcessor.Raw[iname]) != "null" {
					t.Errorf("%s %s.%s: an item's output is kept (set OutputPath null or a ResultWriter)", path, name, iname)
				}
			}
		}
	}
}

const callback = "arn:aws:states:::lambda:invoke.waitForTaskToken"

// A task that waits for a person (the review) has its own rules: its
// TimeoutSeconds is the review window, so a timeout is caught (the import
// fails as not reviewed) and never retried, which would wait a second
// window; a cancel (ImportCancelled) is caught too; and the execution's
// own timeout outlasts the wait.
func TestReviewWaitEndsCleanly(t *testing.T) {
	t.Parallel()
	m := load(t, "import.asl.json")
	found := false
	for name, s := range tasks(m, "") {
		if s.Resource != callback {
			continue
		}
		found = true
		for _, r := range s.Retry {
			if slices.Contains(r.ErrorEquals, "States.Timeout") || slices.Contains(r.ErrorEquals, "States.ALL") {
				t.Errorf("%s retries its timeout: the review window would start again", name)
			}
		}
		var caught []string
		for _, c := range s.Catch {
			caught = append(caught, c.ErrorEquals...)
		}
		for _, want := range []string{"States.Timeout", apperr.TaskCancelled, apperr.TaskInput} {
			if !slices.Contains(caught, want) {
				t.Errorf("%s does not catch %s", name, want)
			}
		}
		if m.TimeoutSeconds <= s.TimeoutSeconds {
			t.Errorf("the execution times out (%d s) before %s's wait does (%d s)", m.TimeoutSeconds, name, s.TimeoutSeconds)
		}
	}
	if !found {
		t.Fatal("no task waits for review")
	}
}
