// Command import-trigger starts the import state machine when an upload
// lands in the uploads bucket (S3 ObjectCreated notification).
package main

import "github.com/portagehq/portage/shared/platform"

func main() { platform.Start("import-trigger") }
