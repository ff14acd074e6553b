// Command import-inspect reads the head of an upload that waits for review and keeps the inspection and the execution's callback token with the job.
package main

import "github.com/portagehq/portage/shared/platform"

func main() { platform.Start("import-inspect") }
