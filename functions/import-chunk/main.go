// Command import-chunk applies one chunk of an import in one transaction.
package main

import "github.com/portagehq/portage/shared/platform"

func main() { platform.Start("import-chunk") }
