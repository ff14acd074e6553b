// Package sfn is the local stand-in for AWS Step Functions: it executes the
// project's own statemachine/*.asl.json as written and serves the API
// actions Portage and an operator use (StartExecution, DescribeExecution,
// GetExecutionHistory, RedriveExecution, ListExecutions, the Send* callbacks,
// ListStateMachines, DescribeStateMachine, ListMapRuns, DescribeMapRun), so the production
// sfn client and `aws stepfunctions --endpoint-url` work against it.
//
// It implements the parts of the Amazon States Language the project uses —
// Task (Lambda ARNs, and Lambda with .waitForTaskToken: the callback
// pattern, with TimeoutSeconds and HeartbeatSeconds), Map (inline, or
// distributed over an S3 JSON ItemReader), Choice, Pass, Succeed, Fail, Retry (with backoff, max delay
// and full jitter), Catch, InputPath, Parameters, ResultSelector,
// ResultPath, OutputPath — and refuses a definition that uses any field it
// does not implement, rather than ignoring it.
package sfn

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
)

// Definition is a parsed state machine.
type Definition struct {
	Comment string
	StartAt string
	States  map[string]*State
	// TimeoutSeconds bounds a whole execution (top level only): past it
	// the execution ends TIMED_OUT with States.Timeout.
	TimeoutSeconds int
}

// State is one state; which fields apply depends on Type.
type State struct {
	Name    string
	Type    string
	Next    string
	End     bool
	Comment string

	InputPath, OutputPath, ResultPath optPath
	Parameters, ResultSelector        any
	hasParameters, hasResultSelector  bool

	// Task
	Resource       string
	TimeoutSeconds int
	// Callback: the Resource is CallbackResource, and the task waits for
	// its token; HeartbeatSeconds bounds the time between heartbeats.
	Callback         bool
	HeartbeatSeconds int
	Retry            []Retrier
	Catch            []Catcher

	// Map
	ItemReader                 *ItemReader
	Processor                  *Definition
	Distributed                bool
	ItemsPath                  optPath
	ItemSelector               any
	hasItemSelector            bool
	MaxConcurrency             int
	MaxConcurrencyPath         string
	ToleratedFailurePercentage float64

	// Pass
	Result    any
	hasResult bool

	// Choice
	Choices []Choice
	Default string

	// Fail
	Error, Cause, ErrorPath, CausePath string
}

// Retrier is one Retry entry.
type Retrier struct {
	ErrorEquals     []string
	IntervalSeconds float64
	MaxAttempts     int
	BackoffRate     float64
	MaxDelaySeconds float64
	JitterStrategy  string
}

// Catcher is one Catch entry.
type Catcher struct {
	ErrorEquals []string
	Next        string
	ResultPath  optPath
}

// ItemReader reads a distributed Map's items from S3.
type ItemReader struct {
	Bucket    string
	Key       string
	KeyPath   string
	InputType string
}

// optPath is a path field that may be absent (default "$"), null (discard
// or {}), or a path.
type optPath struct {
	set  bool
	null bool
	path string
}

func (p optPath) or(def string) optPath {
	if !p.set {
		return optPath{set: true, path: def}
	}
	return p
}

// allowed fields per state type; anything else is refused.
var allowed = map[string][]string{
	"Task":    {"Type", "Comment", "Next", "End", "InputPath", "OutputPath", "ResultPath", "Parameters", "ResultSelector", "Resource", "TimeoutSeconds", "HeartbeatSeconds", "Retry", "Catch"},
	"Map":     {"Type", "Comment", "Next", "End", "InputPath", "OutputPath", "ResultPath", "ResultSelector", "ItemReader", "ItemProcessor", "Iterator", "ItemsPath", "ItemSelector", "Parameters", "MaxConcurrency", "MaxConcurrencyPath", "ToleratedFailurePercentage", "Retry", "Catch"},
	"Pass":    {"Type", "Comment", "Next", "End", "InputPath", "OutputPath", "ResultPath", "Parameters", "Result"},
	"Choice":  {"Type", "Comment", "InputPath", "OutputPath", "Choices", "Default"},
	"Succeed": {"Type", "Comment", "InputPath", "OutputPath"},
	"Fail":    {"Type", "Comment", "Error", "Cause", "ErrorPath", "CausePath"},
}

// Parse reads an ASL definition, refusing fields and features this runner
// does not implement.
func Parse(def []byte) (*Definition, error) {
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(def, &raw); err != nil {
		return nil, fmt.Errorf("state machine definition: %w", err)
	}
	d, err := parseMachine(raw, "")
	if err != nil {
		return nil, err
	}
	if err := get(raw, "TimeoutSeconds", &d.TimeoutSeconds); err != nil || d.TimeoutSeconds < 0 {
		return nil, fmt.Errorf("TimeoutSeconds must be a positive integer")
	}
	return d, nil
}

