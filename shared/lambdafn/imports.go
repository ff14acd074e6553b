// Package lambdafn holds the Lambda functions' handlers: the adapters
// between the events AWS delivers (a Step Functions task's payload, an S3
// notification, an EventBridge event, an API Gateway request) and the
// pipeline packages, which know nothing of Lambda or the AWS SDKs. Handlers
// builds the handler of every function of template.yaml from one Config;
// functions/*/main.go (through platform.Start) and local/stack both call it,
// so the two wirings cannot drift.
package lambdafn

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	sfntypes "github.com/aws/aws-sdk-go-v2/service/sfn/types"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/portagehq/portage/shared/apperr"
	"github.com/portagehq/portage/shared/importer"
	"github.com/portagehq/portage/shared/jobs"
	"github.com/portagehq/portage/shared/postgres"
)

// JobInput names a job: the state machine's input and the prepare and
// finalize steps' payload.
type JobInput struct {
	TenantID uuid.UUID `json:"tenant_id"`
	JobID    uuid.UUID `json:"job_id"`
}

// PrepareHandler is the import-prepare Lambda.
type PrepareHandler struct{ Deps importer.Deps }

// Handle prepares the job.
func (h PrepareHandler) Handle(ctx context.Context, in JobInput) (importer.PrepareResult, error) {
	return importer.Prepare(ctx, h.Deps, in.TenantID, in.JobID)
}

// ChunkHandler is the import-chunk Lambda, one invocation per manifest item.
type ChunkHandler struct{ Deps importer.Deps }

// Handle applies the chunk.
func (h ChunkHandler) Handle(ctx context.Context, c importer.Chunk) (importer.ChunkResult, error) {
	return importer.ApplyChunk(ctx, h.Deps, c)
}

// FinalizeResult is the small summary the state machine ends with.
type FinalizeResult struct {
	JobID     uuid.UUID `json:"job_id"`
	Status    string    `json:"status"`
	TotalRows int       `json:"total_rows"`
	Created   int       `json:"created_count"`
	Updated   int       `json:"updated_count"`
	Skipped   int       `json:"skipped_count"`
	Errors    int       `json:"error_count"`
}

// FinalizeHandler is the import-finalize Lambda.
type FinalizeHandler struct{ Deps importer.Deps }

// Handle completes the job.
func (h FinalizeHandler) Handle(ctx context.Context, in JobInput) (FinalizeResult, error) {
	j, err := importer.Finalize(ctx, h.Deps, in.TenantID, in.JobID)
	if err != nil {
		return FinalizeResult{}, err
	}
	return FinalizeResult{JobID: j.ID, Status: j.Status, TotalRows: derefInt(j.TotalRows), Created: j.CreatedCount,
		Updated: j.UpdatedCount, Skipped: j.SkippedCount, Errors: j.ErrorCount}, nil
}

// FailInput is what import-fail records: the job and the error
// ({"Error": name, "Cause": text}). It comes from the state machine's Catch
// (a bad file) or from an EventBridge rule on a failed execution.
type FailInput struct {
	TenantID uuid.UUID `json:"tenant_id"`
	JobID    uuid.UUID `json:"job_id"`
	Error    struct {
		Error string `json:"Error"`
		Cause string `json:"Cause"`
	} `json:"error"`
}

// FailHandler is the import-fail Lambda.
type FailHandler struct {
	Deps importer.Deps
	Log  *slog.Logger
}

// executionStatusChange is the detail of EventBridge's "Step Functions
// Execution Status Change" event.
type executionStatusChange struct {
	DetailType string `json:"detail-type"`
	Detail     struct {
		Status string `json:"status"`
		Input  string `json:"input"`
		Error  string `json:"error"`
		Cause  string `json:"cause"`
	} `json:"detail"`
}

// failureReason is what the user reads for an execution that ended on the
// error named name with the message msg. internal says it is not theirs to
// fix, so msg goes to the log and not to them.
func failureReason(name, msg string) (reason string, internal bool) {
	switch name {
	case apperr.TaskInput:
		return msg, false
	case apperr.TaskCancelled:
		return "cancelled", false // the API ended the job cancelled, which failing leaves as it is
	}
	return fmt.Sprintf("the import stopped on an internal error (%s); an operator can retry it", name), true
}

