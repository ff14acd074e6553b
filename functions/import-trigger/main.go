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
	b, err := platform.Load(context.Background())
	if err != nil {
		log.Fatal(err)
	}
	env, cfg, pool := b.Env, b.AWS, b.DB
	h := importer.TriggerHandler{DB: pool, SFN: sfn.NewFromConfig(cfg), StateMachineARN: env.StateMachineARN,
		MaxConcurrency: env.MaxConcurrency, Log: b.Log}
	lambda.Start(h.Handle)
}
