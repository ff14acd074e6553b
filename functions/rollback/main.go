// Command rollback reverses one batch of an import's events; the rollback
// state machine calls it until the rollback is finished.
package main

import "github.com/portagehq/portage/shared/platform"

func main() { platform.Start("rollback") }