// Handle records why the job failed. It takes the Catch's FailInput or an
// EventBridge execution status change. The reason shown to the user is the
// message of an apperr.Invalid error (a problem with their file); any other failure
// is described without internals, which go to the log.
func (h FailHandler) Handle(ctx context.Context, raw json.RawMessage) (JobInput, error) {
	var in FailInput
	var ev executionStatusChange
	if err := json.Unmarshal(raw, &ev); err == nil && ev.DetailType != "" {
		if err := json.Unmarshal([]byte(ev.Detail.Input), &in); err != nil {
			return JobInput{}, fmt.Errorf("execution input: %w", err)
		}
		in.Error.Error, in.Error.Cause = ev.Detail.Error, ev.Detail.Cause
		if in.Error.Error == "" {
			in.Error.Error = "States." + ev.Detail.Status
		}
	} else if err := json.Unmarshal(raw, &in); err != nil {
		return JobInput{}, fmt.Errorf("fail input: %w", err)
	}
	if in.Error.Error == apperr.TaskNotReviewed {
		return JobInput{TenantID: in.TenantID, JobID: in.JobID}, importer.ExpireReview(ctx, h.Deps, in.TenantID, in.JobID)
	}
	cause := causeMessage(in.Error.Cause)
	reason, internal := failureReason(in.Error.Error, cause)
	if internal {
		logger(h.Log).ErrorContext(ctx, "import failed", "job_id", in.JobID, "tenant_id", in.TenantID,
			"error", in.Error.Error, "cause", cause)
	}
	err := importer.Fail(ctx, h.Deps, in.TenantID, in.JobID, reason)
	switch {
	case errors.Is(err, jobs.ErrWrongState):
		err = nil // completed or rolled back meanwhile
	case apperr.Is(err, apperr.NotFound):
		// Nothing to record the failure on; retrying cannot change that.
		logger(h.Log).WarnContext(ctx, "failed import has no job", "job_id", in.JobID, "tenant_id", in.TenantID)
		err = nil
	}
	return JobInput{TenantID: in.TenantID, JobID: in.JobID}, err
}

// causeMessage extracts errorMessage from a Lambda error's Cause JSON.
func causeMessage(cause string) string {
	var le struct {
		ErrorMessage string `json:"errorMessage"`
	}
	if json.Unmarshal([]byte(cause), &le) == nil && le.ErrorMessage != "" {
		return le.ErrorMessage
	}
	return cause
}

// TriggerHandler is the import-trigger Lambda: an upload landing in the
// uploads bucket starts the job's execution, named after the job so that a
// repeated S3 event (they arrive at least once) starts nothing new.
type TriggerHandler struct {
	DB              postgres.Beginner
	SFN             SFN
	StateMachineARN string
	// MaxConcurrency is how many chunks of one import run at once (the
	// Map's MaxConcurrencyPath reads it from the execution input).
	MaxConcurrency int
	Log            *slog.Logger
}

// ExecutionInput is the import state machine's input.
type ExecutionInput struct {
	JobInput
	MaxConcurrency int `json:"max_concurrency"`
	// Review runs Inspect and waits for a person before prepare.
	Review bool `json:"review"`
}

// Handle starts an execution for each upload of a pending job. Keys outside
// uploads/<tenant>/<job>/ and unknown jobs are logged and ignored.
func (h TriggerHandler) Handle(ctx context.Context, ev events.S3Event) error {
	log := logger(h.Log)
	for _, rec := range ev.Records {
		if !strings.HasPrefix(rec.EventName, "ObjectCreated:") && !strings.HasPrefix(rec.EventName, "s3:ObjectCreated:") {
			continue
		}
		key := rec.S3.Object.URLDecodedKey
		if key == "" {
			key = rec.S3.Object.Key
		}
		tenant, job, ok := importer.ParseUploadKey(key)
		in := JobInput{TenantID: tenant, JobID: job}
		if !ok {
			log.WarnContext(ctx, "ignoring object outside uploads/<tenant>/<job>/", "key", key)
			continue
		}
		var status string
		var review bool
		err := postgres.InTenantTx(ctx, h.DB, in.TenantID, func(tx pgx.Tx) error {
			j, err := jobs.GetImport(ctx, tx, in.JobID)
			if err != nil {
				return err
			}
			d, err := jobs.GetDetails(ctx, tx, in.JobID)
			status, review = j.Status, d.Review
			return err
		})
		if errors.Is(err, jobs.ErrNotFound) {
			log.WarnContext(ctx, "ignoring upload of an unknown job", "key", key, "job_id", in.JobID)
			continue
		}
		if err != nil {
			return postgres.AppError(err)
		}
		if status != jobs.StatusPending {
			log.InfoContext(ctx, "upload of a job already started", "job_id", in.JobID, "status", status)
			continue
		}
		conc := h.MaxConcurrency
		if conc <= 0 {
			conc = 10
		}
		input, _ := json.Marshal(ExecutionInput{JobInput: in, MaxConcurrency: conc, Review: review})
		_, err = h.SFN.StartExecution(ctx, &sfn.StartExecutionInput{
			StateMachineArn: aws.String(h.StateMachineARN),
			Name:            aws.String(in.JobID.String()),
			Input:           aws.String(string(input)),
		})
		var exists *sfntypes.ExecutionAlreadyExists
		if errors.As(err, &exists) {
			log.InfoContext(ctx, "execution already started", "job_id", in.JobID)
			continue
		}
		if err != nil {
			return apperr.Retryable(fmt.Errorf("start execution for job %s: %w", in.JobID, err))
		}
		log.InfoContext(ctx, "import started", "job_id", in.JobID, "tenant_id", in.TenantID)
	}
	return nil
}

func derefInt(p *int) int {
	if p == nil {
		return 0
	}
	return *p
}

func logger(l *slog.Logger) *slog.Logger {
	if l == nil {
		return slog.Default()
	}
	return l
}
