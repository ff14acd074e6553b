// Command import-trigger starts the import state machine when an upload
// lands in the uploads bucket (S3 ObjectCreated notification).
package main

import (
	"context"
	"log"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/service/sfn"

	"github.com/portagehq/portage/shared/importer"
	"github.com/portagehq/portage/shared/platform"
)

func main() {
	ctx := context.Background()
	env := platform.FromEnv()
	cfg, err := platform.AWS(ctx)
	if err != nil {
		log.Fatalf("aws config: %v", err)
	}
	pool, err := env.Pool(ctx, cfg)
	if err != nil {
		log.Fatalf("database: %v", err)
	}
	h := importer.TriggerHandler{DB: pool, SFN: sfn.NewFromConfig(cfg), StateMachineARN: env.StateMachineARN,
		MaxConcurrency: env.MaxConcurrency, Log: platform.Logger()}
	lambda.Start(h.Handle)
}
