// Command import-prepare prepares an upload: reads it once, validates every row and writes the chunk parts and manifest.
package main

import "github.com/portagehq/portage/shared/platform"

func main() { platform.Start("import-prepare") }
