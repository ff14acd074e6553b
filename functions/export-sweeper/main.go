// Command export-sweeper expires exports past their 7 days (an EventBridge
// schedule): marks them expired and deletes files the lifecycle rule has not
// removed yet. Its database user is granted portage_sweeper.
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
	s := exporter.Sweeper{DB: pool, Store: b.Store(env.ExportsBucket),
		Log: b.Log}
	lambda.Start(s.Handle)
}
