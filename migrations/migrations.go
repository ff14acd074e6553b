// Package migrations embeds the schema's SQL migrations so that the CLI, the
// Lambdas and the tests apply exactly the same files.
package migrations

import "embed"

// FS holds the numbered goose migrations (NNNNN_name.sql).
//
//go:embed *.sql
var FS embed.FS