func parseMachine(raw map[string]json.RawMessage, where string) (*Definition, error) {
	keys := []string{"Comment", "StartAt", "States", "ProcessorConfig"}
	if where == "" {
		keys = []string{"Comment", "StartAt", "States", "TimeoutSeconds"}
	}
	if err := onlyKeys(raw, where, keys...); err != nil {
		return nil, err
	}
	d := &Definition{States: map[string]*State{}}
	if err := get(raw, "Comment", &d.Comment); err != nil {
		return nil, err
	}
	if err := get(raw, "StartAt", &d.StartAt); err != nil || d.StartAt == "" {
		return nil, fmt.Errorf("%sStartAt is required", where)
	}
	var states map[string]map[string]json.RawMessage
	if err := get(raw, "States", &states); err != nil {
		return nil, fmt.Errorf("%sStates: %w", where, err)
	}
	for name, sraw := range states {
		s, err := parseState(name, sraw, where+name+".")
		if err != nil {
			return nil, err
		}
		d.States[name] = s
	}
	if d.States[d.StartAt] == nil {
		return nil, fmt.Errorf("%sStartAt %q is not a state", where, d.StartAt)
	}
	for _, s := range d.States {
		for _, n := range s.targets() {
			if d.States[n] == nil {
				return nil, fmt.Errorf("%s%s: transition to unknown state %q", where, s.Name, n)
			}
		}
	}
	return d, nil
}

func (s *State) targets() []string {
	var out []string
	if s.Next != "" {
		out = append(out, s.Next)
	}
	if s.Default != "" {
		out = append(out, s.Default)
	}
	for _, c := range s.Catch {
		out = append(out, c.Next)
	}
	for _, c := range s.Choices {
		out = append(out, c.Next)
	}
	return out
}

func parseState(name string, raw map[string]json.RawMessage, where string) (*State, error) {
	s := &State{Name: name}
	if err := get(raw, "Type", &s.Type); err != nil {
		return nil, fmt.Errorf("%sType: %w", where, err)
	}
	keys, ok := allowed[s.Type]
	if !ok {
		return nil, fmt.Errorf("%sType %q is not implemented by the local runner", where, s.Type)
	}
	if err := onlyKeys(raw, where, keys...); err != nil {
		return nil, err
	}
	for _, f := range []struct {
		key string
		dst any
	}{{"Next", &s.Next}, {"End", &s.End}, {"Comment", &s.Comment}, {"Resource", &s.Resource},
		{"TimeoutSeconds", &s.TimeoutSeconds}, {"HeartbeatSeconds", &s.HeartbeatSeconds}, {"Default", &s.Default}, {"Error", &s.Error}, {"Cause", &s.Cause},
		{"ErrorPath", &s.ErrorPath}, {"CausePath", &s.CausePath}, {"MaxConcurrency", &s.MaxConcurrency},
		{"MaxConcurrencyPath", &s.MaxConcurrencyPath}, {"ToleratedFailurePercentage", &s.ToleratedFailurePercentage}} {
		if err := get(raw, f.key, f.dst); err != nil {
			return nil, fmt.Errorf("%s%s: %w", where, f.key, err)
		}
	}
	var err error
	for _, p := range []struct {
		key string
		dst *optPath
	}{{"InputPath", &s.InputPath}, {"OutputPath", &s.OutputPath}, {"ResultPath", &s.ResultPath}, {"ItemsPath", &s.ItemsPath}} {
		if *p.dst, err = getPath(raw, p.key); err != nil {
			return nil, fmt.Errorf("%s%s: %w", where, p.key, err)
		}
	}
	if s.hasParameters, err = getAny(raw, "Parameters", &s.Parameters); err != nil {
		return nil, fmt.Errorf("%sParameters: %w", where, err)
	}
	if s.hasResultSelector, err = getAny(raw, "ResultSelector", &s.ResultSelector); err != nil {
		return nil, fmt.Errorf("%sResultSelector: %w", where, err)
	}
	if s.hasItemSelector, err = getAny(raw, "ItemSelector", &s.ItemSelector); err != nil {
		return nil, fmt.Errorf("%sItemSelector: %w", where, err)
	}
	if s.hasResult, err = getAny(raw, "Result", &s.Result); err != nil {
		return nil, fmt.Errorf("%sResult: %w", where, err)
	}
	if s.Type == "Map" && s.hasParameters {
		// Parameters is the older name of ItemSelector.
		s.ItemSelector, s.hasItemSelector, s.Parameters, s.hasParameters = s.Parameters, true, nil, false
	}
	if s.Retry, err = parseRetry(raw["Retry"], where); err != nil {
		return nil, err
	}
	if s.Catch, err = parseCatch(raw["Catch"], where); err != nil {
		return nil, err
	}
	if err := s.parseMap(raw, where); err != nil {
		return nil, err
	}
	if err := s.parseChoices(raw, where); err != nil {
		return nil, err
	}
	terminal := s.Type == "Succeed" || s.Type == "Fail" || s.Type == "Choice"
	if !terminal && (s.End == (s.Next != "")) {
		return nil, fmt.Errorf("%s: exactly one of Next and End is required", strings.TrimSuffix(where, "."))
	}
	if s.TimeoutSeconds < 0 || s.HeartbeatSeconds < 0 {
		return nil, fmt.Errorf("%sTimeoutSeconds and HeartbeatSeconds must be positive", where)
	}
	if s.Type == "Task" {
		switch {
		case s.Resource == CallbackResource:
			s.Callback = true
			if err := s.checkCallback(where); err != nil {
				return nil, err
			}
		case !strings.HasPrefix(s.Resource, "arn:aws:lambda:"):
			return nil, fmt.Errorf("%sResource %q: the local runner runs Lambda function ARNs and %s only", where, s.Resource, CallbackResource)
		case s.HeartbeatSeconds > 0:
			return nil, fmt.Errorf("%sHeartbeatSeconds: not implemented by the local Step Functions runner on a plain Lambda task", where)
		}
	}
	return s, nil
}

