// Command import-fail records why an import failed (a bad file caught by the state machine, or a failed execution reported by EventBridge).
package main

import (
	"context"
	"log"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/portagehq/portage/shared/importer"
	"github.com/portagehq/portage/shared/platform"
	"github.com/portagehq/portage/shared/stepfn"
)

func main() {
	b, err := platform.Load(context.Background())
	if err != nil {
		log.Fatal(err)
	}
	lambda.Start(stepfn.Task(importer.FailHandler{Deps: b.ImportDeps(), Log: b.Log}.Handle))
}
