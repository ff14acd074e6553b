// Command import-fail records why an import failed (a bad file caught by the state machine, or a failed execution reported by EventBridge).
package main

import "github.com/portagehq/portage/shared/platform"

func main() { platform.Start("import-fail") }
