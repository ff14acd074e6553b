// Command import-chunk applies one chunk of an import in one transaction.
package main

import (
	"context"
	"log"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/portagehq/portage/shared/importer"
	"github.com/portagehq/portage/shared/objstore"
	"github.com/portagehq/portage/shared/platform"
)

func main() {
	b, err := platform.Load(context.Background())
	if err != nil {
		log.Fatal(err)
	}
	env, cfg, pool := b.Env, b.AWS, b.DB
	deps := importer.Deps{DB: pool, Store: objstore.S3{Client: s3.NewFromConfig(cfg), Bucket: env.UploadsBucket},
		ChunkRows: env.ChunkRows}
	h := importer.ChunkHandler{Deps: deps}
	lambda.Start(h.Handle)
}
