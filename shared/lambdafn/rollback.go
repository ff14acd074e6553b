package lambdafn

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	sfntypes "github.com/aws/aws-sdk-go-v2/service/sfn/types"
	"github.com/google/uuid"

	"github.com/portagehq/portage/shared/postgres"
	"github.com/portagehq/portage/shared/rollback"
)

// BatchHandler is the rollback Lambda. Each invocation reverses batches
// (one transaction each) until the rollback is finished or half of the
// invocation's time is used, and the state machine loops until Finished:
// a loop of one batch per invocation would put six history events per
// batch in the execution, and a rollback of 10 million events in batches of
// 1,000 would pass the 25,000 events an execution may hold.
type BatchHandler struct {
	DB   postgres.Beginner
	Size int
	// Budget is how long one invocation goes on starting batches (default:
	// half the time before the context's deadline; without a deadline,
	// one batch).
	Budget time.Duration
}

// Handle reverses batches for up to the handler's budget.
func (h BatchHandler) Handle(ctx context.Context, in JobInput) (rollback.Progress, error) {
	budget := h.Budget
	if dl, ok := ctx.Deadline(); ok && budget == 0 {
		budget = time.Until(dl) / 2
	}
	until := time.Now().Add(budget)
	for {
		p, err := rollback.Batch(ctx, h.DB, in.TenantID, in.JobID, h.Size)
		if err != nil || p.Finished || !time.Now().Before(until) {
			return p, postgres.AppError(err)
		}
	}
}

// SFN is the part of the Step Functions client the handlers use.
type SFN interface {
	StartExecution(ctx context.Context, in *sfn.StartExecutionInput, optFns ...func(*sfn.Options)) (*sfn.StartExecutionOutput, error)
	DescribeExecution(ctx context.Context, in *sfn.DescribeExecutionInput, optFns ...func(*sfn.Options)) (*sfn.DescribeExecutionOutput, error)
	RedriveExecution(ctx context.Context, in *sfn.RedriveExecutionInput, optFns ...func(*sfn.Options)) (*sfn.RedriveExecutionOutput, error)
	SendTaskSuccess(ctx context.Context, in *sfn.SendTaskSuccessInput, optFns ...func(*sfn.Options)) (*sfn.SendTaskSuccessOutput, error)
	SendTaskFailure(ctx context.Context, in *sfn.SendTaskFailureInput, optFns ...func(*sfn.Options)) (*sfn.SendTaskFailureOutput, error)
}

// RollbackStarter runs a job's rollback on the rollback state machine. The
// execution is named after the job: starting it again while it runs is a
// no-op, and starting it after it failed redrives it, so a repeated request
// resumes a rollback wherever it stopped.
type RollbackStarter struct {
	SFN             SFN
	StateMachineARN string
}

// Start starts or resumes the rollback of a job already moved to
// rolling_back.
func (s RollbackStarter) Start(ctx context.Context, tenantID, jobID uuid.UUID) error {
	input, _ := json.Marshal(JobInput{TenantID: tenantID, JobID: jobID})
	name := "rollback-" + jobID.String()
	_, err := s.SFN.StartExecution(ctx, &sfn.StartExecutionInput{StateMachineArn: aws.String(s.StateMachineARN),
		Name: aws.String(name), Input: aws.String(string(input))})
	var exists *sfntypes.ExecutionAlreadyExists
	if !errors.As(err, &exists) {
		return err
	}
	arn := strings.Replace(s.StateMachineARN, ":stateMachine:", ":execution:", 1) + ":" + name
	d, err := s.SFN.DescribeExecution(ctx, &sfn.DescribeExecutionInput{ExecutionArn: aws.String(arn)})
	if err != nil {
		return fmt.Errorf("describe rollback execution: %w", err)
	}
	switch d.Status {
	case sfntypes.ExecutionStatusRunning, sfntypes.ExecutionStatusPendingRedrive:
		return nil
	case sfntypes.ExecutionStatusSucceeded:
		return fmt.Errorf("rollback execution %s succeeded but the job is still rolling back", arn)
	}
	_, err = s.SFN.RedriveExecution(ctx, &sfn.RedriveExecutionInput{ExecutionArn: aws.String(arn)})
	return err
}
