package lambdafn

import (
	"context"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	sfntypes "github.com/aws/aws-sdk-go-v2/service/sfn/types"
	"github.com/google/uuid"

	"github.com/portagehq/portage/shared/apperr"
	"github.com/portagehq/portage/shared/importer"
)

// InspectInput is the Inspect task's payload: the job, and the token of
// the execution that waits on the review.
type InspectInput struct {
	TenantID  uuid.UUID `json:"tenant_id"`
	JobID     uuid.UUID `json:"job_id"`
	TaskToken string    `json:"task_token"`
}

// InspectResult is what the function returns to the invocation (the
// execution goes on with what SendTaskSuccess sends, not with this).
type InspectResult struct {
	JobID         uuid.UUID `json:"job_id"`
	EstimatedRows int       `json:"estimated_rows"`
}

// InspectHandler is the import-inspect Lambda.
type InspectHandler struct{ Deps importer.Deps }

// Handle inspects the job's file and leaves it awaiting review.
func (h InspectHandler) Handle(ctx context.Context, in InspectInput) (InspectResult, error) {
	if in.TaskToken == "" {
		return InspectResult{}, apperr.Invalidf("the inspect task was given no task token")
	}
	res, err := importer.Inspect(ctx, h.Deps, in.TenantID, in.JobID, in.TaskToken)
	return InspectResult{JobID: in.JobID, EstimatedRows: res.EstimatedRows}, err
}

// ReviewCallbacks hands a review's outcome back to the execution waiting
// on it (the API's side of the callback pattern).
type ReviewCallbacks struct{ SFN SFN }

// Resume lets the execution go on to prepare.
func (c ReviewCallbacks) Resume(ctx context.Context, token string) error {
	_, err := c.SFN.SendTaskSuccess(ctx, &sfn.SendTaskSuccessInput{TaskToken: aws.String(token), Output: aws.String(`{"reviewed":true}`)})
	return callbackError(err)
}

// Abort fails the waiting task with ImportCancelled, which the state
// machine catches and records.
func (c ReviewCallbacks) Abort(ctx context.Context, token, cause string) error {
	_, err := c.SFN.SendTaskFailure(ctx, &sfn.SendTaskFailureInput{TaskToken: aws.String(token),
		Error: aws.String(apperr.TaskCancelled), Cause: aws.String(cause)})
	return callbackError(err)
}

// callbackError reads a Send* error: a token whose task has closed (the
// review window ended, or a callback came first) is a conflict; anything
// else may pass on a retry.
func callbackError(err error) error {
	var timedOut *sfntypes.TaskTimedOut
	var invalid *sfntypes.InvalidToken
	var missing *sfntypes.TaskDoesNotExist
	switch {
	case err == nil:
		return nil
	case errors.As(err, &timedOut), errors.As(err, &invalid), errors.As(err, &missing):
		return &apperr.Error{Code: apperr.Conflict, Message: "the review of this import has closed", Err: err}
	}
	return apperr.Retryable(fmt.Errorf("hand the review back to Step Functions: %w", err))
}
