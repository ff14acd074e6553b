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
	s := exporter.Sweeper{DB: pool, Store: objstore.S3{Client: s3.NewFromConfig(cfg), Bucket: env.ExportsBucket},
		Log: platform.Logger()}
	lambda.Start(s.Handle)
}
