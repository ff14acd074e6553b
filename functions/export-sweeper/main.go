// Command export-sweeper runs on an EventBridge schedule: it expires exports
// past their 7 days (marks them expired and deletes files the lifecycle rule
// has not removed yet), then fails the jobs nothing will finish
// (reconcile). Its database user is granted portage_sweeper.
package main

import "github.com/portagehq/portage/shared/platform"

func main() { platform.Start("export-sweeper") }
