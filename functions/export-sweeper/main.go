// Command export-sweeper runs on an EventBridge schedule: it expires exports
// past their 7 days (marks them expired and deletes files the lifecycle rule
// has not removed yet), then fails the jobs nothing will finish
// (reconcile). Its database user is granted portage_sweeper.
package main

import (
	"context"
	"log"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/service/sfn"

	"github.com/portagehq/portage/shared/exporter"
	"github.com/portagehq/portage/shared/platform"
	"github.com/portagehq/portage/shared/reconcile"
)

func main() {
	b, err := platform.Load(context.Background())
	if err != nil {
		log.Fatal(err)
	}
	env, pool := b.Env, b.DB
	s := exporter.Sweeper{DB: pool, Store: b.Store(env.ExportsBucket),
		Log: b.Log}
	r := reconcile.Reconciler{DB: pool, SFN: sfn.NewFromConfig(b.AWS), StateMachineARN: env.StateMachineARN, Log: b.Log}
	lambda.Start(reconcile.Scheduled(s.Handle, r.Handle))
}
