// Command rollback reverses one batch of an import's events; the rollback
// state machine calls it until the rollback is finished.
package main

import (
	"context"
	"log"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/portagehq/portage/shared/platform"
	"github.com/portagehq/portage/shared/rollback"
	"github.com/portagehq/portage/shared/stepfn"
)

func main() {
	b, err := platform.Load(context.Background())
	if err != nil {
		log.Fatal(err)
	}
	env, pool := b.Env, b.DB
	h := rollback.BatchHandler{DB: pool, Size: env.RollbackBatch}
	lambda.Start(stepfn.Task(h.Handle))
}