func (s *State) parseMap(raw map[string]json.RawMessage, where string) error {
	if s.Type != "Map" {
		return nil
	}
	proc := raw["ItemProcessor"]
	if proc == nil {
		proc = raw["Iterator"]
	}
	var praw map[string]json.RawMessage
	if err := json.Unmarshal(proc, &praw); err != nil || praw == nil {
		return fmt.Errorf("%sItemProcessor is required", where)
	}
	if pc := praw["ProcessorConfig"]; pc != nil {
		var cfg map[string]json.RawMessage
		if err := json.Unmarshal(pc, &cfg); err != nil {
			return fmt.Errorf("%sItemProcessor.ProcessorConfig: %w", where, err)
		}
		if err := onlyKeys(cfg, where+"ItemProcessor.ProcessorConfig.", "Mode", "ExecutionType"); err != nil {
			return err
		}
		var mode, execType string
		get(cfg, "Mode", &mode)
		get(cfg, "ExecutionType", &execType)
		switch mode {
		case "", "INLINE":
		case "DISTRIBUTED":
			s.Distributed = true
			if execType != "STANDARD" {
				return fmt.Errorf("%sItemProcessor: the local runner runs STANDARD child executions only", where)
			}
		default:
			return fmt.Errorf("%sItemProcessor.ProcessorConfig.Mode %q is unknown", where, mode)
		}
	}
	proc2, err := parseMachine(praw, where+"ItemProcessor.")
	if err != nil {
		return err
	}
	s.Processor = proc2
	if r := raw["ItemReader"]; r != nil {
		var ir struct {
			Resource     string
			ReaderConfig map[string]any
			Parameters   map[string]string
		}
		dec := json.NewDecoder(bytes.NewReader(r))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&ir); err != nil {
			return fmt.Errorf("%sItemReader: %w", where, err)
		}
		if ir.Resource != "arn:aws:states:::s3:getObject" {
			return fmt.Errorf("%sItemReader.Resource %q: only arn:aws:states:::s3:getObject is implemented", where, ir.Resource)
		}
		for k := range ir.ReaderConfig {
			if k != "InputType" {
				return fmt.Errorf("%sItemReader.ReaderConfig.%s is not implemented", where, k)
			}
		}
		if ir.ReaderConfig["InputType"] != "JSON" {
			return fmt.Errorf("%sItemReader: only InputType JSON is implemented", where)
		}
		s.ItemReader = &ItemReader{InputType: "JSON", Bucket: ir.Parameters["Bucket"], Key: ir.Parameters["Key"], KeyPath: ir.Parameters["Key.$"]}
		for k := range ir.Parameters {
			if k != "Bucket" && k != "Key" && k != "Key.$" {
				return fmt.Errorf("%sItemReader.Parameters.%s is not implemented", where, k)
			}
		}
		if !s.Distributed {
			return fmt.Errorf("%sItemReader needs a DISTRIBUTED ItemProcessor", where)
		}
	}
	if s.ToleratedFailurePercentage < 0 || s.ToleratedFailurePercentage > 100 {
		return fmt.Errorf("%sToleratedFailurePercentage must be 0 to 100", where)
	}
	return nil
}

