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
	b, err := platform.Load(context.Background())
	if err != nil {
		log.Fatal(err)
	}
	env, cfg, pool := b.Env, b.AWS, b.DB
	d := exporter.Deps{DB: pool, Store: objstore.S3{Client: s3.NewFromConfig(cfg), Bucket: env.ExportsBucket},
		Bucket: env.ExportsBucket, Log: b.Log}
	lambda.Start(d.Handle)
}
