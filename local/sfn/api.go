package sfn

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"time"
)

// Handler serves the Step Functions API actions the project uses, in the
// awsJson1_0 protocol the SDKs speak (POST / with X-Amz-Target).
func (r *Runner) Handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		target := req.Header.Get("X-Amz-Target")
		op, ok := strings.CutPrefix(target, "AWSStepFunctions.")
		if req.Method != http.MethodPost || !ok {
			apiError(w, &APIError{"UnknownOperationException", "expected POST with X-Amz-Target: AWSStepFunctions.<Action>"})
			return
		}
		body, err := io.ReadAll(io.LimitReader(req.Body, 1<<20))
		if err != nil {
			apiError(w, &APIError{"ValidationException", err.Error()})
			return
		}
		var in map[string]any
		if len(body) > 0 {
			if err := json.Unmarshal(body, &in); err != nil {
				apiError(w, &APIError{"ValidationException", "invalid JSON: " + err.Error()})
				return
			}
		}
		str := func(k string) string { s, _ := in[k].(string); return s }
		var out any
		switch op {
		case "StartExecution":
			var ex *Execution
			if ex, err = r.StartExecution(str("stateMachineArn"), str("name"), str("input")); err == nil {
				d := ex.Describe()
				out = map[string]any{"executionArn": d.ARN, "startDate": epoch(d.Start)}
			}
		case "DescribeExecution":
			var ex *Execution
			if ex, err = r.Execution(str("executionArn")); err == nil {
				out = describe(ex.Describe())
			}
		case "GetExecutionHistory":
			var ex *Execution
			if ex, err = r.Execution(str("executionArn")); err == nil {
				out = map[string]any{"events": historyJSON(ex.History(), in["reverseOrder"] == true)}
			}
		case "RedriveExecution":
			var ex *Execution
			if ex, err = r.RedriveExecution(str("executionArn")); err == nil {
				out = map[string]any{"redriveDate": epoch(ex.Describe().RedriveDate)}
			}
		case "ListExecutions":
			var list []map[string]any
			for _, ex := range r.Executions(str("stateMachineArn")) {
				d := ex.Describe()
				if s := str("statusFilter"); s != "" && s != d.Status {
					continue
				}
				e := map[string]any{"executionArn": d.ARN, "stateMachineArn": d.MachineARN,
					"name": d.Name, "status": d.Status, "startDate": epoch(d.Start), "redriveCount": d.RedriveCount}
				if !d.Stop.IsZero() {
					e["stopDate"] = epoch(d.Stop)
				}
				list = append(list, e)
			}
			out = map[string]any{"executions": nonNil(list)}
		case "ListStateMachines":
			var list []map[string]any
			for _, arn := range r.StateMachines() {
				name, _, created, _ := r.StateMachine(arn)
				list = append(list, map[string]any{"stateMachineArn": arn, "name": name, "type": "STANDARD", "creationDate": epoch(created)})
			}
			out = map[string]any{"stateMachines": nonNil(list)}
		case "DescribeStateMachine":
			var name, def string
			var created time.Time
			if name, def, created, err = r.StateMachine(str("stateMachineArn")); err == nil {
				out = map[string]any{"stateMachineArn": str("stateMachineArn"), "name": name, "status": "ACTIVE", "definition": def,
					"roleArn": "arn:aws:iam::000000000000:role/local", "type": "STANDARD", "creationDate": epoch(created)}
			}
		case "ListMapRuns":
			var ex *Execution
			if ex, err = r.Execution(str("executionArn")); err == nil {
				var list []map[string]any
				for _, m := range ex.MapRuns() {
					e := map[string]any{"executionArn": m.ExecutionARN, "mapRunArn": m.ARN, "stateMachineArn": m.MachineARN, "startDate": epoch(m.Start)}
					if !m.Stop.IsZero() {
						e["stopDate"] = epoch(m.Stop)
					}
					list = append(list, e)
				}
				out = map[string]any{"mapRuns": nonNil(list)}
			}
		case "DescribeMapRun":
			var m MapRun
			if m, err = r.MapRun(str("mapRunArn")); err == nil {
				running := m.Total - m.Succeeded - m.Failed
				if m.Status != Running {
					running = 0
				}
				counts := map[string]any{"pending": 0, "running": running, "succeeded": m.Succeeded, "failed": m.Failed,
					"timedOut": 0, "aborted": 0, "total": m.Total, "resultsWritten": 0}
				d := map[string]any{"mapRunArn": m.ARN, "executionArn": m.ExecutionARN, "status": m.Status, "startDate": epoch(m.Start),
					"maxConcurrency": m.MaxConcurrency, "toleratedFailurePercentage": m.ToleratedFailurePercentage,
					"toleratedFailureCount": 0, "itemCounts": counts, "executionCounts": counts}
				if !m.Stop.IsZero() {
					d["stopDate"] = epoch(m.Stop)
				}
				out = d
			}
		case "SendTaskSuccess":
			if err = r.SendTaskSuccess(str("taskToken"), str("output")); err == nil {
				out = map[string]any{}
			}
		case "SendTaskFailure":
			if err = r.SendTaskFailure(str("taskToken"), str("error"), str("cause")); err == nil {
				out = map[string]any{}
			}
		case "SendTaskHeartbeat":
			if err = r.SendTaskHeartbeat(str("taskToken")); err == nil {
				out = map[string]any{}
			}
		default:
			err = &APIError{"UnknownOperationException", "the local runner does not implement " + op}
		}
		if err != nil {
			apiError(w, err)
			return
		}
		w.Header().Set("Content-Type", "application/x-amz-json-1.0")
		json.NewEncoder(w).Encode(out)
	})
}

