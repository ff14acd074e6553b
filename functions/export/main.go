// Command export writes an export's file: invoked asynchronously by the API.
package main

import "github.com/portagehq/portage/shared/platform"

func main() { platform.Start("export") }
