// Package web holds the browser upload page, embedded so that the local
// stack serves it; in AWS it is a static file of the web app's origin.
package web

import "embed"

// Files is the page and its assets.
//
//go:embed index.html
var Files embed.FS