func parseRetry(raw json.RawMessage, where string) ([]Retrier, error) {
	if raw == nil {
		return nil, nil
	}
	var list []map[string]json.RawMessage
	if err := json.Unmarshal(raw, &list); err != nil {
		return nil, fmt.Errorf("%sRetry: %w", where, err)
	}
	out := make([]Retrier, len(list))
	for i, r := range list {
		if err := onlyKeys(r, fmt.Sprintf("%sRetry[%d].", where, i), "ErrorEquals", "IntervalSeconds", "MaxAttempts", "BackoffRate", "MaxDelaySeconds", "JitterStrategy"); err != nil {
			return nil, err
		}
		rt := Retrier{IntervalSeconds: 1, MaxAttempts: 3, BackoffRate: 2, JitterStrategy: "NONE"}
		for _, f := range []struct {
			key string
			dst any
		}{{"ErrorEquals", &rt.ErrorEquals}, {"IntervalSeconds", &rt.IntervalSeconds}, {"MaxAttempts", &rt.MaxAttempts},
			{"BackoffRate", &rt.BackoffRate}, {"MaxDelaySeconds", &rt.MaxDelaySeconds}, {"JitterStrategy", &rt.JitterStrategy}} {
			if err := get(r, f.key, f.dst); err != nil {
				return nil, fmt.Errorf("%sRetry[%d].%s: %w", where, i, f.key, err)
			}
		}
		if len(rt.ErrorEquals) == 0 {
			return nil, fmt.Errorf("%sRetry[%d].ErrorEquals is required", where, i)
		}
		if rt.JitterStrategy != "NONE" && rt.JitterStrategy != "FULL" {
			return nil, fmt.Errorf("%sRetry[%d].JitterStrategy %q is not NONE or FULL", where, i, rt.JitterStrategy)
		}
		out[i] = rt
	}
	return out, nil
}

func parseCatch(raw json.RawMessage, where string) ([]Catcher, error) {
	if raw == nil {
		return nil, nil
	}
	var list []map[string]json.RawMessage
	if err := json.Unmarshal(raw, &list); err != nil {
		return nil, fmt.Errorf("%sCatch: %w", where, err)
	}
	out := make([]Catcher, len(list))
	for i, c := range list {
		if err := onlyKeys(c, fmt.Sprintf("%sCatch[%d].", where, i), "ErrorEquals", "Next", "ResultPath"); err != nil {
			return nil, err
		}
		var ct Catcher
		get(c, "ErrorEquals", &ct.ErrorEquals)
		get(c, "Next", &ct.Next)
		var err error
		if ct.ResultPath, err = getPath(c, "ResultPath"); err != nil {
			return nil, err
		}
		if len(ct.ErrorEquals) == 0 || ct.Next == "" {
			return nil, fmt.Errorf("%sCatch[%d] needs ErrorEquals and Next", where, i)
		}
		out[i] = ct
	}
	return out, nil
}

func onlyKeys(raw map[string]json.RawMessage, where string, keys ...string) error {
	ok := make(map[string]bool, len(keys))
	for _, k := range keys {
		ok[k] = true
	}
	var bad []string
	for k := range raw {
		if !ok[k] {
			bad = append(bad, k)
		}
	}
	if len(bad) > 0 {
		sort.Strings(bad)
		return fmt.Errorf("%s%s: not implemented by the local Step Functions runner", where, strings.Join(bad, ", "))
	}
	return nil
}

func get(raw map[string]json.RawMessage, key string, dst any) error {
	v, ok := raw[key]
	if !ok {
		return nil
	}
	return json.Unmarshal(v, dst)
}

func getAny(raw map[string]json.RawMessage, key string, dst *any) (bool, error) {
	v, ok := raw[key]
	if !ok {
		return false, nil
	}
	val, err := decodeJSON(v)
	*dst = val
	return true, err
}

func getPath(raw map[string]json.RawMessage, key string) (optPath, error) {
	v, ok := raw[key]
	if !ok {
		return optPath{}, nil
	}
	if string(v) == "null" {
		return optPath{set: true, null: true}, nil
	}
	var p string
	if err := json.Unmarshal(v, &p); err != nil {
		return optPath{}, err
	}
	if !strings.HasPrefix(p, "$") {
		return optPath{}, fmt.Errorf("%q is not a path", p)
	}
	return optPath{set: true, path: p}, nil
}

// decodeJSON decodes keeping numbers exact.
func decodeJSON(b []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	return v, nil
}
