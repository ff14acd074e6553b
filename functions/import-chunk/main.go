// Command import-chunk applies one chunk of an import in one transaction.
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
	lambda.Start(stepfn.Task(importer.ChunkHandler{Deps: b.ImportDeps()}.Handle))
}
