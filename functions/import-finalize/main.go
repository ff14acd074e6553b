// Command import-finalize sums the chunk results into the job and completes it.
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
	lambda.Start(stepfn.Task(importer.FinalizeHandler{Deps: b.ImportDeps()}.Handle))
}
