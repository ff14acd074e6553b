// Command import-finalize sums the chunk results into the job and completes it.
package main

import "github.com/portagehq/portage/shared/platform"

func main() { platform.Start("import-finalize") }
