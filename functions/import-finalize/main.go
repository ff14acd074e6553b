// Command import-finalize sums the chunk results into the job and completes it.
package main

import (
	"context"
	"log"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/portagehq/portage/shared/importer"
	"github.com/portagehq/portage/shared/platform"
)

func main() {
	b, err := platform.Load(context.Background())
	if err != nil {
		log.Fatal(err)
	}
	lambda.Start(importer.FinalizeHandler{Deps: b.ImportDeps()}.Handle)
}
