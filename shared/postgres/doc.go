// Package postgres owns how Portage talks to PostgreSQL: connection pools
// that are safe behind RDS Proxy, tenant-scoped transactions that row-level
// security relies on, error classification and the schema migrations.
//
// It does not own any table's SQL; the packages named for the tables
// (contacts, jobs) do.
package postgres
