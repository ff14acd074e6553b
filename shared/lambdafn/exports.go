package lambdafn

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"
	"github.com/google/uuid"
	"github.com/portagehq/portage/shared/exporter"
)

// LambdaInvoker is the part of the Lambda client that starting an export needs.
type LambdaInvoker interface {
	Invoke(ctx context.Context, in *lambda.InvokeInput, optFns ...func(*lambda.Options)) (*lambda.InvokeOutput, error)
}

// ExportStarter starts the export worker asynchronously (an Event invocation:
// Lambda queues it, retries it twice on failure, and answers at once).
type ExportStarter struct {
	Lambda   LambdaInvoker
	Function string
}

// Start queues the export.
func (s ExportStarter) Start(ctx context.Context, tenantID, exportID uuid.UUID) error {
	payload, _ := json.Marshal(exporter.Request{TenantID: tenantID, ExportID: exportID})
	_, err := s.Lambda.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String(s.Function),
		InvocationType: types.InvocationTypeEvent, Payload: payload})
	if err != nil {
		return fmt.Errorf("invoke %s: %w", s.Function, err)
	}
	return nil
}
