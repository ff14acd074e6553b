// Command api is the HTTP API Lambda (API Gateway HTTP API, payload 2.0).
package main

import "github.com/portagehq/portage/shared/platform"

func main() { platform.Start("api") }
