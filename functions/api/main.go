// Command api is the HTTP API Lambda (API Gateway HTTP API, payload 2.0).
package main

import (
	"context"
	"log"

	"github.com/aws/aws-lambda-go/lambda"
	awslambda "github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sfn"

	"github.com/portagehq/portage/shared/api"
	"github.com/portagehq/portage/shared/exporter"
	"github.com/portagehq/portage/shared/platform"
	"github.com/portagehq/portage/shared/rollback"
)

func main() {
	b, err := platform.Load(context.Background())
	if err != nil {
		log.Fatal(err)
	}
	env, cfg, pool := b.Env, b.AWS, b.DB
	srv := &api.Server{DB: pool, UploadsBucket: env.UploadsBucket,
		Presign:       s3.NewPresignClient(s3.NewFromConfig(cfg)),
		Rollbacks:     rollback.Starter{SFN: sfn.NewFromConfig(cfg), StateMachineARN: env.RollbackStateMachineARN},
		Exports:       exporter.Starter{Lambda: awslambda.NewFromConfig(cfg), Function: env.ExportFunction},
		ExportsBucket: env.ExportsBucket,
		Log:           b.Log}
	lambda.Start(srv.LambdaHandler())
}
