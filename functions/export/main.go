// Command export writes an export's file: invoked asynchronously by the API.
package main

import (
	"context"
	"log"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/portagehq/portage/shared/exporter"
	"github.com/portagehq/portage/shared/objstore"
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
	d := exporter.Deps{DB: pool, Store: objstore.S3{Client: s3.NewFromConfig(cfg), Bucket: env.ExportsBucket},
		Bucket: env.ExportsBucket, Log: platform.Logger()}
	lambda.Start(d.Handle)
}
