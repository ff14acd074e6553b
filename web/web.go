// Package web holds the browser app (index.html, app.js, app.css: plain
// files, no build step), embedded so that the local stack serves it at /; in
// AWS the same files are deployed as static files to any origin, and talk
// to the API with a bearer token.
package web

import "embed"

// Files are the app's files.
//
//go:embed index.html app.js app.css
var Files embed.FS
