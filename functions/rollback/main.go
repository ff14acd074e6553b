// Command rollback reverses one batch of an import's events; the rollback
// state machine calls it until the rollback is finished.
package main

import (
	"context"
	"log"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/portagehq/portage/shared/platform"
	"github.com/portagehq/portage/shared/rollback"
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
	h := rollback.BatchHandler{DB: pool, Size: env.RollbackBatch}
	lambda.Start(h.Handle)
}
