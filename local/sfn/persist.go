package sfn

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

// savedExecution is an execution on disk (Runner.Dir): enough to describe
// it, list its history and redrive it after the stack restarts.
type savedExecution struct {
	ARN          string          `json:"arn"`
	Name         string          `json:"name"`
	MachineARN   string          `json:"machine_arn"`
	Status       string          `json:"status"`
	Input        string          `json:"input"`
	Output       string          `json:"output,omitempty"`
	Error        string          `json:"error,omitempty"`
	Cause        string          `json:"cause,omitempty"`
	Start        time.Time       `json:"start"`
	Stop         time.Time       `json:"stop,omitzero"`
	RedriveCount int             `json:"redrive_count,omitempty"`
	RedriveDate  time.Time       `json:"redrive_date,omitzero"`
	History      []HistoryEvent  `json:"history"`
	FailedState  string          `json:"failed_state,omitempty"`
	FailedInput  json.RawMessage `json:"failed_input,omitempty"`
	// Current is the top-level state running when it was saved, where a
	// redrive goes on if the stack stopped in it.
	Current      string          `json:"current,omitempty"`
	CurrentInput json.RawMessage `json:"current_input,omitempty"`
}

// save writes the execution to the runner's directory, when it has one. It
// is called as each top-level state starts and when the execution ends, so
// a stack killed mid-execution leaves the state it was in.
func (r *Runner) save(ex *Execution) {
	if r.Dir == "" {
		return
	}
	ex.mu.Lock()
	s := savedExecution{ARN: ex.ARN, Name: ex.Name, MachineARN: ex.MachineARN, Status: ex.status, Input: ex.input,
		Output: ex.output, Error: ex.errName, Cause: ex.cause, Start: ex.start, Stop: ex.stop, RedriveCount: ex.redriveCount,
		RedriveDate: ex.redriveDate, History: ex.history, FailedState: ex.failedState, Current: ex.current}
	s.FailedInput, _ = json.Marshal(ex.failedInput)
	s.CurrentInput, _ = json.Marshal(ex.currentInput)
	b, err := json.Marshal(s)
	ex.mu.Unlock()
	if err == nil {
		path := filepath.Join(r.Dir, fileName(ex.ARN))
		tmp := path + ".tmp"
		if err = os.WriteFile(tmp, b, 0o600); err == nil {
			err = os.Rename(tmp, path)
		}
	}
	if err != nil && r.Log != nil {
		r.Log.Warn("save execution", "execution", ex.ARN, "error", err)
	}
}

func fileName(arn string) string {
	return strings.NewReplacer(":", "_", "/", "_").Replace(arn) + ".json"
}

// Restore loads the executions saved in Dir for the state machines created
// so far. One that was running when the stack stopped is FAILED
// (States.Runtime) at the state it was in, and reported to OnStatus, as the
// failure of a process would be: it can be redriven from there.
func (r *Runner) Restore() error {
	if r.Dir == "" {
		return nil
	}
	if err := os.MkdirAll(r.Dir, 0o700); err != nil {
		return err
	}
	paths, err := filepath.Glob(filepath.Join(r.Dir, "*.json"))
	if err != nil {
		return err
	}
	var loaded []*Execution
	var cut []*Execution
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		var s savedExecution
		if err := json.Unmarshal(b, &s); err != nil {
			return fmt.Errorf("saved execution %s: %w", p, err)
		}
		r.mu.Lock()
		_, known := r.machines[s.MachineARN]
		_, dup := r.execs[s.ARN]
		r.mu.Unlock()
		if !known || dup {
			continue
		}
		ex := &Execution{ARN: s.ARN, Name: s.Name, MachineARN: s.MachineARN, status: s.Status, input: s.Input, output: s.Output,
			errName: s.Error, cause: s.Cause, start: s.Start, stop: s.Stop, redriveCount: s.RedriveCount, redriveDate: s.RedriveDate,
			history: s.History, failedState: s.FailedState, done: make(chan struct{}), mapDone: map[string]map[int]any{}}
		ex.failedInput, _ = decodeJSON(s.FailedInput)
		if ex.status == Running {
			in, _ := decodeJSON(s.CurrentInput)
			ex.status, ex.errName = Failed, "States.Runtime"
			ex.cause = "the local stack stopped while the execution ran; redrive it to go on from " + s.Current
			ex.failedState, ex.failedInput, ex.stop = s.Current, in, time.Now()
			ex.history = append(ex.history, HistoryEvent{ID: int64(len(ex.history) + 1), Previous: int64(len(ex.history)),
				Timestamp: ex.stop, Type: "ExecutionFailed", Details: map[string]any{"error": ex.errName, "cause": ex.cause}})
			cut = append(cut, ex)
		}
		close(ex.done)
		loaded = append(loaded, ex)
	}
	sort.Slice(loaded, func(a, b int) bool { return loaded[a].start.Before(loaded[b].start) })
	r.mu.Lock()
	for _, ex := range loaded {
		r.execs[ex.ARN] = ex
		r.order = append(r.order, ex.ARN)
	}
	r.mu.Unlock()
	for _, ex := range cut {
		r.save(ex)
		if r.OnStatus != nil {
			r.OnStatus(StatusEvent{ExecutionARN: ex.ARN, StateMachineARN: ex.MachineARN, Name: ex.Name, Status: ex.status,
				Input: ex.input, Error: ex.errName, Cause: ex.cause, StartDate: ex.start, StopDate: ex.stop})
		}
	}
	return nil
}
