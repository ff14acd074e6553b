// Command export writes an export's file: invoked asynchronously by the API.
package main

import (
	"context"
	"log"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/portagehq/portage/shared/exporter"
	"github.com/portagehq/portage/shared/platform"
)

func main() {
	b, err := platform.Load(context.Background())
	if err != nil {
		log.Fatal(err)
	}
	env, pool := b.Env, b.DB
	d := exporter.Deps{DB: pool, Store: b.Store(env.ExportsBucket),
		Bucket: env.ExportsBucket, Log: b.Log}
	lambda.Start(d.Handle)
}