func describe(d Snapshot) map[string]any {
	out := map[string]any{"executionArn": d.ARN, "stateMachineArn": d.MachineARN, "name": d.Name,
		"status": d.Status, "startDate": epoch(d.Start), "input": d.Input, "redriveCount": d.RedriveCount,
		"redriveStatus": map[bool]string{true: "REDRIVABLE", false: "NOT_REDRIVABLE"}[d.Redrivable]}
	if !d.Stop.IsZero() {
		out["stopDate"] = epoch(d.Stop)
	}
	if d.Status == Succeeded {
		out["output"] = d.Output
	}
	if d.Status == Failed || d.Status == TimedOut {
		out["error"], out["cause"] = d.Error, d.Cause
	}
	if !d.RedriveDate.IsZero() {
		out["redriveDate"] = epoch(d.RedriveDate)
	}
	return out
}

// historyDetails names each event type's details member as the API does.
var historyDetails = map[string]string{
	"ExecutionStarted": "executionStartedEventDetails", "ExecutionSucceeded": "executionSucceededEventDetails",
	"ExecutionFailed": "executionFailedEventDetails", "ExecutionTimedOut": "executionTimedOutEventDetails", "ExecutionRedriven": "executionRedrivenEventDetails",
	"LambdaFunctionScheduled": "lambdaFunctionScheduledEventDetails", "LambdaFunctionSucceeded": "lambdaFunctionSucceededEventDetails",
	"LambdaFunctionFailed": "lambdaFunctionFailedEventDetails", "MapRunFailed": "mapRunFailedEventDetails",
}

func historyJSON(events []HistoryEvent, reverse bool) []map[string]any {
	out := make([]map[string]any, 0, len(events))
	for _, e := range events {
		m := map[string]any{"id": e.ID, "previousEventId": e.Previous, "timestamp": epoch(e.Timestamp), "type": e.Type}
		if strings.HasSuffix(e.Type, "StateEntered") {
			m["stateEnteredEventDetails"] = e.Details
		} else if strings.HasSuffix(e.Type, "StateExited") {
			m["stateExitedEventDetails"] = e.Details
		} else if k, ok := historyDetails[e.Type]; ok {
			m[k] = e.Details
		}
		out = append(out, m)
	}
	if reverse {
		for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 {
			out[i], out[j] = out[j], out[i]
		}
	}
	return out
}

func apiError(w http.ResponseWriter, err error) {
	var ae *APIError
	if !errors.As(err, &ae) {
		ae = &APIError{"InternalFailure", err.Error()}
	}
	w.Header().Set("Content-Type", "application/x-amz-json-1.0")
	w.WriteHeader(http.StatusBadRequest)
	json.NewEncoder(w).Encode(map[string]string{"__type": "com.amazonaws.swf.service.v2.model#" + ae.Type, "message": ae.Message})
}

func epoch(t time.Time) float64 { return float64(t.UnixNano()) / 1e9 }

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}
