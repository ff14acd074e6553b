// Command export-sweeper expires exports past their 7 days (an EventBridge
// schedule): marks them expired and deletes files the lifecycle rule has not
// removed yet. Its database user is granted portage_sweeper.
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
	s := exporter.Sweeper{DB: pool, Store: objstore.S3{Client: s3.NewFromConfig(cfg), Bucket: env.ExportsBucket},
		Log: b.Log}
	lambda.Start(s.Handle)
}
